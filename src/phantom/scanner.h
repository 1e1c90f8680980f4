// Internal: the in-plane point spread function of the simulated scanner (ITK behind it).
#pragma once

#include <vector>

namespace spinescreen::phantom::detail {

class SliceBlur {
 public:
  SliceBlur(int nx, int ny, double sx, double sy, double fwhmMm);
  // Blurs one axial slice (x fastest) in place.
  void apply(std::vector<float>& slice) const;
  // Variance of white noise after the blur, per unit variance before it.
  double noiseGain() const { return noiseGain_; }

 private:
  int nx_, ny_;
  double sx_, sy_, sigmaMm_;
  double noiseGain_ = 1.0;
};

}  // namespace spinescreen::phantom::detail
