// The part of Orthanc's REST API the service uses (cpp-httplib client). Errors become
// OrthancError; nothing identifying is put in their messages.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/errors.h"

namespace httplib {
class Client;
}

namespace spinescreen::service {

// Orthanc could not be reached or refused a request.
struct OrthancError : Error {
  explicit OrthancError(const std::string& m) : Error(ErrorCode::kInputInvalid, m) {}
};

struct Change {
  int64_t seq = 0;
  std::string type;          // "StableSeries", "NewInstance", ...
  std::string resourceType;  // "Series", ...
  std::string id;            // Orthanc ID of the resource
};

struct ChangePage {
  std::vector<Change> changes;
  int64_t last = 0;
  bool done = true;
};

struct StoredInstance {
  std::string id;
  std::string status;  // "Success" or "AlreadyStored"
  std::string parentStudy;
  std::string parentSeries;
};

class OrthancClient {
 public:
  OrthancClient(const std::string& url, const std::string& user, const std::string& password,
                int timeoutSeconds = 60);
  ~OrthancClient();

  nlohmann::json system();  // GET /system (reachability)
  ChangePage changes(int64_t since, int limit = 100);
  int64_t lastChange();  // GET /changes?last: the newest change's sequence number
  nlohmann::json series(const std::string& id);        // GET /series/{id}
  nlohmann::json study(const std::string& id);         // GET /studies/{id}
  nlohmann::json instanceTags(const std::string& id);  // GET /instances/{id}/simplified-tags
  std::string instanceFile(const std::string& id);     // GET /instances/{id}/file
  // POST /instances with a DICOM file's bytes.
  StoredInstance store(const std::string& dicomBytes);
  // POST /modalities/{modality}/store: forwards the resources to a DICOM modality (PACS).
  void forward(const std::string& modality, const std::vector<std::string>& ids);
  nlohmann::json getJson(const std::string& path);

 private:
  std::string get(const std::string& path);
  std::unique_ptr<httplib::Client> client_;
  std::string base_;
};

}  // namespace spinescreen::service
