#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "evaluate/evaluate.h"
#include "io/nifti.h"

using namespace spinescreen;
using namespace spinescreen::evaluate;
namespace fs = std::filesystem;

namespace {

fs::path freshDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("spinescreen_verse_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A 10x12x14 grid whose voxel axes run anterior, superior and right: neither LPS nor PIR.
Grid obliqueGrid() {
  Grid g;
  g.size = {10, 12, 14};
  g.spacing = {1.5, 2.0, 3.0};
  g.origin = {10, 20, 30};
  Mat3 d;
  d.m = {{{0, 0, 1}, {-1, 0, 0}, {0, 1, 0}}};  // columns: (0,-1,0), (0,0,1), (1,0,0) in LPS
  g.direction = d;
  return g;
}

}  // namespace

TEST(Verse, ImageHeaderGivesTheWrittenGeometry) {
  const auto d = freshDir("grid");
  io::writeNifti(HuVolume(obliqueGrid(), -1000), (d / "ct.nii.gz").string());
  const VoxelGrid g = readImageGrid((d / "ct.nii.gz").string());
  EXPECT_EQ(g.size[0], 10);
  EXPECT_EQ(g.size[2], 14);
  EXPECT_NEAR(g.spacing.z, 3.0, 1e-5);
  EXPECT_NEAR(g.origin.x, 10.0, 1e-4);
  EXPECT_NEAR(g.origin.y, 20.0, 1e-4);
  EXPECT_NEAR(g.direction.m[1][0], -1.0, 1e-5);  // axis 0 points anterior (-y in LPS)
  EXPECT_NEAR(g.direction.m[2][1], 1.0, 1e-5);
  EXPECT_NEAR(g.direction.m[0][2], 1.0, 1e-5);
  EXPECT_THROW(readImageGrid((d / "absent.nii.gz").string()), InputError);
}

TEST(Verse, ConvertsPirCentroidsToLpsThroughTheCtHeader) {
  const auto d = freshDir("pir");
  io::writeNifti(HuVolume(obliqueGrid(), -1000), (d / "ct.nii.gz").string());
  std::ofstream(d / "ctd.json") << R"([{"direction":["P","I","R"]},
      {"label":20,"X":2,"Y":3,"Z":4},{"label":28,"X":0,"Y":0,"Z":0}])";
  const auto vs =
      readVerseCentroids((d / "ctd.json").string(), readImageGrid((d / "ct.nii.gz").string()));
  ASSERT_EQ(vs.size(), 2u);
  EXPECT_EQ(vs[0].label, "L1");
  EXPECT_EQ(vs[1].label, "T13");
  // The image runs A, S, L; the centroids P, I, R: every axis flips (VerSe: size - coord).
  // index = (10-2, 12-3, 14-4) = (8, 9, 10);
  // LPS = (10,20,30) + 8*1.5*(0,-1,0) + 9*2*(0,0,1) + 10*3*(1,0,0) = (40, 8, 48).
  ASSERT_TRUE(vs[0].centroidLps);
  EXPECT_NEAR(vs[0].centroidLps->x, 40.0, 1e-3);
  EXPECT_NEAR(vs[0].centroidLps->y, 8.0, 1e-3);
  EXPECT_NEAR(vs[0].centroidLps->z, 48.0, 1e-3);
}

TEST(Verse, CentroidsInTheImageOwnOrientationNeedNoFlip) {
  VoxelGrid g;
  g.size[0] = 50;
  g.size[1] = 50;
  g.size[2] = 50;
  g.spacing = {0.5, 0.5, 2.0};
  g.origin = {-10, -20, -30};
  // Identity LPS direction: nibabel codes L, P, S.
  const std::string codes[3] = {"L", "P", "S"};
  const double c[3] = {4, 6, 8};
  const Vec3 p = verseCentroidToLps(codes, c, g);
  EXPECT_NEAR(p.x, -8.0, 1e-9);
  EXPECT_NEAR(p.y, -17.0, 1e-9);
  EXPECT_NEAR(p.z, -14.0, 1e-9);
  // Axis order permuted: the centroid's first axis is the image's third.
  const std::string perm[3] = {"S", "L", "P"};
  const double c2[3] = {8, 4, 6};
  const Vec3 q = verseCentroidToLps(perm, c2, g);
  EXPECT_NEAR((q - p).norm(), 0.0, 1e-9);
}

