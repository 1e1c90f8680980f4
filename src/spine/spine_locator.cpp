#include "spine/spine_locator.h"

#include "core/errors.h"

namespace spinescreen::spine {

SpineModel locateSpine(const HuVolume& volume, const SpineConfig& config) {
  throw NotApplicableError("spine localisation is not available in this build");
}

}  // namespace spinescreen::spine
