// The service's feed, policy and upload steps against a small fake of Orthanc's REST API
// (cpp-httplib server in the test): exactly-once bookkeeping without a real Orthanc.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/image.h"
#include "io/dicom_writer.h"
#include "service/service.h"

using namespace spinescreen;
using namespace spinescreen::service;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("spinescreen-fake-orthanc-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Serves /changes, /series/{id}, /instances/{id}/simplified-tags and POST /instances.
class FakeOrthanc {
 public:
  FakeOrthanc() {
    server_.Get("/changes", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (req.has_param("last")) {
        const int64_t last = changes_.empty() ? 0 : changes_.back()["Seq"].get<int64_t>();
        res.set_content(json{{"Changes", json::array()}, {"Done", true}, {"Last", last}}.dump(),
                        "application/json");
        return;
      }
      const int64_t since = req.has_param("since") ? std::stoll(req.get_param_value("since")) : 0;
      json changes = json::array();
      int64_t last = since;
      for (const auto& c : changes_)
        if (c["Seq"].get<int64_t>() > since) {
          changes.push_back(c);
          last = c["Seq"];
        }
      res.set_content(json{{"Changes", changes}, {"Done", true}, {"Last", last}}.dump(),
                      "application/json");
    });
    server_.Get(R"(/series/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = series_.find(req.matches[1]);
      if (it == series_.end()) {
        res.status = 404;
        return;
      }
      res.set_content(it->second.dump(), "application/json");
    });
    server_.Get(R"(/instances/([^/]+)/simplified-tags)",
                [this](const httplib::Request&, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(mutex_);
                  res.set_content(tags_.dump(), "application/json");
                });
    server_.Get(R"(/instances/([^/]+)/file)",
                [this](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(mutex_);
                  const auto it = files_.find(req.matches[1]);
                  if (it == files_.end()) {
                    res.status = 404;
                    return;
                  }
                  res.set_content(it->second, "application/dicom");
                });
    server_.Post("/instances", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++postAttempts_;
      if (refusePosts_ > 0) {
        --refusePosts_;
        res.status = 500;
        return;
      }
      const bool again = stored_.count(req.body) > 0;  // Orthanc keys on SOP Instance UID
      stored_.insert(req.body);
      res.set_content(json{{"ID", "inst-" + std::to_string(std::hash<std::string>{}(req.body))},
                           {"Status", again ? "AlreadyStored" : "Success"}}
                          .dump(),
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeOrthanc() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void addStableSeries(const std::string& id, int64_t seq, const std::string& modality, int n) {
    std::lock_guard<std::mutex> lock(mutex_);
    changes_.push_back({{"Seq", seq},
                        {"ChangeType", "StableSeries"},
                        {"ResourceType", "Series"},
                        {"ID", id},
                        {"Path", "/series/" + id}});
    json instances = json::array();
    for (int i = 0; i < n; ++i) instances.push_back(id + "-i" + std::to_string(i));
    series_[id] = {
        {"ID", id}, {"MainDicomTags", {{"Modality", modality}}}, {"Instances", instances}};
  }
  // A series whose instances are the given DICOM files.
  void addStableSeriesFiles(const std::string& id, int64_t seq,
                            const std::vector<std::string>& paths) {
    addStableSeries(id, seq, "CT", static_cast<int>(paths.size()));
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < paths.size(); ++i) {
      std::ifstream in(paths[i], std::ios::binary);
      std::ostringstream os;
      os << in.rdbuf();
      files_[id + "-i" + std::to_string(i)] = os.str();
    }
  }
  void addOtherChange(int64_t seq) {
    std::lock_guard<std::mutex> lock(mutex_);
    changes_.push_back({{"Seq", seq},
                        {"ChangeType", "NewInstance"},
                        {"ResourceType", "Instance"},
                        {"ID", "x"},
                        {"Path", "/instances/x"}});
  }
  void setTags(json t) {
    std::lock_guard<std::mutex> lock(mutex_);
    tags_ = std::move(t);
  }
  void refuseNextPosts(int n) {
    std::lock_guard<std::mutex> lock(mutex_);
    refusePosts_ = n;
  }
  int postAttempts() {
    std::lock_guard<std::mutex> lock(mutex_);
    return postAttempts_;
  }
  size_t storedCount() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stored_.size();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  json changes_ = json::array();
  std::map<std::string, json> series_;
  json tags_ = {{"PatientAge", "070Y"}};
  std::set<std::string> stored_;
  std::map<std::string, std::string> files_;
  int refusePosts_ = 0;
  int postAttempts_ = 0;
};

ServiceConfig configFor(const FakeOrthanc& o, const fs::path& work) {
  ServiceConfig c;
  c.orthancUrl = o.url();
  c.workDir = work.string();
  c.maxAttempts = 3;
  c.httpTimeoutSeconds = 5;
  return c;
}

}  // namespace

