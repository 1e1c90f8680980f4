#include "decision/decision.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pipeline/analyze.h"

using namespace spinescreen;

namespace {

Vertebra graded(const std::string& label, int grade, double p, double loss = 0.0,
                Morphology m = Morphology::kNormal) {
  Vertebra v;
  v.label = label;
  v.heights = Heights{20, 20, 20};
  v.genantGrade = grade;
  v.fractureProbability = p;
  v.heightLoss = loss;
  v.morphology = m;
  return v;
}

density::DensitySummary densityOf(std::optional<double> hu, DensityCategory c,
                                  const std::string& level = "L1") {
  density::DensitySummary s;
  s.densityHu = hu;
  if (hu) s.densityLevel = level;
  s.l1TrabecularHu = level == "L1" ? hu : std::nullopt;
  s.category = c;
  if (c == DensityCategory::kOsteoporosisLikely) s.categoryCutoffHu = 110;
  return s;
}

std::string writePolicy(const std::string& json) {
  const auto path =
      std::filesystem::temp_directory_path() /
      ("spinescreen_policy_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
       "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json");
  std::ofstream(path) << json;
  return path.string();
}

}  // namespace

TEST(Decision, FlagsAModerateFractureAndSaysWhere) {
  const std::vector<Vertebra> vs{graded("T12", 0, 0.02),
                                 graded("L1", 2, 0.8, 0.3, Morphology::kWedge),
                                 graded("L2", 1, 0.3, 0.22, Morphology::kWedge)};
  const auto p = decision::decide(vs, densityOf(170, DensityCategory::kNormal), {});
  EXPECT_TRUE(p.fractureDetected);
  EXPECT_EQ(p.maxGenantGrade, 2);
  EXPECT_EQ(p.fracturedLevels, std::vector<std::string>{"L1"});
  EXPECT_TRUE(p.referralRecommended);
  ASSERT_EQ(p.referralReasons.size(), 1u);
  EXPECT_NE(p.referralReasons[0].find("moderate (grade 2) wedge fracture at L1"),
            std::string::npos);
  // Noisy-OR of the per-level probabilities.
  EXPECT_NEAR(*p.fractureScore, 1 - 0.98 * 0.2 * 0.7, 1e-9);
}

TEST(Decision, MildDeformityAloneIsNotAFracture) {
  const std::vector<Vertebra> vs{graded("L1", 1, 0.4, 0.22, Morphology::kWedge)};
  const auto p = decision::decide(vs, densityOf(170, DensityCategory::kNormal), {});
  EXPECT_FALSE(p.fractureDetected);
  EXPECT_EQ(p.maxGenantGrade, 1);
  EXPECT_FALSE(p.referralRecommended);
  EXPECT_TRUE(p.referralReasons.empty());
}

TEST(Decision, RefersOnLikelyOsteoporosisWithTheCutOff) {
  const std::vector<Vertebra> vs{graded("L1", 0, 0.01)};
  const auto p = decision::decide(vs, densityOf(95, DensityCategory::kOsteoporosisLikely), {});
  EXPECT_FALSE(p.fractureDetected);
  EXPECT_TRUE(p.referralRecommended);
  ASSERT_EQ(p.referralReasons.size(), 1u);
  EXPECT_NE(p.referralReasons[0].find("L1 trabecular density 95 HU <= 110 HU"), std::string::npos);
  EXPECT_EQ(p.boneDensityCategory, DensityCategory::kOsteoporosisLikely);
}

TEST(Decision, NotesContrastAndKvpInTheDensityReason) {
  StudyInfo info;
  info.contrast = true;
  info.kvp = 100;
  const auto p = decision::decide({graded("L1", 0, 0.01)},
                                  densityOf(95, DensityCategory::kOsteoporosisLikely), {}, info);
  ASSERT_EQ(p.referralReasons.size(), 1u);
  EXPECT_NE(p.referralReasons[0].find("contrast"), std::string::npos);
  EXPECT_NE(p.referralReasons[0].find("100 kVp"), std::string::npos);
}

TEST(Decision, PolicyFileChangesWhoIsReferred) {
  const std::string path = writePolicy(
      R"({"referral": {"min_fracture_grade": 3, "refer_on_osteoporosis_likely": false,
                       "refer_on_low_density": true}})");
  const auto config = pipeline::loadConfigFile(path);
  std::filesystem::remove(path);
  const std::vector<Vertebra> vs{graded("L1", 2, 0.8, 0.3, Morphology::kWedge)};
  // Grade 2 under a grade-3 policy, density osteoporosis_likely not referred: no referral,
  // though the fracture is still reported.
  auto p =
      decision::decide(vs, densityOf(95, DensityCategory::kOsteoporosisLikely), config.referral);
  EXPECT_TRUE(p.fractureDetected);
  EXPECT_FALSE(p.referralRecommended);
  // Low density is referred under this policy.
  p = decision::decide({graded("L1", 0, 0.01)}, densityOf(140, DensityCategory::kLow),
                       config.referral);
  EXPECT_TRUE(p.referralRecommended);
}

TEST(Decision, NamesTheFallbackLevel) {
  const auto p = decision::decide({graded("L1", 3, 0.99, 0.45, Morphology::kCrush)},
                                  densityOf(100, DensityCategory::kOsteoporosisLikely, "T12"), {});
  ASSERT_EQ(p.referralReasons.size(), 2u);
  EXPECT_NE(p.referralReasons[0].find("severe (grade 3) crush fracture at L1"), std::string::npos);
  EXPECT_NE(p.referralReasons[1].find("T12 trabecular density"), std::string::npos);
  EXPECT_EQ(p.densityLevel, "T12");
}

TEST(Decision, NoMeasurementsMeansNoScore) {
  Vertebra v;
  v.label = "L1";
  v.measurable = false;
  const auto p =
      decision::decide({v}, densityOf(std::nullopt, DensityCategory::kIndeterminate), {});
  EXPECT_FALSE(p.fractureScore);
  EXPECT_FALSE(p.maxGenantGrade);
  EXPECT_FALSE(p.referralRecommended);
  EXPECT_EQ(p.boneDensityCategory, DensityCategory::kIndeterminate);
}
