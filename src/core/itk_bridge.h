// Conversions between our Image<T> and itk::Image<T, 3>. Header-only; include it only in
// the few translation units that run ITK filters (link spinescreen_itk).
#pragma once

#include <itkImage.h>
#include <itkImageRegionConstIterator.h>

#include <algorithm>
#include <cstring>

#include "core/image.h"

namespace spinescreen {

template <class T>
typename itk::Image<T, 3>::Pointer toItk(const Image<T>& img) {
  using ItkImage = itk::Image<T, 3>;
  auto out = ItkImage::New();
  typename ItkImage::RegionType region;
  typename ItkImage::SizeType size;
  typename ItkImage::SpacingType spacing;
  typename ItkImage::PointType origin;
  typename ItkImage::DirectionType direction;
  const Grid& g = img.grid();
  for (unsigned d = 0; d < 3; ++d) {
    size[d] = static_cast<itk::SizeValueType>(g.size[d]);
    spacing[d] = g.spacing[static_cast<int>(d)];
    origin[d] = g.origin[static_cast<int>(d)];
    for (unsigned c = 0; c < 3; ++c) direction(d, c) = g.direction.m[d][c];
  }
  region.SetSize(size);
  out->SetRegions(region);
  out->SetSpacing(spacing);
  out->SetOrigin(origin);
  out->SetDirection(direction);
  out->Allocate();
  std::copy(img.data().begin(), img.data().end(), out->GetBufferPointer());
  return out;
}

template <class ItkImagePointer>
Grid gridFromItk(const ItkImagePointer& in) {
  Grid g;
  const auto region = in->GetLargestPossibleRegion();
  for (unsigned d = 0; d < 3; ++d) {
    g.size[d] = static_cast<int64_t>(region.GetSize()[d]);
    g.spacing[static_cast<int>(d)] = in->GetSpacing()[d];
    g.origin[static_cast<int>(d)] = in->GetOrigin()[d];
    for (unsigned c = 0; c < 3; ++c) g.direction.m[d][c] = in->GetDirection()(d, c);
  }
  return g;
}

// Copies an ITK image whose buffered region is its largest region.
template <class T>
Image<T> fromItk(const typename itk::Image<T, 3>::Pointer& in) {
  Image<T> out(gridFromItk(in));
  const T* buf = in->GetBufferPointer();
  std::copy(buf, buf + out.data().size(), out.data().begin());
  return out;
}

}  // namespace spinescreen
