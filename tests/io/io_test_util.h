// Small synthetic CT volumes and DICOM series for the io tests.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/image.h"
#include "io/dicom_writer.h"

namespace spinescreen::testing {

// A temporary folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "spinescreen-io-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

// Air with a body-like cylinder of soft tissue and a bone rod; a bright marker voxel block at
// (mi, mj, mk) when mk >= 0.
inline HuVolume makePhantom(Size3 size, Vec3 spacing, Vec3 origin = {-40, -40, 0},
                            Index3 marker = {-1, -1, -1}) {
  Grid g;
  g.size = size;
  g.spacing = spacing;
  g.origin = origin;
  HuVolume v(g, -1000);
  const double cx = size[0] / 2.0, cy = size[1] / 2.0;
  for (int64_t k = 0; k < size[2]; ++k)
    for (int64_t j = 0; j < size[1]; ++j)
      for (int64_t i = 0; i < size[0]; ++i) {
        const double r = std::hypot(i - cx, j - cy);
        int16_t hu = -1000;
        if (r < size[0] * 0.4) hu = static_cast<int16_t>(40 + (i + 2 * j + 3 * k) % 17);
        if (std::hypot(i - cx, j - cy - size[1] * 0.2) < size[0] * 0.08) hu = 700;
        v.at(i, j, k) = hu;
      }
  if (marker[2] >= 0)
    for (int64_t k = marker[2]; k < marker[2] + 2; ++k)
      for (int64_t j = marker[1]; j < marker[1] + 2; ++j)
        for (int64_t i = marker[0]; i < marker[0] + 2; ++i) v.at(i, j, k) = 3000;
  return v;
}

}  // namespace spinescreen::testing
