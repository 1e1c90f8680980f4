// The real DICOM of the development data set (skipped when SPINESCREEN_TEST_DATA is unset).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "core/errors.h"
#include "io/dicom_series.h"
#include "io/loader.h"
#include "io/nifti.h"
#include "io_test_util.h"
#include "support/test_data.h"

namespace spinescreen::io {
namespace {
namespace fs = std::filesystem;
using spinescreen::testing::TempDir;

bool hasNote(const StudyInfo& info, const std::string& text) {
  for (const auto& n : info.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

TEST(RealDicom, Jpeg2000SeriesWithEmptyUidsReadsAsOneVolume) {
  SPINESCREEN_REQUIRE_TEST_FILE(dir, "totalseg-example/example_ct_dicom");
  Discovery d = discoverSeries(dir);
  ASSERT_EQ(d.series.size(), 1u);
  EXPECT_FALSE(d.series[0].groupedByUid);  // the dataset's UIDs are empty
  const LoadedStudy s = readDicomSeries(d.series[chooseSeries(d)]);
  const Grid& g = s.volume.grid();
  EXPECT_EQ(g.size, (Size3{512, 512, 20}));
  EXPECT_NEAR(g.spacing.x, 0.9765625, 1e-6);
  EXPECT_NEAR(g.spacing.y, 0.9765625, 1e-6);
  EXPECT_NEAR(g.spacing.z, 2.0, 1e-3);  // from positions, not the 3 mm SliceThickness
  EXPECT_NEAR(g.origin.z, -804.5, 1e-3);
  EXPECT_EQ(s.info.sliceThicknessMm, 3.0);
  EXPECT_EQ(s.info.contrast, std::optional<bool>(true));
  EXPECT_EQ(s.info.kvp, 120.0);
  EXPECT_EQ(s.info.sopInstanceUids.size(), 20u);  // from the file meta
  // HU: air outside, soft tissue inside.
  int air = 0, tissue = 0;
  for (int16_t v : s.volume.data()) {
    air += v < -900;
    tissue += v > 0 && v < 100;
  }
  EXPECT_GT(air, 100000);
  EXPECT_GT(tissue, 100000);
}

TEST(RealDicom, UncompressedDerivedCopyGivesIdenticalVoxels) {
  SPINESCREEN_REQUIRE_TEST_FILE(j2k, "totalseg-example/example_ct_dicom");
  SPINESCREEN_REQUIRE_TEST_FILE(raw, "totalseg-example/example_ct_dicom_uncompressed_derived");
  const LoadedStudy a = loadStudy(j2k);
  const LoadedStudy b = loadStudy(raw);
  EXPECT_TRUE(a.volume.grid().sameGeometryAs(b.volume.grid(), 1e-4));
  EXPECT_EQ(a.volume.data(), b.volume.data());
  EXPECT_TRUE(b.info.seriesInstanceUid.has_value());
}

TEST(RealDicom, HuMatchDcm2niixInPhysicalSpace) {
  SPINESCREEN_REQUIRE_TEST_FILE(dir, "totalseg-example/example_ct_dicom");
  if (std::system("command -v dcm2niix > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "dcm2niix not installed";
  TempDir out;
  const std::string cmd =
      "dcm2niix -z n -b n -f ref -o '" + out.path() + "' '" + dir + "' > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string refPath;
  for (const auto& e : fs::directory_iterator(out.path()))
    if (e.path().extension() == ".nii") refPath = e.path().string();
  ASSERT_FALSE(refPath.empty());
  const LoadedStudy ref = readNiftiStudy(refPath);  // RAS on disk, LPS in memory
  const LoadedStudy ours = loadStudy(dir);
  double sum = 0;
  int64_t n = 0;
  const Size3 s = ours.volume.size();
  for (int64_t k = 0; k < s[2]; ++k)
    for (int64_t j = 0; j < s[1]; j += 3)
      for (int64_t i = 0; i < s[0]; i += 3) {
        const Vec3 p = ours.volume.grid().indexToLps({double(i), double(j), double(k)});
        const Vec3 q = ref.volume.grid().lpsToIndex(p);
        const Index3 r{std::llround(q.x), std::llround(q.y), std::llround(q.z)};
        ASSERT_TRUE(ref.volume.grid().contains(r[0], r[1], r[2]));
        ASSERT_NEAR(q.x, r[0], 1e-2);
        sum += std::abs(ours.volume.at(i, j, k) - ref.volume.at(r[0], r[1], r[2]));
        ++n;
      }
  std::cout << "mean absolute HU difference against dcm2niix: " << sum / n << " over " << n
            << " voxels\n";
  EXPECT_LT(sum / n, 1.0) << "mean absolute HU difference against dcm2niix";
}

TEST(RealDicom, TiltedGeHeadCtReadsWithTiltAndSpacingCorrected) {
  SPINESCREEN_REQUIRE_TEST_FILE(dir, "dicom-reader-edgecases/dcm_qa_ct_GE_head_tilt");
  Discovery d = discoverSeries(dir);
  ASSERT_EQ(d.series.size(), 1u);
  EXPECT_EQ(d.series[0].sliceCount, 28);
  const LoadedStudy s = readDicomSeries(d.series[chooseSeries(d)]);
  EXPECT_TRUE(hasNote(s.info, "gantry tilt 18.5 deg corrected"))
      << ::testing::PrintToString(s.info.notes);
  EXPECT_TRUE(hasNote(s.info, "non-uniform slice spacing"))
      << ::testing::PrintToString(s.info.notes);
  const Grid& g = s.volume.grid();
  EXPECT_EQ(g.size[0], 512);
  EXPECT_GT(g.size[1], 400);
  EXPECT_GT(g.spacing.z, 3.0);
  EXPECT_LT(g.spacing.z, 8.0);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c)
      EXPECT_TRUE(g.direction.m[r][c] == 0.0 || std::abs(g.direction.m[r][c]) == 1.0);
  // Head CT: bone and air both present after resampling.
  int bone = 0, air = 0;
  for (int16_t v : s.volume.data()) {
    bone += v > 1000;
    air += v < -900;
  }
  EXPECT_GT(bone, 10000);
  EXPECT_GT(air, 100000);
}

// dcm2niix corrects gantry tilt too (its "_Tilt_Eq" output); our volume must agree with that
// one in physical space far better than with dcm2niix's uncorrected stack.
TEST(RealDicom, TiltCorrectionAgreesWithDcm2niix) {
  SPINESCREEN_REQUIRE_TEST_FILE(dir, "dicom-reader-edgecases/dcm_qa_ct_GE_head_tilt");
  if (std::system("command -v dcm2niix > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "dcm2niix not installed";
  TempDir out;
  const std::string cmd =
      "dcm2niix -z n -b n -f ge -o '" + out.path() + "' '" + dir + "' > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string corrected, raw;
  for (const auto& e : fs::directory_iterator(out.path())) {
    const std::string name = e.path().filename().string();
    if (name.find("Tilt") != std::string::npos) corrected = e.path().string();
    if (name == "ge.nii") raw = e.path().string();
  }
  if (corrected.empty() || raw.empty()) GTEST_SKIP() << "this dcm2niix does not correct tilt";
  const LoadedStudy ours = loadStudy(dir);
  auto meanDifference = [&](const std::string& path) {
    const LoadedStudy ref = readNiftiStudy(path);
    double sum = 0;
    int64_t n = 0;
    const Size3 s = ours.volume.size();
    for (int64_t k = 0; k < s[2]; ++k)
      for (int64_t j = 0; j < s[1]; j += 4)
        for (int64_t i = 0; i < s[0]; i += 4) {
          const int16_t v = ours.volume.at(i, j, k);
          if (v < -500) continue;  // the head, not air or padding
          const Vec3 p = ours.volume.grid().indexToLps({double(i), double(j), double(k)});
          const double r = sampleLinearLps(ref.volume, p, -100000);
          if (r < -50000) continue;
          sum += std::abs(v - r);
          ++n;
        }
    return n > 1000 ? sum / n : 1e9;
  };
  const double toCorrected = meanDifference(corrected), toRaw = meanDifference(raw);
  std::cout << "mean |HU difference| to dcm2niix tilt-corrected: " << toCorrected
            << ", to its uncorrected stack: " << toRaw << "\n";
  EXPECT_LT(toCorrected, 0.5 * toRaw);
}

}  // namespace
}  // namespace spinescreen::io
