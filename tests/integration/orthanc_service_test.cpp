// `spinescreen serve` against a real Orthanc (Debian's package, started here on free loopback
// ports with temporary storage): a CT phantom sent with storescu is analysed and its SR and
// SC are stored in the same study; a `kill -9` mid-study and a restart complete the study
// exactly once. Skips only when the Orthanc binary is absent.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "io/dicom_writer.h"
#include "phantom/phantom.h"
#include "support/test_data.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using namespace spinescreen;

namespace {

const char* kUser = "spine";
const char* kPassword = "s3cret-test";

std::string findOrthanc() {
  for (const char* p : {"/usr/sbin/Orthanc", "/usr/bin/Orthanc", "/usr/local/bin/Orthanc"})
    if (fs::exists(p)) return p;
  return {};
}

int freePort() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

// A child process with its output in a log file.
struct Child {
  pid_t pid = -1;
  void start(const std::vector<std::string>& argv, const std::string& logPath) {
    pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  void signal(int sig) {
    if (pid > 0) ::kill(pid, sig);
  }
  // Waits for exit; returns the exit status or -1 after `timeout` (then kills it).
  int wait(std::chrono::seconds timeout = 60s) {
    if (pid <= 0) return -1;
    const auto end = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < end) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    pid = -1;
    return -1;
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int st;
      ::waitpid(pid, &st, 0);
    }
  }
};

std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  std::array<char, 4096> buf;
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int rc = ::pclose(p);
  return {WEXITSTATUS(rc), out};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

template <class F>
bool waitFor(F&& cond, std::chrono::seconds timeout, std::chrono::milliseconds step = 200ms) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(step);
  }
  return cond();
}

struct Http {
  httplib::Client c;
  Http(int port, bool auth) : c("127.0.0.1", port) {
    if (auth) c.set_basic_auth(kUser, kPassword);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(30, 0);
  }
  std::optional<json> get(const std::string& path) {
    auto r = c.Get(path.c_str());
    if (!r || r->status != 200) return std::nullopt;
    try {
      return json::parse(r->body);
    } catch (...) {
      return std::nullopt;
    }
  }
  std::string raw(const std::string& path) {
    auto r = c.Get(path.c_str());
    return r && r->status == 200 ? r->body : std::string();
  }
};

// The CT phantom's DICOM series, written once for the suite (a patient age of 68).
fs::path gSeriesDir;

