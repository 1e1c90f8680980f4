// The outer surface of a vertebral endplate on an intensity profile along the body's axis.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace spinescreen {

// Half an endplate cortex (mm): the outer surface lies this far beyond the ridge's centre.
inline constexpr double kEndplateHalfCortexMm = 0.5;

// `p` is sampled every `stepMm` running outward (from the body towards the disc); `ridge` is
// the index of the endplate's brightest sample and `crossing` the (fractional) index where the
// profile falls half-way from the ridge to the disc. Returns the outer surface's index: the
// crossing, unless a slice thicker than the cortex blurred it further out than half a cortex
// beyond the ridge's centre (sub-sample, by a parabola through the ridge).
inline double endplateOuterEdge(const std::vector<double>& p, int ridge, double crossing,
                                double stepMm) {
  double peak = ridge;
  const auto r = static_cast<size_t>(ridge);
  if (ridge > 0 && r + 1 < p.size()) {
    const double den = p[r - 1] - 2.0 * p[r] + p[r + 1];
    if (den < 0.0) peak = ridge + std::clamp(0.5 * (p[r - 1] - p[r + 1]) / den, -0.5, 0.5);
  }
  return std::min(crossing, peak + kEndplateHalfCortexMm / stepMm);
}

}  // namespace spinescreen
