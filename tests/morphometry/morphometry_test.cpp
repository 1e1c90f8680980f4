#include "morphometry/morphometry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "morphometry/synthetic_body.h"

using namespace spinescreen;
using spinescreen::testing::BodySpec;

namespace {

Heights measure(const BodySpec& b) {
  SpineModel m = spinescreen::testing::singleBodyModel(b);
  HuVolume ct(m.bodies.grid(), 0);
  morphometry::measureHeights(ct, m, {});
  const Vertebra& v = m.vertebrae[0];
  EXPECT_TRUE(v.measurable) << v.notMeasurableReason;
  EXPECT_TRUE(v.heights.has_value());
  EXPECT_EQ(v.heightSegmentsLps.size(), 3u);
  return v.heights.value_or(Heights{});
}

void expectHeights(const Heights& h, double ha, double hm, double hp) {
  const double worst = std::max(
      {std::abs(h.anteriorMm - ha), std::abs(h.middleMm - hm), std::abs(h.posteriorMm - hp)});
  ::testing::Test::RecordProperty("max_abs_error_um", static_cast<int>(std::lround(worst * 1000)));
  EXPECT_NEAR(h.anteriorMm, ha, 0.5);
  EXPECT_NEAR(h.middleMm, hm, 0.5);
  EXPECT_NEAR(h.posteriorMm, hp, 0.5);
}

Vertebra withHeights(const std::string& label, double ha, double hm, double hp) {
  Vertebra v;
  v.label = label;
  v.heights = Heights{ha, hm, hp};
  return v;
}

// Bodies stacked along z on a 0.5 mm grid `zSpanMm` tall (centred on z = 0), each labelled and
// painted with label value firstValue + i.
SpineModel stackedBodies(const std::vector<std::string>& labels,
                         const std::vector<BodySpec>& bodies, double zSpanMm, int firstValue) {
  SpineModel m;
  Grid g = spinescreen::testing::gridAround({0.13, -0.07, 0.11}, 72.0, 0.5);
  g.size[2] = static_cast<int64_t>(zSpanMm / 0.5);
  g.origin.z = -zSpanMm / 2.0;
  m.bodies = LabelImage(g, 0);
  for (size_t i = 0; i < bodies.size(); ++i) {
    const int value = firstValue + static_cast<int>(i);
    spinescreen::testing::paintBody(bodies[i], m.bodies, value);
    Vertebra v;
    v.label = labels[i];
    v.bodyLabel = value;
    v.centroidLps = bodies[i].centre;
    m.vertebrae.push_back(v);
  }
  return m;
}

}  // namespace

TEST(Morphometry, MeasuresAnUprightNormalBody) {
  BodySpec b;
  b.ha = b.hm = b.hp = 26.0;
  expectHeights(measure(b), 26.0, 26.0, 26.0);
}

TEST(Morphometry, MeasuresAWedgeBody) {
  BodySpec b;
  b.ha = 17.0;
  b.hm = 21.5;
  b.hp = 26.0;
  expectHeights(measure(b), 17.0, 21.5, 26.0);
}

TEST(Morphometry, MeasuresABiconcaveBody) {
  BodySpec b;
  b.ha = 26.0;
  b.hm = 18.0;
  b.hp = 26.0;
  expectHeights(measure(b), 26.0, 18.0, 26.0);
}

TEST(Morphometry, ReadsABiconcaveBodysMiddleAtTheFloorOfItsDome) {
  // Both endplates sink 5 mm at the middle in a dome 35 mm wide: the middle height is 16 mm
  // on the mid-sagittal line, where the rule takes it, and taller on lines to the side.
  BodySpec b;
  b.ha = b.hm = b.hp = 26.0;
  b.domeMm = 5.0;
  expectHeights(measure(b), 26.0, 16.0, 26.0);
}

TEST(Morphometry, IgnoresASchmorlPitBesideTheMidSagittalLine) {
  // A pit a few millimetres to the side is no dome: the middle height stays the body's.
  for (double lateral : {-4.4, 3.3, 6.6}) {
    SCOPED_TRACE(lateral);
    BodySpec b;
    b.ha = b.hm = b.hp = 25.0;
    b.pitRadiusMm = 3.5;
    b.pitLateralMm = lateral;
    expectHeights(measure(b), 25.0, 25.0, 25.0);
  }
}

