#include "io/nifti.h"

#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "core/errors.h"
#include "core/itk_bridge.h"
#include "io/limits.h"

namespace spinescreen::io {
namespace fs = std::filesystem;

namespace {

// What the header itself says (NIfTI-1 or NIfTI-2, either byte order), read before ITK so that
// an implausible size is refused before anything is allocated.
struct NiftiLayout {
  int version = 1;
  std::vector<int64_t> dims;  // dims[0..n-1], n = dim[0]
  int bitpix = 0;
  int64_t voxOffset = 0;
  // pixdim, quaternion and sform are finite and of a size real geometry can have. ITK aborts
  // the process (vnl assert) on a non-finite orientation, so this is checked before ITK.
  bool geometrySane = true;
};

template <class T>
T loadValue(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap) std::reverse(b, b + sizeof(T));
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

std::optional<NiftiLayout> readNiftiLayout(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return std::nullopt;
  unsigned char h[540] = {};
  const int n = gzread(f, h, sizeof h);
  gzclose(f);
  if (n < 348) return std::nullopt;
  NiftiLayout l;
  const int32_t size = loadValue<int32_t>(h, false);
  const int32_t swapped = loadValue<int32_t>(h, true);
  bool swap = false;
  if (size == 348 || swapped == 348) {
    swap = size != 348;
    l.version = 1;
    const int16_t nd = loadValue<int16_t>(h + 40, swap);
    if (nd < 1 || nd > 7) return std::nullopt;
    for (int d = 1; d <= nd; ++d) l.dims.push_back(loadValue<int16_t>(h + 40 + 2 * d, swap));
    l.bitpix = loadValue<int16_t>(h + 72, swap);
    const float off = loadValue<float>(h + 108, swap);
    // Beyond 2^50 bytes no file can hold the voxels; clamping keeps the cast defined and the
    // size check below refuses the file.
    l.voxOffset = std::isfinite(off) && off > 0
                      ? static_cast<int64_t>(std::min(off, static_cast<float>(int64_t{1} << 50)))
                      : 0;
    // pixdim[0..7] at 76, quatern_b..qoffset_z at 256, srow_x/y/z at 280 (all float32).
    auto saneFloats = [&](int offset, int count) {
      for (int i = 0; i < count; ++i) {
        const float v = loadValue<float>(h + offset + 4 * i, swap);
        if (!std::isfinite(v) || std::abs(v) > 1e7f) return false;
      }
      return true;
    };
    l.geometrySane = saneFloats(76, 8) && saneFloats(256, 6) && saneFloats(280, 12);
  } else if (size == 540 || swapped == 540) {
    if (n < 540) return std::nullopt;
    swap = size != 540;
    l.version = 2;
    const int64_t nd = loadValue<int64_t>(h + 16, swap);
    if (nd < 1 || nd > 7) return std::nullopt;
    for (int d = 1; d <= nd; ++d) l.dims.push_back(loadValue<int64_t>(h + 16 + 8 * d, swap));
    l.bitpix = loadValue<int16_t>(h + 14, swap);
    l.voxOffset = loadValue<int64_t>(h + 168, swap);
  } else {
    return std::nullopt;
  }
  return l;
}

bool endsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Bytes a gzip file decompresses to: its trailer when that matches `expected`, otherwise a full
// pass (multi-member files; truncated ones stop early).
uintmax_t gzipDecompressedBytes(const std::string& path, uintmax_t expected) {
  {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    const auto size = static_cast<std::streamoff>(in.tellg());
    if (size >= 18) {
      unsigned char t[4];
      in.seekg(size - 4);
      in.read(reinterpret_cast<char*>(t), 4);
      const uint32_t isize = static_cast<uint32_t>(t[0]) | (static_cast<uint32_t>(t[1]) << 8) |
                             (static_cast<uint32_t>(t[2]) << 16) |
                             (static_cast<uint32_t>(t[3]) << 24);
      // A truncated file ends in compressed data, which matches by chance once in 2^32.
      if (isize == static_cast<uint32_t>(expected & 0xffffffffu)) return expected;
    }
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return 0;
  gzbuffer(f, 1 << 17);
  std::vector<char> buf(1 << 20);
  uintmax_t total = 0;
  for (;;) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n <= 0) break;
    total += static_cast<uintmax_t>(n);
  }
  int err = Z_OK;
  gzerror(f, &err);
  gzclose(f);
  return err == Z_OK || err == Z_STREAM_END ? total : std::min(total, expected - 1);
}

// Reads the voxels through an ImageIO whose header has been read, as pixel type T.
template <class T>
typename itk::Image<T, 3>::Pointer readVoxels(itk::ImageIOBase* imageIo, const std::string& path) {
  auto reader = itk::ImageFileReader<itk::Image<T, 3>>::New();
  reader->SetImageIO(imageIo);
  reader->SetFileName(path);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError("cannot read NIfTI voxels of " + path +
                     " (truncated or corrupt): " + e.GetDescription());
  }
  return reader->GetOutput();
}

}  // namespace

