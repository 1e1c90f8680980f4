#include "report/json_report.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/errors.h"
#include "support/schema.h"

using namespace spinescreen;
using spinescreen::testing::reportViolations;

namespace {
Report fullReport() {
  Report r;
  r.status = Status::kOk;
  r.statusReason = "analysed";
  r.input.path = "ct.nii.gz";
  r.input.format = "nifti";
  r.input.kvp = 120.0;
  r.input.patientAgeYears = 67.0;
  Grid g;
  g.size = {512, 512, 300};
  g.spacing = {0.8, 0.8, 1.25};
  r.inputGrid = g;
  Vertebra v;
  v.label = "L1";
  v.labelConfidence = 0.9;
  v.centroidLps = {1.0, 2.0, 3.0};
  v.bodyCentroidLps = Vec3{1.0, -4.0, 3.0};
  v.heights = Heights{20.0, 22.0, 27.0};
  v.heightLoss = 0.259;
  v.genantGrade = 2;
  v.morphology = Morphology::kWedge;
  v.fractureProbability = 0.8;
  v.trabecularHu = 95.3;
  r.vertebrae.push_back(v);
  Vertebra cut;
  cut.label = "T11";
  cut.measurable = false;
  cut.notMeasurableReason = "cut by the field of view";
  r.vertebrae.push_back(cut);
  r.patient.fractureDetected = true;
  r.patient.maxGenantGrade = 2;
  r.patient.fracturedLevels = {"L1"};
  r.patient.boneDensityCategory = DensityCategory::kOsteoporosisLikely;
  r.patient.referralRecommended = true;
  r.patient.referralReasons = {"moderate wedge fracture at L1"};
  r.timingMs["spine"] = 1234.5;
  return r;
}
}  // namespace

TEST(JsonReport, FullReportValidatesAgainstTheContract) {
  const auto j = report::toJson(fullReport());
  EXPECT_EQ(reportViolations(j), "");
  EXPECT_EQ(j["vertebrae"][0]["genant_grade"], 2);
  EXPECT_EQ(j["vertebrae"][0]["morphology"], "wedge");
  EXPECT_EQ(j["patient"]["bone_density_category"], "osteoporosis_likely");
  EXPECT_EQ(j["input"]["size_voxels"][2], 300);
}

TEST(JsonReport, MissingMeasurementsAreNullNeverZero) {
  const auto j = report::toJson(fullReport());
  const auto& cut = j["vertebrae"][1];
  EXPECT_TRUE(cut["heights_mm"].is_null());
  EXPECT_TRUE(cut["genant_grade"].is_null());
  EXPECT_TRUE(cut["trabecular_hu"].is_null());
  EXPECT_FALSE(cut["measurable"].get<bool>());
}

TEST(JsonReport, FailedReportWithoutGridValidates) {
  Report r;
  r.status = Status::kFailed;
  r.statusReason = "input does not exist: /nope";
  r.input.path = "/nope";
  const auto j = report::toJson(r);
  EXPECT_EQ(reportViolations(j), "");
  EXPECT_FALSE(j["input"].contains("size_voxels"));
}

TEST(JsonReport, SchemaCheckRejectsAnInvalidReport) {
  auto j = report::toJson(fullReport());
  j["vertebrae"][0]["genant_grade"] = 4;
  j["status"] = "maybe";
  EXPECT_NE(reportViolations(j), "");
}

TEST(JsonReport, AtomicWriteLeavesNoTemporaryFiles) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "spinescreen_json_atomic";
  fs::remove_all(dir);
  fs::create_directories(dir);
  report::writeJsonAtomically(report::toJson(fullReport()), (dir / "report.json").string());
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "report.json");
  }
  EXPECT_EQ(files, 1);
  EXPECT_THROW(report::writeJsonAtomically(nlohmann::json::object(),
                                           (dir / "no/such/dir/report.json").string()),
               UsageError);
  fs::remove_all(dir);
}
