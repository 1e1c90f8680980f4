// The annotated sagittal picture (sagittal.png): a curved planar reformation along the
// column in a bone window, each vertebra labelled, heights drawn, fractures highlighted, the
// density ROI and a legend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/report.h"
#include "core/spine_model.h"

namespace spinescreen::report {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 0) {}
  uint8_t* at(int x, int y) { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
  const uint8_t* at(int x, int y) const { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

struct PictureOptions {
  // Bone window as used for the spine: W 1500 / L 400 shows cortex and trabecular bone.
  double windowWidthHu = 1500.0;
  double windowLevelHu = 400.0;
  double posteriorReachMm = 80.0;  // shown behind the centreline (canal, posterior elements)
  double anteriorReachMm = 65.0;   // shown in front of it
  int targetHeightPx = 800;        // display pixels along the column (isotropic pixels)
};

// Renders the picture from the graded model (vertebrae with heights, grades and HU).
RgbImage renderSagittal(const HuVolume& volume, const SpineModel& model,
                        const PatientFindings& patient, const PictureOptions& options = {});

// Text in the built-in 5x7 bitmap font (upper case, digits, common punctuation), at
// integer scale; returns the width drawn in pixels.
int drawText(RgbImage& img, int x, int y, const std::string& text, const uint8_t rgb[3],
             int scale = 2);

std::vector<uint8_t> encodePng(const RgbImage& img);
// Writes bytes to a file; throws UsageError when it cannot.
void writeBytes(const std::vector<uint8_t>& bytes, const std::string& path);

}  // namespace spinescreen::report
