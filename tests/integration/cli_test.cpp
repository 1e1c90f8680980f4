#include <gtest/gtest.h>

#include <filesystem>

#include "support/run.h"
#include "support/schema.h"

using namespace spinescreen::testing;
namespace fs = std::filesystem;

namespace {
fs::path freshDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("spinescreen_cli_" + name);
  fs::remove_all(d);
  return d;
}
}  // namespace

TEST(Cli, PrintsItsVersion) {
  const auto r = runSpinescreen("--version");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.output.find("spinescreen "), std::string::npos) << r.output;
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const std::string sub :
       {"analyze", "convert", "batch", "evaluate", "phantom", "textaudit", "serve"}) {
    const auto r = runSpinescreen(sub + " --help");
    EXPECT_EQ(r.exitCode, 0) << sub;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub << ": " << r.output;
  }
}

TEST(Cli, BadArgumentsExitWithTwoAndWriteNoReport) {
  const auto out = freshDir("badargs");
  EXPECT_EQ(runSpinescreen("analyze").exitCode, 2);
  EXPECT_EQ(
      runSpinescreen("analyze x.nii.gz --no-such-flag -o " + shellQuote(out.string())).exitCode, 2);
  EXPECT_EQ(runSpinescreen("no-such-subcommand").exitCode, 2);
  EXPECT_FALSE(fs::exists(out / "report.json"));
}

TEST(Cli, AnalysesTheBundledSampleIntoAValidReportAndItsFiles) {
  const auto out = freshDir("sample");
  const auto r =
      runSpinescreen("analyze " + shellQuote(sourceDir() + "/data/sample/example_ct.nii.gz") +
                     " -o " + shellQuote(out.string()) + " --save-masks");
  ASSERT_TRUE(fs::exists(out / "report.json")) << r.output;
  const auto report = readJsonFile((out / "report.json").string());
  EXPECT_EQ(reportViolations(report), "");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_EQ(report["status"], "ok");
  EXPECT_EQ(report["input"]["size_voxels"], nlohmann::json::array({122, 101, 112}));
  EXPECT_EQ(report["input"]["format"], "nifti");
  EXPECT_GE(report["vertebrae"].size(), 5u);
  for (const char* kind : {"png", "html", "masks"}) {
    ASSERT_TRUE(report["outputs"].contains(kind)) << kind;
    const fs::path file = out / report["outputs"][kind].get<std::string>();
    EXPECT_TRUE(fs::exists(file)) << file;
    EXPECT_GT(fs::file_size(file), 1000u) << file;
  }
  EXPECT_EQ(report["outputs"]["masks"], "vertebrae.nii.gz");
}

TEST(Cli, WritesNoImagesForAStudyThatIsNotAnalysed) {
  const auto out = freshDir("notanalysed");
  const auto r = runSpinescreen("analyze /no/such/input.nii.gz -o " + shellQuote(out.string()) +
                                " --save-masks --dicom-out --fhir-out");
  EXPECT_EQ(r.exitCode, 3) << r.output;
  ASSERT_TRUE(fs::exists(out / "report.json"));
  int files = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}
