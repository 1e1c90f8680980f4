#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "evaluate/evaluate.h"
#include "support/run.h"

using namespace spinescreen;
using namespace spinescreen::evaluate;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

TruthVertebra tv(const std::string& label, Vec3 c, std::optional<int> grade) {
  TruthVertebra v;
  v.label = label;
  v.centroidLps = c;
  v.genantGrade = grade;
  return v;
}

PredVertebra pv(const std::string& label, Vec3 c, std::optional<int> grade) {
  PredVertebra v;
  v.label = label;
  v.centroidLps = c;
  v.genantGrade = grade;
  return v;
}

PredCase okReport(std::vector<PredVertebra> vs, bool fracture, std::optional<double> score) {
  PredCase p;
  p.status = "ok";
  p.vertebrae = std::move(vs);
  p.fractureDetected = fracture;
  p.fractureScore = score;
  return p;
}

// Case A: L1 fractured and found (tp), L2 normal called fractured (fp), L3 normal with nothing
// predicted near it (unmatched), L4 ungraded. Case B: T12 fractured, missed (fn); T11 normal
// and called normal (tn).
struct Fixture {
  std::vector<TruthCase> truth;
  std::map<std::string, PredCase> pred;
  Fixture() {
    TruthCase a;
    a.caseId = "A";
    a.vertebrae = {tv("L1", {0, 0, 0}, 2), tv("L2", {0, 0, -30}, 0), tv("L3", {0, 0, -60}, 0),
                   tv("L4", {0, 0, -90}, std::nullopt)};
    a.vertebrae[0].heights = Heights{18, 22, 27};
    a.l1TrabecularHu = 120.0;
    TruthCase b;
    b.caseId = "B";
    b.vertebrae = {tv("T12", {0, 0, 30}, 3), tv("T11", {0, 0, 60}, 0)};
    b.l1TrabecularHu = 90.0;
    truth = {a, b};
    auto pa = okReport({pv("L1", {0, 0, 3}, 3), pv("L2", {0, 2, -30}, 2), pv("L4", {0, 0, -90}, 0)},
                       true, 0.9);
    pa.vertebrae[0].heights = Heights{17, 23, 27};
    pa.l1TrabecularHu = 110.0;
    pred["A"] = pa;
    pred["B"] = okReport({pv("T11", {0, 0, 60}, 0), pv("T12", {0, 0, 51}, 0)}, false, 0.2);
  }
};

}  // namespace

