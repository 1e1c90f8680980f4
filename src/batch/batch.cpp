#include "batch/batch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "batch/csv.h"
#include "core/errors.h"
#include "core/version.h"

extern char** environ;

namespace spinescreen::batch {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

volatile sig_atomic_t gStopRequested = 0;

const char* const kReservedNames[] = {"summary.csv", "summary.csv.tmp", "analyses.jsonl"};

std::string stripNiftiExtension(const std::string& name, bool* isNifti) {
  auto endsWith = [&](const std::string& s) {
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  *isNifti = true;
  if (endsWith(".nii.gz")) return name.substr(0, name.size() - 7);
  if (endsWith(".nii")) return name.substr(0, name.size() - 4);
  *isNifti = false;
  return name;
}

// Writes text through a temporary file in the same folder and a rename.
void writeFileAtomically(const fs::path& target, const std::string& text) {
  const fs::path tmp = target.parent_path() /
                       (".tmp." + target.filename().string() + "." + std::to_string(getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw UsageError("cannot write " + target.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw UsageError("cannot write " + target.string() + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw UsageError("cannot write " + target.string() + ": " + std::strerror(err));
  }
}

std::string formatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// A summary field from a JSON value: strings as they are, numbers plainly, booleans as
// true/false, lists of strings joined with ';', null or absent as empty.
std::string fieldOf(const json* v) {
  if (!v || v->is_null()) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
  if (v->is_number_integer()) return std::to_string(v->get<long long>());
  if (v->is_number()) return formatNumber(v->get<double>());
  if (v->is_array()) {
    std::string out;
    for (const auto& e : *v) {
      if (!out.empty()) out += ';';
      out += fieldOf(&e);
    }
    return out;
  }
  return {};
}

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string signalName(int sig) {
  const char* d = ::strsignal(sig);
  return "signal " + std::to_string(sig) + (d ? std::string(" (") + d + ")" : std::string());
}

json failedReport(const Study& s, const std::string& reason) {
  json j;
  j["schema_version"] = "1";
  j["tool"] = {{"name", kToolName}, {"version", kVersion}};
  j["status"] = "failed";
  j["status_reason"] = reason;
  j["input"] = {{"path", s.path}};
  j["vertebrae"] = json::array();
  j["patient"] = {{"fracture_detected", false},        {"max_genant_grade", nullptr},
                  {"fractured_levels", json::array()}, {"fracture_score", nullptr},
                  {"l1_trabecular_hu", nullptr},       {"density_hu", nullptr},
                  {"density_level", nullptr},          {"bone_density_category", nullptr},
                  {"referral_recommended", false},     {"referral_reasons", json::array()}};
  j["outputs"] = json::object();
  j["warnings"] = json::array({"report written by batch: analyze left none"});
  return j;
}

// Removes what an interrupted analyze may have left that could be mistaken for a result.
void clearUnfinished(const fs::path& caseDir) {
  std::error_code ec;
  if (!fs::is_directory(caseDir, ec)) return;
  fs::remove(caseDir / "report.json", ec);
  fs::remove(caseDir / "batch.json", ec);
  for (const auto& e : fs::directory_iterator(caseDir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".tmp.", 0) == 0) fs::remove(e.path(), ec);
  }
}

std::optional<double> readSeconds(const fs::path& caseDir, const json& report) {
  std::ifstream in(caseDir / "batch.json");
  if (in) {
    try {
      const json j = json::parse(in);
      if (j.is_object() && j.contains("seconds") && j["seconds"].is_number())
        return j["seconds"].get<double>();
    } catch (const json::exception&) {
    }
  }
  if (const json* t = member(report, "timing_ms"))
    if (const json* total = member(*t, "total"))
      if (total->is_number()) return total->get<double>() / 1000.0;
  return std::nullopt;
}

std::string formatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--:--";
  const long t = std::lround(s);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

// OUTDIR/analyses.jsonl: one JSON line per event, only ever appended to, never rewritten or
// read back by batch. It lets anyone count how many times each study was started and finished
// across runs and interruptions (a study cut off by a kill has a `start` without an `end`).
// Each line goes out in one write() on an O_APPEND descriptor, so a kill leaves whole lines.
class AnalysisLog {
 public:
  explicit AnalysisLog(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw UsageError("cannot write " + path.string() + ": " + std::strerror(errno));
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    // Unique across processes and across runs within one process (tests, a service).
    char tag[16];
    std::snprintf(tag, sizeof tag, "%08x", static_cast<unsigned>(std::random_device{}()));
    run_ = std::string(stamp) + "-" + std::to_string(::getpid()) + "-" + tag;
  }
  AnalysisLog(const AnalysisLog&) = delete;
  AnalysisLog& operator=(const AnalysisLog&) = delete;
  ~AnalysisLog() { ::close(fd_); }

  void write(const std::string& event, const json& fields) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json j = {{"event", event}, {"run", run_}, {"time", stamp}};
    j.update(fields);
    const std::string line = j.dump() + "\n";
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the log is a record, not a result: never stop the cohort for it
      done += static_cast<size_t>(n);
    }
  }

 private:
  int fd_ = -1;
  std::string run_;
};

// Peak resident memory in MB from a getrusage/wait4 record (ru_maxrss is in KB on Linux).
double maxRssMb(const struct rusage& ru) {
  return std::round(static_cast<double>(ru.ru_maxrss) / 1024.0 * 10.0) / 10.0;
}

struct Child {
  size_t index = 0;
  pid_t pid = -1;
  std::chrono::steady_clock::time_point start;
  bool timedOut = false;
};

// Starts `EXE analyze PATH -o CASEDIR ...` in its own process group, with its output in
// CASEDIR/analyze.log, an address-space limit, and death when the batch process dies.
pid_t spawn(const BatchOptions& o, const Study& s, const fs::path& caseDir, int threadsPerChild) {
  std::vector<std::string> args = {o.executable, "analyze", s.path, "-o", caseDir.string()};
  if (s.mask) {
    args.emplace_back("--vertebrae-mask");
    args.push_back(*s.mask);
  }
  args.insert(args.end(), o.analyzeArgs.begin(), o.analyzeArgs.end());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> envStrings;
  bool haveItkThreads = false;
  for (char** e = environ; e && *e; ++e) {
    envStrings.emplace_back(*e);
    if (envStrings.back().rfind("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=", 0) == 0)
      haveItkThreads = true;
  }
  if (!haveItkThreads)
    envStrings.push_back("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=" + std::to_string(threadsPerChild));
  std::vector<char*> envp;
  envp.reserve(envStrings.size() + 1);
  for (auto& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const fs::path logPath = caseDir / "analyze.log";
  const int logFd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (logFd < 0) throw UsageError("cannot write " + logPath.string());
  const int nullFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const rlim_t limit =
      o.maxMemoryMb > 0 ? static_cast<rlim_t>(o.maxMemoryMb) * 1024 * 1024 : RLIM_INFINITY;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(logFd);
    if (nullFd >= 0) ::close(nullFd);
    throw Error(ErrorCode::kInternal, std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    struct rlimit rl;
    rl.rlim_cur = limit;
    rl.rlim_max = limit;
    if (limit != RLIM_INFINITY) ::setrlimit(RLIMIT_AS, &rl);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (nullFd >= 0) ::dup2(nullFd, 0);
    ::dup2(logFd, 1);
    ::dup2(logFd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "batch: cannot start the analyze program\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also in the parent, so a kill right away reaches the group
  ::close(logFd);
  if (nullFd >= 0) ::close(nullFd);
  return pid;
}

class Progress {
 public:
  Progress(std::ostream& log, bool bar, int total, int alreadyDone)
      : log_(log), bar_(bar), total_(total), done_(alreadyDone), start_(clock::now()) {}

  void finished(const std::string& caseId, const std::string& status, const std::string& note,
                double seconds) {
    ++done_;
    ++ranNow_;
    if (status == "failed") ++failed_;
    if (bar_) {
      draw();
    } else {
      log_ << "[" << done_ << "/" << total_ << "] " << caseId << ": " << status;
      if (!note.empty()) log_ << " (" << note << ")";
      char buf[32];
      std::snprintf(buf, sizeof buf, " %.1f s", seconds);
      log_ << buf << '\n' << std::flush;
    }
  }
  void tick() {
    if (!bar_) return;
    const auto now = clock::now();
    if (now - lastDraw_ < std::chrono::milliseconds(500)) return;
    draw();
  }
  void addFailedSkipped(int n) { failed_ += n; }
  void end() {
    if (bar_) {
      draw();
      log_ << '\n' << std::flush;
    }
  }
  double perMinute() const {
    const double min = std::chrono::duration<double>(clock::now() - start_).count() / 60.0;
    return min > 0 && ranNow_ > 0 ? ranNow_ / min : 0.0;
  }

 private:
  using clock = std::chrono::steady_clock;
  void draw() {
    lastDraw_ = clock::now();
    const int width = 30;
    const int filled =
        total_ > 0 ? static_cast<int>(std::lround(width * double(done_) / total_)) : width;
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < width) bar += '>';
    bar.resize(width, ' ');
    const double rate = perMinute();
    const double eta = rate > 0 ? (total_ - done_) / rate * 60.0 : NAN;
    char buf[200];
    std::snprintf(buf, sizeof buf, "\r[%s] %d/%d done, %d failed, %.1f studies/min, ETA %s  ",
                  bar.c_str(), done_, total_, failed_, rate, formatDuration(eta).c_str());
    log_ << buf << std::flush;
  }
  std::ostream& log_;
  bool bar_;
  int total_;
  int done_;
  int ranNow_ = 0;
  int failed_ = 0;
  clock::time_point start_;
  clock::time_point lastDraw_{};
};

}  // namespace

void requestStop() { gStopRequested = 1; }

bool isSafeCaseId(const std::string& id) {
  if (id.empty() || id.size() > 200 || id == "." || id == ".." || id[0] == '.') return false;
  for (const char* r : kReservedNames)
    if (id == r) return false;
  for (unsigned char c : id)
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) return false;
  return true;
}

Cohort listStudies(const std::string& dir, const std::string& skip) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw UsageError("not a folder: " + dir);
  std::vector<fs::directory_entry> entries;
  fs::directory_iterator it(dir, ec);
  if (ec) throw UsageError("cannot read folder " + dir + ": " + ec.message());
  for (const auto& e : it) entries.push_back(e);
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  const fs::path skipPath = skip.empty() ? fs::path() : fs::weakly_canonical(skip, ec);
  Cohort c;
  std::map<std::string, std::string> seen;
  for (const auto& e : entries) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!skipPath.empty() && fs::weakly_canonical(e.path(), ec) == skipPath) continue;
    Study s;
    bool isNifti = false;
    if (e.is_directory(ec)) {
      s.caseId = name;
    } else {
      s.caseId = stripNiftiExtension(name, &isNifti);
    }
    // Error paths, each building one message and throwing:
    // NOLINTBEGIN(performance-inefficient-string-concatenation)
    if (!isSafeCaseId(s.caseId))
      throw UsageError("'" + name + "' in " + dir +
                       " gives a case_id that cannot be a folder name");
    if (auto prev = seen.find(s.caseId); prev != seen.end())
      throw UsageError("duplicate case_id '" + s.caseId + "' from '" + prev->second + "' and '" +
                       name + "' in " + dir);
    // NOLINTEND(performance-inefficient-string-concatenation)
    seen[s.caseId] = name;
    s.path = fs::absolute(e.path()).lexically_normal().string();
    c.studies.push_back(std::move(s));
  }
  return c;
}

