#include "core/image.h"

#include <gtest/gtest.h>

using namespace spinescreen;

TEST(Grid, IndexAndWorldRoundTripWithObliqueDirection) {
  Grid g;
  g.size = {10, 20, 30};
  g.spacing = {0.5, 0.7, 2.0};
  g.origin = {-100, 50, 300};
  // 30 degrees about z.
  const double c = std::cos(0.5235987755982988), s = std::sin(0.5235987755982988);
  g.direction.m = {{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}};
  const Vec3 idx{3.25, 7.5, 11.0};
  const Vec3 w = g.indexToLps(idx);
  const Vec3 back = g.lpsToIndex(w);
  EXPECT_NEAR(back.x, idx.x, 1e-9);
  EXPECT_NEAR(back.y, idx.y, 1e-9);
  EXPECT_NEAR(back.z, idx.z, 1e-9);
  EXPECT_NEAR(w.z, 300 + 22.0, 1e-9);
}

TEST(Grid, SubdividedGridSplitsOnlyCoarseAxesAndCoversTheSameExtent) {
  Grid g;
  g.size = {10, 20, 30};
  g.spacing = {0.8, 1.0, 5.0};
  g.origin = {-100, 50, 300};
  const double c = std::cos(0.3), s = std::sin(0.3);
  g.direction.m = {{{c, 0, -s}, {0, 1, 0}, {s, 0, c}}};
  const Grid f = subdividedGrid(g, 1.0);
  EXPECT_EQ(f.size[0], 10);
  EXPECT_EQ(f.size[1], 20);
  EXPECT_EQ(f.size[2], 150);
  EXPECT_NEAR(f.spacing.x, 0.8, 1e-12);
  EXPECT_NEAR(f.spacing.z, 1.0, 1e-12);
  // Both grids share their outer corners; the five parts of a coarse voxel centre on it.
  for (const Vec3& corner : {Vec3{-0.5, -0.5, -0.5}, Vec3{9.5, 19.5, 29.5}}) {
    const Vec3 fine{(corner.x + 0.5) * 1 - 0.5, (corner.y + 0.5) * 1 - 0.5,
                    (corner.z + 0.5) * 5 - 0.5};
    EXPECT_LT((f.indexToLps(fine) - g.indexToLps(corner)).norm(), 1e-9);
  }
  EXPECT_LT((f.indexToLps({4, 7, 12}) - g.indexToLps({4, 7, 2})).norm(), 1e-9);
  // 3 mm splits into three 1 mm parts, 2.5 mm into three of 0.83 mm.
  g.spacing = {0.8, 3.0, 2.5};
  const Grid h = subdividedGrid(g, 1.0);
  EXPECT_EQ(h.size[1], 60);
  EXPECT_EQ(h.size[2], 90);
  EXPECT_NEAR(h.spacing.z, 2.5 / 3.0, 1e-12);
}

TEST(Image, LinearSamplingInterpolatesAndReportsOutside) {
  Grid g;
  g.size = {2, 2, 2};
  Image<float> img(g, 0.0f);
  img.at(1, 0, 0) = 10.0f;
  EXPECT_NEAR(sampleLinear(img, {0.5, 0.0, 0.0}, -1.0), 5.0, 1e-9);
  EXPECT_EQ(sampleLinear(img, {-0.5, 0.0, 0.0}, -1.0), -1.0);
}
