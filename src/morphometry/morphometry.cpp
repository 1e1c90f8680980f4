#include "morphometry/morphometry.h"

namespace spinescreen::morphometry {

void measureHeights(const HuVolume& volume, SpineModel& model, const MorphometryConfig& config) {}

void gradeVertebrae(std::vector<Vertebra>& vertebrae) {}

}  // namespace spinescreen::morphometry