TEST(Morphometry, MeasuresACrushedBody) {
  BodySpec b;
  b.ha = b.hm = b.hp = 14.0;
  expectHeights(measure(b), 14.0, 14.0, 14.0);
}

TEST(Morphometry, MeasuresAWedgeTiltedTwentyDegreesAlongItsOwnAxis) {
  BodySpec b;
  b.ha = 18.0;
  b.hm = 22.0;
  b.hp = 26.0;
  const Vec3 lat = b.sup.cross(b.ant);
  b.sup = spinescreen::testing::rotateAbout(b.sup, lat, 20.0);
  b.ant = spinescreen::testing::rotateAbout(b.ant, lat, 20.0);
  expectHeights(measure(b), 18.0, 22.0, 26.0);
}

TEST(Morphometry, MeasuresABodyRotatedAboutTheSpineAxis) {
  BodySpec b;
  b.ha = 20.0;
  b.hm = 23.0;
  b.hp = 26.0;
  b.ant = spinescreen::testing::rotateAbout(b.ant, b.sup, 25.0);
  expectHeights(measure(b), 20.0, 23.0, 26.0);
}

TEST(Morphometry, IgnoresAnAnteriorOsteophyteLip) {
  BodySpec b;
  b.ha = b.hm = b.hp = 25.0;
  b.osteophyte = true;
  expectHeights(measure(b), 25.0, 25.0, 25.0);
}

TEST(Morphometry, IgnoresASchmorlPitInTheEndplate) {
  BodySpec b;
  b.ha = b.hm = b.hp = 25.0;
  b.pitRadiusMm = 3.5;
  expectHeights(measure(b), 25.0, 25.0, 25.0);
}

// A CT of the body on a coarse grid with partial volume (each voxel the mean over 5x5x5
// sub-samples): trabecular bone 250 HU inside a 1 mm cortex of 700 HU, discs at 80 HU.
HuVolume partialVolumeCt(const BodySpec& b, const Grid& g) {
  BodySpec core = b;
  core.widthMm -= 2;
  core.depthMm -= 2;
  core.ha -= 2;
  core.hm -= 2;
  core.hp -= 2;
  HuVolume ct(g, 80);
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        double sum = 0;
        for (int a = 0; a < 5; ++a)
          for (int c = 0; c < 5; ++c)
            for (int d = 0; d < 5; ++d) {
              const Vec3 p =
                  g.indexToLps({i + (a - 2) / 5.0, j + (c - 2) / 5.0, k + (d - 2) / 5.0});
              sum += spinescreen::testing::insideBody(core, p)
                         ? 250.0
                         : (spinescreen::testing::insideBody(b, p) ? 700.0 : 80.0);
            }
        ct.at(i, j, k) = static_cast<int16_t>(std::lround(sum / 125));
      }
  return ct;
}

TEST(Morphometry, StaysWithinAVoxelOnAThreeMillimetreMask) {
  // Routine abdominal CT: the body mask on a 3 mm grid. The 0.5 crossing of the interpolated
  // mask puts each edge within half a voxel, so a height is within one voxel of the truth.
  BodySpec b;
  b.ha = 19.0;
  b.hm = 23.0;
  b.hp = 27.0;
  SpineModel m = spinescreen::testing::singleBodyModel(b, 3.0);
  const HuVolume ct = partialVolumeCt(b, m.bodies.grid());
  for (bool refine : {false, true}) {
    SpineModel run = m;
    morphometry::MorphometryConfig c;
    c.refineEdgesWithHu = refine;
    morphometry::measureHeights(ct, run, c);
    ASSERT_TRUE(run.vertebrae[0].heights);
    const Heights& h = *run.vertebrae[0].heights;
    const double worst = std::max({std::abs(h.anteriorMm - b.ha), std::abs(h.middleMm - b.hm),
                                   std::abs(h.posteriorMm - b.hp)});
    RecordProperty(refine ? "hu_refined_max_abs_error_um" : "mask_max_abs_error_um",
                   static_cast<int>(std::lround(worst * 1000)));
    EXPECT_LE(worst, 3.0) << (refine ? "HU-refined" : "mask") << " Ha " << h.anteriorMm << " Hm "
                          << h.middleMm << " Hp " << h.posteriorMm;
    EXPECT_LT(h.anteriorMm, h.posteriorMm);
  }
}

