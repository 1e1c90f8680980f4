#include "batch/batch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "batch/csv.h"
#include "core/errors.h"
#include "io/nifti.h"
#include "support/run.h"
#include "support/schema.h"

using namespace spinescreen;
using namespace spinescreen::testing;
namespace fs = std::filesystem;
using nlohmann::json;

extern char** environ;

namespace {

const std::string kHeader =
    "case_id,status,status_reason,levels_found,max_genant_grade,fractured_levels,"
    "l1_trabecular_hu,density_hu,density_level,bone_density_category,fracture_score,"
    "referral_recommended,seconds";

fs::path freshDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("spinescreen_batch_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeText(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
}

// A stand-in for `spinescreen analyze` whose behaviour follows the input's name, so batch's
// isolation can be tested without depending on what the engine finds. It logs every call.
struct FakeAnalyzer {
  fs::path dir;
  fs::path script, runLog, release;
  explicit FakeAnalyzer(const fs::path& d) : dir(d) {
    script = d / "fake_analyze.sh";
    runLog = d / "runs.log";
    release = d / "release";
    std::ostringstream s;
    s << "#!/bin/sh\n"
      << "in=\"$2\"; out=\"$4\"; name=$(basename \"$in\")\n"
      << "echo \"$name $*\" >> '" << runLog.string() << "'\n"
      << "echo $$ > \"$out/pid\"\n"
      << "if [ ! -e '" << release.string() << "' ]; then\n"
      << "  case \"$name\" in *hang*) exec sleep 60;; esac\n"
      << "fi\n"
      << "case \"$name\" in\n"
      << "  crash*) kill -SEGV $$; sleep 5;;\n"
      << "  silent*) exit 3;;\n"
      << "esac\n"
      << "reason=\"analysed, said \\\"fine\\\"\"\n"
      << "case \"$name\" in limits*) reason=\"vmem $(ulimit -v)\";; esac\n"
      << "cat > \"$out/.tmp.report.json.$$\" <<JSON\n"
      << "{\"schema_version\":\"1\",\"tool\":{\"name\":\"fake\",\"version\":\"0\"},"
         "\"status\":\"ok\",\"status_reason\":\"$(echo \"$reason\" | sed 's/\"/\\\\\"/g')\","
         "\"input\":{\"path\":\"x\"},\"vertebrae\":[{\"label\":\"L1\",\"centroid_lps_mm\":[0,0,0]},"
         "{\"label\":\"L2\",\"centroid_lps_mm\":[0,0,-30]}],\"patient\":{\"fracture_detected\":"
         "true,\"max_genant_grade\":2,\"fractured_levels\":[\"L1\",\"L2\"],\"fracture_score\":"
         "0.75,\"l1_trabecular_hu\":95.5,\"density_hu\":95.5,\"density_level\":\"L1\","
         "\"bone_density_category\":\"osteoporosis_likely\",\"referral_recommended\":true}}\n"
      << "JSON\n"
      << "mv \"$out/.tmp.report.json.$$\" \"$out/report.json\"\n";
    writeText(script, s.str());
    fs::permissions(script, fs::perms::owner_all);
  }
  std::vector<std::string> runs() const { return lines(slurp(runLog)); }
  int runsOf(const std::string& name) const {
    int n = 0;
    for (const auto& l : runs())
      if (l.rfind(name + " ", 0) == 0) ++n;
    return n;
  }
};

batch::Cohort cohortOf(const fs::path& inputs, const std::vector<std::string>& names) {
  batch::Cohort c;
  for (const auto& n : names) {
    writeText(inputs / n, "input");
    c.studies.push_back({n, (inputs / n).string(), std::nullopt, {}});
  }
  return c;
}

batch::BatchOptions fakeOptions(const FakeAnalyzer& fake, const fs::path& out) {
  batch::BatchOptions o;
  o.executable = fake.script.string();
  o.outDir = out.string();
  o.timeoutS = 30;
  return o;
}

json readJson(const fs::path& p) { return json::parse(slurp(p)); }

csv::Table summary(const fs::path& out) { return csv::readTable((out / "summary.csv").string()); }

// OUTDIR/analyses.jsonl, parsed: the run ids in order and every event.
struct AnalysisLog {
  std::vector<std::string> runs;
  std::vector<json> events;
  // Events of a kind in a run, for one case ("" for the run's own events).
  int count(const std::string& caseId, const std::string& run, const std::string& event) const {
    int n = 0;
    for (const auto& e : events)
      if (e["run"] == run && e["event"] == event &&
          (caseId.empty() ? !e.contains("case_id") : e.value("case_id", "") == caseId))
        ++n;
    return n;
  }
};

AnalysisLog analysisLog(const fs::path& out) {
  AnalysisLog l;
  for (const auto& line : lines(slurp(out / "analyses.jsonl"))) {
    l.events.push_back(json::parse(line));
    if (l.events.back()["event"] == "run_start") l.runs.push_back(l.events.back()["run"]);
  }
  return l;
}

void writeSmallCt(const fs::path& path) {
  Grid g;
  g.size = {24, 24, 30};
  g.spacing = {2.0, 2.0, 2.0};
  HuVolume v(g, -1000);
  for (int64_t z = 0; z < 30; ++z)
    for (int64_t y = 6; y < 18; ++y)
      for (int64_t x = 6; x < 18; ++x) v.at(x, y, z) = 40;
  io::writeNifti(v, path.string());
}

}  // namespace