const std::vector<std::string>& summaryHeader() {
  static const std::vector<std::string> h = {"case_id",          "status",
                                             "status_reason",    "levels_found",
                                             "max_genant_grade", "fractured_levels",
                                             "l1_trabecular_hu", "density_hu",
                                             "density_level",    "bone_density_category",
                                             "fracture_score",   "referral_recommended",
                                             "seconds"};
  return h;
}

Cohort readManifest(const std::string& manifestPath) {
  csv::Table t;
  try {
    t = csv::readTable(manifestPath);
  } catch (const InputError& e) {
    throw UsageError(std::string("manifest: ") + e.what());
  }
  const int caseCol = t.column("case_id");
  const int pathCol = t.column("path");
  const int maskCol = t.column("mask");
  if (caseCol < 0) throw UsageError("manifest " + manifestPath + " has no case_id column");
  if (pathCol < 0) throw UsageError("manifest " + manifestPath + " has no path column");
  std::error_code ec;
  const fs::path base = fs::absolute(fs::path(manifestPath), ec).parent_path();
  Cohort c;
  std::vector<int> extraCols;
  const auto& header = summaryHeader();
  for (size_t i = 0; i < t.header.size(); ++i) {
    const int col = static_cast<int>(i);
    if (col == caseCol || col == pathCol || col == maskCol) continue;
    if (std::find(header.begin(), header.end(), t.header[i]) != header.end())
      throw UsageError("manifest " + manifestPath + ": column '" + t.header[i] +
                       "' has the name of a summary column; rename it");
    extraCols.push_back(col);
    c.extraColumns.push_back(t.header[i]);
  }
  auto resolve = [&](const std::string& p) {
    fs::path q(p);
    if (q.is_relative()) q = base / q;
    return q.lexically_normal().string();
  };
  std::map<std::string, int> seen;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const std::string where =
        "manifest " + manifestPath + " line " + std::to_string(t.lineOfRow[r]);
    Study s;
    s.caseId = row[static_cast<size_t>(caseCol)];
    if (s.caseId.empty()) throw UsageError(where + ": empty case_id");
    if (!isSafeCaseId(s.caseId))
      throw UsageError(where + ": case_id '" + s.caseId + "' cannot be a folder name");
    if (auto prev = seen.find(s.caseId); prev != seen.end())
      throw UsageError(where + ": duplicate case_id '" + s.caseId + "' (first on line " +
                       std::to_string(prev->second) + ")");
    seen[s.caseId] = t.lineOfRow[r];
    const std::string& p = row[static_cast<size_t>(pathCol)];
    if (p.empty()) throw UsageError(where + ": empty path");
    s.path = resolve(p);
    if (maskCol >= 0 && !row[static_cast<size_t>(maskCol)].empty())
      s.mask = resolve(row[static_cast<size_t>(maskCol)]);
    for (int col : extraCols) s.extra.push_back(row[static_cast<size_t>(col)]);
    c.studies.push_back(std::move(s));
  }
  return c;
}

