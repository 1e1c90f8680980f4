#include "io/nifti.h"

#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/itk_bridge.h"
#include "io/limits.h"

namespace spinescreen::io {
namespace fs = std::filesystem;

LoadedStudy readNiftiStudy(const std::string& path) {
  if (!fs::exists(path)) throw InputError("input does not exist: " + path);
  auto imageIo = itk::NiftiImageIO::New();
  if (!imageIo->CanReadFile(path.c_str()))
    throw InputError("not a readable NIfTI file (bad or corrupt header): " + path);
  try {
    imageIo->SetFileName(path);
    imageIo->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw InputError("cannot read NIfTI header of " + path + ": " + e.GetDescription());
  }
  const unsigned dims = imageIo->GetNumberOfDimensions();
  if (dims > 3) {
    size_t extra = 1;
    for (unsigned d = 3; d < dims; ++d) extra *= imageIo->GetDimensions(d);
    if (extra > 1)
      throw UnsafeGeometryError("NIfTI volume has " + std::to_string(dims) +
                                " dimensions; only 3-D volumes are analysed");
  }
  if (dims < 3)
    throw NotApplicableError("NIfTI image is " + std::to_string(dims) +
                             "-D; a 3-D CT volume is needed");
  if (imageIo->GetNumberOfComponents() != 1)
    throw InputError("NIfTI image has " + std::to_string(imageIo->GetNumberOfComponents()) +
                     " components per voxel; a scalar CT volume is needed");
  Size3 size{static_cast<int64_t>(imageIo->GetDimensions(0)),
             static_cast<int64_t>(imageIo->GetDimensions(1)),
             static_cast<int64_t>(imageIo->GetDimensions(2))};
  checkPlausibleSize(size, path);
  // The file must hold the voxels its header promises (uncompressed files only; for .gz the
  // decompressor reports truncation).
  if (path.size() > 4 && path.substr(path.size() - 4) == ".nii") {
    // Bytes per voxel and data offset from the header itself (the ImageIO reports the type
    // after scaling, not the stored one).
    std::ifstream hdr(path, std::ios::binary);
    char h[348] = {};
    hdr.read(h, sizeof h);
    int32_t sizeofHdr = 0;
    int16_t bitpix = 0;
    float voxOffset = 0.0f;
    std::memcpy(&sizeofHdr, h, 4);
    std::memcpy(&bitpix, h + 72, 2);
    std::memcpy(&voxOffset, h + 108, 4);
    if (sizeofHdr != 348) {  // the other byte order
      std::reverse(h + 72, h + 74);
      std::reverse(h + 108, h + 112);
      std::memcpy(&bitpix, h + 72, 2);
      std::memcpy(&voxOffset, h + 108, 4);
    }
    const auto bytesPerVoxel =
        static_cast<uintmax_t>(std::max<int16_t>(bitpix, 8) / 8) * imageIo->GetNumberOfComponents();
    const auto need = static_cast<uintmax_t>(size[0] * size[1] * size[2]) * bytesPerVoxel +
                      static_cast<uintmax_t>(std::max(0.0f, voxOffset));
    if (fs::file_size(path) < need)
      throw InputError("NIfTI file is truncated: header promises " + std::to_string(need) +
                       " bytes of voxels, file has " + std::to_string(fs::file_size(path)));
  }
  using FloatItk = itk::Image<float, 3>;
  auto reader = itk::ImageFileReader<FloatItk>::New();
  reader->SetImageIO(imageIo);
  reader->SetFileName(path);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError("cannot read NIfTI voxels of " + path +
                     " (truncated or corrupt): " + e.GetDescription());
  }
  FloatItk::Pointer img = reader->GetOutput();
  LoadedStudy study;
  study.volume = HuVolume(gridFromItk(img));
  checkPlausibleGrid(study.volume.grid(), path);
  const float* buf = img->GetBufferPointer();
  auto& out = study.volume.data();
  for (size_t i = 0; i < out.size(); ++i) {
    const float v = std::isfinite(buf[i]) ? buf[i] : -1024.0f;
    out[i] = static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
  }
  study.info.path = path;
  study.info.format = "nifti";
  study.info.modality = "CT";  // NIfTI carries no modality; the content check decides later
  return study;
}

namespace {
template <class T>
void writeImpl(const Image<T>& image, const std::string& path) {
  // The ITK image borrows our buffer (no copy); the writer only reads it.
  using ItkImage = itk::Image<T, 3>;
  auto itkImage = ItkImage::New();
  {
    const Grid& g = image.grid();
    typename ItkImage::RegionType region;
    typename ItkImage::SizeType size;
    typename ItkImage::SpacingType spacing;
    typename ItkImage::PointType origin;
    typename ItkImage::DirectionType direction;
    for (unsigned d = 0; d < 3; ++d) {
      size[d] = static_cast<itk::SizeValueType>(g.size[d]);
      spacing[d] = g.spacing[static_cast<int>(d)];
      origin[d] = g.origin[static_cast<int>(d)];
      for (unsigned c = 0; c < 3; ++c) direction(d, c) = g.direction.m[d][c];
    }
    region.SetSize(size);
    itkImage->SetRegions(region);
    itkImage->SetSpacing(spacing);
    itkImage->SetOrigin(origin);
    itkImage->SetDirection(direction);
    itkImage->GetPixelContainer()->SetImportPointer(const_cast<T*>(image.data().data()),
                                                    image.data().size(), false);
  }
  auto writer = itk::ImageFileWriter<ItkImage>::New();
  writer->SetInput(itkImage);
  writer->SetFileName(path);
  writer->SetUseCompression(true);
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw UsageError("cannot write " + path + ": " + e.GetDescription());
  }
}
}  // namespace

void writeNifti(const HuVolume& volume, const std::string& path) { writeImpl(volume, path); }
void writeNifti(const LabelImage& labels, const std::string& path) { writeImpl(labels, path); }
void writeNifti(const FloatImage& image, const std::string& path) { writeImpl(image, path); }

}  // namespace spinescreen::io
