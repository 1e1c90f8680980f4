// NIfTI reading: exact int16 round trip, scaled data to HU, truncation.
#include "io/nifti.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "io_test_util.h"

namespace spinescreen::io {
namespace {
namespace fs = std::filesystem;
using spinescreen::testing::makePhantom;
using spinescreen::testing::TempDir;

TEST(Nifti, Int16VolumesRoundTripExactly) {
  TempDir dir;
  HuVolume v = makePhantom({20, 18, 12}, {0.7, 0.8, 2.5}, {-5, 7, -300});
  v.at(0, 0, 0) = -3024;
  v.at(1, 0, 0) = 3071;
  for (const char* name : {"a.nii", "b.nii.gz"}) {
    writeNifti(v, dir / name);
    const LoadedStudy s = readNiftiStudy(dir / name);
    EXPECT_TRUE(s.volume.grid().sameGeometryAs(v.grid(), 1e-4)) << name;
    EXPECT_EQ(s.volume.data(), v.data()) << name;
    EXPECT_EQ(s.info.format, "nifti");
  }
}

TEST(Nifti, ScaledStoredValuesAreRescaledToHu) {
  TempDir dir;
  // 4x4x4 int16, scl_slope 2, scl_inter -1000: stored s -> HU 2s - 1000.
  std::vector<char> h(352, 0);
  auto put = [&](size_t offset, const void* p, size_t n) { std::memcpy(h.data() + offset, p, n); };
  const int32_t sizeofHdr = 348;
  put(0, &sizeofHdr, 4);
  const int16_t dim[8] = {3, 4, 4, 4, 1, 1, 1, 1};
  put(40, dim, sizeof dim);
  const int16_t datatype = 4, bitpix = 16;
  put(70, &datatype, 2);
  put(72, &bitpix, 2);
  const float pixdim[8] = {1, 1.5f, 1.5f, 3, 1, 1, 1, 1};
  put(76, pixdim, sizeof pixdim);
  const float voxOffset = 352, slope = 2, inter = -1000;
  put(108, &voxOffset, 4);
  put(112, &slope, 4);
  put(116, &inter, 4);
  const int16_t sform = 1;
  put(254, &sform, 2);
  const float srow[3][4] = {{1.5f, 0, 0, 0}, {0, 1.5f, 0, 0}, {0, 0, 3, 0}};
  put(280, srow, sizeof srow);
  put(344, "n+1\0", 4);
  std::ofstream f(dir / "scaled.nii", std::ios::binary);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (int16_t i = 0; i < 64; ++i) f.write(reinterpret_cast<const char*>(&i), 2);
  f.close();
  const LoadedStudy s = readNiftiStudy(dir / "scaled.nii");
  ASSERT_EQ(s.volume.size(), (Size3{4, 4, 4}));
  for (int i = 0; i < 64; ++i) EXPECT_EQ(s.volume.data()[static_cast<size_t>(i)], 2 * i - 1000);
  EXPECT_NEAR(s.volume.grid().spacing.z, 3.0, 1e-6);
}

TEST(Nifti, TruncatedUncompressedFileIsRefused) {
  TempDir dir;
  writeNifti(makePhantom({20, 20, 12}, {1, 1, 2}), dir / "t.nii");
  fs::resize_file(dir / "t.nii", fs::file_size(dir / "t.nii") - 100);
  EXPECT_THROW(readNiftiStudy(dir / "t.nii"), InputError);
}

}  // namespace
}  // namespace spinescreen::io