TEST(ServiceWithFakeOrthanc, FeedCreatesOneJobPerStableSeriesAndResumesFromItsPosition) {
  FakeOrthanc orthanc;
  TempDir work;
  orthanc.addOtherChange(1);
  orthanc.addStableSeries("ct-1", 2, "CT", 120);
  orthanc.addStableSeries("ct-2", 3, "CT", 80);
  std::ostringstream log;
  {
    Service s(configFor(orthanc, work.path), {}, log);
    EXPECT_EQ(s.pollFeedOnce(), 2);
    EXPECT_EQ(s.pollFeedOnce(), 0);
    EXPECT_EQ(s.store().feedPosition(), 3);
  }
  orthanc.addStableSeries("ct-1", 4, "CT", 120);  // the series became stable again
  orthanc.addStableSeries("ct-3", 5, "CT", 90);
  Service s(configFor(orthanc, work.path), {}, log);  // a restart
  EXPECT_EQ(s.pollFeedOnce(), 1);                     // only ct-3 is new
  EXPECT_EQ(s.store().feedPosition(), 5);
  EXPECT_EQ(s.store().counts().queued, 3);
}

TEST(ServiceWithFakeOrthanc, SeriesThePolicyDeclinesAreRecordedOnceWithTheirReason) {
  FakeOrthanc orthanc;
  TempDir work;
  orthanc.addStableSeries("sr-1", 1, "SR", 1);
  orthanc.addStableSeries("ct-short", 2, "CT", 4);
  std::ostringstream log;
  Service s(configFor(orthanc, work.path), {}, log);
  s.pollFeedOnce();
  EXPECT_TRUE(s.processOneJob());
  EXPECT_TRUE(s.processOneJob());
  EXPECT_FALSE(s.processOneJob());
  EXPECT_EQ(s.store().get("sr-1")->state, JobState::kSkipped);
  EXPECT_NE(s.store().get("sr-1")->reason.find("not CT"), std::string::npos);
  EXPECT_EQ(s.store().get("ct-short")->state, JobState::kSkipped);
  EXPECT_NE(s.store().get("ct-short")->reason.find("slices"), std::string::npos);
  EXPECT_EQ(s.status()["processed"], 2);
  EXPECT_EQ(s.status()["queue_length"], 0);
}

TEST(ServiceWithFakeOrthanc, YoungPatientsAreSkippedAndUnknownAgeIsMarked) {
  FakeOrthanc orthanc;
  TempDir work;
  orthanc.addStableSeries("ct-young", 1, "CT", 50);
  std::ostringstream log;
  Service s(configFor(orthanc, work.path), {}, log);
  s.pollFeedOnce();
  orthanc.setTags({{"PatientAge", "034Y"}});
  ASSERT_TRUE(s.processOneJob());
  EXPECT_EQ(s.store().get("ct-young")->state, JobState::kSkipped);
  // The log names the series, not the patient, and not the age.
  EXPECT_EQ(log.str().find("034"), std::string::npos);
  // No age at all: accepted by default and marked (the download then fails here: the fake
  // serves no files, so the job waits for a retry).
  orthanc.addStableSeries("ct-noage", 2, "CT", 50);
  s.pollFeedOnce();
  orthanc.setTags(json::object());
  ASSERT_TRUE(s.processOneJob());
  const auto job = s.store().get("ct-noage");
  EXPECT_TRUE(job->ageUnknown);
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->attempts, 1);
}

