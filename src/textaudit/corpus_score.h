// Scoring the classifier on a labelled corpus: one JSON object a line with case_id, text and
// label {vertebral_fracture, levels, osteoporosis_mentioned, recommendation_made}.
#pragma once

#include <string>
#include <vector>

#include "textaudit/classifier.h"

namespace spinescreen::textaudit {

struct LabelledReport {
  std::string caseId;
  std::string text;
  FractureStatus status = FractureStatus::kNone;
  std::vector<std::string> levels;
  bool osteoporosis = false;
  bool recommendation = false;
};

// Throws InputError naming the line on a malformed line or label.
std::vector<LabelledReport> readLabelledCorpus(const std::string& path);

struct LabelScore {
  std::string name;
  long tp = 0, fp = 0, fn = 0;
  double precision() const;  // 1 when nothing was predicted
  double recall() const;     // 1 when nothing was there to find
  double f1() const;
};

struct CorpusScore {
  // One-vs-rest for each fracture status, then "fracture_named" (affirmed or historical),
  // osteoporosis_mentioned and recommendation_made.
  std::vector<LabelScore> labels;
  long statusCorrect = 0;
  long levelsCompared = 0, levelsCorrect = 0;
  std::vector<std::string> errors;  // one description per wrongly read report
  const LabelScore& label(const std::string& name) const;
};

CorpusScore scoreCorpus(const std::vector<LabelledReport>& corpus);

}  // namespace spinescreen::textaudit
