// One study's result, mirroring contracts/report.schema.json.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/study.h"
#include "core/vertebra.h"

namespace spinescreen {

enum class Status { kOk, kNotApplicable, kFailed };
const char* toString(Status s);

enum class DensityCategory { kNormal, kLow, kOsteoporosisLikely, kIndeterminate };
const char* toString(DensityCategory c);

struct PatientFindings {
  bool fractureDetected = false;
  std::optional<int> maxGenantGrade;
  std::vector<std::string> fracturedLevels;
  std::optional<double> fractureScore;
  std::optional<double> l1TrabecularHu;
  std::optional<double> densityHu;
  std::optional<std::string> densityLevel;
  std::optional<DensityCategory> boneDensityCategory;
  bool referralRecommended = false;
  std::vector<std::string> referralReasons;
};

struct Report {
  Status status = Status::kFailed;
  std::string statusReason;
  StudyInfo input;
  std::optional<Grid> inputGrid;  // size and spacing go into `input` when known
  std::string vertebraeSource = "builtin";
  std::vector<Vertebra> vertebrae;
  PatientFindings patient;
  std::map<std::string, std::string> outputs;  // kind -> path relative to OUTDIR
  std::map<std::string, double> timingMs;
  std::vector<std::string> warnings;
};

}  // namespace spinescreen
