#include "service/service.h"

#include <httplib.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace spinescreen::service {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string utcNow() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string tag(const json& tags, const char* name) {
  const auto it = tags.find(name);
  return it != tags.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Service::Service(ServiceConfig config, pipeline::AnalysisConfig analysis, std::ostream& log)
    : config_(std::move(config)), analysis_(analysis), log_(log) {
  validate(config_);
  std::error_code ec;
  fs::create_directories(fs::path(config_.workDir) / "series", ec);
  if (ec) throw UsageError("cannot create the work folder " + config_.workDir);
  store_ = std::make_unique<JobStore>((fs::path(config_.workDir) / "state.sqlite").string());
  const int recovered = store_->recoverAfterRestart();
  if (recovered > 0)
    logLine("resuming " + std::to_string(recovered) + " series left running by a previous run");
}

Service::~Service() { stop(); }

std::unique_ptr<OrthancClient> Service::newClient() const {
  return std::make_unique<OrthancClient>(config_.orthancUrl, config_.orthancUser,
                                         config_.orthancPassword, config_.httpTimeoutSeconds);
}

void Service::logLine(const std::string& line) {
  std::lock_guard<std::mutex> lock(logMutex_);
  log_ << utcNow() << " " << line << '\n';
  log_.flush();
}

void Service::setLastError(const std::string& e) {
  std::lock_guard<std::mutex> lock(errorMutex_);
  lastError_ = utcNow() + " " + e;
}

int Service::start() {
  http_ = std::make_unique<httplib::Server>();
  http_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const json j = {{"status", stopping_ ? "stopping" : "ok"},
                    {"orthanc_reachable", orthancReachable_.load()}};
    res.set_content(j.dump(), "application/json");
  });
  http_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(status().dump(2), "application/json");
  });
  http_->Get("/jobs", [this](const httplib::Request&, httplib::Response& res) {
    json arr = json::array();
    for (const auto& j : store_->list(500))
      arr.push_back({{"series", j.seriesId},
                     {"state", toString(j.state)},
                     {"attempts", j.attempts},
                     {"reason", j.reason},
                     {"age_unknown", j.ageUnknown},
                     {"sr_instance", j.srOrthancId},
                     {"sc_instance", j.scOrthancId},
                     {"updated", j.updatedUtc}});
    res.set_content(arr.dump(2), "application/json");
  });
  if (config_.statusPort == 0) {
    statusPort_ = http_->bind_to_any_port(config_.statusHost);
    if (statusPort_ <= 0) throw UsageError("cannot open a status port on " + config_.statusHost);
  } else {
    if (!http_->bind_to_port(config_.statusHost, config_.statusPort))
      throw UsageError("cannot listen on " + config_.statusHost + ":" +
                       std::to_string(config_.statusPort));
    statusPort_ = config_.statusPort;
  }
  {
    std::ofstream portFile(fs::path(config_.workDir) / "status.port");
    portFile << statusPort_ << '\n';
  }
  httpThread_ = std::thread([this] { http_->listen_after_bind(); });
  feedThread_ = std::thread([this] { feedLoop(); });
  for (int i = 0; i < config_.workers; ++i) workers_.emplace_back([this] { workerLoop(); });
  logLine("serving: Orthanc " + config_.orthancUrl + ", " + std::to_string(config_.workers) +
          " worker(s), status on http://" + config_.statusHost + ":" + std::to_string(statusPort_));
  return statusPort_;
}

void Service::stop() {
  if (stopping_.exchange(true)) return;
  wake_.notify_all();
  if (feedThread_.joinable()) feedThread_.join();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
  workers_.clear();
  if (http_) http_->stop();
  if (httpThread_.joinable()) httpThread_.join();
}

int Service::pollFeedOnce() {
  auto client = newClient();
  int created = 0;
  if (config_.feedStart == "end" && store_->isFresh()) {
    const int64_t last = client->lastChange();
    store_->setFeedPosition(last);
    logLine("new state: starting after Orthanc's change " + std::to_string(last) +
            " (feed_start \"end\")");
  }
  int64_t since = store_->feedPosition();
  for (;;) {
    const ChangePage page = client->changes(since, 100);
    orthancReachable_ = true;
    for (const auto& c : page.changes) {
      if (c.type == "StableSeries" && c.resourceType == "Series") {
        if (store_->enqueueFromFeed(c.id, c.seq)) {
          ++created;
          logLine("series " + c.id + ": queued (change " + std::to_string(c.seq) + ")");
        }
      }
    }
    if (page.last > since) store_->setFeedPosition(page.last);
    since = std::max(since, page.last);
    if (page.done || page.changes.empty()) break;
  }
  if (created > 0) wake_.notify_all();
  return created;
}