TEST(BatchListing, NamesStudiesByFileStemOrFolderAndSkipsHiddenEntries) {
  const auto d = freshDir("listing");
  writeText(d / "b.nii.gz", "x");
  writeText(d / "a.nii", "x");
  fs::create_directories(d / "c_dicom");
  writeText(d / "notes.txt", "x");
  writeText(d / ".hidden", "x");
  const auto c = batch::listStudies(d.string());
  ASSERT_EQ(c.studies.size(), 4u);
  EXPECT_EQ(c.studies[0].caseId, "a");
  EXPECT_EQ(c.studies[1].caseId, "b");
  EXPECT_EQ(c.studies[2].caseId, "c_dicom");
  EXPECT_EQ(c.studies[3].caseId, "notes.txt");
  EXPECT_TRUE(fs::path(c.studies[1].path).is_absolute());
}

TEST(BatchListing, RejectsTwoFilesWithTheSameCaseId) {
  const auto d = freshDir("listing_dup");
  writeText(d / "a.nii", "x");
  writeText(d / "a.nii.gz", "x");
  EXPECT_THROW(batch::listStudies(d.string()), UsageError);
  EXPECT_THROW(batch::listStudies((d / "missing").string()), UsageError);
}

TEST(BatchManifest, ResolvesPathsRelativeToTheManifestAndCarriesColumns) {
  const auto d = freshDir("manifest");
  fs::create_directories(d / "sub");
  writeText(d / "sub" / "m.csv",
            "case_id,path,mask,site,note\n"
            "p1,../ct1.nii.gz,masks/p1.nii.gz,north,\"said \"\"hi\"\", twice\"\n"
            "p2,/abs/ct2.nii.gz,,south,\n");
  const auto c = batch::readManifest((d / "sub" / "m.csv").string());
  ASSERT_EQ(c.studies.size(), 2u);
  EXPECT_EQ(c.extraColumns, (std::vector<std::string>{"site", "note"}));
  EXPECT_EQ(c.studies[0].path, (d / "ct1.nii.gz").string());
  ASSERT_TRUE(c.studies[0].mask.has_value());
  EXPECT_EQ(*c.studies[0].mask, (d / "sub" / "masks" / "p1.nii.gz").string());
  EXPECT_EQ(c.studies[0].extra[1], "said \"hi\", twice");
  EXPECT_EQ(c.studies[1].path, "/abs/ct2.nii.gz");
  EXPECT_FALSE(c.studies[1].mask.has_value());
}

