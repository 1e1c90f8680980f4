#include "io/limits.h"

#include <cmath>
#include <sstream>

#include "core/errors.h"

namespace spinescreen::io {

void checkPlausibleSize(const Size3& size, const std::string& what) {
  int64_t total = 1;
  for (int d = 0; d < 3; ++d) {
    if (size[d] <= 0 || size[d] > kMaxDimension) {
      std::ostringstream os;
      os << "implausible image size " << size[0] << "x" << size[1] << "x" << size[2] << " in "
         << what;
      throw InputError(os.str());
    }
    total *= size[d];
  }
  if (total > kMaxVoxels) {
    std::ostringstream os;
    os << "image of " << size[0] << "x" << size[1] << "x" << size[2]
       << " voxels is larger than any real CT (limit " << kMaxVoxels << " voxels) in " << what;
    throw InputError(os.str());
  }
}

void checkPlausibleGrid(const Grid& grid, const std::string& what) {
  checkPlausibleSize(grid.size, what);
  for (int d = 0; d < 3; ++d) {
    const double s = grid.spacing[d];
    if (!std::isfinite(s) || s <= 1e-3 || s > 100.0)
      throw InputError("implausible voxel spacing " + std::to_string(s) + " mm in " + what);
  }
  for (int c = 0; c < 3; ++c) {
    const double n = grid.direction.column(c).norm();
    if (!std::isfinite(n) || std::abs(n - 1.0) > 1e-2)
      throw InputError("invalid orientation (direction cosines) in " + what);
  }
}

}  // namespace spinescreen::io
