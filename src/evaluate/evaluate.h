// Scores a cohort's reports against known truth (contracts/CLI.md, "Evaluate"): identification,
// centroid error, per-vertebra and patient-level fracture detection with Wilson intervals, AUC,
// grade agreement, height error and L1 HU error.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/vertebra.h"

namespace spinescreen::evaluate {

struct TruthVertebra {
  std::string label;
  std::optional<Vec3> centroidLps;  // absent for reads, which name levels only
  std::optional<Heights> heights;
  std::optional<int> genantGrade;  // null: unknown, skipped
  std::optional<std::string> morphology;
};

struct TruthCase {
  std::string caseId;
  bool labelAnchor = true;
  std::vector<TruthVertebra> vertebrae;
  std::optional<bool> anyFracture;  // patient.any_fracture, when given
  std::optional<double> l1TrabecularHu;
  // Whether the vertebrae carry positions (truth.json, VerSe) or only levels (reads CSV).
  bool hasPositions = true;
};

struct PredVertebra {
  std::string label;
  Vec3 centroidLps;
  std::optional<Heights> heights;
  std::optional<int> genantGrade;
};

struct PredCase {
  std::string status;  // ok, not_applicable, failed; "missing" when there is no report
  std::vector<PredVertebra> vertebrae;
  bool fractureDetected = false;
  std::optional<double> fractureScore;
  std::optional<double> l1TrabecularHu;
};

// Readers. Each throws InputError naming the file and what is wrong on malformed input
// (not JSON, wrong types, labels outside the column, grades outside 0..3, non-finite numbers).
TruthCase parseTruth(const nlohmann::json& j, const std::string& source);
TruthCase readTruth(const std::string& truthJsonPath);
PredCase parseReport(const nlohmann::json& j, const std::string& source);
PredCase readReport(const std::string& reportJsonPath);

// Radiologists' reads: `case_id,level,genant_grade[,morphology]`; an empty grade is unknown.
// Returns the cases in first-seen order, vertebrae without positions.
std::vector<TruthCase> readReadsCsv(const std::string& path);

// A VerSe centroid file (`*_ctd.json`): first entry {"direction": [3 axis codes]}, then
// {"label": N, "X": .., "Y": .., "Z": ..} in voxel indices of the CT reoriented to that
// direction. The CT's grid converts them to LPS mm.
struct VoxelGrid {
  int64_t size[3] = {0, 0, 0};
  Vec3 spacing{1, 1, 1};
  Vec3 origin;     // LPS mm
  Mat3 direction;  // LPS, column c = direction of voxel axis c
};
// Reads size, spacing, origin and direction of an image header (ITK; NIfTI and others).
VoxelGrid readImageGrid(const std::string& imagePath);
// Converts one VerSe centroid to LPS mm. `axisCodes` are nibabel axis codes (R/L, A/P, S/I:
// the direction each index increases towards). Flipped axes map as VerSe's own tools do:
// index = size - coordinate.
Vec3 verseCentroidToLps(const std::string axisCodes[3], const double coord[3],
                        const VoxelGrid& grid);
std::vector<TruthVertebra> readVerseCentroids(const std::string& ctdJsonPath,
                                              const VoxelGrid& grid);
// A VerSe-layout dataset: rawdata/sub-*/..._ct.nii.gz with derivatives/sub-*/..._ctd.json.
// case_id = the subject (or the file's stem before `_ct` when a subject has several CTs).
// Grades, when given, come from a reads CSV and are joined by case_id and level.
std::vector<TruthCase> readVerseDataset(const std::string& root, const std::string& gradesCsv);

// Truth from any of the three forms: a folder of <case_id>/truth.json, a VerSe dataset, or a
// reads CSV. Throws UsageError when `path` is none of them.
std::vector<TruthCase> loadTruth(const std::string& path, const std::string& gradesCsv = {});

// Statistics.
struct Interval {
  double low = 0;
  double high = 0;
};
// Wilson score interval for k successes in n at 95% (z = 1.959964); nullopt when n == 0.
std::optional<Interval> wilson(long k, long n);
// Mann-Whitney AUC (ties count one half) with a DeLong 95% interval; nullopt without both
// classes.
struct Auc {
  double auc = 0;
  Interval ci95;
};
std::optional<Auc> aucWithCi(const std::vector<double>& positives,
                             const std::vector<double>& negatives);

struct EvaluateOptions {
  std::string truth;
  std::string pred;    // the batch OUTDIR: <case_id>/report.json
  std::string outDir;  // EVALDIR
  std::string grades;  // reads CSV joined to a VerSe dataset
};

// Metrics of contracts/CLI.md as metrics.json holds them.
nlohmann::json computeMetrics(const std::vector<TruthCase>& truth,
                              const std::map<std::string, PredCase>& pred,
                              std::string* vertebraeCsv = nullptr, std::string* casesCsv = nullptr,
                              nlohmann::json* counts = nullptr);
// `counts` (counts.json) explains the figures: normal vertebrae with no match or no predicted
// grade (left out of specificity), vertebrae scored for identification, grades compared.

// The whole `evaluate` job: loads truth and reports, writes EVALDIR/metrics.json,
// vertebrae.csv and cases.csv, and prints a short summary to `out`. Returns metrics.json.
nlohmann::json runEvaluate(const EvaluateOptions& options, std::ostream& out);

}  // namespace spinescreen::evaluate