class OrthancService : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (findOrthanc().empty()) return;
    gSeriesDir =
        fs::temp_directory_path() / ("spinescreen-orthanc-ct-" + std::to_string(::getpid()));
    fs::remove_all(gSeriesDir);
    phantom::PhantomSpec spec = phantom::randomSpec(20261127, 0);
    phantom::setFov(spec, phantom::FovKind::kThoracolumbar);
    spec.matrix = 256;
    spec.patientAgeYears = 68;
    phantom::GenerateOptions go;
    go.masks = false;
    const phantom::Phantom ph = phantom::generate(spec, go);
    io::DicomSeriesWriteOptions o;
    o.seriesDescription = "phantom thoracolumbar CT";
    o.patientAgeYears = 68;
    o.patientSex = spec.patientSex;
    o.patientName = "PHANTOM^SERVICE";
    o.patientId = "PHANTOM-SVC";
    o.sliceThicknessMm = spec.sliceThicknessMm;
    io::writeDicomSeries(ph.ct, o, gSeriesDir.string());
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!gSeriesDir.empty()) fs::remove_all(gSeriesDir, ec);
  }

  void SetUp() override {
    orthancBin_ = findOrthanc();
    if (orthancBin_.empty())
      GTEST_SKIP() << "Orthanc binary not installed (Debian package orthanc)";
    dir_ = fs::temp_directory_path() /
           ("spinescreen-orthanc-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    httpPort_ = freePort();
    dicomPort_ = freePort();
    pacsHttpPort_ = freePort();
    pacsDicomPort_ = freePort();
    const json cfg = {{"Name", "spinescreen-test"},
                      {"DicomModalities", {{"pacs", {"PACSTEST", "127.0.0.1", pacsDicomPort_}}}},
                      {"StorageDirectory", (dir_ / "storage").string()},
                      {"IndexDirectory", (dir_ / "index").string()},
                      {"HttpPort", httpPort_},
                      {"DicomPort", dicomPort_},
                      {"DicomAet", "ORTHANCTEST"},
                      {"RemoteAccessAllowed", false},
                      {"AuthenticationEnabled", true},
                      {"RegisteredUsers", {{kUser, kPassword}}},
                      {"StableAge", 2},
                      {"Plugins", json::array()},
                      {"DicomCheckCalledAet", false}};
    std::ofstream(dir_ / "orthanc.json") << cfg.dump(2);
    orthanc_.start({orthancBin_, (dir_ / "orthanc.json").string()},
                   (dir_ / "orthanc.log").string());
    Http h(httpPort_, true);
    ASSERT_TRUE(waitFor([&] { return h.get("/system").has_value(); }, 30s))
        << slurp(dir_ / "orthanc.log");
    // The service's config: credentials here, never on the command line.
    const json svc = {{"orthanc_username", kUser},
                      {"orthanc_password", kPassword},
                      {"work_dir", (dir_ / "work").string()},
                      {"status_port", 0},
                      {"poll_interval_ms", 200},
                      {"workers", 1},
                      {"max_attempts", 3}};
    std::ofstream(dir_ / "service.json") << svc.dump(2);
  }

  void TearDown() override {
    service_.signal(SIGKILL);
    service_.wait(10s);
    pacs_.signal(SIGTERM);
    pacs_.wait(20s);
    orthanc_.signal(SIGTERM);
    if (orthanc_.wait(20s) < 0) ADD_FAILURE() << "Orthanc did not stop";
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  void sendSeries() {
    const auto [rc, out] = run("storescu -aec ORTHANCTEST 127.0.0.1 " + std::to_string(dicomPort_) +
                               " +sd '" + gSeriesDir.string() + "'");
    ASSERT_EQ(rc, 0) << out;
  }

  void startService() {
    fs::remove(dir_ / "work" / "status.port");
    service_.start({::spinescreen::testing::spinescreenBinary(), "serve", "--orthanc",
                    "http://127.0.0.1:" + std::to_string(httpPort_), "--config",
                    (dir_ / "service.json").string()},
                   (dir_ / "service.log").string());
    ASSERT_TRUE(waitFor(
        [&] {
          return fs::exists(dir_ / "work" / "status.port") &&
                 !slurp(dir_ / "work" / "status.port").empty();
        },
        30s))
        << slurp(dir_ / "service.log");
    statusPort_ = std::stoi(slurp(dir_ / "work" / "status.port"));
  }

  // Orthanc ID of the CT series (waits for it to arrive).
  std::string ctSeriesId() {
    Http h(httpPort_, true);
    std::string id;
    waitFor(
        [&] {
          const auto series = h.get("/series?expand");
          if (!series) return false;
          for (const auto& s : *series)
            if (s["MainDicomTags"].value("Modality", "") == "CT") id = s["ID"];
          return !id.empty();
        },
        30s);
    return id;
  }

  std::optional<json> job(const std::string& seriesId) {
    Http h(statusPort_, false);
    const auto jobs = h.get("/jobs");
    if (!jobs) return std::nullopt;
    for (const auto& j : *jobs)
      if (j["series"] == seriesId) return j;
    return std::nullopt;
  }

  static bool isFinal(const std::string& state) {
    return state == "done" || state == "no_output" || state == "skipped" || state == "failed";
  }

  // Instances of a modality in the CT's study.
  std::vector<std::string> instancesOfModality(const std::string& ctSeries,
                                               const std::string& modality) {
    Http h(httpPort_, true);
    std::vector<std::string> out;
    const auto ct = h.get("/series/" + ctSeries);
    if (!ct) return out;
    const auto series = h.get("/studies/" + (*ct)["ParentStudy"].get<std::string>() + "/series");
    if (!series) return out;
    for (const auto& s : *series)
      if (s["MainDicomTags"].value("Modality", "") == modality)
        for (const auto& i : s["Instances"]) out.push_back(i);
    return out;
  }

  std::string dciodvfyErrors(const std::string& instanceId) {
    Http h(httpPort_, true);
    const fs::path f = dir_ / (instanceId + ".dcm");
    std::ofstream(f, std::ios::binary) << h.raw("/instances/" + instanceId + "/file");
    const auto [rc, out] = run("dciodvfy '" + f.string() + "'");
    std::string errors;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Error", 0) == 0) errors += line + "\n";
    return errors;
  }

  // Checks what the service did with the CT series against what analyze said about it.
  void expectOutcomeMatchesAnalysis(const std::string& ctId, const json& j) {
    const fs::path reportPath = dir_ / "work" / "series" / ctId / "out" / "report.json";
    ASSERT_TRUE(fs::exists(reportPath)) << "no report.json for the CT series";
    const json report = json::parse(slurp(reportPath));
    const std::string status = report.value("status", "");
    const auto srs = instancesOfModality(ctId, "SR");
    const auto scs = instancesOfModality(ctId, "OT");
    std::cout << "[ analysis ] status " << status << " (" << report.value("status_reason", "")
              << "); job " << j["state"] << "; SR instances " << srs.size() << ", SC " << scs.size()
              << std::endl;
    if (status == "ok") {
      EXPECT_EQ(j["state"], "done");
      ASSERT_EQ(srs.size(), 1u);
      ASSERT_EQ(scs.size(), 1u);
      EXPECT_EQ(j["sr_instance"], srs[0]);
      EXPECT_EQ(dciodvfyErrors(srs[0]), "");
      EXPECT_EQ(dciodvfyErrors(scs[0]), "");
      Http h(httpPort_, true);
      const auto tags = h.get("/instances/" + srs[0] + "/simplified-tags");
      ASSERT_TRUE(tags);
      EXPECT_EQ((*tags)["PatientID"], "PHANTOM-SVC");
    } else if (status == "not_applicable") {
      EXPECT_EQ(j["state"], "no_output");
      EXPECT_TRUE(srs.empty());
      EXPECT_TRUE(scs.empty());
    } else {
      EXPECT_EQ(j["state"], "failed");
      EXPECT_TRUE(srs.empty());
    }
  }

  // A second Orthanc standing in for the PACS the results are forwarded to.
  void startPacs() {
    const json cfg = {{"Name", "spinescreen-test-pacs"},
                      {"StorageDirectory", (dir_ / "pacs-storage").string()},
                      {"IndexDirectory", (dir_ / "pacs-index").string()},
                      {"HttpPort", pacsHttpPort_},
                      {"DicomPort", pacsDicomPort_},
                      {"DicomAet", "PACSTEST"},
                      {"RemoteAccessAllowed", false},
                      {"AuthenticationEnabled", true},
                      {"RegisteredUsers", {{kUser, kPassword}}},
                      {"Plugins", json::array()},
                      {"DicomCheckCalledAet", false}};
    std::ofstream(dir_ / "pacs.json") << cfg.dump(2);
    pacs_.start({orthancBin_, (dir_ / "pacs.json").string()}, (dir_ / "pacs.log").string());
    Http h(pacsHttpPort_, true);
    ASSERT_TRUE(waitFor([&] { return h.get("/system").has_value(); }, 30s))
        << slurp(dir_ / "pacs.log");
  }

  std::string orthancBin_;
  fs::path dir_;
  int httpPort_ = 0, dicomPort_ = 0, statusPort_ = 0, pacsHttpPort_ = 0, pacsDicomPort_ = 0;
  Child orthanc_, service_, pacs_;
};

}  // namespace

