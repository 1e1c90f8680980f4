// Wires the stages for one study: load -> spine -> morphometry -> density -> decision -> report.
#pragma once

#include <ostream>
#include <string>

#include "core/report.h"
#include "core/spine_model.h"
#include "core/study.h"
#include "decision/decision.h"
#include "density/density.h"
#include "morphometry/morphometry.h"
#include "spine/spine_locator.h"

namespace spinescreen::pipeline {

struct AnalysisConfig {
  spine::SpineConfig spine;
  morphometry::MorphometryConfig morphometry;
  density::DensityConfig density;
  decision::ReferralPolicy referral;
};

// Reads an AnalysisConfig from a JSON file (keys: density.osteoporosis_likely_max_hu,
// density.low_max_hu, referral.min_fracture_grade, referral.refer_on_osteoporosis_likely,
// referral.refer_on_low_density). Throws UsageError on a bad file.
AnalysisConfig loadConfigFile(const std::string& path);

struct AnalyzeOptions {
  std::string input;
  std::string outDir;
  bool dicomOut = false;
  bool fhirOut = false;
  bool saveMasks = false;
  // A user's vertebra label map instead of the built-in localiser (and optionally a body-only
  // label map in VerSe numbering).
  std::string vertebraeMask;
  std::string maskConvention = "auto";  // totalsegmentator | verse | auto
  std::string bodyMask;
};

struct Analysis {
  Report report;
  SpineModel model;
};

// Throws NotApplicableError when the volume is not something we analyse (not CT, too few
// slices, too little coverage).
void checkApplicable(const LoadedStudy& study);

// The stages on a study in memory; no file I/O. Throws NotApplicableError (no spine).
Analysis analyzeLoaded(const LoadedStudy& study, const AnalysisConfig& config);

// The stages after the spine model, on a model from elsewhere (a user's masks).
Analysis analyzeWithModel(const LoadedStudy& study, const AnalysisConfig& config, SpineModel model);

// The whole `analyze` job: load, analyse, write every output. Never throws; returns the
// exit code of contracts/CLI.md. Progress and errors go to `log` (never identifying data).
int runAnalyze(const AnalyzeOptions& options, const AnalysisConfig& config, std::ostream& log);

}  // namespace spinescreen::pipeline