void Service::feedLoop() {
  while (!stopping_) {
    try {
      pollFeedOnce();
    } catch (const std::exception& e) {
      orthancReachable_ = false;
      setLastError(e.what());
      logLine(std::string("feed: ") + e.what());
    }
    std::unique_lock<std::mutex> lock(wakeMutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(config_.pollIntervalMs),
                   [this] { return stopping_.load(); });
  }
}

void Service::workerLoop() {
  while (!stopping_) {
    bool worked = false;
    try {
      worked = processOneJob();
    } catch (const std::exception& e) {
      setLastError(e.what());
      logLine(std::string("worker: ") + e.what());
    }
    if (!worked) {
      std::unique_lock<std::mutex> lock(wakeMutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(config_.pollIntervalMs),
                     [this] { return stopping_.load(); });
    }
  }
}

bool Service::processOneJob() {
  std::optional<Job> job = store_->claimNext();
  if (!job) return false;
  process(std::move(*job));
  return true;
}

SeriesFacts Service::fetchFacts(const std::string& seriesId, OrthancClient& client) {
  const json series = client.series(seriesId);
  SeriesFacts f;
  const json main = series.value("MainDicomTags", json::object());
  f.modality = tag(main, "Modality");
  f.bodyPart = tag(main, "BodyPartExamined");
  const json instances = series.value("Instances", json::array());
  f.slices = static_cast<int>(instances.size());
  if (!instances.empty()) {
    const json tags = client.instanceTags(instances[0].get<std::string>());
    if (f.modality.empty()) f.modality = tag(tags, "Modality");
    if (f.bodyPart.empty()) f.bodyPart = tag(tags, "BodyPartExamined");
    f.sopClassUid = tag(tags, "SOPClassUID");
    f.ageYears = parseDicomAge(tag(tags, "PatientAge"));
    if (!f.ageYears)
      f.ageYears = ageFromDates(tag(tags, "PatientBirthDate"), tag(tags, "StudyDate"));
    if (instances.size() == 1) {
      const std::string frames = tag(tags, "NumberOfFrames");
      if (!frames.empty()) {
        try {
          f.slices = std::max(f.slices, std::stoi(frames));
        } catch (const std::exception&) {
        }
      }
    }
  }
  return f;
}

