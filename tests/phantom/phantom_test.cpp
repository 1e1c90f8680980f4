// Synthetic phantoms: deterministic per seed, truth graded by the project's Genant rule, the
// rendered volume agrees with the truth, thin and thick slices share one anatomy, and
// truth.json follows its contract.
#include "phantom/phantom.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/errors.h"
#include "core/labels.h"
#include "phantom/model.h"
#include "support/schema.h"

using namespace spinescreen;
using namespace spinescreen::phantom;

namespace {

// A case cut down to a small thoracolumbar field of view (0.8 mm pixels) to keep tests fast.
PhantomSpec smallSpec(uint64_t seed, int index, double sliceMm) {
  PhantomSpec s = randomSpec(seed, index);
  setFov(s, FovKind::kThoracolumbar);
  s.fovWidthMm = 180.0;
  s.matrix = 225;
  s.centreOffsetXMm = 0.0;
  s.centreOffsetYMm = 0.0;
  s.fovTopJitter = 0.5;  // about T8 to L4
  s.fovBottomJitter = 0.6;
  setSliceSpacing(s, sliceMm);
  return s;
}

GenerateOptions truthOnly() {
  GenerateOptions o;
  o.render = false;
  o.masks = false;
  return o;
}

bool hasFracture(const PhantomSpec& s) {
  for (const auto& v : s.column)
    if (v.fracture != FractureType::kNone) return true;
  return false;
}

// The rule of CLINICAL.md, written out again from the truth heights alone.
int expectedGrade(const std::vector<VertebraTruth>& vs, size_t i) {
  auto ownLoss = [](const Heights& h) {
    return 1.0 - std::min(h.anteriorMm, h.middleMm) / h.posteriorMm;
  };
  const Heights& h = *vs[i].heights;
  std::vector<double> hps;
  if (i > 0 && vs[i - 1].heights && ownLoss(*vs[i - 1].heights) < 0.2)
    hps.push_back(vs[i - 1].heights->posteriorMm);
  if (i + 1 < vs.size() && vs[i + 1].heights && ownLoss(*vs[i + 1].heights) < 0.2)
    hps.push_back(vs[i + 1].heights->posteriorMm);
  double ref = h.posteriorMm;
  if (!hps.empty()) {
    double mean = 0;
    for (double v : hps) mean += v;
    ref = std::max(ref, mean / hps.size());
  }
  const double loss = 1.0 - std::min(h.anteriorMm, h.middleMm) / ref;
  if (loss < 0.20) return 0;
  if (loss < 0.25) return 1;
  if (loss <= 0.40) return 2;
  return 3;
}

Vec3 labelCentroid(const LabelImage& img, uint8_t label, int64_t* count = nullptr) {
  Vec3 sum;
  int64_t n = 0;
  const Size3& s = img.size();
  for (int64_t k = 0; k < s[2]; ++k)
    for (int64_t j = 0; j < s[1]; ++j)
      for (int64_t i = 0; i < s[0]; ++i)
        if (img.at(i, j, k) == label) {
          sum += img.grid().indexToLps(
              {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
          ++n;
        }
  if (count) *count = n;
  return n ? sum / static_cast<double>(n) : Vec3{};
}

// Truth of a small cohort (chest-abdomen-pelvis, 5 mm), computed once for several tests.
struct CohortCase {
  PhantomSpec spec;
  PhantomTruth truth;
};
const std::vector<CohortCase>& truthCohort() {
  static const std::vector<CohortCase> cohort = [] {
    std::vector<CohortCase> out;
    for (int i = 0; i < 24; ++i) {
      PhantomSpec s = randomSpec(11, i);
      setFov(s, FovKind::kChestAbdomenPelvis);
      setSliceSpacing(s, 5.0);
      out.push_back({s, generate(s, truthOnly()).truth});
    }
    return out;
  }();
  return cohort;
}

}  // namespace

TEST(PhantomSpec, SameSeedAndIndexGiveTheSameCase) {
  const PhantomSpec a = randomSpec(42, 7), b = randomSpec(42, 7), c = randomSpec(43, 7);
  EXPECT_EQ(a.caseId, "phantom_0007");
  ASSERT_EQ(a.column.size(), b.column.size());
  for (size_t i = 0; i < a.column.size(); ++i) {
    EXPECT_EQ(a.column[i].label, b.column[i].label);
    EXPECT_DOUBLE_EQ(a.column[i].heightMm, b.column[i].heightMm);
    EXPECT_DOUBLE_EQ(a.column[i].trabecularHu, b.column[i].trabecularHu);
  }
  EXPECT_DOUBLE_EQ(a.thoracicKyphosisDeg, b.thoracicKyphosisDeg);
  EXPECT_EQ(a.noiseSeed, b.noiseSeed);
  EXPECT_NE(a.noiseSeed, c.noiseSeed);
  EXPECT_NE(a.column[10].heightMm, c.column[10].heightMm);
}

TEST(PhantomGenerate, SameSpecRendersIdenticalVolumesAndTruth) {
  const PhantomSpec s = smallSpec(5, 2, 5.0);
  const Phantom a = generate(s), b = generate(s);
  ASSERT_FALSE(a.ct.empty());
  EXPECT_TRUE(a.ct.data() == b.ct.data());
  EXPECT_TRUE(a.vertebrae.data() == b.vertebrae.data());
  EXPECT_EQ(truthJson(a.truth), truthJson(b.truth));
}

TEST(PhantomTruth, GradeFollowsTheClinicalRuleFromTruthHeights) {
  int graded = 0, fractured = 0;
  for (const auto& [s, truth] : truthCohort()) {
    const auto& vs = truth.vertebrae;
    for (size_t k = 0; k < vs.size(); ++k) {
      if (!vs[k].heights) {
        EXPECT_FALSE(vs[k].genantGrade.has_value()) << vs[k].label;
        continue;
      }
      ASSERT_TRUE(vs[k].genantGrade.has_value());
      EXPECT_EQ(*vs[k].genantGrade, expectedGrade(vs, k)) << s.caseId << " " << vs[k].label;
      EXPECT_EQ(*vs[k].morphology == "normal", *vs[k].genantGrade == 0);
      ++graded;
      if (*vs[k].genantGrade >= 2) ++fractured;
    }
  }
  EXPECT_GT(graded, 300);
  EXPECT_GT(fractured, 3);  // evaluation needs positives
}

TEST(PhantomTruth, RuleUsesUnfracturedNeighboursAndNamesTheShape) {
  auto v = [](const char* label, double a, double m, double p) {
    VertebraTruth t;
    t.label = label;
    t.heights = Heights{a, m, p};
    return t;
  };
  // A wedge: Ha 30% below the neighbours' Hp.
  std::vector<VertebraTruth> w = {v("L1", 25, 24, 25), v("L2", 18, 23, 26), v("L3", 26, 25, 27)};
  gradeByRule(w);
  EXPECT_EQ(*w[1].genantGrade, 2);
  EXPECT_EQ(*w[1].morphology, "wedge");
  EXPECT_EQ(*w[0].genantGrade, 0);
  // A crush: all heights down; only the neighbours reveal it.
  std::vector<VertebraTruth> c = {v("T11", 22, 21, 22), v("T12", 15, 15, 16), v("L1", 24, 23, 24)};
  gradeByRule(c);
  EXPECT_EQ(*c[1].genantGrade, 2);
  EXPECT_EQ(*c[1].morphology, "crush");
  // A biconcave body next to a fractured neighbour, which is no reference.
  std::vector<VertebraTruth> b = {v("T7", 11, 16, 20), v("T8", 19, 13, 20)};
  gradeByRule(b);
  EXPECT_EQ(*b[1].genantGrade, 2);  // ref = own Hp 20, not T7
  EXPECT_EQ(*b[1].morphology, "biconcave");
  EXPECT_EQ(*b[0].genantGrade, 3);
}

TEST(PhantomTruth, CasesWithoutFracturesHaveNoModerateGrade) {
  int normals = 0;
  for (const auto& [s, truth] : truthCohort()) {
    if (hasFracture(s)) continue;
    ++normals;
    ASSERT_TRUE(truth.maxGrade.has_value()) << s.caseId;
    EXPECT_LT(*truth.maxGrade, 2) << s.caseId;
    EXPECT_EQ(truth.anyFracture, std::optional<bool>(false));
  }
  EXPECT_GE(normals, 6);
}

TEST(PhantomTruth, ModelledWedgeAndBiconcaveFracturesAreGradedAtLeastOne) {
  int checked = 0;
  for (const auto& [s, truth] : truthCohort()) {
    for (const auto& v : truth.vertebrae) {
      // A crush is judged against the neighbours, which may be missing or fractured.
      if (v.fracture == FractureType::kNone || v.fracture == FractureType::kCrush || !v.genantGrade)
        continue;
      for (const auto& vs : s.column)
        if (vs.label == v.label && vs.fractureLoss >= 0.3) {
          EXPECT_GE(*v.genantGrade, 1) << s.caseId << " " << v.label;
          ++checked;
        }
    }
  }
  EXPECT_GT(checked, 2);
}

TEST(PhantomRender, BodyInteriorHasTheTruthTrabecularHuAndDiscsAreDarkerThanCortex) {
  const PhantomSpec s = smallSpec(21, 4, 2.0);
  const Phantom p = generate(s);
  const LabelImage& bodies = p.bodies;
  const Grid& g = bodies.grid();
  const int ri = static_cast<int>(std::ceil(5.0 / g.spacing.x));
  const int rk = static_cast<int>(std::ceil(5.0 / g.spacing.z));
  int tested = 0;
  for (size_t n = 0; n < p.truth.vertebrae.size(); ++n) {
    const VertebraTruth& v = p.truth.vertebrae[n];
    if (!v.trabecularHu) continue;
    const uint8_t label = static_cast<uint8_t>(v.verseNumber);
    double sum = 0;
    int64_t count = 0;
    const Size3& sz = bodies.size();
    for (int64_t k = rk; k < sz[2] - rk; ++k)
      for (int64_t j = ri; j < sz[1] - ri; ++j)
        for (int64_t i = ri; i < sz[0] - ri; ++i) {
          if (bodies.at(i, j, k) != label) continue;
          bool deep = true;
          for (int dk = -rk; dk <= rk && deep; ++dk)
            for (int dj = -ri; dj <= ri && deep; dj += 2)
              for (int di = -ri; di <= ri && deep; di += 2) {
                const double d2 = std::pow(di * g.spacing.x, 2) + std::pow(dj * g.spacing.y, 2) +
                                  std::pow(dk * g.spacing.z, 2);
                if (d2 <= 25.0 && bodies.at(i + di, j + dj, k + dk) != label) deep = false;
              }
          if (!deep) continue;
          sum += p.ct.at(i, j, k);
          ++count;
        }
    if (count < 50) continue;
    EXPECT_NEAR(sum / count, *v.trabecularHu, 8.0) << v.label << " over " << count << " voxels";
    ++tested;
    // The disc below: midway between this body and the next one's centroid.
    if (n + 1 < p.truth.vertebrae.size() && p.truth.vertebrae[n + 1].bodyCentroidLps &&
        v.bodyCentroidLps) {
      const Vec3 mid = (*v.bodyCentroidLps + *p.truth.vertebrae[n + 1].bodyCentroidLps) * 0.5;
      const double disc = sampleLinearLps(p.ct, mid, -1000.0);
      double cortex = -1000;
      for (const auto& vs : s.column)
        if (vs.label == v.label) cortex = vs.cortexHu;
      EXPECT_LT(disc, 130.0) << "disc below " << v.label;
      EXPECT_LT(disc, cortex - 150.0) << "disc below " << v.label;
    }
  }
  EXPECT_GE(tested, 3);
}

TEST(PhantomRender, ThinAndThickSlicesShareTheTruthAndTheRasterisedVertebrae) {
  const Phantom thin = generate(smallSpec(8, 1, 0.8));
  const Phantom thick = generate(smallSpec(8, 1, 3.0));
  std::map<std::string, Vec3> thickTruth;
  for (const auto& v : thick.truth.vertebrae) thickTruth[v.label] = v.centroidLps;
  int compared = 0;
  for (const auto& v : thin.truth.vertebrae) {
    auto it = thickTruth.find(v.label);
    if (it == thickTruth.end() || !v.heights) continue;
    EXPECT_LT((it->second - v.centroidLps).norm(), 1e-6) << v.label;
    const uint8_t label = static_cast<uint8_t>(v.verseNumber);
    int64_t nThin = 0, nThick = 0;
    const Vec3 cThin = labelCentroid(thin.vertebrae, label, &nThin);
    const Vec3 cThick = labelCentroid(thick.vertebrae, label, &nThick);
    ASSERT_GT(nThin, 1000) << v.label;
    ASSERT_GT(nThick, 100) << v.label;
    EXPECT_LT((cThin - cThick).norm(), 1.0) << v.label;
    EXPECT_LT((cThin - v.centroidLps).norm(), 1.5) << v.label;
    ++compared;
  }
  EXPECT_GE(compared, 4);
  EXPECT_NEAR(thin.ct.grid().spacing.z, 0.8, 1e-9);
  EXPECT_NEAR(thick.ct.grid().spacing.z, 3.0, 1e-9);
}

TEST(PhantomTruth, TruthJsonValidatesAgainstTheContract) {
  for (const auto& [s, truth] : truthCohort()) {
    const nlohmann::json doc = nlohmann::json::parse(truthJson(truth));
    EXPECT_EQ(spinescreen::testing::schemaViolations(doc, "truth.schema.json"), "") << s.caseId;
    EXPECT_EQ(doc["case_id"], s.caseId);
    for (const auto& v : doc["vertebrae"]) EXPECT_TRUE(isValidLabel(v["label"]));
  }
}

TEST(PhantomTruth, LabelAnchorIsFalseWithoutRibsEndsOrSacrumInView) {
  PhantomSpec s = smallSpec(4, 0, 3.0);
  for (auto& v : s.column) v.ribLength = v.label[0] == 'T' ? 1.0 : 0.0;
  s.fov = FovKind::kThoracolumbar;
  s.fovTopJitter = 0.0;     // top at T7
  s.fovBottomJitter = 1.0;  // bottom at L5: sacrum partly, last rib in view
  const Phantom withAnchor = generate(s, truthOnly());
  EXPECT_TRUE(withAnchor.truth.labelAnchor);
  s.fov = FovKind::kChest;
  s.fovTopJitter = 1.0;  // top at T1: the first rib
  const Phantom chest = generate(s, truthOnly());
  EXPECT_TRUE(chest.truth.labelAnchor);
  // Middle of the thoracic spine only (T7 to T10): no first rib, no last rib, no sacrum.
  PhantomSpec mid = s;
  for (auto& v : mid.column) v.ribLength = v.label[0] == 'T' ? 1.0 : 0.0;
  mid.fov = FovKind::kThoracolumbar;
  mid.fovTopJitter = 1.0;
  mid.fovBottomJitter = 0.0;
  const Phantom tl = generate(mid, truthOnly());
  bool t12 = false, l1 = false;
  for (const auto& v : tl.truth.vertebrae) t12 |= v.label == "T12", l1 |= v.label == "L1";
  EXPECT_FALSE(t12 && l1);
  EXPECT_FALSE(tl.truth.labelAnchor);
  EXPECT_GE(tl.truth.vertebrae.size(), 3u);
}

TEST(PhantomSpec, RejectsUnrenderableSpecsWithUsageErrors) {
  PhantomSpec s = randomSpec(1, 0);
  EXPECT_THROW(setSliceSpacing(s, 0.0), UsageError);
  s.sliceSpacingMm = 3.0;
  s.sliceThicknessMm = 1.0;
  EXPECT_THROW(generate(s, truthOnly()), UsageError);
  PhantomSpec t = randomSpec(1, 0);
  t.column.resize(4);
  EXPECT_THROW(generate(t, truthOnly()), UsageError);
  EXPECT_FALSE(fovKindFromString("legs").has_value());
  EXPECT_EQ(fovKindFromString("cap"), FovKind::kChestAbdomenPelvis);
}

TEST(PhantomCohort, SpecsCoverVariantsFracturesAndFieldsOfView) {
  int variants = 0, fractureCases = 0, fovs[5] = {0, 0, 0, 0, 0}, thin = 0;
  const int n = 300;
  for (int i = 0; i < n; ++i) {
    const PhantomSpec s = randomSpec(77, i);
    variants += !s.variant.empty();
    bool moderate = false;
    for (const auto& v : s.column)
      moderate |= v.fracture != FractureType::kNone && v.fractureLoss > 0.2;
    fractureCases += moderate;
    ++fovs[static_cast<int>(s.fov)];
    thin += s.sliceSpacingMm < 1.3;
    EXPECT_GE(s.sliceThicknessMm, s.sliceSpacingMm);
    EXPECT_GE(s.fovWidthMm / s.matrix, 0.3);
  }
  EXPECT_GT(variants, n * 0.07);
  EXPECT_LT(variants, n * 0.2);
  EXPECT_GT(fractureCases, n * 0.35);
  EXPECT_LT(fractureCases, n * 0.65);
  for (int f : fovs) EXPECT_GT(f, n * 0.05);
  EXPECT_GT(thin, n * 0.05);
}

TEST(PhantomFiles, WritesCtTruthAndMasks) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("phantom_files_" + std::to_string(::getpid())))
          .string();
  PhantomSpec s = smallSpec(6, 3, 5.0);
  const Phantom p = generate(s);
  WriteOptions w;
  w.masks = true;
  writeCase(p, dir, w);
  for (const char* f : {"ct.nii.gz", "truth.json", "vertebrae.nii.gz", "bodies.nii.gz"})
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / f)) << f;
  std::ifstream in(std::filesystem::path(dir) / "truth.json");
  const nlohmann::json doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["case_id"], s.caseId);
  std::filesystem::remove_all(dir);
}

