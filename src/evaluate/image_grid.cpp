// Image header geometry through ITK's ImageIO, without reading the voxels.
#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>
#include <itkNiftiImageIO.h>

#include "core/errors.h"
#include "evaluate/evaluate.h"

namespace spinescreen::evaluate {

VoxelGrid readImageGrid(const std::string& path) {
  itk::ImageIOBase::Pointer io;
  try {
    auto nifti = itk::NiftiImageIO::New();
    if (nifti->CanReadFile(path.c_str()))
      io = nifti;
    else
      io = itk::ImageIOFactory::CreateImageIO(path.c_str(),
                                              itk::ImageIOFactory::FileModeEnum::ReadMode);
  } catch (const itk::ExceptionObject& e) {
    throw InputError("cannot read image header " + path + ": " + e.GetDescription());
  }
  if (!io) throw InputError("cannot read image header " + path + ": not an image ITK knows");
  try {
    io->SetFileName(path);
    io->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw InputError("cannot read image header " + path + ": " + e.GetDescription());
  }
  if (io->GetNumberOfDimensions() < 3) throw InputError("image " + path + " is not 3-D");
  VoxelGrid g;
  double sp[3];
  double org[3];
  for (unsigned i = 0; i < 3; ++i) {
    g.size[i] = static_cast<int64_t>(io->GetDimensions(i));
    sp[i] = io->GetSpacing(i);
    org[i] = io->GetOrigin(i);
    const auto d = io->GetDirection(i);  // direction of axis i, in LPS
    for (unsigned r = 0; r < 3; ++r) g.direction.m[r][i] = r < d.size() ? d[r] : 0.0;
  }
  g.spacing = {sp[0], sp[1], sp[2]};
  g.origin = {org[0], org[1], org[2]};
  return g;
}

}  // namespace spinescreen::evaluate
