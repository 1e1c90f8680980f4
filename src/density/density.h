// Trabecular bone density (HU) of vertebral bodies and the patient's density category.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/report.h"
#include "core/spine_model.h"

namespace spinescreen::density {

struct DensityConfig {
  double interiorDepthMm = 5.0;          // ROI: body interior at least this far from its surface
  double thinBodyInteriorDepthMm = 3.0;  // used where the body is too thin for the above
  double osteoporosisLikelyMaxHu = 110.0;
  double lowMaxHu = 160.0;
  // Voxels above this are cement or dense sclerosis, not trabecular bone.
  double cementMinHu = 600.0;
  // The posterior part of the body (the basivertebral vein's entry) left out of the ROI, as
  // a fraction of the body's depth.
  double posteriorExcludedFraction = 1.0 / 3.0;
  // Bright voxels beyond this many robust standard deviations (1.4826 MAD) above the median
  // that join into a cluster at least as large as a sphere of this diameter are a focal lesion
  // (bone island, sclerotic focus) and are left out; scattered ones are texture and stay.
  double outlierRobustSd = 3.0;
  double lesionMinDiameterMm = 3.0;
  // Where the body surface lies relative to the centres of its outermost voxels, in voxels
  // (the distance map measures from those centres).
  double surfaceOffsetVoxels = 0.5;
};

// Fills trabecularHu of every measurable vertebra.
void measureTrabecularHu(const HuVolume& volume, SpineModel& model, const DensityConfig& config);

struct DensitySummary {
  std::optional<double> l1TrabecularHu;
  std::optional<double> densityHu;
  std::optional<std::string> densityLevel;
  DensityCategory category = DensityCategory::kIndeterminate;
  // The cut-off that decided the category (osteoporosis_likely or low), for the reasons.
  std::optional<double> categoryCutoffHu;
};

// L1, or T12 / L2 when L1 is fractured or not measurable.
DensitySummary summariseDensity(const std::vector<Vertebra>& vertebrae,
                                const DensityConfig& config);

}  // namespace spinescreen::density
