// Images on a physical grid. An Image knows its size, spacing (mm), origin and direction
// (LPS). HuVolume holds Hounsfield units; LabelImage holds small integer labels.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "core/geometry.h"

namespace spinescreen {

// The geometry of a voxel grid: world = origin + direction * (index .* spacing).
struct Grid {
  Size3 size{0, 0, 0};
  Vec3 spacing{1.0, 1.0, 1.0};
  Vec3 origin{};
  Mat3 direction = Mat3::identity();

  int64_t voxelCount() const { return size[0] * size[1] * size[2]; }
  bool contains(int64_t i, int64_t j, int64_t k) const {
    return i >= 0 && j >= 0 && k >= 0 && i < size[0] && j < size[1] && k < size[2];
  }
  // Continuous index -> world (LPS mm).
  Vec3 indexToLps(const Vec3& index) const {
    const Vec3 scaled{index.x * spacing.x, index.y * spacing.y, index.z * spacing.z};
    return origin + direction * scaled;
  }
  // World (LPS mm) -> continuous index. Assumes an orthonormal direction matrix.
  Vec3 lpsToIndex(const Vec3& p) const {
    const Vec3 local = direction.transposed() * (p - origin);
    return {local.x / spacing.x, local.y / spacing.y, local.z / spacing.z};
  }
  // World extent of the grid along each voxel axis, in mm.
  Vec3 extentMm() const { return {size[0] * spacing.x, size[1] * spacing.y, size[2] * spacing.z}; }
  bool sameGeometryAs(const Grid& o, double toleranceMm = 1e-3) const;
};

// The grid that divides each voxel of `g` into equal parts along every axis whose spacing
// exceeds `maxSpacingMm`, so that no spacing exceeds it; it covers the same extent.
Grid subdividedGrid(const Grid& g, double maxSpacingMm);
// The grid that divides each voxel of `g` into parts[d] equal parts along axis d.
Grid subdividedGrid(const Grid& g, const Size3& parts);

template <class T>
class Image {
 public:
  using ValueType = T;
  Image() = default;
  explicit Image(const Grid& grid, T fill = T{})
      : grid_(grid), data_(static_cast<size_t>(grid.voxelCount()), fill) {}

  const Grid& grid() const { return grid_; }
  Grid& grid() { return grid_; }
  const Size3& size() const { return grid_.size; }
  bool empty() const { return data_.empty(); }

  size_t offset(int64_t i, int64_t j, int64_t k) const {
    return static_cast<size_t>((k * grid_.size[1] + j) * grid_.size[0] + i);
  }
  T& at(int64_t i, int64_t j, int64_t k) { return data_[offset(i, j, k)]; }
  const T& at(int64_t i, int64_t j, int64_t k) const { return data_[offset(i, j, k)]; }
  // Value at an index, or `outside` when the index is out of the grid.
  T valueOr(int64_t i, int64_t j, int64_t k, T outside) const {
    return grid_.contains(i, j, k) ? at(i, j, k) : outside;
  }

  std::vector<T>& data() { return data_; }
  const std::vector<T>& data() const { return data_; }

 private:
  Grid grid_;
  std::vector<T> data_;
};

using HuVolume = Image<int16_t>;
using FloatImage = Image<float>;
using LabelImage = Image<uint8_t>;

// Trilinear interpolation at a continuous index; `outside` beyond the grid.
template <class T>
double sampleLinear(const Image<T>& img, const Vec3& index, double outside) {
  const Size3& s = img.size();
  const double fx = std::floor(index.x), fy = std::floor(index.y), fz = std::floor(index.z);
  const int64_t i0 = static_cast<int64_t>(fx), j0 = static_cast<int64_t>(fy),
                k0 = static_cast<int64_t>(fz);
  if (i0 < 0 || j0 < 0 || k0 < 0 || i0 >= s[0] || j0 >= s[1] || k0 >= s[2]) return outside;
  const int64_t i1 = std::min<int64_t>(i0 + 1, s[0] - 1), j1 = std::min<int64_t>(j0 + 1, s[1] - 1),
                k1 = std::min<int64_t>(k0 + 1, s[2] - 1);
  const double tx = index.x - fx, ty = index.y - fy, tz = index.z - fz;
  auto v = [&](int64_t i, int64_t j, int64_t k) { return static_cast<double>(img.at(i, j, k)); };
  const double c00 = v(i0, j0, k0) * (1 - tx) + v(i1, j0, k0) * tx;
  const double c10 = v(i0, j1, k0) * (1 - tx) + v(i1, j1, k0) * tx;
  const double c01 = v(i0, j0, k1) * (1 - tx) + v(i1, j0, k1) * tx;
  const double c11 = v(i0, j1, k1) * (1 - tx) + v(i1, j1, k1) * tx;
  const double c0 = c00 * (1 - ty) + c10 * ty;
  const double c1 = c01 * (1 - ty) + c11 * ty;
  return c0 * (1 - tz) + c1 * tz;
}

template <class T>
double sampleLinearLps(const Image<T>& img, const Vec3& lps, double outside) {
  return sampleLinear(img, img.grid().lpsToIndex(lps), outside);
}

}  // namespace spinescreen