LoadedStudy readNiftiStudy(const std::string& path) {
  if (!fs::exists(path)) throw InputError("input does not exist: " + path);
  const auto layout = readNiftiLayout(path);
  if (!layout) throw InputError("not a readable NIfTI file (bad or corrupt header): " + path);
  const auto& ld = layout->dims;
  if (ld.size() > 3) {
    // Any extent above 1 beyond the third dimension (a product could overflow: the header's
    // extents are arbitrary).
    bool extra = false;
    for (size_t d = 3; d < ld.size(); ++d) extra = extra || ld[d] > 1;
    if (extra)
      throw UnsafeGeometryError("NIfTI volume has " + std::to_string(ld.size()) +
                                " dimensions; only 3-D volumes are analysed");
  }
  if (ld.size() < 3)
    throw NotApplicableError("NIfTI image is " + std::to_string(ld.size()) +
                             "-D; a 3-D CT volume is needed");
  checkPlausibleSize({ld[0], ld[1], ld[2]}, path);
  if (layout->version != 1)
    throw InputError("NIfTI-2 files are not supported; convert to NIfTI-1: " + path);
  if (!layout->geometrySane)
    throw InputError(
        "NIfTI header has non-finite or absurd geometry (pixdim, quaternion or "
        "sform): " +
        path);
  if (layout->bitpix <= 0 || layout->bitpix % 8 != 0 || layout->bitpix > 128)
    throw InputError("NIfTI header has an invalid bitpix (" + std::to_string(layout->bitpix) +
                     "): " + path);
  // The file must hold the voxels its header promises.
  const auto need =
      static_cast<uintmax_t>(ld[0] * ld[1] * ld[2]) * static_cast<uintmax_t>(layout->bitpix / 8) +
      static_cast<uintmax_t>(std::max<int64_t>(0, layout->voxOffset));
  if (endsWith(path, ".gz")) {
    const uintmax_t got = gzipDecompressedBytes(path, need);
    if (got < need)
      throw InputError("NIfTI file is truncated or corrupt: header promises " +
                       std::to_string(need) + " bytes, the compressed file holds " +
                       std::to_string(got));
  } else if (fs::file_size(path) < need) {
    throw InputError("NIfTI file is truncated or corrupt: header promises " + std::to_string(need) +
                     " bytes, file has " + std::to_string(fs::file_size(path)));
  }

  auto imageIo = itk::NiftiImageIO::New();
  if (!imageIo->CanReadFile(path.c_str()))
    throw InputError("not a readable NIfTI file (bad or corrupt header): " + path);
  try {
    imageIo->SetFileName(path);
    imageIo->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw InputError("cannot read NIfTI header of " + path + ": " + e.GetDescription());
  }
  if (imageIo->GetNumberOfComponents() != 1)
    throw InputError("NIfTI image has " + std::to_string(imageIo->GetNumberOfComponents()) +
                     " components per voxel; a scalar CT volume is needed");
  const Size3 size{static_cast<int64_t>(imageIo->GetDimensions(0)),
                   static_cast<int64_t>(imageIo->GetDimensions(1)),
                   static_cast<int64_t>(imageIo->GetDimensions(2))};
  checkPlausibleSize(size, path);
  LoadedStudy study;
  if (imageIo->GetComponentType() == itk::IOComponentEnum::SHORT) {
    // Stored int16 without scaling (the ImageIO reports float when scl_slope/inter apply):
    // HU as they are, without a float copy.
    const auto img = readVoxels<int16_t>(imageIo, path);
    study.volume.grid() = gridFromItk(img);
    checkPlausibleGrid(study.volume.grid(), path);
    const int16_t* buf = img->GetBufferPointer();
    study.volume.data().assign(buf, buf + study.volume.grid().voxelCount());
  } else {
    const auto img = readVoxels<float>(imageIo, path);
    study.volume = HuVolume(gridFromItk(img));
    checkPlausibleGrid(study.volume.grid(), path);
    const float* buf = img->GetBufferPointer();
    auto& out = study.volume.data();
    for (size_t i = 0; i < out.size(); ++i) {
      const float v = std::isfinite(buf[i]) ? buf[i] : -1024.0f;
      out[i] = static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
    }
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
