// The few steps of the spine stage that run ITK filters, behind our own image types.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace spinescreen::spine::detail {

// Resamples a volume onto an axis-aligned LPS grid (identity direction) of isotropic
// spacing covering the input's physical extent. Outside the input reads -1024 HU.
HuVolume resampleIsotropicLps(const HuVolume& volume, double spacingMm);

// Connected components (26-connected) of a binary mask; returns one label per voxel
// (0 = background, 1..count) and sets count.
std::vector<int32_t> connectedComponents(const LabelImage& mask, int& count);

}  // namespace spinescreen::spine::detail
