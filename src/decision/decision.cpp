#include "decision/decision.h"

namespace spinescreen::decision {

PatientFindings decide(const std::vector<Vertebra>& vertebrae,
                       const density::DensitySummary& density, const ReferralPolicy& policy) {
  return {};
}

}  // namespace spinescreen::decision