std::vector<std::string> summaryFields(const std::string& caseId, const json& r,
                                       std::optional<double> seconds) {
  std::vector<std::string> f;
  f.push_back(caseId);
  f.push_back(fieldOf(member(r, "status")));
  f.push_back(fieldOf(member(r, "status_reason")));
  std::string levels;
  if (const json* vs = member(r, "vertebrae"); vs && vs->is_array()) {
    for (const auto& v : *vs) {
      const json* l = member(v, "label");
      if (!l || !l->is_string()) continue;
      if (!levels.empty()) levels += ';';
      levels += l->get<std::string>();
    }
  }
  f.push_back(levels);
  const json* p = member(r, "patient");
  static const json kNull;
  const json& pj = p ? *p : kNull;
  f.push_back(fieldOf(member(pj, "max_genant_grade")));
  f.push_back(fieldOf(member(pj, "fractured_levels")));
  f.push_back(fieldOf(member(pj, "l1_trabecular_hu")));
  f.push_back(fieldOf(member(pj, "density_hu")));
  f.push_back(fieldOf(member(pj, "density_level")));
  f.push_back(fieldOf(member(pj, "bone_density_category")));
  f.push_back(fieldOf(member(pj, "fracture_score")));
  f.push_back(fieldOf(member(pj, "referral_recommended")));
  if (seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", *seconds);
    f.emplace_back(buf);
  } else {
    f.emplace_back();
  }
  return f;
}

