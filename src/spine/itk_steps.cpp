#include "spine/itk_steps.h"

#include <itkBinShrinkImageFilter.h>
#include <itkCastImageFilter.h>
#include <itkConnectedComponentImageFilter.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <limits>

#include "core/errors.h"
#include "core/itk_bridge.h"

namespace spinescreen::spine::detail {

HuVolume resampleIsotropicLps(const HuVolume& volume, double spacingMm) {
  const Grid& g = volume.grid();
  Vec3 lo{std::numeric_limits<double>::max(), std::numeric_limits<double>::max(),
          std::numeric_limits<double>::max()};
  Vec3 hi{-lo.x, -lo.y, -lo.z};
  for (int c = 0; c < 8; ++c) {
    const Vec3 idx{(c & 1) ? g.size[0] - 1.0 : 0.0, (c & 2) ? g.size[1] - 1.0 : 0.0,
                   (c & 4) ? g.size[2] - 1.0 : 0.0};
    const Vec3 p = g.indexToLps(idx);
    for (int d = 0; d < 3; ++d) {
      lo[d] = std::min(lo[d], p[d]);
      hi[d] = std::max(hi[d], p[d]);
    }
  }
  using ItkHu = itk::Image<int16_t, 3>;
  using ItkF = itk::Image<float, 3>;
  ItkHu::Pointer in = toItk(volume);
  // Average bins of voxels first (a box filter, one pass) so that thin bright structures
  // are averaged rather than aliased, then interpolate onto the working grid.
  auto cast = itk::CastImageFilter<ItkHu, ItkF>::New();
  cast->SetInput(in);
  auto shrink = itk::BinShrinkImageFilter<ItkF, ItkF>::New();
  shrink->SetInput(cast->GetOutput());
  itk::BinShrinkImageFilter<ItkF, ItkF>::ShrinkFactorsType factors;
  for (unsigned d = 0; d < 3; ++d)
    factors[d] = std::max(
        1u, static_cast<unsigned>(std::floor(spacingMm / g.spacing[static_cast<int>(d)] + 1e-6)));
  shrink->SetShrinkFactors(factors);
  shrink->SetNumberOfWorkUnits(2);

  Grid out;
  out.spacing = {spacingMm, spacingMm, spacingMm};
  out.origin = lo;
  for (int d = 0; d < 3; ++d)
    out.size[d] =
        std::max<int64_t>(1, static_cast<int64_t>(std::floor((hi[d] - lo[d]) / spacingMm)) + 1);

  using Resampler = itk::ResampleImageFilter<ItkF, ItkHu>;
  auto res = Resampler::New();
  res->SetInput(shrink->GetOutput());
  ItkHu::SizeType size;
  ItkHu::SpacingType spacing;
  ItkHu::PointType origin;
  for (unsigned d = 0; d < 3; ++d) {
    size[d] = static_cast<itk::SizeValueType>(out.size[d]);
    spacing[d] = spacingMm;
    origin[d] = lo[static_cast<int>(d)];
  }
  res->SetSize(size);
  res->SetOutputSpacing(spacing);
  res->SetOutputOrigin(origin);
  ItkHu::DirectionType dir;
  dir.SetIdentity();
  res->SetOutputDirection(dir);
  res->SetDefaultPixelValue(-1024);
  res->SetInterpolator(itk::LinearInterpolateImageFunction<ItkF, double>::New());
  res->SetNumberOfWorkUnits(2);
  try {
    res->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(std::string("resampling the volume failed: ") + e.GetDescription());
  }
  return fromItk<int16_t>(res->GetOutput());
}

std::vector<int32_t> connectedComponents(const LabelImage& mask, int& count) {
  using In = itk::Image<uint8_t, 3>;
  using Out = itk::Image<int32_t, 3>;
  auto cc = itk::ConnectedComponentImageFilter<In, Out>::New();
  cc->SetInput(toItk(mask));
  cc->SetFullyConnected(true);
  cc->SetNumberOfWorkUnits(2);
  cc->Update();
  count = static_cast<int>(cc->GetObjectCount());
  const int32_t* buf = cc->GetOutput()->GetBufferPointer();
  return std::vector<int32_t>(buf, buf + mask.data().size());
}

}  // namespace spinescreen::spine::detail
