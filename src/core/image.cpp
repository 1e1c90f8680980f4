#include "core/image.h"

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

}  // namespace spinescreen
