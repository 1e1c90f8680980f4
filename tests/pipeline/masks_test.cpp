#include "pipeline/masks.h"

#include <gtest/gtest.h>

using namespace spinescreen;

namespace {
SpineModel twoBodies(const Grid& g) {
  SpineModel m;
  m.bodies = LabelImage(g, 0);
  Vertebra t12;
  t12.label = "T12";
  t12.bodyLabel = 1;
  Vertebra l1;
  l1.label = "L1";
  l1.bodyLabel = 2;
  m.vertebrae = {t12, l1};
  for (int64_t i = 0; i < g.size[0]; ++i) {
    m.bodies.at(i, 1, 1) = 1;
    m.bodies.at(i, 1, 3) = 2;
  }
  return m;
}
}  // namespace

TEST(SavedMasks, UseVerseNumbersOnTheInputGrid) {
  Grid g;
  g.size = {4, 3, 5};
  const LabelImage out = pipeline::verseBodyLabelMap(twoBodies(g), g);
  EXPECT_EQ(out.at(2, 1, 1), 19);  // T12
  EXPECT_EQ(out.at(2, 1, 3), 20);  // L1
  EXPECT_EQ(out.at(2, 0, 0), 0);
}

TEST(SavedMasks, ResampleAModelOnAnotherGrid) {
  Grid working;
  working.size = {4, 3, 5};
  working.spacing = {2.0, 2.0, 2.0};
  Grid input = working;
  input.size = {8, 6, 10};
  input.spacing = {1.0, 1.0, 1.0};
  const LabelImage out = pipeline::verseBodyLabelMap(twoBodies(working), input);
  EXPECT_TRUE(out.grid().sameGeometryAs(input));
  EXPECT_EQ(out.at(4, 2, 2), 19);  // world (4,2,2) mm is working voxel (2,1,1)
  EXPECT_EQ(out.at(4, 2, 6), 20);  // working voxel (2,1,3)
  EXPECT_EQ(out.at(4, 0, 6), 0);
}
