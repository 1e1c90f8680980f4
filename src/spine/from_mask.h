// A SpineModel from a user's vertebra label map (TotalSegmentator or VerSe numbering) instead
// of the built-in localiser: `analyze CT --vertebrae-mask MASK [--body-mask BODIES]`.
#pragma once

#include <optional>
#include <string>

#include "core/image.h"
#include "core/spine_model.h"

namespace spinescreen::spine {

enum class MaskConvention {
  kAuto,              // recognised from the label set (the choice is reported in warnings)
  kTotalSegmentator,  // v2 `total` task: sacrum=25, S1=26, L5=27 ... L1=31, T12=32 ... C1=50
  kVerse,             // C1=1 ... C7=7, T1=8 ... T12=19, L1=20 ... L5=24, L6=25, S1=26, T13=28
};

// "auto" | "totalsegmentator" | "verse"; throws UsageError otherwise.
MaskConvention parseMaskConvention(const std::string& name);
const char* toString(MaskConvention c);

// Label images as read from files: int16 holds every value either convention uses, and
// values outside it are reported rather than wrapped.
using MaskImage = Image<int16_t>;

struct MaskModelConfig {
  // Bodies smaller than this are not measured (a sliver of a vertebra at the edge).
  double minBodyVolumeMl = 2.0;
};

// Builds the model: one Vertebra per whole-vertebra label (cranial to caudal), whole and body
// centroids, a body label map on the CT grid (value = VerSe number), the centreline through
// the body centroids. `bodies`, when given, is a body-only label map in VerSe numbering;
// without it each body is cut from its vertebra at the spinal canal's anterior wall.
// Masks on another grid in the same physical space are resampled (nearest neighbour).
// Throws UsageError for an ambiguous label set under kAuto, InputError for a mask in another
// physical space, an empty mask or values outside the convention.
SpineModel modelFromMask(const HuVolume& ct, const MaskImage& vertebrae, MaskConvention convention,
                         const MaskImage* bodies = nullptr, const MaskModelConfig& config = {});

}  // namespace spinescreen::spine