TEST_F(OrthancService, AnalysesAStableCtSeriesAndStoresItsResultsInTheSameStudy) {
  sendSeries();
  const std::string ctId = ctSeriesId();
  ASSERT_FALSE(ctId.empty());
  startService();
  std::optional<json> j;
  ASSERT_TRUE(waitFor([&] { return (j = job(ctId)) && isFinal((*j)["state"]); }, 300s))
      << slurp(dir_ / "service.log");
  EXPECT_EQ((*j)["attempts"], 1);
  expectOutcomeMatchesAnalysis(ctId, *j);
  Http s(statusPort_, false);
  const auto status = s.get("/status");
  ASSERT_TRUE(status);
  EXPECT_GE((*status)["processed"].get<int>(), 1);
  EXPECT_EQ((*status)["failed"], 0);
  EXPECT_TRUE(s.get("/health").has_value());
  // Logs carry no patient name or ID.
  const std::string log = slurp(dir_ / "service.log");
  EXPECT_EQ(log.find("PHANTOM^SERVICE"), std::string::npos);
  EXPECT_EQ(log.find("PHANTOM-SVC"), std::string::npos);
  service_.signal(SIGTERM);
  EXPECT_EQ(service_.wait(120s), 0);
}

TEST_F(OrthancService, KillNineMidStudyThenRestartCompletesItExactlyOnce) {
  sendSeries();
  const std::string ctId = ctSeriesId();
  ASSERT_FALSE(ctId.empty());
  startService();
  // Kill as soon as a worker has the series.
  std::optional<json> j;
  ASSERT_TRUE(waitFor([&] { return (j = job(ctId)) && (*j)["state"] != "queued"; }, 120s, 20ms))
      << slurp(dir_ / "service.log");
  const std::string stateAtKill = (*j)["state"];
  service_.signal(SIGKILL);
  service_.wait(10s);
  std::cout << "[ kill -9 ] job state when killed: " << stateAtKill << std::endl;
  EXPECT_FALSE(isFinal(stateAtKill)) << "the study finished before it could be interrupted";

  startService();
  ASSERT_TRUE(waitFor([&] { return (j = job(ctId)) && isFinal((*j)["state"]); }, 300s))
      << slurp(dir_ / "service.log");
  EXPECT_EQ((*j)["attempts"], 2);  // the interrupted attempt and the one that completed
  expectOutcomeMatchesAnalysis(ctId, *j);

  // A further restart repeats nothing: the feed position and the job states persisted.
  service_.signal(SIGTERM);
  EXPECT_EQ(service_.wait(120s), 0);
  startService();
  // The service may still see our own SR and SC series become stable (Orthanc reports them
  // only after its stable age) and queue them for the policy to decline: wait until it is idle.
  Http s(statusPort_, false);
  std::optional<json> status;
  EXPECT_TRUE(waitFor(
      [&] {
        status = s.get("/status");
        return status && (*status)["queue_length"] == 0 && (*status)["running"] == 0;
      },
      60s))
      << (status ? status->dump() : "no status");
  j = job(ctId);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["attempts"], 2);
  EXPECT_LE(instancesOfModality(ctId, "SR").size(), 1u);
}

