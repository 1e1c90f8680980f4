// Finds, labels and segments the vertebrae of a CT volume (HU, LPS).
#pragma once

#include "core/image.h"
#include "core/spine_model.h"

namespace spinescreen::spine {

struct SpineConfig {
  // Localisation works on an isotropic copy of this spacing; bodies are refined on the
  // input grid.
  double workingSpacingMm = 2.0;
  // Whole-vertebra label map (SpineModel::vertebraeMask) on the input grid.
  bool wholeVertebraMask = true;
};

// Throws NotApplicableError when no spine is in view.
SpineModel locateSpine(const HuVolume& volume, const SpineConfig& config = {});

}  // namespace spinescreen::spine