TEST(Morphometry, BridgesAOneVoxelGapInsideTheBody) {
  // On a 3 mm grid the basivertebral vein channel can take one voxel layer out of the back of
  // a body mask at mid-height. The posterior height is still the whole body's.
  BodySpec b;
  b.ha = b.hm = b.hp = 24.0;
  SpineModel m = spinescreen::testing::singleBodyModel(b, 3.0);
  const Grid& g = m.bodies.grid();
  int removed = 0;
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        const Vec3 p = g.indexToLps({double(i), double(j), double(k)});
        const double fromBack = (p - b.centre).dot(-1.0 * b.ant) - (b.depthMm / 2 - 12.0);
        if (m.bodies.at(i, j, k) && std::abs(p.z - b.centre.z) < 1.5 && fromBack > 0.0) {
          m.bodies.at(i, j, k) = 0;
          ++removed;
        }
      }
  ASSERT_GT(removed, 0);
  HuVolume ct(g, 0);
  morphometry::measureHeights(ct, m, {});
  const Vertebra& v = m.vertebrae[0];
  ASSERT_TRUE(v.heights) << v.notMeasurableReason;
  EXPECT_NEAR(v.heights->posteriorMm, 24.0, 3.0);
  EXPECT_NEAR(v.heights->anteriorMm, 24.0, 3.0);
}

TEST(Morphometry, FillsTheBodyFrameWhenAxesAreMissing) {
  BodySpec b;
  SpineModel m = spinescreen::testing::singleBodyModel(b);
  morphometry::measureHeights(HuVolume(m.bodies.grid(), 0), m, {});
  ASSERT_TRUE(m.vertebrae[0].axisSuperior && m.vertebrae[0].axisAnterior);
  EXPECT_GT(m.vertebrae[0].axisSuperior->z, 0.99);
  EXPECT_GT(-m.vertebrae[0].axisAnterior->y, 0.99);
}

TEST(Morphometry, MeasuresOnBodiesGivenOnACoarserGridThanTheVolume) {
  BodySpec b;
  b.ha = 18.0;
  b.hm = 22.0;
  b.hp = 26.0;
  SpineModel m = spinescreen::testing::singleBodyModel(b, 0.5);
  HuVolume ct(spinescreen::testing::gridAround(b.centre, 80.0, 0.8), 0);
  morphometry::measureHeights(ct, m, {});
  ASSERT_TRUE(m.vertebrae[0].heights);
  expectHeights(*m.vertebrae[0].heights, 18.0, 22.0, 26.0);
}

TEST(Morphometry, PhysiologicalWedgingAtTheJunctionMeasuresAsGradeZero) {
  // T11, T12 and L1 each 12% shorter in front, stacked along a column.
  std::vector<BodySpec> bodies(3);
  for (int i = 0; i < 3; ++i) {
    bodies[i].centre.z = 32.0 - 32.0 * i + 0.11;
    bodies[i].hp = 27.0;
    bodies[i].ha = 0.88 * 27.0;
    bodies[i].hm = 0.5 * (bodies[i].ha + bodies[i].hp);
  }
  SpineModel m = stackedBodies({"T11", "T12", "L1"}, bodies, 120.0, 18);
  const Grid& g = m.bodies.grid();
  morphometry::measureHeights(HuVolume(g, 0), m, {});
  morphometry::gradeVertebrae(m.vertebrae);
  for (const auto& v : m.vertebrae) {
    ASSERT_TRUE(v.heightLoss) << v.label << ": " << v.notMeasurableReason;
    EXPECT_NEAR(*v.heightLoss, 0.12, 0.02) << v.label;
    EXPECT_EQ(v.genantGrade, 0) << v.label;
  }
}

TEST(Morphometry, RefusesABodyTallerInTheMiddleThanAtBothWalls) {
  BodySpec b;
  b.ha = 14.0;
  b.hm = 26.0;
  b.hp = 16.0;
  SpineModel m = spinescreen::testing::singleBodyModel(b);
  morphometry::measureHeights(HuVolume(m.bodies.grid(), 0), m, {});
  EXPECT_FALSE(m.vertebrae[0].measurable);
  EXPECT_NE(m.vertebrae[0].notMeasurableReason.find("implausible"), std::string::npos);
}

