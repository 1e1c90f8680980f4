// NIfTI headers whose geometry fields would make ITK abort the process are refused first.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/errors.h"
#include "io/nifti.h"
#include "support/test_data.h"

using namespace spinescreen;
namespace fs = std::filesystem;

namespace {
// A minimal valid NIfTI-1 file: 4x4x12 int16, sform set to 1 mm axes.
std::string writeNifti(const std::string& name, int fieldOffset, float fieldValue) {
  unsigned char h[352] = {};
  auto put32 = [&](int off, int32_t v) { std::memcpy(h + off, &v, 4); };
  auto put16 = [&](int off, int16_t v) { std::memcpy(h + off, &v, 2); };
  auto putf = [&](int off, float v) { std::memcpy(h + off, &v, 4); };
  put32(0, 348);
  const int16_t dims[8] = {3, 4, 4, 12, 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) put16(40 + 2 * i, dims[i]);
  put16(70, 4);   // datatype int16
  put16(72, 16);  // bitpix
  for (int i = 0; i < 8; ++i) putf(76 + 4 * i, 1.0f);
  putf(108, 352.0f);  // vox_offset
  putf(112, 1.0f);    // scl_slope
  put16(254, 1);      // sform_code
  putf(280, 1.0f);    // srow_x
  putf(300, 1.0f);    // srow_y
  putf(320, 1.0f);    // srow_z
  std::memcpy(h + 344, "n+1\0", 4);
  if (fieldOffset >= 0) putf(fieldOffset, fieldValue);
  const fs::path p = fs::temp_directory_path() / name;
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(h), sizeof h);
  const std::vector<int16_t> voxels(4 * 4 * 12, -1000);
  out.write(reinterpret_cast<const char*>(voxels.data()),
            static_cast<std::streamsize>(voxels.size() * 2));
  return p.string();
}
}  // namespace

TEST(NiftiGeometry, ReadsTheMinimalValidFile) {
  const auto s = io::readNiftiStudy(writeNifti("spinescreen_geom_ok.nii", -1, 0));
  EXPECT_EQ(s.volume.size()[2], 12);
}

TEST(NiftiGeometry, RefusesNonFiniteSformInsteadOfAborting) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(io::readNiftiStudy(writeNifti("spinescreen_geom_nan.nii", 284, nan)), InputError);
}

TEST(NiftiGeometry, RefusesInfiniteQuaternionAndAbsurdPixdim) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_THROW(io::readNiftiStudy(writeNifti("spinescreen_geom_inf.nii", 260, inf)), InputError);
  EXPECT_THROW(io::readNiftiStudy(writeNifti("spinescreen_geom_big.nii", 80, 3e30f)), InputError);
}

TEST(NiftiGeometry, RefusesAVoxelOffsetNoFileCanHold) {
  EXPECT_THROW(io::readNiftiStudy(writeNifti("spinescreen_geom_off.nii", 108, 1e30f)), InputError);
}

TEST(NiftiGeometry, KeptFuzzCrashInputsAreRefusedCleanly) {
  const fs::path dir = fs::path(spinescreen::testing::sourceDir()) / "fuzz/regressions/nifti";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const fs::path copy = fs::temp_directory_path() / "spinescreen_fuzz_regression.nii";
    fs::copy_file(e.path(), copy, fs::copy_options::overwrite_existing);
    try {
      io::readNiftiStudy(copy.string());
    } catch (const Error&) {
    }
    ++n;
  }
  EXPECT_GT(n, 0);
}