TEST(BatchManifest, RejectsBadManifestsWithClearErrors) {
  const auto d = freshDir("manifest_bad");
  auto expectError = [&](const std::string& text, const std::string& fragment) {
    writeText(d / "m.csv", text);
    try {
      batch::readManifest((d / "m.csv").string());
      ADD_FAILURE() << "no error for: " << text;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expectError("case_id,path\na,x\nb,y\na,z\n", "duplicate case_id 'a'");
  expectError("case_id,file\na,x\n", "no path column");
  expectError("id,path\na,x\n", "no case_id column");
  expectError("case_id,path\n../up,x\n", "cannot be a folder name");
  expectError("case_id,path\n,x\n", "empty case_id");
  expectError("case_id,path\na,\n", "empty path");
  expectError("case_id,path,status\na,x,y\n", "summary column");
  expectError("case_id,path\na,\"x\n", "never closed");
  expectError("case_id,path\na,x,extra\n", "line 2");
  EXPECT_THROW(batch::readManifest((d / "nope.csv").string()), UsageError);
}

TEST(BatchSummary, JoinsListsAndLeavesMissingValuesEmpty) {
  const json r = json::parse(R"({"status":"ok","status_reason":"analysed",
    "vertebrae":[{"label":"T12"},{"label":"L1"}],
    "patient":{"max_genant_grade":null,"fractured_levels":["T12","L1"],"l1_trabecular_hu":null,
               "density_hu":121.25,"density_level":"T12","bone_density_category":"low",
               "fracture_score":0.5,"referral_recommended":false}})");
  const auto f = batch::summaryFields("c1", r, 12.34);
  ASSERT_EQ(f.size(), batch::summaryHeader().size());
  EXPECT_EQ(f[3], "T12;L1");
  EXPECT_EQ(f[4], "");
  EXPECT_EQ(f[5], "T12;L1");
  EXPECT_EQ(f[6], "");
  EXPECT_EQ(f[7], "121.25");
  EXPECT_EQ(f[11], "false");
  EXPECT_EQ(f[12], "12.3");
}

TEST(Batch, ChildPastTheTimeLimitIsKilledAndRecordedFailed) {
  const auto d = freshDir("timeout");
  FakeAnalyzer fake(d);
  const auto c = cohortOf(d, {"hang_a", "ok_b"});
  auto o = fakeOptions(fake, d / "out");
  o.timeoutS = 1.0;
  std::ostringstream log;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = batch::runBatch(c, o, log);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 20.0);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.ok, 1);
  const json rep = readJson(d / "out" / "hang_a" / "report.json");
  EXPECT_EQ(rep["status"], "failed");
  EXPECT_NE(rep["status_reason"].get<std::string>().find("timed out"), std::string::npos);
  EXPECT_EQ(reportViolations(rep), "");
  EXPECT_EQ(readJson(d / "out" / "ok_b" / "report.json")["status"], "ok");
}

TEST(Batch, CrashedOrSilentChildIsRecordedFailedWithTheReason) {
  const auto d = freshDir("crash");
  FakeAnalyzer fake(d);
  const auto c = cohortOf(d, {"crash_x", "silent_y", "z_ok"});
  std::ostringstream log;
  const auto r = batch::runBatch(c, fakeOptions(fake, d / "out"), log);
  EXPECT_EQ(r.failed, 2);
  EXPECT_EQ(r.ok, 1);
  const auto crash = readJson(d / "out" / "crash_x" / "report.json");
  EXPECT_EQ(crash["status"], "failed");
  EXPECT_NE(crash["status_reason"].get<std::string>().find("signal 11"), std::string::npos)
      << crash["status_reason"];
  const auto silent = readJson(d / "out" / "silent_y" / "report.json");
  EXPECT_NE(silent["status_reason"].get<std::string>().find("exited with code 3"),
            std::string::npos);
  const auto t = summary(d / "out");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][1], "failed");
  EXPECT_EQ(t.rows[1][1], "failed");
  EXPECT_EQ(t.rows[2][1], "ok");
}