std::optional<json> readCompleteReport(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  try {
    json j = json::parse(in);
    if (!j.is_object()) return std::nullopt;
    const json* s = member(j, "status");
    if (!s || !s->is_string()) return std::nullopt;
    const std::string st = s->get<std::string>();
    if (st != "ok" && st != "not_applicable" && st != "failed") return std::nullopt;
    return j;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

BatchResult runBatch(const Cohort& cohort, const BatchOptions& o, std::ostream& log) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  if (o.jobs < 1) throw UsageError("--jobs must be at least 1");
  if (!(o.timeoutS > 0)) throw UsageError("--timeout-s must be positive");
  if (o.maxMemoryMb < 0) throw UsageError("--max-memory-mb must not be negative");
  if (::access(o.executable.c_str(), X_OK) != 0)
    throw UsageError("cannot run the analyze program " + o.executable);
  const fs::path out(o.outDir);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (!fs::is_directory(out, ec)) throw UsageError("cannot create output folder " + o.outDir);

  // One batch per output folder at a time.
  const fs::path lockPath = out / ".batch.lock";
  const int lockFd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lockFd < 0) throw UsageError("output folder is not writable: " + o.outDir);
  if (::flock(lockFd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lockFd);
    throw UsageError("another batch is running on " + o.outDir);
  }
  struct LockGuard {
    int fd;
    ~LockGuard() { ::close(fd); }
  } lockGuard{lockFd};

  const size_t n = cohort.studies.size();
  std::vector<std::optional<csv::Row>> rows(n);
  std::vector<size_t> pending;
  BatchResult res;
  res.total = static_cast<int>(n);
  int skippedFailed = 0;
  for (size_t i = 0; i < n; ++i) {
    const Study& s = cohort.studies[i];
    const fs::path caseDir = out / s.caseId;
    auto report = readCompleteReport((caseDir / "report.json").string());
    if (report && !(o.retryFailed && (*report)["status"] == "failed")) {
      csv::Row row = summaryFields(s.caseId, *report, readSeconds(caseDir, *report));
      row.insert(row.end(), s.extra.begin(), s.extra.end());
      rows[i] = std::move(row);
      ++res.skipped;
      const std::string st = (*report)["status"].get<std::string>();
      if (st == "ok")
        ++res.ok;
      else if (st == "not_applicable")
        ++res.notApplicable;
      else {
        ++res.failed;
        ++skippedFailed;
      }
    } else {
      pending.push_back(i);
    }
  }

  auto writeSummary = [&] {
    csv::Row header = summaryHeader();
    header.insert(header.end(), cohort.extraColumns.begin(), cohort.extraColumns.end());
    std::string text = csv::formatRow(header);
    for (const auto& r : rows)
      if (r) text += csv::formatRow(*r);
    writeFileAtomically(out / "summary.csv", text);
  };
  writeSummary();

  log << "batch: " << n << " studies, " << res.skipped << " already done, " << pending.size()
      << " to run, " << o.jobs << " at a time\n"
      << std::flush;
  Progress progress(log, o.progressBar, static_cast<int>(n), res.skipped);
  progress.addFailedSkipped(skippedFailed);
  AnalysisLog analyses(out / "analyses.jsonl");
  analyses.write("run_start", {{"studies", n},
                               {"already_done", res.skipped},
                               {"to_run", pending.size()},
                               {"jobs", o.jobs}});

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int threadsPerChild = std::max(1, static_cast<int>(cores) / o.jobs);
  std::vector<Child> running;
  size_t next = 0;

  auto finish = [&](const Child& c, int status, const struct rusage& ru) {
    const Study& s = cohort.studies[c.index];
    const fs::path caseDir = out / s.caseId;
    const double seconds = std::chrono::duration<double>(clock::now() - c.start).count();
    auto report = readCompleteReport((caseDir / "report.json").string());
    std::string note;
    if (!report) {
      std::string reason;
      if (c.timedOut) {
        reason = "timed out after " + formatNumber(o.timeoutS) + " s (batch --timeout-s)";
      } else if (WIFSIGNALED(status)) {
        reason = "analyze was killed by " + signalName(WTERMSIG(status));
        if (o.maxMemoryMb > 0)
          reason +=
              "; it may have reached the memory limit of " + std::to_string(o.maxMemoryMb) + " MB";
      } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        reason = "analyze could not be started";
      } else {
        reason = "analyze exited with code " +
                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                 " without writing a report (see analyze.log)";
      }
      report = failedReport(s, reason);
      writeFileAtomically(caseDir / "report.json", report->dump(2) + "\n");
      note = reason;
    } else if ((*report)["status"] == "failed") {
      const json* r = member(*report, "status_reason");
      if (r && r->is_string() && r->get<std::string>().find("out of memory") != std::string::npos)
        note = "out of memory";
    }
    json side = {{"seconds", std::round(seconds * 10.0) / 10.0},
                 {"timed_out", c.timedOut},
                 {"exit_code", WIFEXITED(status) ? json(WEXITSTATUS(status)) : json(nullptr)},
                 {"signal", WIFSIGNALED(status) ? json(WTERMSIG(status)) : json(nullptr)},
                 {"max_rss_mb", maxRssMb(ru)}};
    writeFileAtomically(caseDir / "batch.json", side.dump(2) + "\n");
    csv::Row row = summaryFields(s.caseId, *report, seconds);
    row.insert(row.end(), s.extra.begin(), s.extra.end());
    rows[c.index] = std::move(row);
    const std::string st = (*report)["status"].get<std::string>();
    ++res.ran;
    side["case_id"] = s.caseId;
    side["status"] = st;
    analyses.write("end", side);
    if (st == "ok")
      ++res.ok;
    else if (st == "not_applicable")
      ++res.notApplicable;
    else
      ++res.failed;
    writeSummary();
    progress.finished(s.caseId, st, note, seconds);
  };

  auto killAll = [&] {
    for (auto& c : running) ::kill(-c.pid, SIGKILL);
    for (auto& c : running) {
      int st = 0;
      while (::waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {
      }
      analyses.write("stopped", {{"case_id", cohort.studies[c.index].caseId}});
    }
    running.clear();
  };

  try {
    while ((next < pending.size() || !running.empty())) {
      if (gStopRequested) {
        killAll();
        res.interrupted = true;
        break;
      }
      while (next < pending.size() && static_cast<int>(running.size()) < o.jobs) {
        const size_t idx = pending[next++];
        const Study& s = cohort.studies[idx];
        const fs::path caseDir = out / s.caseId;
        fs::create_directories(caseDir, ec);
        if (!fs::is_directory(caseDir)) throw UsageError("cannot create " + caseDir.string());
        clearUnfinished(caseDir);
        Child c;
        c.index = idx;
        analyses.write("start", {{"case_id", s.caseId}});
        c.start = clock::now();
        c.pid = spawn(o, s, caseDir, threadsPerChild);
        running.push_back(c);
      }
      bool reaped = false;
      for (size_t k = 0; k < running.size();) {
        Child& c = running[k];
        int st = 0;
        struct rusage ru {};
        const pid_t r = ::wait4(c.pid, &st, WNOHANG, &ru);
        if (r == c.pid) {
          ::kill(-c.pid, SIGKILL);  // anything the study left behind in its group
          const Child done = c;
          running.erase(running.begin() + static_cast<long>(k));
          finish(done, st, ru);
          reaped = true;
          continue;
        }
        if (!c.timedOut &&
            std::chrono::duration<double>(clock::now() - c.start).count() > o.timeoutS) {
          c.timedOut = true;
          ::kill(-c.pid, SIGKILL);
        }
        ++k;
      }
      if (!reaped) {
        progress.tick();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  } catch (...) {
    killAll();
    throw;
  }
  progress.end();
  res.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  struct rusage self {};
  ::getrusage(RUSAGE_SELF, &self);
  analyses.write("run_end", {{"interrupted", res.interrupted},
                             {"ran", res.ran},
                             {"ok", res.ok},
                             {"not_applicable", res.notApplicable},
                             {"failed", res.failed},
                             {"seconds", std::round(res.seconds * 10.0) / 10.0},
                             {"max_rss_mb", maxRssMb(self)}});
  char rate[64];
  if (res.ran > 0)
    std::snprintf(rate, sizeof rate, "%.1f studies/min", progress.perMinute());
  else
    std::snprintf(rate, sizeof rate, "nothing left to run");
  log << "batch: " << (res.interrupted ? "interrupted; " : "") << res.total
      << " studies: " << res.ok << " ok, " << res.notApplicable << " not_applicable, " << res.failed
      << " failed (" << res.skipped << " from an earlier run); " << rate << "; summary in "
      << (out / "summary.csv").string() << '\n'
      << std::flush;
  gStopRequested = 0;
  return res;
}

}  // namespace spinescreen::batch
