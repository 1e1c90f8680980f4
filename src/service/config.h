// Configuration of `spinescreen serve`: where Orthanc is, which series to analyse, where
// results go. Read from a JSON file (docs/DEPLOYMENT.md lists the keys); credentials live
// only there, never on the command line.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace spinescreen::service {

struct SeriesPolicy {
  double minAgeYears = 50.0;
  bool analyseUnknownAge = true;       // series with no age: analysed (and marked so) or skipped
  std::vector<std::string> bodyParts;  // accepted BodyPartExamined values; empty: any
  bool acceptMissingBodyPart = true;   // when bodyParts is set, a series with none
  int minSlices = 10;
};

struct ServiceConfig {
  std::string orthancUrl = "http://127.0.0.1:8042";
  std::string orthancUser;  // empty: no authentication
  std::string orthancPassword;
  std::string forwardModality;  // Orthanc modality to forward SR and SC to; empty: none
  std::string workDir = "spinescreen-work";  // SQLite state, downloads, outputs
  std::string statusHost = "127.0.0.1";
  int statusPort = 8790;  // 0: any free port (printed at start)
  int workers = 1;
  int maxAttempts = 3;
  int pollIntervalMs = 1000;
  int httpTimeoutSeconds = 60;
  bool keepOutputs = true;         // keep OUTDIR (report.json, sr.dcm, ...) per series
  std::string analysisConfigPath;  // pipeline config file (density cut-offs, referral policy)
  // Where a new service (empty state) starts in Orthanc's change feed: "beginning" analyses
  // what Orthanc already holds; "end" only what arrives from now on.
  std::string feedStart = "beginning";
  SeriesPolicy policy;
};

// Reads a config file. Throws UsageError naming the file and key on a bad value.
ServiceConfig loadServiceConfig(const std::string& path);

// Checks a config's values; throws UsageError.
void validate(const ServiceConfig& config);

}  // namespace spinescreen::service
