#include "core/image.h"

#include <algorithm>
#include <cmath>

namespace spinescreen {

bool Grid::sameGeometryAs(const Grid& o, double toleranceMm) const {
  if (size != o.size) return false;
  if ((spacing - o.spacing).norm() > toleranceMm) return false;
  if ((origin - o.origin).norm() > toleranceMm) return false;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c)
      if (std::abs(direction.m[r][c] - o.direction.m[r][c]) > 1e-4) return false;
  return true;
}

Grid subdividedGrid(const Grid& g, const Size3& parts) {
  Grid out = g;
  Vec3 firstCentre;
  for (int d = 0; d < 3; ++d) {
    const auto n = static_cast<double>(parts[static_cast<size_t>(d)]);
    out.size[static_cast<size_t>(d)] =
        g.size[static_cast<size_t>(d)] * parts[static_cast<size_t>(d)];
    out.spacing[d] = g.spacing[d] / n;
    // Centre of the first part of voxel 0, in the input's continuous index.
    firstCentre[d] = 0.5 / n - 0.5;
  }
  out.origin = g.indexToLps(firstCentre);
  return out;
}

Grid subdividedGrid(const Grid& g, double maxSpacingMm) {
  Size3 parts{1, 1, 1};
  for (int d = 0; d < 3; ++d)
    parts[static_cast<size_t>(d)] =
        static_cast<int64_t>(std::max(1.0, std::ceil(g.spacing[d] / maxSpacingMm - 1e-9)));
  return subdividedGrid(g, parts);
}

}  // namespace spinescreen
