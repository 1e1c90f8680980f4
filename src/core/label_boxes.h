// Bounding boxes (voxel indices, inclusive) of every non-zero label of a label map.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <map>

#include "core/image.h"

namespace spinescreen {

struct LabelBox {
  std::array<int64_t, 3> lo{std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::max()};
  std::array<int64_t, 3> hi{std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::min()};
};

// One pass over the map.
inline std::map<int, LabelBox> labelBoxes(const LabelImage& labels) {
  std::map<int, LabelBox> out;
  const Size3& s = labels.size();
  for (int64_t k = 0; k < s[2]; ++k)
    for (int64_t j = 0; j < s[1]; ++j)
      for (int64_t i = 0; i < s[0]; ++i) {
        const int v = labels.at(i, j, k);
        if (!v) continue;
        LabelBox& b = out[v];
        const std::array<int64_t, 3> idx{i, j, k};
        for (int d = 0; d < 3; ++d) {
          b.lo[d] = std::min(b.lo[d], idx[d]);
          b.hi[d] = std::max(b.hi[d], idx[d]);
        }
      }
  return out;
}

}  // namespace spinescreen