TEST(Batch, ChildRunsUnderTheMemoryLimit) {
  const auto d = freshDir("limits");
  FakeAnalyzer fake(d);
  const auto c = cohortOf(d, {"limits_a"});
  auto o = fakeOptions(fake, d / "out");
  o.maxMemoryMb = 300;
  std::ostringstream log;
  batch::runBatch(c, o, log);
  EXPECT_EQ(readJson(d / "out" / "limits_a" / "report.json")["status_reason"],
            "vmem " + std::to_string(300 * 1024));
}

TEST(Batch, SummaryHasTheContractHeaderCarriedColumnsAndQuoting) {
  const auto d = freshDir("summary");
  FakeAnalyzer fake(d);
  writeText(d / "ct1", "x");
  writeText(d / "ct2", "x");
  writeText(d / "m.csv",
            "case_id,path,mask,site,note\n"
            "p2,ct2,,south,plain\n"
            "p1,ct1,mask1.nii.gz,north,\"a, \"\"quoted\"\" note\"\n");
  const auto c = batch::readManifest((d / "m.csv").string());
  std::ostringstream log;
  batch::runBatch(c, fakeOptions(fake, d / "out"), log);
  const std::string text = slurp(d / "out" / "summary.csv");
  EXPECT_EQ(text.substr(0, text.find('\n')), kHeader + ",site,note");
  const auto t = summary(d / "out");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][0], "p2");  // manifest order
  EXPECT_EQ(t.rows[1][0], "p1");
  EXPECT_EQ(t.rows[1][2], "analysed, said \"fine\"");
  EXPECT_EQ(t.rows[1][3], "L1;L2");
  EXPECT_EQ(t.rows[1][5], "L1;L2");
  EXPECT_EQ(t.rows[1][11], "true");
  EXPECT_EQ(t.rows[1][13], "north");
  EXPECT_EQ(t.rows[1][14], "a, \"quoted\" note");
  // The mask column becomes --vertebrae-mask only where it has a value.
  for (const auto& l : fake.runs()) {
    if (l.rfind("ct1 ", 0) == 0) {
      EXPECT_NE(l.find("--vertebrae-mask " + (d / "mask1.nii.gz").string()), std::string::npos)
          << l;
    }
    if (l.rfind("ct2 ", 0) == 0) {
      EXPECT_EQ(l.find("--vertebrae-mask"), std::string::npos) << l;
    }
  }
}

TEST(Batch, ResumeRedoesOnlyUnfinishedStudies) {
  const auto d = freshDir("resume");
  FakeAnalyzer fake(d);
  const auto c = cohortOf(d, {"a", "b", "c", "d"});
  const auto o = fakeOptions(fake, d / "out");
  std::ostringstream log;
  batch::runBatch(c, o, log);
  ASSERT_EQ(fake.runs().size(), 4u);
  // b never finished; c was cut off mid-write; d finished but left a temporary file.
  fs::remove(d / "out" / "b" / "report.json");
  const std::string full = slurp(d / "out" / "c" / "report.json");
  writeText(d / "out" / "c" / "report.json", full.substr(0, full.size() / 2));
  writeText(d / "out" / "d" / ".tmp.report.json.999", "{");
  const auto r = batch::runBatch(c, o, log);
  EXPECT_EQ(r.skipped, 2);
  EXPECT_EQ(r.ran, 2);
  EXPECT_EQ(fake.runsOf("a"), 1);
  EXPECT_EQ(fake.runsOf("b"), 2);
  EXPECT_EQ(fake.runsOf("c"), 2);
  EXPECT_EQ(fake.runsOf("d"), 1);
  const auto t = summary(d / "out");
  ASSERT_EQ(t.rows.size(), 4u);
  for (const auto& row : t.rows) EXPECT_EQ(row[1], "ok");
}