TEST(PhantomRender, BodyMaskHeightsAlongTheLocalAxisMatchTheTruthHeights) {
  const Phantom p = generate(smallSpec(13, 2, 0.8));
  const detail::Model m = detail::buildModel(p.spec);
  int checked = 0;
  for (const auto& v : p.truth.vertebrae) {
    if (!v.heights) continue;
    const int idx = m.indexOf(v.label);
    ASSERT_GE(idx, 0);
    const detail::VertebraModel& vm = m.vertebrae[static_cast<size_t>(idx)];
    LabelImage mask(p.bodies.grid(), 0);
    for (size_t i = 0; i < mask.data().size(); ++i)
      mask.data()[i] = p.bodies.data()[i] == v.verseNumber ? 1 : 0;
    const double expected[3] = {v.heights->anteriorMm, v.heights->middleMm, v.heights->posteriorMm};
    const double fractions[3] = {0.15, 0.5, 0.85};
    for (int k = 0; k < 3; ++k) {
      // March along the body's own axis through the mid-sagittal point at this depth.
      const Vec3 base = vm.frame.toWorld({0.0, vm.body.yAt(fractions[k]), 0.0});
      double inside = 0;
      for (double d = -30.0; d <= 30.0; d += 0.05)
        if (sampleLinearLps(mask, base + vm.frame.ax * d, 0.0) >= 0.5) inside += 0.05;
      EXPECT_NEAR(inside, expected[k], 1.0) << v.label << " at " << fractions[k];
      ++checked;
    }
  }
  EXPECT_GE(checked, 12);
}

