// The text audit: what each report says (reports.csv) and, joined with a batch folder's results,
// whether the fractures spinescreen flagged were named and referred in the report: per-case
// categories, the cohort's identification and referral rates, and a worklist for the FLS of
// flagged patients whose report did not name a fracture (contracts/CLI.md, batch layout).
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "textaudit/classifier.h"
#include "textaudit/report_reader.h"

namespace spinescreen::textaudit {

// One report and what it says.
struct ReadReport {
  ReportText report;
  ReportFindings findings;
};

std::vector<ReadReport> readAll(const std::vector<ReportText>& reports);

// One case of a batch folder: its summary.csv row, completed from <case_id>/report.json.
struct BatchCase {
  std::string caseId;
  std::string status;  // ok | not_applicable | failed
  std::optional<int> maxGenantGrade;
  std::vector<std::string> fracturedLevels;
  std::optional<double> fractureScore;
  std::optional<double> densityHu;
  std::string boneDensityCategory;
  bool fractureDetected = false;  // report.json patient.fracture_detected, else grade >= 2
  bool referralRecommended = false;
  bool fromReportJson = false;
};

struct BatchResults {
  std::map<std::string, BatchCase> cases;
  std::vector<std::string> warnings;  // unreadable report.json files and the like
};

// Reads BATCHDIR/summary.csv and each BATCHDIR/<case_id>/report.json that exists. Throws
// InputError when summary.csv is missing or malformed (a missing column, a duplicate case id).
BatchResults readBatchResults(const std::string& batchDir);

enum class AuditCategory {
  kFlaggedNamedReferred,     // spinescreen flagged; the report named a fracture and referred
  kFlaggedNamedNotReferred,  // flagged; named, no bone-health recommendation
  kFlaggedNotNamed,          // flagged; the report did not name it (the FLS worklist)
  kNotFlaggedNamed,          // spinescreen negative; the report names a fracture
  kNotFlaggedNotNamed,       // both negative
  kNoAiResult,               // a report, but no usable spinescreen result (missing, failed, n/a)
  kNoReport,                 // a spinescreen result with no report
};
const char* toString(AuditCategory c);

// A report "names" a fracture when it affirms one or speaks of a known / old one.
bool namesFracture(FractureStatus s);

struct CaseAudit {
  std::string caseId;
  AuditCategory category = AuditCategory::kNoReport;
  std::optional<BatchCase> ai;
  // The case's reports taken together: the strongest status, all levels, any recommendation.
  int reports = 0;
  FractureStatus reportStatus = FractureStatus::kNone;
  std::vector<std::string> reportLevels;
  bool recommendationMade = false;
  bool osteoporosisMentioned = false;
  std::string date, accession, evidence;
};

struct Rate {
  long numerator = 0, denominator = 0;
  std::optional<double> value;      // nullopt when the denominator is 0
  std::optional<double> low, high;  // Wilson 95% interval
};
Rate makeRate(long k, long n);

struct CohortAudit {
  std::vector<CaseAudit> cases;  // sorted by case id
  std::map<AuditCategory, long> counts;
  Rate identificationRate;      // flagged cases whose report named a fracture
  Rate referralRate;            // flagged cases whose report recommended bone-health action
  Rate referralRateWhenNamed;   // among flagged and named
  Rate reportOnlyFractureRate;  // cases the report names that spinescreen did not flag
  std::vector<std::string> warnings;
};

CohortAudit joinAudit(const std::vector<ReadReport>& reports, const BatchResults& batch);

// Flagged cases whose report did not name a fracture, highest Genant grade first, then highest
// fracture score, then case id.
std::vector<CaseAudit> worklist(const CohortAudit& audit);

struct TextAuditOptions {
  std::string reportsPath;
  std::string resultsDir;  // empty: reports.csv only
  std::string outDir;
  ReportReaderOptions reader;
};

// The whole `textaudit` job: writes OUTDIR/reports.csv, and with a results folder also
// OUTDIR/cases.csv, OUTDIR/worklist.csv and OUTDIR/audit.json. Logs counts only, never case ids
// or text. Throws InputError on bad input, UsageError when OUTDIR cannot be written.
int runTextAudit(const TextAuditOptions& options, std::ostream& log);

// The CSV bodies (exposed for tests).
std::string reportsCsv(const std::vector<ReadReport>& reports);
std::string casesCsv(const CohortAudit& audit);
std::string worklistCsv(const std::vector<CaseAudit>& list);

}  // namespace spinescreen::textaudit
