#include "density/density.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "morphometry/morphometry.h"
#include "morphometry/synthetic_body.h"

using namespace spinescreen;
using spinescreen::testing::BodySpec;

namespace {

// A CT of one body: 1.5 mm cortex at 700 HU around trabecular bone of `trabecularHu` with
// +-20 HU of deterministic noise, in soft tissue at 40 HU.
struct Phantom {
  SpineModel model;
  HuVolume ct;
};

// The body less its 1.5 mm cortex.
BodySpec trabecularCore(const BodySpec& b) {
  BodySpec core = b;
  core.widthMm -= 3.0;
  core.depthMm -= 3.0;
  core.ha -= 3.0;
  core.hm -= 3.0;
  core.hp -= 3.0;
  return core;
}

Phantom makePhantom(const BodySpec& b, double trabecularHu, double maskSpacing = 0.5) {
  Phantom p;
  p.model = spinescreen::testing::singleBodyModel(b, maskSpacing);
  p.ct = HuVolume(spinescreen::testing::gridAround(b.centre, 72.0, 0.5), 40);
  const BodySpec core = trabecularCore(b);
  uint32_t state = 12345;
  const Grid& g = p.ct.grid();
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        const Vec3 w = g.indexToLps({double(i), double(j), double(k)});
        if (!spinescreen::testing::insideBody(b, w)) continue;
        state = state * 1664525u + 1013904223u;
        const double noise = (static_cast<double>(state >> 8) / (1 << 24)) * 40.0 - 20.0;
        p.ct.at(i, j, k) = spinescreen::testing::insideBody(core, w)
                               ? static_cast<int16_t>(std::lround(trabecularHu + noise))
                               : int16_t{700};
      }
  return p;
}

// Paints a sphere of `hu` into the CT.
void paintSphere(HuVolume& ct, const Vec3& c, double r, int16_t hu) {
  const Grid& g = ct.grid();
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i)
        if ((g.indexToLps({double(i), double(j), double(k)}) - c).norm() < r) ct.at(i, j, k) = hu;
}

void measure(Phantom& p) {
  morphometry::measureHeights(p.ct, p.model, {});
  density::measureTrabecularHu(p.ct, p.model, {});
}

Vertebra level(const std::string& label, std::optional<double> hu, int grade = 0) {
  Vertebra v;
  v.label = label;
  v.trabecularHu = hu;
  v.genantGrade = grade;
  return v;
}

}  // namespace

TEST(Density, MeanOfTheInteriorLeavesTheCortexOut) {
  BodySpec b;
  Phantom p = makePhantom(b, 150.0);
  measure(p);
  const Vertebra& v = p.model.vertebrae[0];
  ASSERT_TRUE(v.trabecularHu);
  EXPECT_NEAR(*v.trabecularHu, 150.0, 3.0);
  EXPECT_NEAR(*v.trabecularHuMedian, 150.0, 3.0);
  EXPECT_GT(*v.trabecularVoxels, 1000);
}

TEST(Density, ExcludesABasivertebralVeinLikeDarkSpot) {
  BodySpec b;
  Phantom p = makePhantom(b, 150.0);
  // 5 mm radius at 6 mm in front of the posterior wall, mid-height: left in, it would pull
  // the mean down by about 6 HU.
  paintSphere(p.ct, b.centre + b.ant * (-b.depthMm / 2 + 6.0), 5.0, -40);
  measure(p);
  ASSERT_TRUE(p.model.vertebrae[0].trabecularHu);
  EXPECT_NEAR(*p.model.vertebrae[0].trabecularHu, 150.0, 2.0);
}

TEST(Density, ExcludesASmallBoneIsland) {
  BodySpec b;
  Phantom p = makePhantom(b, 120.0);
  paintSphere(p.ct, b.centre + b.ant * 4.0, 2.5, 450);
  measure(p);
  ASSERT_TRUE(p.model.vertebrae[0].trabecularHu);
  EXPECT_NEAR(*p.model.vertebrae[0].trabecularHu, 120.0, 3.0);
}

TEST(Density, KeepsLowMarrowValues) {
  // Fatty marrow (about 0 HU) over a large part of the body is bone density, not an outlier.
  BodySpec b;
  Phantom p = makePhantom(b, 100.0);
  paintSphere(p.ct, b.centre + b.ant * 4.0, 7.0, 0);
  measure(p);
  ASSERT_TRUE(p.model.vertebrae[0].trabecularHu);
  EXPECT_LT(*p.model.vertebrae[0].trabecularHu, 90.0);
}

TEST(Density, ExcludesCement) {
  BodySpec b;
  Phantom p = makePhantom(b, 90.0);
  paintSphere(p.ct, b.centre + b.ant * 3.0, 5.0, 1800);
  measure(p);
  ASSERT_TRUE(p.model.vertebrae[0].trabecularHu);
  EXPECT_NEAR(*p.model.vertebrae[0].trabecularHu, 90.0, 3.0);
}