// Two bodies merged across a missed disc look like one tall, often wedge-shaped body; grading
// it would report a fracture that is not there.
TEST(Morphometry, RefusesABodyFarTallerThanItsNeighbours) {
  const double heights[] = {16.0, 34.0, 17.0};
  const double centresZ[] = {48.0, 0.0, -48.0};
  std::vector<BodySpec> bodies(3);
  for (int i = 0; i < 3; ++i) {
    bodies[i].centre.z = centresZ[i] + 0.11;
    bodies[i].widthMm = 30.0;  // mid-thoracic bodies
    bodies[i].depthMm = 26.0;
    bodies[i].hp = heights[i];
    bodies[i].hm = heights[i];
    bodies[i].ha = i == 1 ? 0.6 * heights[i] : heights[i];
  }
  SpineModel m = stackedBodies({"T4", "T5", "T6"}, bodies, 160.0, 10);
  const Grid& g = m.bodies.grid();
  morphometry::measureHeights(HuVolume(g, 0), m, {});
  EXPECT_TRUE(m.vertebrae[0].measurable);
  EXPECT_TRUE(m.vertebrae[2].measurable);
  EXPECT_FALSE(m.vertebrae[1].measurable);
  EXPECT_FALSE(m.vertebrae[1].heights);
  EXPECT_NE(m.vertebrae[1].notMeasurableReason.find("merged"), std::string::npos);
  // Within the ratio, a taller body is measured.
  morphometry::MorphometryConfig loose;
  loose.maxPosteriorOverNeighbourRatio = 2.5;
  for (auto& v : m.vertebrae) {
    v.measurable = true;
    v.notMeasurableReason.clear();
  }
  morphometry::measureHeights(HuVolume(g, 0), m, loose);
  EXPECT_TRUE(m.vertebrae[1].measurable) << m.vertebrae[1].notMeasurableReason;
}

TEST(Morphometry, RefusesABodySegmentedAcrossADiscAmongNormalOnes) {
  // Mid-thoracic bodies 16-17.5 mm tall behind and 30 mm wide; T8's outline ran across a disc
  // into part of T9 and reads 24 mm, less than most of its width (so not two whole bodies),
  // but half as tall again as the column around it. Measured, it would also lend its height
  // to T7's and T9's references and grade them as fractures.
  const double heights[] = {16.0, 16.5, 24.0, 17.0, 17.5};
  std::vector<BodySpec> bodies(5);
  for (int i = 0; i < 5; ++i) {
    bodies[i].centre.z = 80.11 - 40.0 * i;
    bodies[i].widthMm = 30.0;
    bodies[i].depthMm = 26.0;
    bodies[i].ha = bodies[i].hm = bodies[i].hp = heights[i];
  }
  // T7 and T9 are a little wedged: fine against their own column, not against 24 mm.
  bodies[1].ha = bodies[1].hm = 14.0;
  bodies[3].ha = bodies[3].hm = 14.5;
  SpineModel m = stackedBodies({"T6", "T7", "T8", "T9", "T10"}, bodies, 240.0, 10);
  morphometry::measureHeights(HuVolume(m.bodies.grid(), 0), m, {});
  morphometry::gradeVertebrae(m.vertebrae);
  EXPECT_FALSE(m.vertebrae[2].measurable);
  EXPECT_NE(m.vertebrae[2].notMeasurableReason.find("across a disc"), std::string::npos);
  for (const int i : {0, 1, 3, 4}) {
    const Vertebra& v = m.vertebrae[static_cast<size_t>(i)];
    ASSERT_TRUE(v.measurable) << v.label << ": " << v.notMeasurableReason;
    ASSERT_TRUE(v.genantGrade) << v.label;
    EXPECT_LT(*v.genantGrade, 2) << v.label;
  }
}

TEST(Morphometry, RefusesAMergedBodyWhoseAdjacentBodiesWereNotMeasured) {
  // T3 holds two vertebrae; T4 and T5 are missing (not found), T6 is measured three levels
  // below. Scaled by the usual growth per level, T6 says T3 should be about 15 mm tall.
  auto run = [](const std::string& farLabel, double tallHp) {
    std::vector<BodySpec> bodies(2);
    for (BodySpec& b : bodies) {
      b.widthMm = 30.0;  // upper thoracic bodies
      b.depthMm = 24.0;
    }
    bodies[0].centre.z = 40.11;
    bodies[0].ha = bodies[0].hm = bodies[0].hp = tallHp;
    bodies[1].centre.z = -40.11;
    bodies[1].ha = bodies[1].hm = bodies[1].hp = 17.0;
    SpineModel m = stackedBodies({"T3", farLabel}, bodies, 160.0, 10);
    morphometry::measureHeights(HuVolume(m.bodies.grid(), 0), m, {});
    return m;
  };
  SpineModel merged = run("T6", 34.0);
  EXPECT_FALSE(merged.vertebrae[0].measurable);
  EXPECT_NE(merged.vertebrae[0].notMeasurableReason.find("merged"), std::string::npos);
  EXPECT_TRUE(merged.vertebrae[1].measurable);
  // A body of ordinary height is measured.
  EXPECT_TRUE(run("T6", 16.0).vertebrae[0].measurable);
  // Four levels away is too far to judge.
  EXPECT_TRUE(run("T7", 34.0).vertebrae[0].measurable);
}

