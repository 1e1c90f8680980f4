// `spinescreen serve`: follows Orthanc's change feed, analyses the CT series the policy
// accepts in a worker pool, stores the SR and SC back in Orthanc (optionally forwarding them
// to a PACS), and answers health and status requests on loopback.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/analyze.h"
#include "service/config.h"
#include "service/job_store.h"
#include "service/orthanc_client.h"
#include "service/policy.h"

namespace httplib {
class Server;
}

namespace spinescreen::service {

class Service {
 public:
  // Opens the state in config.workDir (creating it); throws UsageError when it cannot.
  Service(ServiceConfig config, pipeline::AnalysisConfig analysis, std::ostream& log);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Starts the feed thread, the workers and the status server. Returns the status port.
  int start();
  // Stops taking work, lets running analyses finish, joins every thread.
  void stop();

  // One poll of the change feed (the feed thread's step). Returns the jobs created.
  int pollFeedOnce();
  // Takes and processes one job on the calling thread (a worker's step). False when none.
  bool processOneJob();

  nlohmann::json status();
  JobStore& store() { return *store_; }

 private:
  void feedLoop();
  void workerLoop();
  void process(Job job);
  void upload(const Job& job);
  SeriesFacts fetchFacts(const std::string& seriesId, OrthancClient& client);
  void download(const std::string& seriesId, const std::string& dir, OrthancClient& client);
  void logLine(const std::string& line);
  void setLastError(const std::string& e);
  std::unique_ptr<OrthancClient> newClient() const;

  ServiceConfig config_;
  pipeline::AnalysisConfig analysis_;
  std::ostream& log_;
  std::unique_ptr<JobStore> store_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> orthancReachable_{false};
  std::mutex wakeMutex_;
  std::condition_variable wake_;
  std::mutex logMutex_;
  std::mutex errorMutex_;
  std::string lastError_;
  std::atomic<int> processedThisRun_{0};
  std::thread feedThread_;
  std::vector<std::thread> workers_;
  std::unique_ptr<httplib::Server> http_;
  std::thread httpThread_;
  int statusPort_ = 0;
};

}  // namespace spinescreen::service