TEST(Batch, RetryFailedRedoesFailedStudiesOnly) {
  const auto d = freshDir("retry");
  FakeAnalyzer fake(d);
  const auto c = cohortOf(d, {"hang_a", "b"});
  auto o = fakeOptions(fake, d / "out");
  o.timeoutS = 0.5;
  std::ostringstream log;
  batch::runBatch(c, o, log);
  writeText(fake.release, "");
  batch::runBatch(c, o, log);  // failed counts as done
  EXPECT_EQ(fake.runsOf("hang_a"), 1);
  o.retryFailed = true;
  batch::runBatch(c, o, log);
  EXPECT_EQ(fake.runsOf("hang_a"), 2);
  EXPECT_EQ(fake.runsOf("b"), 1);
  EXPECT_EQ(readJson(d / "out" / "hang_a" / "report.json")["status"], "ok");
}

TEST(Batch, KillNineOfTheBatchMidStudyThenRerunFinishesTheRest) {
  const auto d = freshDir("kill9");
  FakeAnalyzer fake(d);
  fs::create_directories(d / "in");
  for (const char* n : {"a_ok", "b_hang", "c_ok"}) writeText(d / "in" / n, "x");
  const fs::path out = d / "out";
  std::vector<std::string> args = {
      spinescreenBinary(), "batch", (d / "in").string(), "-o", out.string(), "--analyze-program",
      fake.script.string()};
  auto start = [&] {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
  };
  const pid_t batchPid = start();
  // Wait until the hanging study has started (its pid file), then kill -9 the batch.
  const fs::path pidFile = out / "b_hang" / "pid";
  for (int i = 0; i < 400 && !fs::exists(pidFile); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(pidFile));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const pid_t childPid = std::stoi(slurp(pidFile));
  ASSERT_EQ(kill(batchPid, SIGKILL), 0);
  int st = 0;
  waitpid(batchPid, &st, 0);
  EXPECT_TRUE(fs::exists(out / "a_ok" / "report.json"));
  EXPECT_FALSE(fs::exists(out / "b_hang" / "report.json"));
  // The study's process dies with the batch (no orphan keeps writing into OUTDIR).
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(childPid) + "/stat");
    std::string content;
    std::getline(stat, content);
    const auto close = content.rfind(')');
    gone = !stat || (close != std::string::npos && content.size() > close + 2 &&
                     (content[close + 2] == 'Z' || content[close + 2] == 'X'));
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone);
  writeText(fake.release, "");
  const pid_t again = start();
  waitpid(again, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_EQ(fake.runsOf("a_ok"), 1);
  EXPECT_EQ(fake.runsOf("b_hang"), 2);
  EXPECT_EQ(fake.runsOf("c_ok"), 1);
  const auto t = summary(out);
  ASSERT_EQ(t.rows.size(), 3u);
  for (const auto& row : t.rows) EXPECT_EQ(row[1], "ok") << row[0];
  // analyses.jsonl tells the same story: the killed run has no run_end, the study it cut off a
  // start without an end, and the rerun started only the unfinished studies.
  const auto log = analysisLog(out);
  ASSERT_EQ(log.runs.size(), 2u);
  const std::string& killed = log.runs[0];
  const std::string& rerun = log.runs[1];
  EXPECT_EQ(log.count("", killed, "run_end"), 0);
  EXPECT_EQ(log.count("", rerun, "run_end"), 1);
  EXPECT_EQ(log.count("a_ok", killed, "start"), 1);
  EXPECT_EQ(log.count("a_ok", killed, "end"), 1);
  EXPECT_EQ(log.count("a_ok", rerun, "start"), 0);
  EXPECT_EQ(log.count("b_hang", killed, "start"), 1);
  EXPECT_EQ(log.count("b_hang", killed, "end"), 0);
  EXPECT_EQ(log.count("b_hang", rerun, "start"), 1);
  EXPECT_EQ(log.count("b_hang", rerun, "end"), 1);
  EXPECT_EQ(log.count("c_ok", killed, "start"), 0);
  EXPECT_EQ(log.count("c_ok", rerun, "start"), 1);
  EXPECT_EQ(log.count("c_ok", rerun, "end"), 1);
}