TEST(Morphometry, ABodyNextToACrushedOneIsNotTakenForTwoMerged) {
  // L1 23 mm tall behind, next to a T12 crushed to 14 mm and nothing else measured: 1.6 times
  // its neighbour, but half as tall as it is wide, as one body is.
  {
    std::vector<BodySpec> pair(2);
    pair[0].centre.z = 30.11;
    pair[0].ha = pair[0].hm = pair[0].hp = 14.0;
    pair[1].centre.z = -20.11;
    pair[1].ha = pair[1].hm = pair[1].hp = 23.0;
    SpineModel m = stackedBodies({"T12", "L1"}, pair, 110.0, 10);
    morphometry::measureHeights(HuVolume(m.bodies.grid(), 0), m, {});
    for (const Vertebra& v : m.vertebrae)
      EXPECT_TRUE(v.measurable) << v.label << ": " << v.notMeasurableReason;
  }
  // L2 normal, L3 crushed to 14 mm, L4 wedged with a 23 mm back: against L3 alone L4 looks
  // more than 1.35 times too tall; against the tallest of its measured neighbours it is not.
  std::vector<BodySpec> bodies(3);
  const double z[3] = {45.11, 0.11, -45.11};
  const double hp[3] = {22.0, 14.0, 23.0};
  for (int i = 0; i < 3; ++i) {
    bodies[i].centre.z = z[i];
    bodies[i].ha = bodies[i].hm = bodies[i].hp = hp[i];
  }
  bodies[2].ha = 11.0;
  bodies[2].hm = 17.0;
  SpineModel m = stackedBodies({"L2", "L3", "L4"}, bodies, 140.0, 10);
  morphometry::measureHeights(HuVolume(m.bodies.grid(), 0), m, {});
  for (const Vertebra& v : m.vertebrae)
    EXPECT_TRUE(v.measurable) << v.label << ": " << v.notMeasurableReason;
}

TEST(Morphometry, BodyMissingFromTheLabelMapIsNotMeasurable) {
  BodySpec b;
  SpineModel m = spinescreen::testing::singleBodyModel(b);
  m.vertebrae[0].bodyLabel = 21;
  morphometry::measureHeights(HuVolume(m.bodies.grid(), 0), m, {});
  EXPECT_FALSE(m.vertebrae[0].measurable);
  EXPECT_FALSE(m.vertebrae[0].heights);
}

TEST(Grading, BandEdgesFollowTheRule) {
  EXPECT_EQ(morphometry::genantGradeForLoss(0.1999), 0);
  EXPECT_EQ(morphometry::genantGradeForLoss(0.20), 1);
  EXPECT_EQ(morphometry::genantGradeForLoss(0.2499), 1);
  EXPECT_EQ(morphometry::genantGradeForLoss(0.25), 2);
  EXPECT_EQ(morphometry::genantGradeForLoss(0.40), 2);
  EXPECT_EQ(morphometry::genantGradeForLoss(0.4001), 3);
}

TEST(Grading, BandEdgesHoldForHeightsThatGiveThemExactly) {
  // 1 - 80/100 is 0.19999999999999996 in floating point; the rule says grade 1.
  const double losses[] = {0.1999, 0.20, 0.25, 0.40, 0.4001};
  const int grades[] = {0, 1, 2, 2, 3};
  for (int i = 0; i < 5; ++i) {
    std::vector<Vertebra> vs{withHeights("L1", 100.0 * (1 - losses[i]), 100.0, 100.0)};
    morphometry::gradeVertebrae(vs);
    EXPECT_EQ(vs[0].genantGrade, grades[i]) << "loss " << losses[i];
    EXPECT_NEAR(*vs[0].heightLoss, losses[i], 1e-9);
  }
}

