// Phantom specs for tests: a drawn anatomy made plain (no deformity, no mimic) and scanned the
// way a test asks.
#pragma once

#include "phantom/phantom.h"

namespace spinescreen::testing {

// No fracture, Schmorl's node or osteophyte anywhere on the column.
inline void withoutDeformities(phantom::PhantomSpec& spec) {
  for (auto& v : spec.column) {
    v.fracture = phantom::FractureType::kNone;
    v.fractureLoss = 0.0;
    v.schmorl.clear();
    v.osteophyteMm = 0.0;
  }
}

// The field of view, in-plane matrix and width, and slice spacing (and thickness).
inline void scanAs(phantom::PhantomSpec& spec, phantom::FovKind fov, int matrix, double fovWidthMm,
                   double sliceMm) {
  phantom::setFov(spec, fov);
  spec.matrix = matrix;
  spec.fovWidthMm = fovWidthMm;
  phantom::setSliceSpacing(spec, sliceMm);
}

}  // namespace spinescreen::testing