TEST(ServiceWithFakeOrthanc, AFailedUploadIsRetriedWithTheSameFilesAndNeverReanalysed) {
  FakeOrthanc orthanc;
  TempDir work;
  orthanc.addStableSeries("ct-1", 1, "CT", 100);
  std::ostringstream log;
  Service s(configFor(orthanc, work.path), {}, log);
  s.pollFeedOnce();
  // As left by an analysis that wrote its outputs, then a crash.
  const fs::path sr = work.path / "sr.dcm", sc = work.path / "sc.dcm";
  std::ofstream(sr) << "SR bytes";
  std::ofstream(sc) << "SC bytes";
  ASSERT_TRUE(s.store().claimNext());
  s.store().markUploading("ct-1", sr.string(), sc.string());
  orthanc.refuseNextPosts(1);
  ASSERT_TRUE(s.processOneJob());  // the upload fails
  auto job = s.store().get("ct-1");
  EXPECT_EQ(job->state, JobState::kUploading);
  EXPECT_NE(job->reason.find("upload"), std::string::npos);
  ASSERT_TRUE(s.processOneJob());  // resumed: same files
  job = s.store().get("ct-1");
  EXPECT_EQ(job->state, JobState::kDone);
  EXPECT_EQ(orthanc.storedCount(), 2u);  // one SR, one SC
  EXPECT_FALSE(job->srOrthancId.empty());
  EXPECT_FALSE(s.processOneJob());
  EXPECT_FALSE(s.status()["last_error"].is_null());
}

TEST(ServiceWithFakeOrthanc, AnUnreachableOrthancIsRetriedABoundedNumberOfTimes) {
  TempDir work;
  std::ostringstream log;
  std::string url;
  {
    FakeOrthanc orthanc;
    orthanc.addStableSeries("ct-1", 1, "CT", 100);
    url = orthanc.url();
    Service s(configFor(orthanc, work.path), {}, log);
    s.pollFeedOnce();
  }
  // Orthanc is gone now.
  ServiceConfig c;
  c.orthancUrl = url;
  c.workDir = work.path.string();
  c.maxAttempts = 2;
  c.httpTimeoutSeconds = 2;
  Service s(c, {}, log);
  EXPECT_TRUE(s.processOneJob());
  EXPECT_EQ(s.store().get("ct-1")->state, JobState::kQueued);
  EXPECT_TRUE(s.processOneJob());
  EXPECT_EQ(s.store().get("ct-1")->state, JobState::kFailed);
  EXPECT_FALSE(s.processOneJob());
  EXPECT_EQ(s.status()["failed"], 1);
}

TEST(ServiceWithFakeOrthanc, AStudyWithNoSpineIsRecordedOnceAsNoOutput) {
  FakeOrthanc orthanc;
  TempDir work;
  // A CT series of 12 slices of air and water: readable, but no spine in view.
  Grid g;
  g.size = {48, 48, 12};
  g.spacing = {4.0, 4.0, 5.0};
  HuVolume ct(g, int16_t{-1000});
  for (int64_t z = 0; z < 12; ++z)
    for (int64_t y = 12; y < 36; ++y)
      for (int64_t x = 12; x < 36; ++x) ct.at(x, y, z) = 0;
  io::DicomSeriesWriteOptions o;
  o.patientAgeYears = 72;
  const auto files = io::writeDicomSeries(ct, o, (work.path / "ct").string());
  orthanc.addStableSeriesFiles("ct-nospine", 1, files);
  std::ostringstream log;
  ServiceConfig c = configFor(orthanc, work.path / "work");
  Service s(c, {}, log);
  s.pollFeedOnce();
  ASSERT_TRUE(s.processOneJob());
  const auto job = s.store().get("ct-nospine");
  EXPECT_EQ(job->state, JobState::kNoOutput) << job->reason << "\n" << log.str();
  EXPECT_EQ(job->reason.rfind("not applicable", 0), 0u) << job->reason;
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(orthanc.postAttempts(), 0);  // nothing uploaded
  EXPECT_FALSE(s.processOneJob());       // and nothing repeated
  EXPECT_EQ(s.pollFeedOnce(), 0);
  EXPECT_EQ(s.status()["no_output"], 1);
}

TEST(ServiceWithFakeOrthanc, FeedStartEndSkipsWhatOrthancAlreadyHeld) {
  FakeOrthanc orthanc;
  TempDir work;
  orthanc.addStableSeries("old-1", 1, "CT", 100);
  orthanc.addStableSeries("old-2", 2, "CT", 100);
  std::ostringstream log;
  ServiceConfig c = configFor(orthanc, work.path);
  c.feedStart = "end";
  {
    Service s(c, {}, log);
    EXPECT_EQ(s.pollFeedOnce(), 0);
    EXPECT_EQ(s.store().feedPosition(), 2);
  }
  orthanc.addStableSeries("new-1", 3, "CT", 100);
  Service s(c, {}, log);  // a restart: the state is not new any more
  EXPECT_EQ(s.pollFeedOnce(), 1);
  EXPECT_TRUE(s.store().get("new-1"));
  EXPECT_FALSE(s.store().get("old-1"));
}
