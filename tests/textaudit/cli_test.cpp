// `spinescreen textaudit` as a whole program: exit codes and files (contracts/CLI.md).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "support/test_data.h"

namespace fs = std::filesystem;

namespace {

class CliDir {
 public:
  CliDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("textaudit_cli_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~CliDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }
  void write(const std::string& rel, const std::string& content) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::binary) << content;
  }
  std::string read(const std::string& rel) const {
    std::ifstream in(path_ / rel, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  fs::path path_;
};

int run(const std::string& args) {
  const std::string cmd =
      "\"" + spinescreen::testing::spinescreenBinary() + "\" textaudit " + args + " 2>/dev/null";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST(TextAuditCli, WritesReportsCsvAndTheJoinedAudit) {
  CliDir d;
  d.write("reports.jsonl",
          "{\"case_id\":\"c1\",\"text\":\"Normal CT.\",\"accession\":\"A1\"}\n"
          "{\"case_id\":\"c2\",\"text\":\"L1 compression fracture. Refer to FLS.\"}\n");
  d.write("batch/summary.csv",
          "case_id,status,status_reason,levels_found,max_genant_grade,fractured_levels,"
          "l1_trabecular_hu,density_hu,density_level,bone_density_category,fracture_score,"
          "referral_recommended,seconds\n"
          "c1,ok,,T11;T12;L1,3,T12,90,90,L1,osteoporosis_likely,0.9,true,2.0\n"
          "c2,ok,,T12;L1;L2,2,L1,150,150,L1,low,0.7,true,2.0\n");
  ASSERT_EQ(run("--reports " + (d / "reports.jsonl").string() + " --results " +
                (d / "batch").string() + " -o " + (d / "out").string()),
            0);
  EXPECT_NE(d.read("out/reports.csv").find("c2,affirmed,L1,false,true,"), std::string::npos);
  const std::string wl = d.read("out/worklist.csv");
  EXPECT_NE(wl.find("1,c1,3,T12,0.9,osteoporosis_likely,90,none,false,,A1"), std::string::npos)
      << wl;
  EXPECT_EQ(wl.find("c2"), std::string::npos);
  EXPECT_NE(d.read("out/audit.json").find("\"identification_rate\""), std::string::npos);
}

TEST(TextAuditCli, ExitsThreeOnMalformedInputAndTwoOnBadArguments) {
  CliDir d;
  d.write("bad.csv", "case_id,text\n1,\"unterminated\n");
  d.write("ok.csv", "case_id,text\n1,Normal.\n");
  d.write("afile", "x");
  EXPECT_EQ(run("--reports " + (d / "bad.csv").string() + " -o " + (d / "o").string()), 3);
  EXPECT_EQ(run("--reports " + (d / "missing.csv").string() + " -o " + (d / "o").string()), 3);
  EXPECT_EQ(run("--reports " + (d / "ok.csv").string() + " --results " + (d / "nobatch").string() +
                " -o " + (d / "o").string()),
            3);
  EXPECT_EQ(run("-o " + (d / "o").string()), 2);
  EXPECT_EQ(run("--reports " + (d / "ok.csv").string() + " -o " + (d / "afile/sub").string()), 2);
  EXPECT_EQ(
      run("--reports " + (d / "ok.csv").string() + " -o " + (d / "o").string() + " --format xml"),
      2);
}
