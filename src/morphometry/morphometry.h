// Vertebral body heights, Genant grade and shape (see CLINICAL.md's grading rule).
#pragma once

#include <vector>

#include "core/image.h"
#include "core/spine_model.h"
#include "core/vertebra.h"

namespace spinescreen::morphometry {

struct MorphometryConfig {
  // Where the three heights are taken, as fractions of the body's depth from its anterior wall.
  double anteriorFraction = 0.15;
  double middleFraction = 0.50;
  double posteriorFraction = 0.85;
};

// Fills heights (and the drawn height segments) of every measurable vertebra.
void measureHeights(const HuVolume& volume, SpineModel& model, const MorphometryConfig& config);

// Fills heightLoss, genantGrade, morphology and fractureProbability from the heights, by the
// one grading rule (ref = max(own Hp, mean Hp of unfractured neighbours)).
void gradeVertebrae(std::vector<Vertebra>& vertebrae);

}  // namespace spinescreen::morphometry
