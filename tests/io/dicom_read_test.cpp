// Reading synthetic DICOM series: HU, geometry, tilt, gaps, metadata.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/errors.h"
#include "io/dicom_series.h"
#include "io/dicom_writer.h"
#include "io/loader.h"
#include "io_test_util.h"

namespace spinescreen::io {
namespace {
namespace fs = std::filesystem;
using spinescreen::testing::makePhantom;
using spinescreen::testing::TempDir;

bool hasNote(const StudyInfo& info, const std::string& text) {
  for (const auto& n : info.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// Centroid (LPS) of voxels brighter than a threshold.
Vec3 brightCentroid(const HuVolume& v, int threshold) {
  Vec3 sum{};
  double w = 0;
  const Size3 s = v.size();
  for (int64_t k = 0; k < s[2]; ++k)
    for (int64_t j = 0; j < s[1]; ++j)
      for (int64_t i = 0; i < s[0]; ++i)
        if (v.at(i, j, k) > threshold) {
          const double wt = v.at(i, j, k);
          sum += v.grid().indexToLps({double(i), double(j), double(k)}) * wt;
          w += wt;
        }
  return w > 0 ? sum / w : Vec3{1e9, 1e9, 1e9};
}

TEST(DicomRead, WrittenSeriesReadsBackWithIdenticalVoxelsAndGeometry) {
  TempDir dir;
  const HuVolume v = makePhantom({40, 36, 18}, {0.8, 0.8, 2.5}, {-16, -14, -300});
  writeDicomSeries(v, {}, dir.path());
  const LoadedStudy s = loadStudy(dir.path());
  ASSERT_EQ(s.volume.size(), v.size());
  EXPECT_TRUE(s.volume.grid().sameGeometryAs(v.grid(), 1e-3));
  EXPECT_EQ(s.volume.data(), v.data());
  EXPECT_EQ(s.info.format, "dicom");
  EXPECT_EQ(s.info.modality, "CT");
  EXPECT_EQ(s.info.sopInstanceUids.size(), 18u);
  EXPECT_TRUE(s.info.notes.empty());
}

TEST(DicomRead, NegativeStoredValuesAndPatientOrientationSurvive) {
  TempDir dir;
  HuVolume v = makePhantom({24, 24, 14}, {1.0, 1.0, 3.0});
  v.at(1, 1, 1) = -3024;  // below the default intercept: signed storage
  // Feet-first prone: x and y axes flipped.
  v.grid().direction.m[0][0] = -1;
  v.grid().direction.m[1][1] = -1;
  writeDicomSeries(v, {}, dir.path());
  const LoadedStudy s = loadStudy(dir.path());
  EXPECT_TRUE(s.volume.grid().sameGeometryAs(v.grid(), 1e-3));
  EXPECT_EQ(s.volume.at(1, 1, 1), -3024);
  EXPECT_EQ(s.volume.data(), v.data());
}

TEST(DicomRead, EnhancedMultiframeCtReadsAsOneVolume) {
  TempDir dir;
  HuVolume v = makePhantom({30, 26, 20}, {0.9, 0.9, 2.5}, {-12, -10, -50});
  v.grid().direction.m[0][0] = -1;  // feet first: x and y reversed
  v.grid().direction.m[1][1] = -1;
  DicomSeriesWriteOptions o;
  o.enhancedMultiframe = true;
  o.filePrefix = "enhanced";
  o.kvp = 100;
  const auto files = writeDicomSeries(v, o, dir.path());
  ASSERT_EQ(files.size(), 1u);
  for (const std::string& input : {dir.path(), files.front()}) {
    Discovery d = discoverSeries(input);
    ASSERT_EQ(d.series.size(), 1u);
    EXPECT_TRUE(d.series[0].enhancedMultiframe);
    EXPECT_EQ(d.series[0].sliceCount, 20);
    const LoadedStudy s = loadStudy(input);
    EXPECT_TRUE(s.volume.grid().sameGeometryAs(v.grid(), 1e-3));
    EXPECT_EQ(s.volume.data(), v.data());
    EXPECT_EQ(s.info.sopClassUid, std::optional<std::string>("1.2.840.10008.5.1.4.1.1.2.1"));
    EXPECT_EQ(s.info.sopInstanceUids.size(), 1u);
    EXPECT_EQ(s.info.kvp, 100.0);
  }
}

TEST(DicomRead, MetadataFillsStudyInfoAndIdentity) {
  TempDir dir;
  DicomSeriesWriteOptions o;
  o.patientAgeYears = 67;
  o.patientSex = "F";
  o.kvp = 120;
  o.contrastAgent = "IOHEXOL";
  o.sliceThicknessMm = 3.0;
  o.seriesDescription = "Abdomen 3mm";
  o.studyInstanceUid = "1.2.3.4.5";
  writeDicomSeries(makePhantom({24, 24, 14}, {1.0, 1.0, 3.0}), o, dir.path());
  const LoadedStudy s = loadStudy(dir.path());
  EXPECT_EQ(s.info.patientAgeYears, 67.0);
  EXPECT_EQ(s.info.patientSex, std::optional<std::string>("F"));
  EXPECT_EQ(s.info.kvp, 120.0);
  EXPECT_EQ(s.info.contrast, std::optional<bool>(true));
  EXPECT_EQ(s.info.sliceThicknessMm, 3.0);
  EXPECT_EQ(s.info.seriesDescription, std::optional<std::string>("Abdomen 3mm"));
  EXPECT_EQ(s.info.studyInstanceUid, std::optional<std::string>("1.2.3.4.5"));
  EXPECT_TRUE(s.info.seriesInstanceUid.has_value());
  EXPECT_EQ(s.info.sopClassUid, std::optional<std::string>("1.2.840.10008.5.1.4.1.1.2"));
  EXPECT_EQ(s.identity.patientId, "PHANTOM");
  EXPECT_FALSE(s.identity.studyDate.empty());
}

TEST(DicomRead, ContrastIsFalseWhenTheAgentIsEmptyAndUnknownWhenAbsent) {
  TempDir a, b;
  DicomSeriesWriteOptions none;
  none.contrastAgent = "";
  writeDicomSeries(makePhantom({16, 16, 12}, {1.0, 1.0, 4.0}), none, a.path());
  writeDicomSeries(makePhantom({16, 16, 12}, {1.0, 1.0, 4.0}), {}, b.path());
  EXPECT_EQ(loadStudy(a.path()).info.contrast, std::optional<bool>(false));
  EXPECT_EQ(loadStudy(b.path()).info.contrast, std::nullopt);
}

TEST(DicomRead, GantryTiltIsDetectedAndCorrected) {
  TempDir dir;
  const Index3 marker{20, 10, 16};
  const HuVolume v = makePhantom({40, 40, 24}, {1.0, 1.0, 2.0}, {-20, -20, 0}, marker);
  DicomSeriesWriteOptions o;
  o.gantryTiltDeg = 20.0;
  writeDicomSeries(v, o, dir.path());
  Discovery d = discoverSeries(dir.path());
  const LoadedStudy s = readDicomSeries(d.series.at(chooseSeries(d)));
  EXPECT_TRUE(hasNote(s.info, "gantry tilt 20.0 deg corrected"))
      << ::testing::PrintToString(s.info.notes);
  // Slice k of a tilted acquisition lies shifted by k*dz*tan(tilt) along the column axis.
  const double k = marker[2] + 0.5;
  const Vec3 expected{-20 + marker[0] + 0.5,
                      -20 + marker[1] + 0.5 + k * 2.0 * std::tan(20.0 * M_PI / 180.0), k * 2.0};
  const Vec3 got = brightCentroid(s.volume, 1500);
  EXPECT_NEAR(got.x, expected.x, 0.6);
  EXPECT_NEAR(got.y, expected.y, 0.6);
  EXPECT_NEAR(got.z, expected.z, 1.1);
  // The grid is axis-aligned and regular after correction.
  EXPECT_NEAR(s.volume.grid().spacing.z, 2.0, 1e-6);
  EXPECT_GT(s.volume.size()[1], 40);  // the sheared stack needs a wider field
}

TEST(DicomRead, MissingSliceIsRefusedAsUnsafeGeometry) {
  TempDir dir;
  const auto files = writeDicomSeries(makePhantom({24, 24, 16}, {1.0, 1.0, 2.5}), {}, dir.path());
  fs::remove(files[7]);
  try {
    loadStudy(dir.path());
    FAIL() << "a gap must not be read as if regular";
  } catch (const UnsafeGeometryError& e) {
    EXPECT_NE(std::string(e.what()).find("missing slices"), std::string::npos) << e.what();
  }
}

TEST(DicomRead, DuplicatedPositionsAreRefused) {
  TempDir dir;
  DicomSeriesWriteOptions a;
  a.emptyUids = true;
  DicomSeriesWriteOptions b = a;
  b.filePrefix = "dup";
  const HuVolume v = makePhantom({24, 24, 12}, {1.0, 1.0, 4.0});
  writeDicomSeries(v, a, dir.path());
  writeDicomSeries(v, b, dir.path());
  try {
    loadStudy(dir.path());
    FAIL();
  } catch (const UnsafeGeometryError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicated"), std::string::npos) << e.what();
  }
}

TEST(DicomRead, VariableSpacingIsResampledWithANote) {
  TempDir dir;
  // One series (same keys, no UIDs) whose spacing changes from 2 mm to 3 mm.
  DicomSeriesWriteOptions a;
  a.emptyUids = true;
  a.sliceThicknessMm = 2.0;
  DicomSeriesWriteOptions b = a;
  b.filePrefix = "upper";
  writeDicomSeries(makePhantom({24, 24, 10}, {1.0, 1.0, 2.0}, {-12, -12, 0}), a, dir.path());
  writeDicomSeries(makePhantom({24, 24, 10}, {1.0, 1.0, 3.0}, {-12, -12, 21}), b, dir.path());
  const LoadedStudy s = loadStudy(dir.path());
  EXPECT_TRUE(hasNote(s.info, "non-uniform slice spacing"))
      << ::testing::PrintToString(s.info.notes);
  const Grid& g = s.volume.grid();
  EXPECT_NEAR(g.origin.z, 0.0, 1e-6);
  EXPECT_NEAR((g.size[2] - 1) * g.spacing.z, 48.0, g.spacing.z);  // 0 .. 48 mm covered
}

TEST(DicomRead, ObliqueStackIsResampledToAnAxisAlignedGrid) {
  TempDir dir;
  HuVolume v = makePhantom({32, 32, 24}, {1.0, 1.0, 2.0});
  const double a = 10.0 * M_PI / 180.0;  // rotated 10 degrees about x
  v.grid().direction.m[1][1] = std::cos(a);
  v.grid().direction.m[2][1] = std::sin(a);
  v.grid().direction.m[1][2] = -std::sin(a);
  v.grid().direction.m[2][2] = std::cos(a);
  writeDicomSeries(v, {}, dir.path());
  const LoadedStudy s = loadStudy(dir.path());
  EXPECT_TRUE(hasNote(s.info, "oblique")) << ::testing::PrintToString(s.info.notes);
  const Mat3& d = s.volume.grid().direction;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) EXPECT_TRUE(d.m[r][c] == 0.0 || std::abs(d.m[r][c]) == 1.0);
  // A point inside the body keeps its value (within interpolation).
  const Vec3 p = v.grid().indexToLps({16, 10, 8});
  EXPECT_NEAR(sampleLinearLps(s.volume, p, -5000), sampleLinearLps(v, p, -5000), 30.0);
}

}  // namespace
}  // namespace spinescreen::io
