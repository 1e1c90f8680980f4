#include "service/config.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace spinescreen::service {

ServiceConfig loadServiceConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("cannot read service config " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("service config " + path + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw UsageError("service config " + path + " must be a JSON object");
  static const std::vector<std::string> kKnown = {
      "orthanc_url",      "orthanc_username", "orthanc_password",
      "forward_modality", "work_dir",         "status_host",
      "status_port",      "workers",          "max_attempts",
      "poll_interval_ms", "http_timeout_s",   "keep_outputs",
      "analysis_config",  "feed_start",       "policy"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end())
      throw UsageError("service config " + path + ": unknown key '" + it.key() + "'");
  ServiceConfig c;
  try {
    c.orthancUrl = j.value("orthanc_url", c.orthancUrl);
    c.orthancUser = j.value("orthanc_username", c.orthancUser);
    c.orthancPassword = j.value("orthanc_password", c.orthancPassword);
    c.forwardModality = j.value("forward_modality", c.forwardModality);
    c.workDir = j.value("work_dir", c.workDir);
    c.statusHost = j.value("status_host", c.statusHost);
    c.statusPort = j.value("status_port", c.statusPort);
    c.workers = j.value("workers", c.workers);
    c.maxAttempts = j.value("max_attempts", c.maxAttempts);
    c.pollIntervalMs = j.value("poll_interval_ms", c.pollIntervalMs);
    c.httpTimeoutSeconds = j.value("http_timeout_s", c.httpTimeoutSeconds);
    c.keepOutputs = j.value("keep_outputs", c.keepOutputs);
    c.analysisConfigPath = j.value("analysis_config", c.analysisConfigPath);
    c.feedStart = j.value("feed_start", c.feedStart);
    if (j.contains("policy")) {
      const auto& p = j.at("policy");
      if (!p.is_object()) throw UsageError("service config " + path + ": policy must be an object");
      c.policy.minAgeYears = p.value("min_age_years", c.policy.minAgeYears);
      c.policy.analyseUnknownAge = p.value("analyse_unknown_age", c.policy.analyseUnknownAge);
      c.policy.bodyParts = p.value("body_parts", c.policy.bodyParts);
      c.policy.acceptMissingBodyPart =
          p.value("accept_missing_body_part", c.policy.acceptMissingBodyPart);
      c.policy.minSlices = p.value("min_slices", c.policy.minSlices);
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("service config " + path + ": " + e.what());
  }
  validate(c);
  return c;
}

void validate(const ServiceConfig& c) {
  if (c.orthancUrl.rfind("http://", 0) != 0 && c.orthancUrl.rfind("https://", 0) != 0)
    throw UsageError("orthanc_url must start with http:// or https://: " + c.orthancUrl);
  if (c.workers < 1 || c.workers > 64) throw UsageError("workers must be 1..64");
  if (c.maxAttempts < 1 || c.maxAttempts > 100) throw UsageError("max_attempts must be 1..100");
  if (c.pollIntervalMs < 10 || c.pollIntervalMs > 3600000)
    throw UsageError("poll_interval_ms must be 10..3600000");
  if (c.statusPort < 0 || c.statusPort > 65535) throw UsageError("status_port must be 0..65535");
  if (c.httpTimeoutSeconds < 1) throw UsageError("http_timeout_s must be at least 1");
  if (c.workDir.empty()) throw UsageError("work_dir must not be empty");
  if (c.feedStart != "beginning" && c.feedStart != "end")
    throw UsageError("feed_start must be \"beginning\" or \"end\"");
  if (c.statusHost != "127.0.0.1" && c.statusHost != "localhost" && c.statusHost != "::1")
    throw UsageError("status_host must be a loopback address (127.0.0.1, localhost or ::1)");
  if (c.policy.minSlices < 1) throw UsageError("policy.min_slices must be at least 1");
  if (c.policy.minAgeYears < 0 || c.policy.minAgeYears > 150)
    throw UsageError("policy.min_age_years must be 0..150");
}

}  // namespace spinescreen::service
