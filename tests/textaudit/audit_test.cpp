// Joining report texts with batch results: categories, rates, the FLS worklist, the outputs.
#include "textaudit/audit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/errors.h"

namespace fs = std::filesystem;
using namespace spinescreen;
using namespace spinescreen::textaudit;

namespace {

const char* kHeader =
    "case_id,status,status_reason,levels_found,max_genant_grade,fractured_levels,"
    "l1_trabecular_hu,density_hu,density_level,bone_density_category,fracture_score,"
    "referral_recommended,seconds,site\n";

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("textaudit_test_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& rel, const std::string& content) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::binary) << content;
  }

 private:
  fs::path path_;
};

std::string row(const std::string& id, const std::string& status, const std::string& grade,
                const std::string& levels, const std::string& score) {
  return id + "," + status + ",,," + grade + "," + levels + ",120,120,L1,low," + score +
         ",false,1.0,A\n";
}

ReadReport report(const std::string& id, const std::string& text) {
  ReportText t;
  t.caseId = id;
  t.text = text;
  return {t, classifyReport(text)};
}

const CaseAudit& find(const CohortAudit& a, const std::string& id) {
  for (const auto& c : a.cases)
    if (c.caseId == id) return c;
  throw std::runtime_error("no case " + id);
}

}  // namespace

TEST(TextAudit, PutsEachCaseInItsCategory) {
  TempDir d;
  d.write("summary.csv",
          std::string(kHeader) + row("named_ref", "ok", "2", "L1", "0.8") +
              row("named_only", "ok", "3", "T12", "0.9") + row("missed", "ok", "2", "L2", "0.7") +
              row("ai_neg_named", "ok", "0", "", "0.1") + row("both_neg", "ok", "1", "", "0.2") +
              row("failed", "failed", "", "", "") + row("no_text", "ok", "2", "L3", "0.6"));
  const BatchResults batch = readBatchResults(d.path().string());
  const std::vector<ReadReport> reports = {
      report("named_ref", "L1 compression fracture. Refer to FLS."),
      report("named_only", "Known T12 fracture."),
      report("missed", "No acute abnormality. Vertebral heights maintained."),
      report("ai_neg_named", "Wedge fracture of T8."),
      report("both_neg", "Normal study."),
      report("failed", "L4 compression fracture."),
      report("text_only", "Normal.")};
  const CohortAudit a = joinAudit(reports, batch);
  EXPECT_EQ(find(a, "named_ref").category, AuditCategory::kFlaggedNamedReferred);
  EXPECT_EQ(find(a, "named_only").category, AuditCategory::kFlaggedNamedNotReferred);
  EXPECT_EQ(find(a, "missed").category, AuditCategory::kFlaggedNotNamed);
  EXPECT_EQ(find(a, "ai_neg_named").category, AuditCategory::kNotFlaggedNamed);
  EXPECT_EQ(find(a, "both_neg").category, AuditCategory::kNotFlaggedNotNamed);
  EXPECT_EQ(find(a, "failed").category, AuditCategory::kNoAiResult);
  EXPECT_EQ(find(a, "text_only").category, AuditCategory::kNoAiResult);
  EXPECT_EQ(find(a, "no_text").category, AuditCategory::kNoReport);
  // Flagged (grade >= 2, status ok, with a report): named_ref, named_only, missed.
  EXPECT_EQ(a.identificationRate.denominator, 3);
  EXPECT_EQ(a.identificationRate.numerator, 2);
  EXPECT_EQ(a.referralRate.numerator, 1);
  EXPECT_NEAR(*a.identificationRate.value, 2.0 / 3, 1e-12);
  EXPECT_LT(*a.identificationRate.low, 2.0 / 3);
  EXPECT_GT(*a.identificationRate.high, 2.0 / 3);
  EXPECT_EQ(a.reportOnlyFractureRate.numerator, 1);
  EXPECT_EQ(a.reportOnlyFractureRate.denominator, 2);
}

TEST(TextAudit, ReportJsonDecidesOverTheSummaryRow) {
  TempDir d;
  d.write("summary.csv", std::string(kHeader) + row("c1", "ok", "1", "", "0.3"));
  d.write("c1/report.json",
          R"({"status":"ok","patient":{"fracture_detected":true,"max_genant_grade":2,)"
          R"("fractured_levels":["T9"],"fracture_score":0.55,"referral_recommended":true}})");
  const BatchResults batch = readBatchResults(d.path().string());
  const BatchCase& c = batch.cases.at("c1");
  EXPECT_TRUE(c.fromReportJson);
  EXPECT_TRUE(c.fractureDetected);
  EXPECT_EQ(c.maxGenantGrade.value_or(-1), 2);
  ASSERT_EQ(c.fracturedLevels.size(), 1u);
  EXPECT_EQ(c.fracturedLevels[0], "T9");
}

TEST(TextAudit, AnUnreadableReportJsonIsAWarningNotAFailure) {
  TempDir d;
  d.write("summary.csv", std::string(kHeader) + row("c1", "ok", "3", "L1", "0.9"));
  d.write("c1/report.json", "{ truncated");
  const BatchResults batch = readBatchResults(d.path().string());
  EXPECT_EQ(batch.warnings.size(), 1u);
  EXPECT_TRUE(batch.cases.at("c1").fractureDetected);  // from summary.csv
}

