// Vertebral body heights, Genant grade and shape (see CLINICAL.md's grading rule).
#pragma once

#include <optional>
#include <string>
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
  // Move each endplate edge from the body mask's 0.5 level to the CT's own edge when the CT
  // shows one within 0.75 voxel: the 50% crossing from endplate cortex to disc, or half a
  // cortex beyond the cortical ridge when the slice blurs the crossing further out. Used for
  // masks from other tools, whose surfaces follow their own grid; the built-in segmentation
  // already places its endplates on the CT.
  bool refineEdgesWithHu = false;
  // Bodies whose middle height exceeds both wall heights by more than this factor are not
  // graded (an incomplete segmentation, not anatomy).
  double maxMiddleOverWallRatio = 1.2;
  // Bodies whose posterior height exceeds that of the nearest measured body on either side
  // (within three levels, scaled by the usual few per cent per level) by more than this factor
  // are not graded: two vertebrae merged across a missed disc (a fracture lowers a neighbour,
  // never raises a body).
  double maxPosteriorOverNeighbourRatio = 1.35;
};

// Fills heights (and the drawn height segments) of every measurable vertebra.
void measureHeights(const HuVolume& volume, SpineModel& model, const MorphometryConfig& config);

struct GradingConfig {
  // Slice thickness of the scan: a thick slice blurs the endplates, which widens the
  // fracture probability's transition and makes grade 1 uncertain.
  std::optional<double> sliceThicknessMm;
};

// Fills heightLoss, genantGrade, morphology and fractureProbability from the heights, by the
// one grading rule (ref = max(own Hp, mean Hp of unfractured neighbours)).
void gradeVertebrae(std::vector<Vertebra>& vertebrae);
void gradeVertebrae(std::vector<Vertebra>& vs, const GradingConfig& config);

// Genant grade of a height loss: 0 below 0.20, 1 below 0.25, 2 up to 0.40, 3 above.
int genantGradeForLoss(double heightLoss);
// Fracture probability: logistic in height loss, with a small per-level prior.
double fractureProbability(double heightLoss, const std::string& label,
                           std::optional<double> sliceThicknessMm);

}  // namespace spinescreen::morphometry
