// Patient-level fracture flag and fracture liaison service referral.
#pragma once

#include <string>
#include <vector>

#include "core/report.h"
#include "core/study.h"
#include "core/vertebra.h"
#include "density/density.h"

namespace spinescreen::decision {

struct ReferralPolicy {
  int minFractureGrade = 2;               // refer for any fracture of at least this grade
  bool referOnOsteoporosisLikely = true;  // refer on density category osteoporosis_likely
  bool referOnLowDensity = false;         // refer on density category low
};

PatientFindings decide(const std::vector<Vertebra>& vertebrae,
                       const density::DensitySummary& density, const ReferralPolicy& policy);
// The same, noting in the density reason what the study says about contrast and kVp (both
// shift HU).
PatientFindings decide(const std::vector<Vertebra>& vertebrae,
                       const density::DensitySummary& density, const ReferralPolicy& policy,
                       const StudyInfo& study);

}  // namespace spinescreen::decision
