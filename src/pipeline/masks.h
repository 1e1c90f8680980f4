// The body label map `--save-masks` writes: VerSe numbering (T1=8 ... L5=24, S1=26), on the
// input grid.
#pragma once

#include "core/image.h"
#include "core/spine_model.h"

namespace spinescreen::pipeline {

// Each vertebra's body (SpineModel::bodies value bodyLabel) becomes its VerSe number; the map
// is resampled (nearest neighbour) onto `inputGrid` when the model's grid differs.
LabelImage verseBodyLabelMap(const SpineModel& model, const Grid& inputGrid);

}  // namespace spinescreen::pipeline