TEST(Grading, UsesTheUnfracturedNeighboursPosteriorHeight) {
  // L1 is uniformly flattened: by its own Hp it looks normal, against its neighbours it has
  // lost 1 - 22/30 = 26.7%: a grade 2 crush.
  std::vector<Vertebra> vs{withHeights("T12", 30, 30, 30), withHeights("L1", 22, 22, 22),
                           withHeights("L2", 30, 30, 30)};
  morphometry::gradeVertebrae(vs);
  EXPECT_NEAR(*vs[1].heightLoss, 1 - 22.0 / 30.0, 1e-9);
  EXPECT_EQ(vs[1].genantGrade, 2);
  EXPECT_EQ(vs[1].morphology, Morphology::kCrush);
  EXPECT_EQ(vs[0].genantGrade, 0);
  EXPECT_EQ(vs[2].genantGrade, 0);
}

TEST(Grading, LeavesFracturedNeighboursOutOfTheReference) {
  // T12 is a severe wedge (its Hp is normal but large): L1's reference is L2 alone.
  std::vector<Vertebra> vs{withHeights("T12", 15, 25, 40), withHeights("L1", 24, 25, 27),
                           withHeights("L2", 28, 28, 28)};
  morphometry::gradeVertebrae(vs);
  EXPECT_EQ(vs[0].genantGrade, 3);
  EXPECT_NEAR(*vs[1].heightLoss, 1 - 24.0 / 28.0, 1e-9);
  EXPECT_EQ(vs[1].genantGrade, 0);
}

TEST(Grading, NeighboursAcrossAGapAreNotAdjacent) {
  std::vector<Vertebra> vs{withHeights("T10", 30, 30, 30), withHeights("L1", 22, 22, 22)};
  morphometry::gradeVertebrae(vs);
  EXPECT_EQ(vs[1].genantGrade, 0);
}

TEST(Grading, NamesTheShape) {
  std::vector<Vertebra> vs{withHeights("L1", 18, 24, 28), withHeights("L3", 27, 18, 28)};
  morphometry::gradeVertebrae(vs);
  EXPECT_EQ(vs[0].morphology, Morphology::kWedge);
  EXPECT_EQ(vs[1].morphology, Morphology::kBiconcave);
}

TEST(Grading, PhysiologicalThoracolumbarWedgingStaysGradeZero) {
  std::vector<Vertebra> vs{withHeights("T11", 25.5, 27, 29), withHeights("T12", 25, 27, 29),
                           withHeights("L1", 25.5, 27.5, 29.5)};
  morphometry::gradeVertebrae(vs);
  for (const auto& v : vs) {
    EXPECT_EQ(v.genantGrade, 0) << v.label;
    EXPECT_EQ(v.morphology, Morphology::kNormal) << v.label;
    EXPECT_LT(*v.fractureProbability, 0.1) << v.label;
  }
}

TEST(Grading, FractureProbabilityRisesWithLossAndIsLessSureOnThickSlices) {
  double last = 0.0;
  for (double loss = 0.0; loss <= 0.6; loss += 0.05) {
    const double p = morphometry::fractureProbability(loss, "L2", 1.0);
    EXPECT_GE(p, last);
    last = p;
  }
  EXPECT_LT(morphometry::fractureProbability(0.15, "L2", 1.0), 0.05);
  EXPECT_GT(morphometry::fractureProbability(0.35, "L2", 1.0), 0.95);
  EXPECT_GT(morphometry::fractureProbability(0.15, "L2", 5.0),
            morphometry::fractureProbability(0.15, "L2", 1.0));
  EXPECT_LT(morphometry::fractureProbability(0.35, "L2", 5.0),
            morphometry::fractureProbability(0.35, "L2", 1.0));
}

TEST(Grading, MarksGradeOneUncertainOnThickSlices) {
  std::vector<Vertebra> vs{withHeights("L2", 22, 25, 28)};
  morphometry::GradingConfig c;
  c.sliceThicknessMm = 5.0;
  morphometry::gradeVertebrae(vs, c);
  ASSERT_EQ(vs[0].genantGrade, 1);
  ASSERT_FALSE(vs[0].notes.empty());
  EXPECT_NE(vs[0].notes[0].find("uncertain"), std::string::npos);
}

TEST(Grading, SkipsUnmeasurableVertebrae) {
  std::vector<Vertebra> vs{withHeights("L1", 10, 10, 30)};
  vs[0].measurable = false;
  morphometry::gradeVertebrae(vs);
  EXPECT_FALSE(vs[0].genantGrade);
}