TEST_F(OrthancService, ForwardsTheResultsToTheConfiguredPacs) {
  startPacs();
  json svc = json::parse(slurp(dir_ / "service.json"));
  svc["forward_modality"] = "pacs";
  std::ofstream(dir_ / "service.json") << svc.dump(2);
  sendSeries();
  const std::string ctId = ctSeriesId();
  ASSERT_FALSE(ctId.empty());
  startService();
  std::optional<json> j;
  ASSERT_TRUE(waitFor([&] { return (j = job(ctId)) && isFinal((*j)["state"]); }, 300s))
      << slurp(dir_ / "service.log");
  const fs::path reportPath = dir_ / "work" / "series" / ctId / "out" / "report.json";
  ASSERT_TRUE(fs::exists(reportPath));
  const std::string status = json::parse(slurp(reportPath)).value("status", "");
  Http pacs(pacsHttpPort_, true);
  const auto instances = pacs.get("/instances?expand");
  ASSERT_TRUE(instances);
  std::set<std::string> sopClasses;
  for (const auto& i : *instances) {
    const auto tags = pacs.get("/instances/" + i["ID"].get<std::string>() + "/simplified-tags");
    if (tags) sopClasses.insert((*tags).value("SOPClassUID", ""));
  }
  std::cout << "[ forward ] analysis " << status << "; job " << (*j)["state"] << " ("
            << (*j)["reason"] << "); instances at the PACS: " << instances->size() << std::endl;
  if (status == "ok") {
    EXPECT_EQ((*j)["state"], "done");
    EXPECT_EQ(instances->size(), 2u);
    EXPECT_TRUE(sopClasses.count("1.2.840.10008.5.1.4.1.1.88.22"));  // Enhanced SR
    EXPECT_TRUE(sopClasses.count("1.2.840.10008.5.1.4.1.1.7"));      // Secondary Capture
  } else {
    EXPECT_TRUE(instances->empty());
  }
}