TEST(Batch, AnalysisLogRecordsEveryStartAndEndAcrossRunsWithPeakMemory) {
  const auto d = freshDir("analyses");
  FakeAnalyzer fake(d);
  const auto c = cohortOf(d, {"a", "b", "crash_c"});
  const auto o = fakeOptions(fake, d / "out");
  std::ostringstream log;
  batch::runBatch(c, o, log);
  fs::remove(d / "out" / "b" / "report.json");
  batch::runBatch(c, o, log);
  batch::runBatch(c, o, log);  // nothing left to run
  const auto l = analysisLog(d / "out");
  ASSERT_EQ(l.runs.size(), 3u);
  for (const auto& run : l.runs) {
    EXPECT_EQ(l.count("", run, "run_start"), 1);
    EXPECT_EQ(l.count("", run, "run_end"), 1);
  }
  for (const char* id : {"a", "b", "crash_c"}) {
    EXPECT_EQ(l.count(id, l.runs[0], "start"), 1) << id;
    EXPECT_EQ(l.count(id, l.runs[0], "end"), 1) << id;
    EXPECT_EQ(l.count(id, l.runs[2], "start"), 0) << id;
  }
  EXPECT_EQ(l.count("a", l.runs[1], "start"), 0);
  EXPECT_EQ(l.count("b", l.runs[1], "start"), 1);
  EXPECT_EQ(l.count("b", l.runs[1], "end"), 1);
  EXPECT_EQ(l.count("crash_c", l.runs[1], "start"), 0);
  // Each end carries the study's status and its process's peak memory, as batch.json does.
  for (const auto& e : l.events) {
    if (e["event"] != "end") continue;
    EXPECT_EQ(e["status"], e["case_id"] == "crash_c" ? "failed" : "ok") << e.dump();
    EXPECT_GT(e["max_rss_mb"].get<double>(), 0.0) << e.dump();
  }
  const json side = readJson(d / "out" / "a" / "batch.json");
  EXPECT_GT(side["max_rss_mb"].get<double>(), 0.0);
  EXPECT_EQ(l.events.back()["event"], "run_end");
  EXPECT_EQ(l.events.back()["ran"], 0);
  EXPECT_GT(l.events.back()["max_rss_mb"].get<double>(), 0.0);
  EXPECT_FALSE(batch::isSafeCaseId("analyses.jsonl"));
}

// AddressSanitizer reserves terabytes of address space for its shadow memory, so under the
// default address-space limit a sanitizer build's analyze dies at start-up: lift the limit there.
#if defined(__SANITIZE_ADDRESS__)
#define SPINESCREEN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPINESCREEN_TEST_ASAN 1
#endif
#endif
#ifdef SPINESCREEN_TEST_ASAN
constexpr const char* kMemoryLimitArgs = " --max-memory-mb 0";
#else
constexpr const char* kMemoryLimitArgs = "";
#endif

TEST(BatchCli, OneBadStudyNeverStopsTheOthers) {
  const auto d = freshDir("cli_mixed");
  fs::create_directories(d / "in");
  writeSmallCt(d / "in" / "good.nii.gz");
  writeText(d / "in" / "corrupt.nii.gz", std::string("\x1f\x8b\x08\x00garbage", 12));
  writeText(d / "in" / "notes.txt", "not an image\n");
  const fs::path out = d / "out";
  const auto r = runSpinescreen("batch " + shellQuote((d / "in").string()) + " -o " +
                                shellQuote(out.string()) + " --jobs 2" + kMemoryLimitArgs);
  EXPECT_EQ(r.exitCode, 0) << r.output;
  const std::string text = slurp(out / "summary.csv");
  EXPECT_EQ(text.substr(0, text.find('\n')), kHeader);
  const auto t = summary(out);
  ASSERT_EQ(t.rows.size(), 3u) << text;
  EXPECT_EQ(t.rows[0][0], "corrupt");
  EXPECT_EQ(t.rows[0][1], "failed");
  EXPECT_EQ(t.rows[1][0], "good");
  EXPECT_NE(t.rows[1][1], "failed") << t.rows[1][2];
  EXPECT_EQ(t.rows[2][0], "notes.txt");
  EXPECT_EQ(t.rows[2][1], "failed");
  for (const char* c : {"corrupt", "good", "notes.txt"})
    EXPECT_EQ(reportViolations(readJson(out / c / "report.json")), "") << c;
}