TEST(Verse, RejectsMalformedCentroidFiles) {
  const auto d = freshDir("bad");
  VoxelGrid g;
  g.size[0] = g.size[1] = g.size[2] = 10;
  auto expectError = [&](const std::string& text) {
    std::ofstream(d / "c.json") << text;
    EXPECT_THROW(readVerseCentroids((d / "c.json").string(), g), InputError) << text;
  };
  expectError(R"({"direction":["P","I","R"]})");
  expectError(R"([{"label":20,"X":1,"Y":2,"Z":3}])");
  expectError(R"([{"direction":["P","I","Q"]},{"label":20,"X":1,"Y":2,"Z":3}])");
  expectError(R"([{"direction":["P","A","R"]},{"label":20,"X":1,"Y":2,"Z":3}])");
  expectError(R"([{"direction":["P","I","R"]},{"label":99,"X":1,"Y":2,"Z":3}])");
  expectError(R"([{"direction":["P","I","R"]},{"label":20,"X":1,"Y":2}])");
  expectError(R"([{"direction":["P","I","R"]},{"label":20,"X":"1","Y":2,"Z":3}])");
  expectError(R"([{"direction":["P","I","R"]},{"label":20,"X":1,"Y":2,"Z":3},
                  {"label":20,"X":1,"Y":2,"Z":3}])");
  expectError("[");
}

TEST(Verse, DatasetLayoutJoinsCentroidsWithGradesBySubjectAndLevel) {
  const auto d = freshDir("dataset");
  fs::create_directories(d / "rawdata" / "sub-verse900");
  fs::create_directories(d / "derivatives" / "sub-verse900");
  io::writeNifti(HuVolume(obliqueGrid(), -1000),
                 (d / "rawdata" / "sub-verse900" / "sub-verse900_ct.nii.gz").string());
  std::ofstream(d / "derivatives" / "sub-verse900" / "sub-verse900_seg-subreg_ctd.json")
      << R"([{"direction":["P","I","R"]},{"label":19,"X":2,"Y":3,"Z":4},
             {"label":20,"X":2,"Y":9,"Z":4}])";
  std::ofstream(d / "grades.csv") << "case_id,level,genant_grade\nsub-verse900,L1,2\n";
  const auto cases = loadTruth(d.string(), (d / "grades.csv").string());
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].caseId, "sub-verse900");
  ASSERT_EQ(cases[0].vertebrae.size(), 2u);
  EXPECT_EQ(cases[0].vertebrae[0].label, "T12");
  EXPECT_FALSE(cases[0].vertebrae[0].genantGrade);
  EXPECT_EQ(cases[0].vertebrae[1].genantGrade, 2);
  // T12 above L1: 6 voxels of 2 mm further superior.
  EXPECT_NEAR(cases[0].vertebrae[0].centroidLps->z - cases[0].vertebrae[1].centroidLps->z, 12.0,
              1e-3);
}

TEST(Verse, SkipsNaNCentroidsAndTheCoccyxLikeVerseOwnTools) {
  const auto d = freshDir("nan");
  VoxelGrid g;
  g.size[0] = g.size[1] = g.size[2] = 10;
  std::ofstream(d / "c.json") << R"([{"direction":["L","P","S"]},{"label":20,"X":1,"Y":2,"Z":3},
      {"label":21,"X":NaN,"Y":2,"Z":3},{"label":27,"X":1,"Y":2,"Z":1},{"label":"NaN-free"}])";
  EXPECT_THROW(readVerseCentroids((d / "c.json").string(), g), InputError);  // string label
  std::ofstream(d / "c.json", std::ios::trunc)
      << R"([{"direction":["L","P","S"]},{"label":20,"X":1,"Y":2,"Z":3},
      {"label":21,"X":NaN,"Y":2,"Z":3},{"label":27,"X":1,"Y":2,"Z":1}])";
  const auto vs = readVerseCentroids((d / "c.json").string(), g);
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].label, "L1");
  std::ofstream(d / "c.json", std::ios::trunc)
      << R"([{"direction":["L","P","S"]},{"label":4294967316,"X":1,"Y":2,"Z":3}])";
  EXPECT_THROW(readVerseCentroids((d / "c.json").string(), g), InputError);
}
