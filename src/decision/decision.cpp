#include "decision/decision.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace spinescreen::decision {
namespace {

const char* gradeName(int g) {
  switch (g) {
    case 1:
      return "mild";
    case 2:
      return "moderate";
    case 3:
      return "severe";
    default:
      return "no";
  }
}

std::string hu(double v) {
  std::ostringstream s;
  s << static_cast<long>(std::lround(v)) << " HU";
  return s.str();
}

const char* categoryPhrase(DensityCategory c) {
  switch (c) {
    case DensityCategory::kOsteoporosisLikely:
      return "osteoporosis likely";
    case DensityCategory::kLow:
      return "low bone density";
    case DensityCategory::kNormal:
      return "normal";
    default:
      return "indeterminate";
  }
}

}  // namespace

PatientFindings decide(const std::vector<Vertebra>& vertebrae,
                       const density::DensitySummary& density, const ReferralPolicy& policy) {
  return decide(vertebrae, density, policy, StudyInfo{});
}

PatientFindings decide(const std::vector<Vertebra>& vertebrae,
                       const density::DensitySummary& density, const ReferralPolicy& policy,
                       const StudyInfo& study) {
  PatientFindings p;
  // Patient score: noisy-OR of the per-level fracture probabilities.
  double none = 1.0;
  bool anyScore = false;
  for (const auto& v : vertebrae) {
    if (!v.measurable || !v.genantGrade) continue;
    const int g = *v.genantGrade;
    p.maxGenantGrade = std::max(p.maxGenantGrade.value_or(0), g);
    if (g >= 2) p.fracturedLevels.push_back(v.label);
    if (v.fractureProbability) {
      none *= 1.0 - std::clamp(*v.fractureProbability, 0.0, 1.0);
      anyScore = true;
    }
  }
  p.fractureDetected = !p.fracturedLevels.empty();
  if (anyScore) p.fractureScore = 1.0 - none;
  p.l1TrabecularHu = density.l1TrabecularHu;
  p.densityHu = density.densityHu;
  p.densityLevel = density.densityLevel;
  p.boneDensityCategory = density.category;

  for (const auto& v : vertebrae) {
    if (!v.measurable || !v.genantGrade || *v.genantGrade < policy.minFractureGrade) continue;
    std::ostringstream r;
    r << gradeName(*v.genantGrade) << " (grade " << *v.genantGrade << ") "
      << (v.morphology ? toString(*v.morphology) : "") << " fracture at " << v.label;
    if (v.heightLoss) r << " (" << std::lround(*v.heightLoss * 100.0) << "% height loss)";
    p.referralReasons.push_back(r.str());
  }
  if (density.densityHu && density.densityLevel) {
    const bool osteo = density.category == DensityCategory::kOsteoporosisLikely;
    const bool low = density.category == DensityCategory::kLow;
    if ((osteo && policy.referOnOsteoporosisLikely) || (low && policy.referOnLowDensity)) {
      std::ostringstream r;
      r << *density.densityLevel << " trabecular density " << hu(*density.densityHu);
      if (density.categoryCutoffHu) r << " <= " << hu(*density.categoryCutoffHu);
      r << " (" << categoryPhrase(density.category) << ")";
      if (*density.densityLevel != "L1") r << "; L1 fractured or not measurable";
      if (study.contrast && *study.contrast)
        r << "; contrast-enhanced scan (HU read somewhat higher than unenhanced)";
      if (study.kvp && std::abs(*study.kvp - 120.0) > 1.0)
        r << "; " << std::lround(*study.kvp) << " kVp (cut-offs are for 120 kVp)";
      p.referralReasons.push_back(r.str());
    }
  }
  p.referralRecommended = !p.referralReasons.empty();
  return p;
}

}  // namespace spinescreen::decision