void Service::download(const std::string& seriesId, const std::string& dir, OrthancClient& client) {
  const json series = client.series(seriesId);
  fs::create_directories(dir);
  int n = 0;
  for (const auto& id : series.value("Instances", json::array())) {
    const std::string bytes = client.instanceFile(id.get<std::string>());
    char name[32];
    std::snprintf(name, sizeof name, "%06d.dcm", n++);
    std::ofstream out(fs::path(dir) / name, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw UsageError("cannot write into the work folder " + dir);
  }
}

void Service::process(Job job) {
  const std::string& id = job.seriesId;
  if (job.state == JobState::kUploading) {
    logLine("series " + id + ": resuming upload");
    upload(job);
    return;
  }
  const fs::path dir = fs::path(config_.workDir) / "series" / id;
  const fs::path in = dir / "in";
  const fs::path out = dir / "out";
  try {
    auto client = newClient();
    const SeriesFacts facts = fetchFacts(id, *client);
    const PolicyDecision d = decide(facts, config_.policy);
    store_->setAgeUnknown(id, d.ageUnknown);
    if (!d.accept) {
      store_->finish(id, JobState::kSkipped, d.reason);
      logLine("series " + id + ": skipped: " + d.reason);
      return;
    }
    logLine("series " + id + ": analysing (attempt " + std::to_string(job.attempts) + ")" +
            (d.ageUnknown ? "; patient age unknown" : ""));
    std::error_code ec;
    fs::remove_all(in, ec);
    fs::remove_all(out, ec);
    download(id, in.string(), *client);
    pipeline::AnalyzeOptions opt;
    opt.input = in.string();
    opt.outDir = out.string();
    opt.dicomOut = true;
    opt.fhirOut = true;
    std::ostringstream analysisLog;  // runAnalyze never logs identifying data
    const int rc = pipeline::runAnalyze(opt, analysis_, analysisLog);
    {
      std::istringstream lines(analysisLog.str());
      const std::string prefix = "series " + id + ": analyze: ";
      for (std::string line; std::getline(lines, line);)
        if (!line.empty()) logLine(prefix + line);
    }
    fs::remove_all(in, ec);
    json report;
    try {
      std::ifstream r(out / "report.json");
      report = json::parse(r);
    } catch (const std::exception&) {
      throw Error(ErrorCode::kInternal,
                  "analysis wrote no readable report.json (exit code " + std::to_string(rc) + ")");
    }
    const std::string status = report.value("status", "");
    const std::string reason = report.value("status_reason", "");
    if (status == "ok") {
      const fs::path sr = out / "sr.dcm", sc = out / "sc.dcm";
      if (!fs::exists(sr))
        throw Error(ErrorCode::kInternal, "analysed, but sr.dcm was not written");
      store_->markUploading(id, sr.string(), fs::exists(sc) ? sc.string() : "");
      job.srPath = sr.string();
      job.scPath = fs::exists(sc) ? sc.string() : "";
      job.state = JobState::kUploading;
      upload(job);
      return;
    }
    if (status == "not_applicable") {
      store_->finish(id, JobState::kNoOutput, "not applicable: " + reason);
      ++processedThisRun_;
      logLine("series " + id + ": not applicable: " + reason);
      if (!config_.keepOutputs) fs::remove_all(dir, ec);
      return;
    }
    throw Error(ErrorCode::kInputInvalid, "analysis failed: " + reason);
  } catch (const std::exception& e) {
    const JobState st = store_->failAttempt(id, e.what(), config_.maxAttempts);
    setLastError("series " + id + ": " + e.what());
    logLine("series " + id + ": attempt " + std::to_string(job.attempts) + " failed: " + e.what() +
            (st == JobState::kFailed ? " (giving up)" : " (will retry)"));
  }
}

void Service::upload(const Job& job) {
  const std::string& id = job.seriesId;
  try {
    auto client = newClient();
    const StoredInstance sr = client->store(readFile(job.srPath));
    StoredInstance sc;
    if (!job.scPath.empty()) sc = client->store(readFile(job.scPath));
    store_->recordUploaded(id, sr.id, sc.id);
    if (!config_.forwardModality.empty()) {
      std::vector<std::string> ids = {sr.id};
      if (!sc.id.empty()) ids.push_back(sc.id);
      client->forward(config_.forwardModality, ids);
    }
    std::string what = "SR" + std::string(sc.id.empty() ? "" : " and SC") + " stored";
    if (sr.status == "AlreadyStored") what += " (already present)";
    if (!config_.forwardModality.empty()) what += ", forwarded to " + config_.forwardModality;
    store_->finish(id, JobState::kDone, what);
    ++processedThisRun_;
    logLine("series " + id + ": " + what);
    if (!config_.keepOutputs) {
      std::error_code ec;
      fs::remove_all(fs::path(config_.workDir) / "series" / id, ec);
    }
  } catch (const std::exception& e) {
    // The same files are sent again on the next attempt: Orthanc keeps one copy per SOP
    // Instance UID, so a retried upload never duplicates a result.
    const JobState st = store_->failAttempt(id, std::string("upload: ") + e.what(),
                                            config_.maxAttempts, JobState::kUploading);
    setLastError("series " + id + ": upload: " + e.what());
    logLine("series " + id + ": upload failed: " + e.what() +
            (st == JobState::kFailed ? " (giving up)" : " (will retry)"));
  }
}

json Service::status() {
  const StoreCounts c = store_->counts();
  std::string lastError;
  {
    std::lock_guard<std::mutex> lock(errorMutex_);
    lastError = lastError_;
  }
  json j = {{"queue_length", c.queued + c.uploading},
            {"running", c.running},
            {"processed", c.done + c.noOutput + c.skipped},
            {"done", c.done},
            {"no_output", c.noOutput},
            {"skipped", c.skipped},
            {"failed", c.failed},
            {"feed_position", store_->feedPosition()},
            {"workers", config_.workers},
            {"orthanc_reachable", orthancReachable_.load()},
            {"last_error", lastError.empty() ? json(nullptr) : json(lastError)}};
  return j;
}

}  // namespace spinescreen::service
