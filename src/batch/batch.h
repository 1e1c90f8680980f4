// Runs `analyze` over a cohort (contracts/CLI.md, "Batch layout"): every study in its own child
// process with a wall-time and memory limit, results under OUTDIR/<case_id>/, a summary.csv
// rewritten atomically as studies finish, and resumable after an interruption.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace spinescreen::batch {

// One study of a cohort.
struct Study {
  std::string caseId;
  std::string path;                 // what analyze is given
  std::optional<std::string> mask;  // --vertebrae-mask, from the manifest's `mask` column
  std::vector<std::string> extra;   // carried manifest columns, in the manifest's order
};

struct Cohort {
  std::vector<std::string> extraColumns;  // names of the carried columns
  std::vector<Study> studies;
};

// Every immediate child of `dir` (hidden entries and `skip`, e.g. the output folder, left out),
// sorted by name: NIfTI files (case_id = name less .nii/.nii.gz), folders (case_id = name) and
// any other file (case_id = its whole name; analyze reports it as failed). Throws UsageError
// when `dir` is not a readable folder or two children give the same case_id.
Cohort listStudies(const std::string& dir, const std::string& skip = {});

// A manifest CSV: header with at least case_id and path; optional mask; other columns carried.
// Relative paths are taken relative to the manifest's folder. Throws UsageError when the file
// cannot be read or parsed, a column is missing, a case_id is empty, unsafe as a folder name or
// repeated, a path is empty, or a carried column has the name of a summary column.
Cohort readManifest(const std::string& manifestPath);

// The summary.csv header of contracts/CLI.md (without carried columns).
const std::vector<std::string>& summaryHeader();

// The summary fields of one study from its report.json, in summaryHeader() order.
std::vector<std::string> summaryFields(const std::string& caseId, const nlohmann::json& report,
                                       std::optional<double> seconds);

// True when `caseId` can be used as a folder name under OUTDIR.
bool isSafeCaseId(const std::string& caseId);

struct BatchOptions {
  std::string outDir;
  int jobs = 1;
  double timeoutS = 600.0;
  long maxMemoryMb = 4096;  // 0: no limit
  // The program run for each study as `EXE analyze PATH -o OUTDIR/<case_id> ARGS...`.
  std::string executable = "/proc/self/exe";
  std::vector<std::string> analyzeArgs;  // passed through to every analyze
  bool retryFailed = false;              // redo studies whose report says failed
  // Progress: a redrawn bar when true, plain lines when false.
  bool progressBar = false;
};

struct BatchResult {
  int total = 0;
  int skipped = 0;  // done in an earlier run
  int ran = 0;
  int ok = 0;
  int notApplicable = 0;
  int failed = 0;
  bool interrupted = false;
  double seconds = 0.0;
};

// Reads OUTDIR/<case_id>/report.json when it is complete: valid JSON with a known status.
std::optional<nlohmann::json> readCompleteReport(const std::string& path);

// Runs the cohort. Never prints identifying data: only case ids, statuses and counts go to
// `log`. Throws UsageError when OUTDIR cannot be created, or another batch holds it.
BatchResult runBatch(const Cohort& cohort, const BatchOptions& options, std::ostream& log);

// Asks a running runBatch to stop: it kills its children, records nothing for them and
// returns with `interrupted` set. Safe to call from a signal handler.
void requestStop();

}  // namespace spinescreen::batch
