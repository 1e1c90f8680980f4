#include "service/job_store.h"

#include <sqlite3.h>

#include "core/errors.h"

namespace spinescreen::service {

const char* toString(JobState s) {
  switch (s) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kUploading:
      return "uploading";
    case JobState::kDone:
      return "done";
    case JobState::kNoOutput:
      return "no_output";
    case JobState::kSkipped:
      return "skipped";
    case JobState::kFailed:
    default:
      return "failed";
  }
}

std::optional<JobState> jobStateFromString(const std::string& s) {
  for (JobState st : {JobState::kQueued, JobState::kRunning, JobState::kUploading, JobState::kDone,
                      JobState::kNoOutput, JobState::kSkipped, JobState::kFailed})
    if (s == toString(st)) return st;
  return std::nullopt;
}

namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw Error(ErrorCode::kInternal,
              "job store: " + what + ": " + (db ? sqlite3_errmsg(db) : "cannot open"));
}

// A prepared statement with RAII finalisation.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) fail(db, sql);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW or SQLITE_DONE; throws on error.
  int step() {
    const int rc = sqlite3_step(s_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(db_, "step");
    return rc;
  }
  std::string text(int col) {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  int64_t integer(int col) { return sqlite3_column_int64(s_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

constexpr const char* kJobColumns =
    "series_id, state, attempts, reason, age_unknown, sr_path, sc_path, sr_orthanc_id, "
    "sc_orthanc_id, change_seq, updated";

Job readJob(Stmt& s) {
  Job j;
  j.seriesId = s.text(0);
  j.state = jobStateFromString(s.text(1)).value_or(JobState::kFailed);
  j.attempts = static_cast<int>(s.integer(2));
  j.reason = s.text(3);
  j.ageUnknown = s.integer(4) != 0;
  j.srPath = s.text(5);
  j.scPath = s.text(6);
  j.srOrthancId = s.text(7);
  j.scOrthancId = s.text(8);
  j.changeSeq = s.integer(9);
  j.updatedUtc = s.text(10);
  return j;
}

}  // namespace

JobStore::JobStore(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "cannot open";
    sqlite3_close(db_);
    db_ = nullptr;
    throw UsageError("cannot open the service state database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec(
      "CREATE TABLE IF NOT EXISTS feed (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER "
      "NOT NULL)");
  exec("INSERT OR IGNORE INTO feed (id, last_seq) VALUES (1, 0)");
  exec(
      "CREATE TABLE IF NOT EXISTS jobs (series_id TEXT PRIMARY KEY, state TEXT NOT NULL, "
      "attempts INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', age_unknown INTEGER "
      "NOT NULL DEFAULT 0, sr_path TEXT NOT NULL DEFAULT '', sc_path TEXT NOT NULL DEFAULT '', "
      "sr_orthanc_id TEXT NOT NULL DEFAULT '', sc_orthanc_id TEXT NOT NULL DEFAULT '', change_seq "
      "INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', "
      "'now')), updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))");
  exec("CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, change_seq)");
}

JobStore::~JobStore() { sqlite3_close(db_); }

void JobStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "?";
    sqlite3_free(err);
    throw Error(ErrorCode::kInternal, "job store: " + sql + ": " + msg);
  }
}

int JobStore::recoverAfterRestart() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_,
         "UPDATE jobs SET state = 'queued', updated = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
         "WHERE state = 'running'");
  s.step();
  return sqlite3_changes(db_);
}

int64_t JobStore::feedPosition() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "SELECT last_seq FROM feed WHERE id = 1");
  return s.step() == SQLITE_ROW ? s.integer(0) : 0;
}

bool JobStore::isFresh() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_,
         "SELECT (SELECT last_seq FROM feed WHERE id = 1) = 0 AND NOT EXISTS (SELECT 1 FROM jobs)");
  return s.step() == SQLITE_ROW && s.integer(0) != 0;
}

bool JobStore::enqueueFromFeed(const std::string& seriesId, int64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    Stmt ins(db_,
             "INSERT OR IGNORE INTO jobs (series_id, state, change_seq) VALUES (?, 'queued', ?)");
    ins.bind(1, seriesId).bind(2, seq).step();
    const bool created = sqlite3_changes(db_) > 0;
    Stmt pos(db_, "UPDATE feed SET last_seq = MAX(last_seq, ?) WHERE id = 1");
    pos.bind(1, seq).step();
    exec("COMMIT");
    return created;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void JobStore::setFeedPosition(int64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "UPDATE feed SET last_seq = MAX(last_seq, ?) WHERE id = 1");
  s.bind(1, seq).step();
}