TEST(Density, FallsBackToThreeMillimetresInAThinBody) {
  BodySpec b;
  b.ha = b.hm = b.hp = 10.0;
  Phantom p = makePhantom(b, 120.0);
  measure(p);
  const Vertebra& v = p.model.vertebrae[0];
  ASSERT_TRUE(v.trabecularHu);
  EXPECT_NEAR(*v.trabecularHu, 120.0, 4.0);
  ASSERT_FALSE(v.notes.empty());
  EXPECT_NE(v.notes.back().find("3 mm"), std::string::npos);
}

TEST(Density, WorksWithBodiesOnACoarserGridThanTheCt) {
  BodySpec b;
  Phantom p = makePhantom(b, 150.0, 1.0);
  measure(p);
  ASSERT_TRUE(p.model.vertebrae[0].trabecularHu);
  EXPECT_NEAR(*p.model.vertebrae[0].trabecularHu, 150.0, 4.0);
}

TEST(Density, SkipsUnmeasurableBodies) {
  BodySpec b;
  Phantom p = makePhantom(b, 150.0);
  p.model.vertebrae[0].measurable = false;
  density::measureTrabecularHu(p.ct, p.model, {});
  EXPECT_FALSE(p.model.vertebrae[0].trabecularHu);
}

TEST(DensitySummary, UsesL1) {
  const auto s =
      density::summariseDensity({level("T12", 130), level("L1", 100), level("L2", 140)}, {});
  EXPECT_EQ(s.densityLevel, "L1");
  EXPECT_EQ(s.densityHu, 100);
  EXPECT_EQ(s.l1TrabecularHu, 100);
  EXPECT_EQ(s.category, DensityCategory::kOsteoporosisLikely);
}

TEST(DensitySummary, FallsBackToT12WhenL1IsFractured) {
  const auto s =
      density::summariseDensity({level("T12", 130), level("L1", 180, 2), level("L2", 90)}, {});
  EXPECT_EQ(s.densityLevel, "T12");
  EXPECT_EQ(s.densityHu, 130);
  EXPECT_EQ(s.l1TrabecularHu, 180);
  EXPECT_EQ(s.category, DensityCategory::kLow);
}

TEST(DensitySummary, FallsBackToL2WhenL1AndT12AreMissing) {
  const auto s = density::summariseDensity({level("L2", 170), level("L3", 90)}, {});
  EXPECT_EQ(s.densityLevel, "L2");
  EXPECT_FALSE(s.l1TrabecularHu);
  EXPECT_EQ(s.category, DensityCategory::kNormal);
}

TEST(DensitySummary, IsIndeterminateWithoutAUsableLevel) {
  const auto s = density::summariseDensity({level("L3", 90), level("L1", std::nullopt)}, {});
  EXPECT_FALSE(s.densityHu);
  EXPECT_EQ(s.category, DensityCategory::kIndeterminate);
}

TEST(DensitySummary, CutOffsAreConfigurableAndInclusive) {
  density::DensityConfig c;
  c.osteoporosisLikelyMaxHu = 100;
  c.lowMaxHu = 150;
  EXPECT_EQ(density::summariseDensity({level("L1", 100)}, c).category,
            DensityCategory::kOsteoporosisLikely);
  EXPECT_EQ(density::summariseDensity({level("L1", 100.5)}, c).category, DensityCategory::kLow);
  EXPECT_EQ(density::summariseDensity({level("L1", 150)}, c).category, DensityCategory::kLow);
  EXPECT_EQ(density::summariseDensity({level("L1", 150.5)}, c).category, DensityCategory::kNormal);
}

TEST(Density, KeepsScatteredBrightVoxels) {
  // Trabecular texture: one voxel in 27 of the interior 300 HU brighter, on a 3-voxel lattice
  // (no two touching). That is the bone, not a lesion, however small its share: the mean
  // rises by about 300 / 27 = 11 HU.
  BodySpec b;
  Phantom p = makePhantom(b, 120.0);
  const Grid& g = p.ct.grid();
  const BodySpec core = trabecularCore(b);
  for (int64_t k = 0; k < g.size[2]; k += 3)
    for (int64_t j = 0; j < g.size[1]; j += 3)
      for (int64_t i = 0; i < g.size[0]; i += 3)
        if (spinescreen::testing::insideBody(core, g.indexToLps({double(i), double(j), double(k)})))
          p.ct.at(i, j, k) = static_cast<int16_t>(p.ct.at(i, j, k) + 300);
  measure(p);
  ASSERT_TRUE(p.model.vertebrae[0].trabecularHu);
  EXPECT_NEAR(*p.model.vertebrae[0].trabecularHu, 131.0, 3.0);
}

TEST(Density, ExcludesTwoBoneIslandsButNotTheirSurroundings) {
  BodySpec b;
  Phantom p = makePhantom(b, 120.0);
  paintSphere(p.ct, b.centre + b.ant * 4.0, 2.5, 450);
  paintSphere(p.ct, b.centre - b.ant * 2.0 + b.sup * 4.0, 2.0, 500);
  measure(p);
  const Vertebra& v = p.model.vertebrae[0];
  ASSERT_TRUE(v.trabecularHu);
  EXPECT_NEAR(*v.trabecularHu, 120.0, 3.0);
  bool noted = false;
  for (const std::string& n : v.notes)
    noted = noted || n.find("2 focal bright lesion") != std::string::npos;
  EXPECT_TRUE(noted);
}
