#include "textaudit/corpus_score.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "textaudit/levels.h"

namespace spinescreen::textaudit {

std::vector<LabelledReport> readLabelledCorpus(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path);
  std::vector<LabelledReport> out;
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      LabelledReport r;
      r.caseId = j.at("case_id").get<std::string>();
      r.text = j.at("text").get<std::string>();
      const auto& l = j.at("label");
      r.status = fractureStatusFromString(l.at("vertebral_fracture").get<std::string>());
      for (const auto& lv : l.at("levels")) r.levels.push_back(lv.get<std::string>());
      normaliseLevels(r.levels);
      r.osteoporosis = l.at("osteoporosis_mentioned").get<bool>();
      r.recommendation = l.at("recommendation_made").get<bool>();
      out.push_back(std::move(r));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(path + ": line " + std::to_string(lineNo) + ": " + e.what());
    }
  }
  return out;
}

double LabelScore::precision() const { return tp + fp == 0 ? 1.0 : double(tp) / (tp + fp); }
double LabelScore::recall() const { return tp + fn == 0 ? 1.0 : double(tp) / (tp + fn); }
double LabelScore::f1() const {
  const double p = precision(), r = recall();
  return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
}

const LabelScore& CorpusScore::label(const std::string& name) const {
  for (const auto& l : labels)
    if (l.name == name) return l;
  throw std::out_of_range("no label " + name);
}

CorpusScore scoreCorpus(const std::vector<LabelledReport>& corpus) {
  CorpusScore s;
  const FractureStatus statuses[] = {FractureStatus::kAffirmed, FractureStatus::kHistorical,
                                     FractureStatus::kUncertain, FractureStatus::kNegated,
                                     FractureStatus::kNone};
  for (auto st : statuses) s.labels.push_back({std::string("vertebral_fracture=") + toString(st)});
  s.labels.push_back({"fracture_named (affirmed|historical)"});
  s.labels.push_back({"osteoporosis_mentioned"});
  s.labels.push_back({"recommendation_made"});
  auto count = [](LabelScore& l, bool truth, bool pred) {
    if (truth && pred) ++l.tp;
    if (!truth && pred) ++l.fp;
    if (truth && !pred) ++l.fn;
  };
  auto named = [](FractureStatus st) {
    return st == FractureStatus::kAffirmed || st == FractureStatus::kHistorical;
  };
  for (const auto& r : corpus) {
    const ReportFindings f = classifyReport(r.text);
    for (size_t k = 0; k < 5; ++k)
      count(s.labels[k], r.status == statuses[k], f.vertebralFracture == statuses[k]);
    count(s.labels[5], named(r.status), named(f.vertebralFracture));
    count(s.labels[6], r.osteoporosis, f.osteoporosisMentioned);
    count(s.labels[7], r.recommendation, f.recommendationMade);
    const bool statusOk = r.status == f.vertebralFracture;
    if (statusOk) ++s.statusCorrect;
    bool levelsOk = true;
    if (statusRank(r.status) >= 2 && statusRank(f.vertebralFracture) >= 2) {
      ++s.levelsCompared;
      levelsOk = r.levels == f.levels;
      if (levelsOk) ++s.levelsCorrect;
    }
    if (!statusOk || !levelsOk || r.osteoporosis != f.osteoporosisMentioned ||
        r.recommendation != f.recommendationMade) {
      std::string e = r.caseId + ": expected " + toString(r.status) + " [" + joinLevels(r.levels) +
                      "] op=" + (r.osteoporosis ? "1" : "0") +
                      " rec=" + (r.recommendation ? "1" : "0") + ", got " +
                      toString(f.vertebralFracture) + " [" + joinLevels(f.levels) +
                      "] op=" + (f.osteoporosisMentioned ? "1" : "0") +
                      " rec=" + (f.recommendationMade ? "1" : "0") + "\n  text: " + r.text +
                      "\n  evidence: " + f.evidence();
      s.errors.push_back(e);
    }
  }
  return s;
}

}  // namespace spinescreen::textaudit
