// `spinescreen phantom` as a whole program: the case folders, files and exit codes of
// contracts/CLI.md ("Phantom layout"). Skips when the spinescreen executable is not built.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/run.h"
#include "support/schema.h"

namespace fs = std::filesystem;
using spinescreen::testing::runSpinescreen;

namespace {

fs::path freshDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

#define REQUIRE_BINARY()                                      \
  if (!fs::exists(spinescreen::testing::spinescreenBinary())) \
  GTEST_SKIP() << "spinescreen executable not built"

}  // namespace

TEST(PhantomCommand, WritesOneFolderPerCaseWithCtTruthAndMasks) {
  REQUIRE_BINARY();
  const fs::path out = freshDir("phantom_cli");
  const auto r = runSpinescreen("phantom -o " + out.string() +
                                " --cases 2 --seed 9 --fov thoracolumbar --slice-mm 5 --masks");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  for (const char* id : {"phantom_0000", "phantom_0001"}) {
    for (const char* f : {"ct.nii.gz", "truth.json", "vertebrae.nii.gz", "bodies.nii.gz"})
      EXPECT_TRUE(fs::exists(out / id / f)) << id << "/" << f;
    std::ifstream in(out / id / "truth.json");
    const nlohmann::json truth = nlohmann::json::parse(in);
    EXPECT_EQ(truth["case_id"], id);
    EXPECT_EQ(spinescreen::testing::schemaViolations(truth, "truth.schema.json"), "");
    EXPECT_DOUBLE_EQ(truth["spacing_mm"][2].get<double>(), 5.0);
  }
  fs::remove_all(out);
}

TEST(PhantomCommand, TruthOnlyMatchesTheRenderedCasesTruth) {
  REQUIRE_BINARY();
  const fs::path a = freshDir("phantom_cli_a"), b = freshDir("phantom_cli_b");
  ASSERT_EQ(runSpinescreen("phantom -o " + a.string() +
                           " --seed 4 --first 3 --slice-mm 5 --fov thoracolumbar")
                .exitCode,
            0);
  ASSERT_EQ(runSpinescreen("phantom -o " + b.string() +
                           " --seed 4 --first 3 --slice-mm 5 --fov thoracolumbar --truth-only")
                .exitCode,
            0);
  std::ifstream ia(a / "phantom_0003" / "truth.json"), ib(b / "phantom_0003" / "truth.json");
  EXPECT_EQ(nlohmann::json::parse(ia), nlohmann::json::parse(ib));
  EXPECT_FALSE(fs::exists(b / "phantom_0003" / "ct.nii.gz"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(PhantomCommand, DicomOptionWritesOneFilePerSlice) {
  REQUIRE_BINARY();
  const fs::path out = freshDir("phantom_cli_dicom");
  const auto r = runSpinescreen("phantom -o " + out.string() +
                                " --seed 9 --first 1 --fov thoracolumbar --slice-mm 5 --dicom");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(out / "phantom_0001" / "dicom"))
    files += e.path().extension() == ".dcm";
  EXPECT_GE(files, 30u);  // a thoracolumbar field of view is at least 150 mm long
  fs::remove_all(out);
}

TEST(PhantomCommand, BadArgumentsExitWithTwo) {
  REQUIRE_BINARY();
  const fs::path out = freshDir("phantom_cli_bad");
  EXPECT_EQ(runSpinescreen("phantom -o " + out.string() + " --fov legs").exitCode, 2);
  EXPECT_EQ(runSpinescreen("phantom -o " + out.string() + " --cases 0").exitCode, 2);
  EXPECT_EQ(runSpinescreen("phantom -o " + out.string() + " --slice-mm 0").exitCode, 2);
  EXPECT_EQ(runSpinescreen("phantom --cases 1").exitCode, 2);
  EXPECT_FALSE(fs::exists(out / "phantom_0000"));
}

TEST(PhantomCommand, MatrixOptionWritesACoarserGridOfTheSameAnatomy) {
  REQUIRE_BINARY();
  const fs::path a = freshDir("phantom_cli_m96"), b = freshDir("phantom_cli_m192");
  const std::string common = " --seed 9 --first 2 --fov thoracolumbar --slice-mm 5";
  auto ra = runSpinescreen("phantom -o " + a.string() + common + " --matrix 96");
  ASSERT_EQ(ra.exitCode, 0) << ra.output;
  EXPECT_NE(ra.output.find("96x96x"), std::string::npos) << ra.output;
  auto rb = runSpinescreen("phantom -o " + b.string() + common + " --matrix 192");
  ASSERT_EQ(rb.exitCode, 0) << rb.output;
  EXPECT_NE(rb.output.find("192x192x"), std::string::npos) << rb.output;
  std::ifstream ia(a / "phantom_0002" / "truth.json"), ib(b / "phantom_0002" / "truth.json");
  nlohmann::json ta = nlohmann::json::parse(ia), tb = nlohmann::json::parse(ib);
  EXPECT_EQ(spinescreen::testing::schemaViolations(ta, "truth.schema.json"), "");
  // Twice the voxel size in the plane (truth.json rounds to 0.001 mm), the same slices, the
  // same vertebrae.
  EXPECT_NEAR(ta["spacing_mm"][0].get<double>(), 2.0 * tb["spacing_mm"][0].get<double>(), 2e-3);
  EXPECT_NEAR(ta["spacing_mm"][1].get<double>(), 2.0 * tb["spacing_mm"][1].get<double>(), 2e-3);
  EXPECT_GT(ta["spacing_mm"][0].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(ta["spacing_mm"][2].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(tb["spacing_mm"][2].get<double>(), 5.0);
  ta.erase("spacing_mm");
  tb.erase("spacing_mm");
  EXPECT_EQ(ta, tb);
  EXPECT_TRUE(fs::exists(a / "phantom_0002" / "ct.nii.gz"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(PhantomCommand, SmallPresetAndBadMatrixValues) {
  REQUIRE_BINARY();
  const fs::path out = freshDir("phantom_cli_small");
  auto r = runSpinescreen("phantom -o " + out.string() + " --seed 9 --first 5 --small");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("128x128x"), std::string::npos) << r.output;
  std::ifstream in(out / "phantom_0005" / "truth.json");
  const nlohmann::json t = nlohmann::json::parse(in);
  EXPECT_GE(t["spacing_mm"][2].get<double>(), 3.0);
  EXPECT_GT(t["spacing_mm"][0].get<double>(), 2.0);  // a field of view of 320 mm or more / 128
  // An explicit matrix wins over the preset.
  r = runSpinescreen("phantom -o " + out.string() + " --seed 9 --first 6 --small --matrix 100");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("100x100x"), std::string::npos) << r.output;
  for (const char* bad : {"10", "63", "1025", "-128", "big"}) {
    const auto b =
        runSpinescreen("phantom -o " + out.string() + " --first 7 --matrix " + std::string(bad));
    EXPECT_EQ(b.exitCode, 2) << bad;
    EXPECT_NE(b.output.find("--matrix"), std::string::npos) << bad << ": " << b.output;
  }
  EXPECT_FALSE(fs::exists(out / "phantom_0007"));
  fs::remove_all(out);
}
