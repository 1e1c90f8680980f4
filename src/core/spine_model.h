// What the spine stage (or a user's mask) hands to the measuring stages.
#pragma once

#include <string>
#include <vector>

#include "core/image.h"
#include "core/vertebra.h"

namespace spinescreen {

struct SpineModel {
  // Cranial to caudal.
  std::vector<Vertebra> vertebrae;
  // Body label map: value Vertebra::bodyLabel marks that vertebra's body (cortex included,
  // posterior elements excluded). Its grid may be the input grid or a working grid.
  LabelImage bodies;
  // Whole-vertebra label map (body and posterior elements), same values as `bodies`; may be
  // empty.
  LabelImage vertebraeMask;
  // Centreline of the column through the bodies, cranial to caudal (LPS mm), for the
  // sagittal reformation; may be empty.
  std::vector<Vec3> centrelineLps;
  std::string source = "builtin";  // "builtin" | "mask:totalsegmentator" | "mask:verse"
  std::vector<std::string> warnings;
};

}  // namespace spinescreen
