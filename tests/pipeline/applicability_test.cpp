#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "pipeline/analyze.h"

using namespace spinescreen;

namespace {
// A CT-like study: air around a water cylinder.
LoadedStudy ctLike(int64_t slices, double sliceMm) {
  Grid g;
  g.size = {40, 40, slices};
  g.spacing = {2.0, 2.0, sliceMm};
  LoadedStudy s;
  s.volume = HuVolume(g, -1000);
  for (int64_t k = 0; k < slices; ++k)
    for (int64_t j = 0; j < 40; ++j)
      for (int64_t i = 0; i < 40; ++i)
        if ((i - 20) * (i - 20) + (j - 20) * (j - 20) < 225) s.volume.at(i, j, k) = 40;
  s.info.modality = "CT";
  return s;
}
}  // namespace

TEST(Applicability, AcceptsACtWithEnoughSlicesAndCoverage) {
  EXPECT_NO_THROW(pipeline::checkApplicable(ctLike(30, 2.0)));
}

TEST(Applicability, RejectsFewerThanTenSlices) {
  try {
    pipeline::checkApplicable(ctLike(9, 5.0));
    FAIL() << "accepted 9 slices";
  } catch (const NotApplicableError& e) {
    EXPECT_NE(std::string(e.what()).find("9 slices"), std::string::npos) << e.what();
  }
}

TEST(Applicability, RejectsUnderFortyMillimetresOfCoverage) {
  try {
    pipeline::checkApplicable(ctLike(30, 1.0));
    FAIL() << "accepted 30 mm";
  } catch (const NotApplicableError& e) {
    EXPECT_NE(std::string(e.what()).find("coverage"), std::string::npos) << e.what();
  }
}

TEST(Applicability, RejectsAnotherModality) {
  auto s = ctLike(30, 2.0);
  s.info.modality = "MR";
  EXPECT_THROW(pipeline::checkApplicable(s), NotApplicableError);
}

TEST(Applicability, RejectsValuesThatAreNotHounsfieldUnits) {
  auto s = ctLike(30, 2.0);
  for (auto& v : s.volume.data()) v = static_cast<int16_t>(v + 1000);  // MR-like: no air
  EXPECT_THROW(pipeline::checkApplicable(s), NotApplicableError);
}

TEST(Applicability, FindsTheSliceAxisFromTheDirectionMatrix) {
  // Sagittal acquisition: voxel axis 0 runs head-feet, 60 x 2 mm = 120 mm of coverage,
  // although axis 2 has only 5 slices.
  LoadedStudy s = ctLike(5, 2.0);
  Grid g;
  g.size = {60, 40, 40};
  g.spacing = {2.0, 2.0, 2.0};
  g.direction.m = {{{0, 0, 1}, {0, 1, 0}, {1, 0, 0}}};
  s.volume = HuVolume(g, -1000);
  s.volume.at(0, 0, 0) = 40;
  EXPECT_NO_THROW(pipeline::checkApplicable(s));
}

namespace {
std::string writeTemp(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / name;
  std::ofstream(p) << text;
  return p.string();
}
}  // namespace

TEST(ConfigFile, ReadsCutOffsAndPolicy) {
  const auto path = writeTemp("spinescreen_cfg_ok.json",
                              R"({"density": {"osteoporosis_likely_max_hu": 100, "low_max_hu": 150},
                                  "referral": {"min_fracture_grade": 3, "refer_on_low_density": true}})");
  const auto c = pipeline::loadConfigFile(path);
  EXPECT_EQ(c.density.osteoporosisLikelyMaxHu, 100);
  EXPECT_EQ(c.density.lowMaxHu, 150);
  EXPECT_EQ(c.referral.minFractureGrade, 3);
  EXPECT_TRUE(c.referral.referOnLowDensity);
  EXPECT_TRUE(c.referral.referOnOsteoporosisLikely);  // default kept
}

TEST(ConfigFile, RejectsInconsistentOrMalformedFiles) {
  EXPECT_THROW(pipeline::loadConfigFile(writeTemp("spinescreen_cfg_bad1.json", "{not json")),
               UsageError);
  EXPECT_THROW(pipeline::loadConfigFile(writeTemp(
                   "spinescreen_cfg_bad2.json",
                   R"({"density": {"osteoporosis_likely_max_hu": 200, "low_max_hu": 150}})")),
               UsageError);
  EXPECT_THROW(pipeline::loadConfigFile(writeTemp("spinescreen_cfg_bad3.json",
                                                  R"({"referral": {"min_fracture_grade": 7}})")),
               UsageError);
  EXPECT_THROW(pipeline::loadConfigFile(writeTemp("spinescreen_cfg_bad4.json",
                                                  R"({"density": {"low_max_hu": "high"}})")),
               UsageError);
  EXPECT_THROW(pipeline::loadConfigFile("/no/such/config.json"), UsageError);
}