TEST(Metrics, CountsVertebraOutcomesAndLeavesUnmatchedNormalsOutOfSpecificity) {
  Fixture f;
  json counts;
  const json m = computeMetrics(f.truth, f.pred, nullptr, nullptr, &counts);
  const json& v2 = m["vertebra_ge2"];
  EXPECT_EQ(v2["tp"], 1);
  EXPECT_EQ(v2["fp"], 1);
  EXPECT_EQ(v2["tn"], 1);
  EXPECT_EQ(v2["fn"], 1);
  EXPECT_DOUBLE_EQ(v2["sensitivity"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(v2["specificity"].get<double>(), 0.5);
  const auto w = wilson(1, 2);
  EXPECT_NEAR(v2["sensitivity_ci95"][0].get<double>(), w->low, 1e-4);
  EXPECT_NEAR(v2["sensitivity_ci95"][1].get<double>(), w->high, 1e-4);
  EXPECT_EQ(counts["unmatched_normal_ge2"], 1);
  // Grade >= 1: the same vertebrae fall the same way here.
  EXPECT_EQ(m["vertebra_ge1"]["tp"], 1);
  EXPECT_EQ(m["vertebra_ge1"]["fn"], 1);
}

TEST(Metrics, IdentificationNeedsTheSameLabelWithinTwentyMillimetres) {
  Fixture f;
  const json m = computeMetrics(f.truth, f.pred);
  // A: L1 (3 mm), L2 (2 mm), L4 (0 mm) found, L3 not; B: T11 (0 mm) found, T12 20+ mm off -> no.
  EXPECT_NEAR(m["identification_rate"].get<double>(), 4.0 / 6.0, 1e-4);
  EXPECT_NEAR(m["centroid_error_mm"].get<double>(), (3.0 + 2.0 + 0.0 + 0.0) / 4.0, 1e-4);
  // Without a labelling anchor, labels are not scored.
  f.truth[1].labelAnchor = false;
  const json m2 = computeMetrics(f.truth, f.pred);
  EXPECT_NEAR(m2["identification_rate"].get<double>(), 3.0 / 4.0, 1e-4);
}

TEST(Metrics, WrongLabelAtTheRightPlaceIsNotIdentifiedButStillMatchesForFractures) {
  TruthCase t;
  t.caseId = "S";
  t.vertebrae = {tv("L1", {0, 0, 0}, 2)};
  std::map<std::string, PredCase> pred;
  pred["S"] = okReport({pv("L2", {0, 0, 1}, 2)}, true, 0.8);
  const json m = computeMetrics({t}, pred);
  EXPECT_DOUBLE_EQ(m["identification_rate"].get<double>(), 0.0);
  EXPECT_TRUE(m["centroid_error_mm"].is_null());
  EXPECT_EQ(m["vertebra_ge2"]["tp"], 1);
}

TEST(Metrics, GradesHeightsAndL1Density) {
  Fixture f;
  const json m = computeMetrics(f.truth, f.pred);
  // Graded and matched with a predicted grade: L1 (2 vs 3), L2 (0 vs 2), T11 (0 vs 0).
  EXPECT_NEAR(m["grade_exact_rate"].get<double>(), 1.0 / 3.0, 1e-4);
  EXPECT_DOUBLE_EQ(m["grade_exact_rate_fractured"].get<double>(), 0.0);
  EXPECT_NEAR(m["height_mae_mm"].get<double>(), 2.0 / 3.0, 1e-4);
  EXPECT_DOUBLE_EQ(m["l1_hu_mae"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(m["l1_hu_coverage"].get<double>(), 0.5);
}

TEST(Metrics, PatientLevelCountsFailedAndMissingReportsAsWrong) {
  TruthCase pos1, pos2, neg1, neg2;
  pos1.caseId = "p1";
  pos1.vertebrae = {tv("L1", {0, 0, 0}, 2)};
  pos2.caseId = "p2";
  pos2.vertebrae = {tv("L1", {0, 0, 0}, 3)};
  neg1.caseId = "n1";
  neg1.vertebrae = {tv("L1", {0, 0, 0}, 0)};
  neg2.caseId = "n2";
  neg2.vertebrae = {tv("L1", {0, 0, 0}, 1)};
  std::map<std::string, PredCase> pred;
  pred["p1"] = okReport({}, true, 0.9);
  PredCase failed;
  failed.status = "failed";
  pred["p2"] = failed;
  pred["n1"] = okReport({}, false, 0.1);
  // n2: no report at all.
  const json m = computeMetrics({pos1, pos2, neg1, neg2}, pred);
  EXPECT_EQ(m["cases"], 4);
  EXPECT_EQ(m["failed"], 2);
  const json& p = m["patient_ge2"];
  EXPECT_EQ(p["tp"], 1);
  EXPECT_EQ(p["fn"], 1);
  EXPECT_EQ(p["tn"], 1);
  EXPECT_EQ(p["fp"], 1);
  // Scores: positives {0.9, worst}, negatives {0.1, worst}: pairs right 1 of 4... plus
  // 0.9 > worst-negative? No: a missing negative scores highest. So (0.9 vs 0.1) right,
  // (0.9 vs +inf) wrong, (-inf vs 0.1) wrong, (-inf vs +inf) wrong.
  EXPECT_DOUBLE_EQ(p["auc"].get<double>(), 0.25);
  ASSERT_TRUE(p["auc_ci95"].is_array());
}

TEST(Metrics, NotApplicableIsCountedAndScoredAsNoAnswer) {
  TruthCase t;
  t.caseId = "x";
  t.vertebrae = {tv("L1", {0, 0, 0}, 2)};
  std::map<std::string, PredCase> pred;
  PredCase na;
  na.status = "not_applicable";
  pred["x"] = na;
  const json m = computeMetrics({t}, pred);
  EXPECT_EQ(m["not_applicable"], 1);
  EXPECT_EQ(m["failed"], 0);
  EXPECT_EQ(m["patient_ge2"]["fn"], 1);
  EXPECT_EQ(m["vertebra_ge2"]["fn"], 1);
}

TEST(Metrics, NullWhenNothingCouldBeCounted) {
  TruthCase t;
  t.caseId = "u";
  t.vertebrae = {tv("L1", {0, 0, 0}, std::nullopt)};
  std::map<std::string, PredCase> pred;
  pred["u"] = okReport({pv("L1", {0, 0, 0}, 0)}, false, 0.0);
  const json m = computeMetrics({t}, pred);
  EXPECT_TRUE(m["vertebra_ge2"]["sensitivity"].is_null());
  EXPECT_TRUE(m["vertebra_ge2"]["sensitivity_ci95"].is_null());
  EXPECT_TRUE(m["patient_ge2"]["auc"].is_null());
  EXPECT_TRUE(m["grade_exact_rate"].is_null());
  EXPECT_TRUE(m["height_mae_mm"].is_null());
  EXPECT_TRUE(m["l1_hu_mae"].is_null());
  EXPECT_TRUE(m["l1_hu_coverage"].is_null());
  EXPECT_DOUBLE_EQ(m["identification_rate"].get<double>(), 1.0);
}

TEST(Metrics, ReadsWithoutPositionsMatchByLevel) {
  TruthCase t;
  t.caseId = "r";
  t.hasPositions = false;
  TruthVertebra a;
  a.label = "L1";
  a.genantGrade = 2;
  TruthVertebra b;
  b.label = "L2";
  b.genantGrade = 0;
  t.vertebrae = {a, b};
  std::map<std::string, PredCase> pred;
  pred["r"] = okReport({pv("L1", {5, 5, 5}, 2), pv("L2", {5, 5, -25}, 0)}, true, 0.7);
  const json m = computeMetrics({t}, pred);
  EXPECT_EQ(m["vertebra_ge2"]["tp"], 1);
  EXPECT_EQ(m["vertebra_ge2"]["tn"], 1);
  EXPECT_TRUE(m["identification_rate"].is_null());
}

TEST(EvaluateRun, WritesMetricsWithExactlyTheContractKeysAndPerCaseFiles) {
  const fs::path d =
      fs::temp_directory_path() / ("spinescreen_eval_run_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d / "truth" / "c1");
  fs::create_directories(d / "truth" / "c2");
  fs::create_directories(d / "pred" / "c1");
  std::ofstream(d / "truth" / "c1" / "truth.json") << R"({"case_id":"c1","vertebrae":[
      {"label":"L1","centroid_lps_mm":[0,0,0],"genant_grade":2}],"patient":{}})";
  std::ofstream(d / "truth" / "c2" / "truth.json") << R"({"case_id":"c2","vertebrae":[
      {"label":"L1","centroid_lps_mm":[0,0,0],"genant_grade":0}],"patient":{}})";
  std::ofstream(d / "pred" / "c1" / "report.json") << R"({"status":"ok","vertebrae":[
      {"label":"L1","centroid_lps_mm":[0,1,0],"genant_grade":2}],
      "patient":{"fracture_detected":true,"fracture_score":0.8}})";
  const auto r = spinescreen::testing::runSpinescreen(
      "evaluate --truth " + spinescreen::testing::shellQuote((d / "truth").string()) + " --pred " +
      spinescreen::testing::shellQuote((d / "pred").string()) + " -o " +
      spinescreen::testing::shellQuote((d / "eval").string()));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  std::ifstream in(d / "eval" / "metrics.json");
  const json m = json::parse(in);
  std::set<std::string> keys;
  for (const auto& [k, v] : m.items()) keys.insert(k);
  const std::set<std::string> want = {"cases",
                                      "failed",
                                      "not_applicable",
                                      "identification_rate",
                                      "centroid_error_mm",
                                      "vertebra_ge2",
                                      "vertebra_ge1",
                                      "patient_ge2",
                                      "grade_exact_rate",
                                      "grade_exact_rate_fractured",
                                      "height_mae_mm",
                                      "l1_hu_mae",
                                      "l1_hu_coverage"};
  EXPECT_EQ(keys, want);
  std::set<std::string> blockKeys;
  for (const auto& [k, v] : m["patient_ge2"].items()) blockKeys.insert(k);
  const std::set<std::string> wantBlock = {"sensitivity", "sensitivity_ci95",
                                           "specificity", "specificity_ci95",
                                           "ppv",         "ppv_ci95",
                                           "npv",         "npv_ci95",
                                           "tp",          "fp",
                                           "tn",          "fn",
                                           "auc",         "auc_ci95"};
  EXPECT_EQ(blockKeys, wantBlock);
  EXPECT_EQ(m["failed"], 1);  // c2 has no report
  EXPECT_EQ(m["patient_ge2"]["fp"], 1);
  EXPECT_TRUE(fs::exists(d / "eval" / "vertebrae.csv"));
  EXPECT_TRUE(fs::exists(d / "eval" / "cases.csv"));
  EXPECT_NE(r.output.find("patient_ge2"), std::string::npos) << r.output;
}

TEST(EvaluateRun, MalformedTruthIsAClearErrorNotACrash) {
  const fs::path d =
      fs::temp_directory_path() / ("spinescreen_eval_bad_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d / "truth" / "c1");
  fs::create_directories(d / "pred");
  std::ofstream(d / "truth" / "c1" / "truth.json") << R"({"case_id":"c1","vertebrae":[{"label":)";
  const auto r = spinescreen::testing::runSpinescreen(
      "evaluate --truth " + spinescreen::testing::shellQuote((d / "truth").string()) + " --pred " +
      spinescreen::testing::shellQuote((d / "pred").string()) + " -o " +
      spinescreen::testing::shellQuote((d / "eval").string()));
  EXPECT_EQ(r.exitCode, 3) << r.output;
  EXPECT_NE(r.output.find("truth.json"), std::string::npos) << r.output;
  EXPECT_EQ(spinescreen::testing::runSpinescreen(
                "evaluate --truth " + spinescreen::testing::shellQuote((d / "none").string()) +
                " --pred x -o y")
                .exitCode,
            2);
}