TEST(TextAudit, RejectsAFolderThatIsNotABatchOutput) {
  TempDir d;
  EXPECT_THROW(readBatchResults(d.path().string()), InputError);
  d.write("summary.csv", "case_id,status\nc1,ok\n");
  EXPECT_THROW(readBatchResults(d.path().string()), InputError);  // columns missing
  d.write("summary.csv",
          std::string(kHeader) + row("c1", "ok", "2", "", "") + row("c1", "ok", "2", "", ""));
  EXPECT_THROW(readBatchResults(d.path().string()), InputError);  // duplicate case
  d.write("summary.csv", std::string(kHeader) + row("c1", "ok", "7", "", ""));
  EXPECT_THROW(readBatchResults(d.path().string()), InputError);  // grade out of range
  EXPECT_THROW(readBatchResults((d.path() / "absent").string()), InputError);
}

TEST(TextAudit, WorklistIsFlaggedButUnnamedCasesByGradeThenScore) {
  TempDir d;
  d.write("summary.csv",
          std::string(kHeader) + row("g2_low", "ok", "2", "L2", "0.51") +
              row("g3", "ok", "3", "T12", "0.70") + row("g2_high", "ok", "2", "L1", "0.95") +
              row("g2_noscore", "ok", "2", "L3", "") + row("g3_named", "ok", "3", "T8", "0.99") +
              row("g1", "ok", "1", "", "0.4"));
  const BatchResults batch = readBatchResults(d.path().string());
  std::vector<ReadReport> reports;
  for (const char* id : {"g2_low", "g3", "g2_high", "g2_noscore", "g1"})
    reports.push_back(report(id, "Possible mild wedging of L1."));  // uncertain: not named
  reports.push_back(report("g3_named", "T8 compression fracture."));
  const auto list = worklist(joinAudit(reports, batch));
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].caseId, "g3");
  EXPECT_EQ(list[1].caseId, "g2_high");
  EXPECT_EQ(list[2].caseId, "g2_low");
  EXPECT_EQ(list[3].caseId, "g2_noscore");
  const std::string csv = worklistCsv(list);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "rank,case_id,max_genant_grade,fractured_levels,fracture_score,bone_density_category,"
            "density_hu,report_vertebral_fracture,report_recommendation_made,date,accession");
  EXPECT_NE(csv.find("1,g3,3,T12,0.7,low,120,uncertain,false"), std::string::npos) << csv;
}

TEST(TextAudit, CombinesSeveralReportsOfOneCase) {
  TempDir d;
  d.write("summary.csv", std::string(kHeader) + row("c1", "ok", "2", "L1", "0.8"));
  const BatchResults batch = readBatchResults(d.path().string());
  const CohortAudit a = joinAudit(
      {report("c1", "L1 compression fracture."), report("c1", "Addendum: recommend DXA.")}, batch);
  const CaseAudit& c = find(a, "c1");
  EXPECT_EQ(c.reports, 2);
  EXPECT_EQ(c.category, AuditCategory::kFlaggedNamedReferred);
  EXPECT_NE(casesCsv(a).find(",L1,,,"), std::string::npos) << casesCsv(a);  // levels_in_both
}

TEST(TextAudit, RatesAreEmptyWhenNothingIsFlagged) {
  TempDir d;
  d.write("summary.csv", std::string(kHeader) + row("c1", "ok", "0", "", "0.1"));
  const CohortAudit a = joinAudit({report("c1", "Normal.")}, readBatchResults(d.path().string()));
  EXPECT_FALSE(a.identificationRate.value.has_value());
  EXPECT_FALSE(a.referralRate.value.has_value());
}

TEST(TextAudit, ReportsCsvHasTheContractColumns) {
  const std::string csv = reportsCsv({report("r1", "Compression fractures T11-L1, refer to FLS."),
                                      report("r2", "No vertebral fracture.")});
  EXPECT_EQ(csv,
            "case_id,vertebral_fracture,levels,osteoporosis_mentioned,recommendation_made,"
            "evidence\n"
            "r1,affirmed,T11;T12;L1,false,true,\"Compression fractures T11-L1, refer to FLS.\"\n"
            "r2,negated,,false,false,No vertebral fracture.\n");
}

TEST(TextAudit, RunWritesAllOutputsAndLogsNoCaseIds) {
  TempDir d;
  d.write("batch/summary.csv", std::string(kHeader) + row("patient-xyz", "ok", "3", "L1", "0.9"));
  d.write("reports.csv", "case_id,text\npatient-xyz,Normal CT.\n");
  TextAuditOptions o;
  o.reportsPath = (d.path() / "reports.csv").string();
  o.resultsDir = (d.path() / "batch").string();
  o.outDir = (d.path() / "out").string();
  std::ostringstream log;
  EXPECT_EQ(runTextAudit(o, log), 0);
  for (const char* f : {"reports.csv", "cases.csv", "worklist.csv", "audit.json"})
    EXPECT_TRUE(fs::exists(d.path() / "out" / f)) << f;
  EXPECT_EQ(log.str().find("patient-xyz"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("identification rate 0"), std::string::npos) << log.str();
}
