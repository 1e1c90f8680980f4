// The scanner's in-plane point spread function: a Gaussian blur of each axial slice with
// ITK's DiscreteGaussianImageFilter (the slice profile comes from sub-slice sampling).
#include "phantom/scanner.h"

#include <itkDiscreteGaussianImageFilter.h>
#include <itkImage.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace spinescreen::phantom::detail {
namespace {

using Slice = itk::Image<float, 2>;

Slice::Pointer makeSlice(int nx, int ny, double sx, double sy) {
  auto img = Slice::New();
  Slice::RegionType region;
  Slice::SizeType size;
  size[0] = static_cast<itk::SizeValueType>(nx);
  size[1] = static_cast<itk::SizeValueType>(ny);
  region.SetSize(size);
  img->SetRegions(region);
  Slice::SpacingType sp;
  sp[0] = sx;
  sp[1] = sy;
  img->SetSpacing(sp);
  img->Allocate();
  return img;
}

void blur(const Slice::Pointer& in, double sigmaMm, std::vector<float>& out) {
  using Filter = itk::DiscreteGaussianImageFilter<Slice, Slice>;
  auto f = Filter::New();
  f->SetInput(in);
  f->SetVariance(sigmaMm * sigmaMm);
  f->SetUseImageSpacing(true);
  f->SetMaximumKernelWidth(31);
  f->SetMaximumError(0.01);
  f->SetNumberOfWorkUnits(1);
  f->Update();
  const float* buf = f->GetOutput()->GetBufferPointer();
  std::copy(buf, buf + out.size(), out.begin());
}

}  // namespace

SliceBlur::SliceBlur(int nx, int ny, double sx, double sy, double fwhmMm)
    : nx_(nx), ny_(ny), sx_(sx), sy_(sy), sigmaMm_(fwhmMm / 2.3548) {
  // Noise gain: the sum of squared kernel weights, from blurring a unit impulse.
  const int n = 41;
  auto delta = makeSlice(n, n, sx, sy);
  delta->FillBuffer(0.0f);
  Slice::IndexType c;
  c[0] = n / 2;
  c[1] = n / 2;
  delta->SetPixel(c, 1.0f);
  std::vector<float> out(static_cast<size_t>(n * n));
  blur(delta, sigmaMm_, out);
  double g = 0;
  for (float v : out) g += static_cast<double>(v) * v;
  noiseGain_ = std::clamp(g, 1e-4, 1.0);
}

void SliceBlur::apply(std::vector<float>& slice) const {
  auto img = makeSlice(nx_, ny_, sx_, sy_);
  std::memcpy(img->GetBufferPointer(), slice.data(), slice.size() * sizeof(float));
  blur(img, sigmaMm_, slice);
}

}  // namespace spinescreen::phantom::detail
