// Crash-safe state of the service in SQLite: the position in Orthanc's change feed and one
// job per series. Every change is one transaction, so a `kill -9` at any moment leaves a
// state from which a restart neither loses nor repeats a series.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace spinescreen::service {

enum class JobState {
  kQueued,     // waiting for a worker (new, or to be retried)
  kRunning,    // a worker is on it (back to queued on restart)
  kUploading,  // outputs written; being stored to Orthanc (resumed on restart, same files)
  kDone,       // analysed, outputs stored
  kNoOutput,   // analysed, nothing to send (not applicable)
  kSkipped,    // the policy declined the series
  kFailed,     // failed max_attempts times
};
const char* toString(JobState s);
std::optional<JobState> jobStateFromString(const std::string& s);

struct Job {
  std::string seriesId;  // Orthanc's series ID
  JobState state = JobState::kQueued;
  int attempts = 0;
  std::string reason;
  bool ageUnknown = false;
  std::string srPath, scPath;  // outputs awaiting upload
  std::string srOrthancId, scOrthancId;
  int64_t changeSeq = 0;  // the feed entry that created it
  std::string updatedUtc;
};

struct StoreCounts {
  int queued = 0, running = 0, uploading = 0, done = 0, noOutput = 0, skipped = 0, failed = 0;
};

class JobStore {
 public:
  // Opens (creating when needed) the database; throws Error(kInternal) when it cannot.
  explicit JobStore(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Jobs a previous process left running go back to the queue (their attempt is counted).
  // Returns how many.
  int recoverAfterRestart();

  int64_t feedPosition();
  // True when the store has never seen the feed (position 0, no jobs).
  bool isFresh();
  // Records the series of a change feed entry (ignored when the series already has a job)
  // and advances the feed position to `seq`, in one transaction. Returns true when a new job
  // was created.
  bool enqueueFromFeed(const std::string& seriesId, int64_t seq);
  void setFeedPosition(int64_t seq);

  // Takes the oldest job waiting for work (queued or uploading), marks it running (or keeps
  // it uploading) and counts the attempt. nullopt when none.
  std::optional<Job> claimNext();

  void markUploading(const std::string& seriesId, const std::string& srPath,
                     const std::string& scPath);
  void recordUploaded(const std::string& seriesId, const std::string& srOrthancId,
                      const std::string& scOrthancId);
  // Final or retry state with a reason.
  void finish(const std::string& seriesId, JobState state, const std::string& reason);
  // A failed attempt: back to `retryState` (queued, or uploading for an upload that failed)
  // while attempts < maxAttempts, else failed. Returns the new state.
  JobState failAttempt(const std::string& seriesId, const std::string& reason, int maxAttempts,
                       JobState retryState = JobState::kQueued);
  void setAgeUnknown(const std::string& seriesId, bool unknown);

  std::optional<Job> get(const std::string& seriesId);
  std::vector<Job> list(int limit = 200);
  StoreCounts counts();

 private:
  void exec(const std::string& sql);
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace spinescreen::service
