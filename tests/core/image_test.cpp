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

TEST(Image, LinearSamplingInterpolatesAndReportsOutside) {
  Grid g;
  g.size = {2, 2, 2};
  Image<float> img(g, 0.0f);
  img.at(1, 0, 0) = 10.0f;
  EXPECT_NEAR(sampleLinear(img, {0.5, 0.0, 0.0}, -1.0), 5.0, 1e-9);
  EXPECT_EQ(sampleLinear(img, {-0.5, 0.0, 0.0}, -1.0), -1.0);
}
