// Sanity limits on image geometry, checked before anything is allocated.
#pragma once

#include <string>

#include "core/image.h"

namespace spinescreen::io {

// Largest volume we accept: 2048 x 2048 x 4096 voxels would be 32 GiB of int16; real CTs
// are at most a few thousand slices of 1024^2.
inline constexpr int64_t kMaxVoxels = int64_t{1} << 31;
inline constexpr int64_t kMaxDimension = 8192;

// Throws InputError when the size cannot be real.
void checkPlausibleSize(const Size3& size, const std::string& what);
// Throws InputError for non-positive or absurd spacing, or a singular direction.
void checkPlausibleGrid(const Grid& grid, const std::string& what);

}  // namespace spinescreen::io
