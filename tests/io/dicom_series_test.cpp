// Series discovery and choice on synthetic DICOM written in the test.
#include "io/dicom_series.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "io/dicom_writer.h"
#include "io/loader.h"
#include "io_test_util.h"

namespace spinescreen::io {
namespace {
namespace fs = std::filesystem;
using spinescreen::testing::makePhantom;
using spinescreen::testing::TempDir;

DicomSeriesWriteOptions ct(const std::string& description, int number) {
  DicomSeriesWriteOptions o;
  o.seriesDescription = description;
  o.seriesNumber = number;
  return o;
}

TEST(SeriesDiscovery, GroupsFilesBySeriesAndIgnoresOtherFiles) {
  TempDir dir;
  writeDicomSeries(makePhantom({32, 32, 12}, {1.5, 1.5, 5.0}), ct("thick", 2), dir / "study/a");
  writeDicomSeries(makePhantom({32, 32, 24}, {1.5, 1.5, 2.5}), ct("thin", 3), dir / "study/b");
  std::ofstream(dir / "notes.txt") << "not dicom\n";
  std::ofstream(dir / "meta.json") << "{}\n";
  std::ofstream(dir / "study/README") << std::string(300, 'x');
  Discovery d = discoverSeries(dir.path());
  ASSERT_EQ(d.series.size(), 2u);
  EXPECT_EQ(d.dicomFiles, 36);
  EXPECT_GE(d.ignoredFiles, 3);
  for (const auto& s : d.series) EXPECT_TRUE(s.groupedByUid);
}

TEST(SeriesDiscovery, ChoosesThinnestAxialCtAmongMixedSeries) {
  TempDir dir;
  writeDicomSeries(makePhantom({32, 32, 12}, {1.5, 1.5, 5.0}), ct("thick", 2), dir / "a");
  writeDicomSeries(makePhantom({32, 32, 30}, {1.5, 1.5, 2.0}), ct("thin", 3), dir / "b");
  auto mr = ct("mr", 4);
  mr.modality = "MR";
  writeDicomSeries(makePhantom({32, 32, 40}, {1.5, 1.5, 1.0}), mr, dir / "c");
  auto scout = ct("scout", 1);
  scout.imageType = "ORIGINAL\\PRIMARY\\LOCALIZER";
  writeDicomSeries(makePhantom({32, 32, 1}, {1.5, 1.5, 0.5}), scout, dir / "d");
  Discovery d = discoverSeries(dir.path());
  ASSERT_EQ(d.series.size(), 4u);
  const size_t chosen = chooseSeries(d);
  EXPECT_EQ(d.series[chosen].facts.seriesDescription, "thin");
  for (const auto& s : d.series) {
    const std::string& name = s.facts.seriesDescription;
    const char* expected = name == "mr"      ? "not CT"
                           : name == "scout" ? "localizer"
                           : name == "thick" ? "thicker"
                                             : "chosen";
    EXPECT_NE(s.reason.find(expected), std::string::npos) << name << ": " << s.reason;
  }
  const std::string listing = describeInput(dir.path());
  EXPECT_NE(listing.find("* ["), std::string::npos);
  EXPECT_NE(listing.find("\"thin\""), std::string::npos);
  EXPECT_EQ(listing.find("PHANTOM"), std::string::npos) << "names/IDs must not be listed";
}

TEST(SeriesDiscovery, WidestCoverageBreaksThicknessTies) {
  TempDir dir;
  writeDicomSeries(makePhantom({32, 32, 25}, {1.5, 1.5, 2.0}), ct("short", 2), dir / "a");
  writeDicomSeries(makePhantom({32, 32, 40}, {1.5, 1.5, 2.0}), ct("long", 3), dir / "b");
  Discovery d = discoverSeries(dir.path());
  EXPECT_EQ(d.series[chooseSeries(d)].facts.seriesDescription, "long");
}

TEST(SeriesDiscovery, FallsBackToGeometryAndAcquisitionKeysWhenUidsAreEmpty) {
  TempDir dir;
  auto a = ct("body", 2);
  a.emptyUids = true;
  auto b = ct("body", 5);  // same description, different series number
  b.emptyUids = true;
  writeDicomSeries(makePhantom({32, 32, 12}, {1.5, 1.5, 5.0}), a, dir / "x");
  writeDicomSeries(makePhantom({32, 32, 15}, {1.5, 1.5, 4.0}), b, dir / "x2");
  Discovery d = discoverSeries(dir.path());
  ASSERT_EQ(d.series.size(), 2u);
  for (const auto& s : d.series) {
    EXPECT_FALSE(s.groupedByUid);
    EXPECT_TRUE(s.facts.seriesInstanceUid.empty());
    // SOP instance UIDs come from the file meta when the dataset's are empty.
    for (const auto& sl : s.slices) EXPECT_FALSE(sl.sopInstanceUid.empty());
  }
  EXPECT_EQ(d.series[0].sliceCount + d.series[1].sliceCount, 27);
}

TEST(SeriesDiscovery, DicomFileInputGathersItsSeriesFromItsFolder) {
  TempDir dir;
  const auto files =
      writeDicomSeries(makePhantom({32, 32, 12}, {1.5, 1.5, 5.0}), ct("one", 2), dir / "s");
  auto other = ct("other", 3);
  other.filePrefix = "other";
  writeDicomSeries(makePhantom({32, 32, 20}, {1.5, 1.5, 2.0}), other, dir / "s");
  Discovery d = discoverSeries(files[3]);
  ASSERT_EQ(d.series.size(), 1u);
  EXPECT_EQ(d.series[0].facts.seriesDescription, "one");
  EXPECT_EQ(d.series[0].sliceCount, 12);
}

TEST(SeriesDiscovery, PhasesSharingASeriesUidBecomeSeparateCandidates) {
  TempDir dir;
  auto arterial = ct("abdomen", 4);
  arterial.seriesInstanceUid = "1.2.826.0.1.3680043.2.1143.777";
  arterial.acquisitionNumber = 1;
  arterial.filePrefix = "a";
  auto venous = arterial;
  venous.acquisitionNumber = 2;
  venous.filePrefix = "v";
  const HuVolume v = makePhantom({24, 24, 20}, {1.0, 1.0, 3.0});
  writeDicomSeries(v, arterial, dir.path());
  writeDicomSeries(v, venous, dir.path());
  Discovery d = discoverSeries(dir.path());
  ASSERT_EQ(d.series.size(), 2u);
  for (const auto& s : d.series) EXPECT_EQ(s.sliceCount, 20);
  const LoadedStudy s = readDicomSeries(d.series[chooseSeries(d)]);
  EXPECT_EQ(s.volume.size()[2], 20);
}

TEST(SeriesDiscovery, TheSameInstanceStoredTwiceCountsOnce) {
  TempDir dir;
  const auto files =
      writeDicomSeries(makePhantom({24, 24, 16}, {1.0, 1.0, 3.0}), ct("copy", 2), dir.path());
  fs::copy_file(files[4], dir / "copy-of-slice-5");
  Discovery d = discoverSeries(dir.path());
  ASSERT_EQ(d.series.size(), 1u);
  EXPECT_EQ(d.series[0].sliceCount, 16);
  EXPECT_EQ(loadStudy(dir.path()).volume.size()[2], 16);
}

TEST(SeriesChoice, OnlyMrIsNotApplicableAndSaysSo) {
  TempDir dir;
  auto mr = ct("mr", 4);
  mr.modality = "MR";
  writeDicomSeries(makePhantom({32, 32, 20}, {1.5, 1.5, 3.0}), mr, dir.path());
  Discovery d = discoverSeries(dir.path());
  try {
    chooseSeries(d);
    FAIL() << "an MR-only folder must not be chosen";
  } catch (const NotApplicableError& e) {
    EXPECT_NE(std::string(e.what()).find("only MR"), std::string::npos) << e.what();
  }
}

TEST(SeriesChoice, SingleSliceIsNotApplicable) {
  TempDir dir;
  writeDicomSeries(makePhantom({32, 32, 1}, {1.5, 1.5, 3.0}), ct("one", 2), dir.path());
  Discovery d = discoverSeries(dir.path());
  try {
    chooseSeries(d);
    FAIL();
  } catch (const NotApplicableError& e) {
    EXPECT_NE(std::string(e.what()).find("single slice"), std::string::npos) << e.what();
  }
}

TEST(SeriesChoice, TooFewSlicesIsNotApplicable) {
  TempDir dir;
  writeDicomSeries(makePhantom({32, 32, 6}, {1.5, 1.5, 10.0}), ct("six", 2), dir.path());
  Discovery d = discoverSeries(dir.path());
  EXPECT_THROW(chooseSeries(d), NotApplicableError);
}

TEST(SeriesChoice, FolderWithoutDicomOrNiftiIsAnInputError) {
  TempDir dir;
  std::ofstream(dir / "a.txt") << "hello";
  EXPECT_THROW(loadStudy(dir.path()), InputError);
}

TEST(SeriesChoice, TruncatedDicomIsAnInputError) {
  TempDir dir;
  const auto files =
      writeDicomSeries(makePhantom({32, 32, 12}, {1.5, 1.5, 5.0}), ct("t", 2), dir.path());
  fs::resize_file(files[5], 600);
  EXPECT_THROW(loadStudy(dir.path()), InputError);
}

TEST(DicomAge, ParsesAgeStringsAndDates) {
  EXPECT_EQ(parseDicomAge("055Y"), 55.0);
  EXPECT_EQ(parseDicomAge("006M"), 0.5);
  EXPECT_FALSE(parseDicomAge("55"));
  EXPECT_FALSE(parseDicomAge(""));
  EXPECT_EQ(yearsBetween("19600615", "20200614"), 59.0);
  EXPECT_EQ(yearsBetween("19600615", "20200615"), 60.0);
  EXPECT_FALSE(yearsBetween("1960", "20200615"));
}

}  // namespace
}  // namespace spinescreen::io