TEST(PhantomMatrix, SmallerMatrixKeepsTheFieldOfViewSlicesAndTruth) {
  const PhantomSpec full = smallSpec(13, 3, 5.0);
  PhantomSpec coarse = full;
  setMatrix(coarse, 75);  // 2.4 mm in-plane voxels instead of 0.8 mm
  const Phantom a = generate(full), b = generate(coarse);
  ASSERT_FALSE(b.ct.empty());
  EXPECT_EQ(b.grid.size[0], 75);
  EXPECT_EQ(b.grid.size[1], 75);
  EXPECT_EQ(b.ct.size()[0], 75);
  EXPECT_EQ(b.grid.size[2], a.grid.size[2]);
  EXPECT_NEAR(b.grid.spacing.x, 3.0 * a.grid.spacing.x, 1e-9);
  EXPECT_NEAR(b.grid.spacing.y, 3.0 * a.grid.spacing.y, 1e-9);
  EXPECT_DOUBLE_EQ(b.grid.spacing.z, a.grid.spacing.z);
  // The same physical box: the outer edges of the first and last voxels coincide.
  const Vec3 loA = a.grid.indexToLps({-0.5, -0.5, -0.5}),
             loB = b.grid.indexToLps({-0.5, -0.5, -0.5});
  EXPECT_LT((loA - loB).norm(), 1e-6);
  const Vec3 hiA = a.grid.indexToLps({a.grid.size[0] - 0.5, a.grid.size[1] - 0.5, 0.0});
  const Vec3 hiB = b.grid.indexToLps({b.grid.size[0] - 0.5, b.grid.size[1] - 0.5, 0.0});
  EXPECT_LT((hiA - hiB).norm(), 1e-6);
  // The truth describes the same anatomy: only the voxel spacing it records differs.
  PhantomTruth ta = a.truth, tb = b.truth;
  EXPECT_NEAR(tb.spacingMm.x, 3.0 * ta.spacingMm.x, 1e-9);
  tb.spacingMm = ta.spacingMm;
  EXPECT_EQ(truthJson(ta), truthJson(tb));
  ASSERT_GE(tb.vertebrae.size(), 5u);
  // And the coarse image still shows it: each body with a truth HU is bone-bright at its
  // centroid, and its rasterised body sits where the truth says (within a coarse voxel).
  int tested = 0;
  for (const auto& v : tb.vertebrae) {
    if (!v.trabecularHu || !v.bodyCentroidLps) continue;
    const double hu = sampleLinearLps(b.ct, *v.bodyCentroidLps, -1000.0);
    EXPECT_NEAR(hu, *v.trabecularHu, 60.0) << v.label;
    int64_t n = 0;
    const Vec3 c = labelCentroid(b.bodies, static_cast<uint8_t>(v.verseNumber), &n);
    ASSERT_GT(n, 0) << v.label;
    EXPECT_LT((c - *v.bodyCentroidLps).norm(), 2.5) << v.label;
    ++tested;
  }
  EXPECT_GE(tested, 3);
}