std::optional<Job> JobStore::claimNext() {
  std::lock_guard<std::mutex> lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    std::optional<Job> job;
    {
      const std::string sql = std::string("SELECT ") + kJobColumns +
                              " FROM jobs WHERE state IN ('queued', 'uploading') ORDER BY "
                              "change_seq, series_id LIMIT 1";
      Stmt s(db_, sql.c_str());
      if (s.step() == SQLITE_ROW) job = readJob(s);
    }
    if (job) {
      // An upload resumes as an upload; anything else runs.
      if (job->state == JobState::kQueued) job->state = JobState::kRunning;
      ++job->attempts;
      Stmt u(db_,
             "UPDATE jobs SET state = ?, attempts = ?, updated = strftime('%Y-%m-%dT%H:%M:%fZ', "
             "'now') WHERE series_id = ?");
      u.bind(1, toString(job->state)).bind(2, job->attempts).bind(3, job->seriesId).step();
    }
    exec("COMMIT");
    return job;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void JobStore::markUploading(const std::string& seriesId, const std::string& srPath,
                             const std::string& scPath) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_,
         "UPDATE jobs SET state = 'uploading', sr_path = ?, sc_path = ?, updated = "
         "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE series_id = ?");
  s.bind(1, srPath).bind(2, scPath).bind(3, seriesId).step();
}

void JobStore::recordUploaded(const std::string& seriesId, const std::string& srOrthancId,
                              const std::string& scOrthancId) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_,
         "UPDATE jobs SET sr_orthanc_id = ?, sc_orthanc_id = ?, updated = "
         "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE series_id = ?");
  s.bind(1, srOrthancId).bind(2, scOrthancId).bind(3, seriesId).step();
}

void JobStore::finish(const std::string& seriesId, JobState state, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_,
         "UPDATE jobs SET state = ?, reason = ?, updated = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
         "WHERE series_id = ?");
  s.bind(1, toString(state)).bind(2, reason).bind(3, seriesId).step();
}

JobState JobStore::failAttempt(const std::string& seriesId, const std::string& reason,
                               int maxAttempts, JobState retryState) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_,
         "UPDATE jobs SET state = CASE WHEN attempts >= ? THEN 'failed' ELSE ? END, "
         "reason = ?, updated = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE series_id = ? "
         "RETURNING state");
  s.bind(1, static_cast<int64_t>(maxAttempts))
      .bind(2, toString(retryState))
      .bind(3, reason)
      .bind(4, seriesId);
  const JobState st = s.step() == SQLITE_ROW
                          ? jobStateFromString(s.text(0)).value_or(JobState::kFailed)
                          : JobState::kFailed;
  while (s.step() == SQLITE_ROW) {
  }
  return st;
}

void JobStore::setAgeUnknown(const std::string& seriesId, bool unknown) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "UPDATE jobs SET age_unknown = ? WHERE series_id = ?");
  s.bind(1, static_cast<int64_t>(unknown ? 1 : 0)).bind(2, seriesId).step();
}

std::optional<Job> JobStore::get(const std::string& seriesId) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE series_id = ?";
  Stmt s(db_, sql.c_str());
  s.bind(1, seriesId);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  return readJob(s);
}

std::vector<Job> JobStore::list(int limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string sql =
      std::string("SELECT ") + kJobColumns + " FROM jobs ORDER BY change_seq DESC LIMIT ?";
  Stmt s(db_, sql.c_str());
  s.bind(1, static_cast<int64_t>(limit));
  std::vector<Job> out;
  while (s.step() == SQLITE_ROW) out.push_back(readJob(s));
  return out;
}

StoreCounts JobStore::counts() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  StoreCounts c;
  while (s.step() == SQLITE_ROW) {
    const auto st = jobStateFromString(s.text(0));
    const int n = static_cast<int>(s.integer(1));
    if (!st) continue;
    switch (*st) {
      case JobState::kQueued:
        c.queued = n;
        break;
      case JobState::kRunning:
        c.running = n;
        break;
      case JobState::kUploading:
        c.uploading = n;
        break;
      case JobState::kDone:
        c.done = n;
        break;
      case JobState::kNoOutput:
        c.noOutput = n;
        break;
      case JobState::kSkipped:
        c.skipped = n;
        break;
      case JobState::kFailed:
        c.failed = n;
        break;
    }
  }
  return c;
}

}  // namespace spinescreen::service
