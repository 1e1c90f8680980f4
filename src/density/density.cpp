#include "density/density.h"

namespace spinescreen::density {

void measureTrabecularHu(const HuVolume& volume, SpineModel& model, const DensityConfig& config) {}

DensitySummary summariseDensity(const std::vector<Vertebra>& vertebrae,
                                const DensityConfig& config) {
  return {};
}

}  // namespace spinescreen::density