TEST(BatchCli, DuplicateCaseIdsAndMissingInputsExitWithTwo) {
  const auto d = freshDir("cli_errors");
  writeText(d / "m.csv", "case_id,path\na,x\na,y\n");
  EXPECT_EQ(runSpinescreen("batch --manifest " + shellQuote((d / "m.csv").string()) + " -o " +
                           shellQuote((d / "out").string()))
                .exitCode,
            2);
  EXPECT_EQ(runSpinescreen("batch -o " + shellQuote((d / "out").string())).exitCode, 2);
  EXPECT_EQ(runSpinescreen("batch " + shellQuote((d / "none").string()) + " -o " +
                           shellQuote((d / "out").string()))
                .exitCode,
            2);
}

TEST(Batch, RefusesToStartWithoutARunnableAnalyzeProgram) {
  const auto d = freshDir("noprogram");
  const auto c = cohortOf(d, {"a"});
  batch::BatchOptions o;
  o.executable = (d / "absent").string();
  o.outDir = (d / "out").string();
  std::ostringstream log;
  EXPECT_THROW(batch::runBatch(c, o, log), UsageError);
  EXPECT_FALSE(fs::exists(d / "out" / "a" / "report.json"));
}

TEST(Batch, SecondBatchOnTheSameOutputFolderIsRefused) {
  const auto d = freshDir("lock");
  FakeAnalyzer fake(d);
  const auto c = cohortOf(d, {"hang_a"});
  auto o = fakeOptions(fake, d / "out");
  o.timeoutS = 3;
  std::ostringstream log1;
  std::thread first([&] { batch::runBatch(c, o, log1); });
  for (int i = 0; i < 100 && !fs::exists(d / "out" / "hang_a" / "pid"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ostringstream log2;
  EXPECT_THROW(batch::runBatch(c, o, log2), UsageError);
  first.join();
}

TEST(BatchCli, PassesAnalyzeOptionsThroughAndRejectsABadConfigBeforeRunning) {
  const auto d = freshDir("cli_passthrough");
  FakeAnalyzer fake(d);
  fs::create_directories(d / "in");
  writeText(d / "in" / "s1.nii.gz", "x");
  writeText(d / "good.json", "{}");
  writeText(d / "bad.json", "{\"density\": ");
  const std::string base = "batch " + shellQuote((d / "in").string()) + " -o " +
                           shellQuote((d / "out").string()) + " --analyze-program " +
                           shellQuote(fake.script.string());
  const auto bad = runSpinescreen(base + " --config " + shellQuote((d / "bad.json").string()));
  EXPECT_EQ(bad.exitCode, 2) << bad.output;
  EXPECT_TRUE(fake.runs().empty());
  const auto ok = runSpinescreen(base + " --config " + shellQuote((d / "good.json").string()) +
                                 " --dicom-out --fhir-out --save-masks");
  EXPECT_EQ(ok.exitCode, 0) << ok.output;
  const auto runs = fake.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_NE(runs[0].find("--config " + (d / "good.json").string()), std::string::npos) << runs[0];
  EXPECT_NE(runs[0].find("--dicom-out"), std::string::npos);
  EXPECT_NE(runs[0].find("--fhir-out"), std::string::npos);
  EXPECT_NE(runs[0].find("--save-masks"), std::string::npos);
  EXPECT_EQ(runs[0].find("--vertebrae-mask"), std::string::npos);
}