TEST(PhantomMatrix, MatrixOutsideItsRangeIsRejectedWithTheLimitsNamed) {
  PhantomSpec s = randomSpec(1, 0);
  for (int bad : {-1, 0, 32, kMinMatrix - 1, kMaxMatrix + 1, 100000}) {
    try {
      setMatrix(s, bad);
      ADD_FAILURE() << "matrix " << bad << " accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--matrix must be between 64 and 1024"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(s.matrix, 512);  // left as it was
  setMatrix(s, kMinMatrix);
  EXPECT_EQ(s.matrix, kMinMatrix);
  setMatrix(s, kMaxMatrix);
  EXPECT_EQ(s.matrix, kMaxMatrix);
  RunOptions o;
  o.outDir = (std::filesystem::temp_directory_path() /
              ("spinescreen_phantom_badmatrix_" + std::to_string(::getpid())))
                 .string();
  o.matrix = 20;
  std::ostringstream log;
  EXPECT_THROW(runPhantom(o, log), UsageError);
  EXPECT_FALSE(std::filesystem::exists(o.outDir));
}

TEST(PhantomMatrix, SmallPresetCoarsensThePlaneAndThickensOnlyThinSlices) {
  int thickened = 0, kept = 0;
  for (int i = 0; i < 40; ++i) {
    const PhantomSpec before = randomSpec(17, i);
    PhantomSpec s = before;
    makeSmall(s);
    EXPECT_EQ(s.matrix, kSmallMatrix);
    EXPECT_DOUBLE_EQ(s.fovWidthMm, before.fovWidthMm);
    EXPECT_EQ(s.fov, before.fov);
    EXPECT_GE(s.sliceSpacingMm, kSmallMinSliceMm);
    if (before.sliceSpacingMm < kSmallMinSliceMm) {
      EXPECT_DOUBLE_EQ(s.sliceSpacingMm, kSmallMinSliceMm);
      EXPECT_DOUBLE_EQ(s.sliceThicknessMm, kSmallMinSliceMm);
      ++thickened;
    } else {
      EXPECT_DOUBLE_EQ(s.sliceSpacingMm, before.sliceSpacingMm);
      EXPECT_DOUBLE_EQ(s.sliceThicknessMm, before.sliceThicknessMm);
      ++kept;
    }
    // The anatomy is untouched: the truth is the same apart from the spacing.
    PhantomTruth ta = generate(before, truthOnly()).truth, tb = generate(s, truthOnly()).truth;
    tb.spacingMm = ta.spacingMm;
    if (before.sliceSpacingMm == s.sliceSpacingMm) {
      EXPECT_EQ(truthJson(ta), truthJson(tb));
    }
  }
  EXPECT_GT(thickened, 0);
  EXPECT_GT(kept, 0);
}

TEST(PhantomMatrix, DefaultSpecsKeepTheFullMatrix) {
  for (int i = 0; i < 40; ++i) {
    const PhantomSpec s = randomSpec(2026, i);
    if (s.fov == FovKind::kThoracolumbar)
      EXPECT_EQ(s.matrix, static_cast<int>(std::lround(s.fovWidthMm / 0.7)));
    else
      EXPECT_EQ(s.matrix, 512);
  }
}
