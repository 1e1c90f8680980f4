#include "service/orthanc_client.h"

#include <httplib.h>

namespace spinescreen::service {

OrthancClient::OrthancClient(const std::string& url, const std::string& user,
                             const std::string& password, int timeoutSeconds) {
  // httplib wants scheme://host:port; a path prefix (Orthanc behind a proxy) is kept apart.
  std::string hostPart = url;
  const auto schemeEnd = url.find("://");
  const auto pathStart =
      schemeEnd == std::string::npos ? std::string::npos : url.find('/', schemeEnd + 3);
  if (pathStart != std::string::npos) {
    hostPart = url.substr(0, pathStart);
    base_ = url.substr(pathStart);
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }
  client_ = std::make_unique<httplib::Client>(hostPart);
  if (!client_->is_valid()) throw UsageError("invalid Orthanc URL " + url);
  if (!user.empty()) client_->set_basic_auth(user, password);
  client_->set_connection_timeout(std::min(timeoutSeconds, 10), 0);
  client_->set_read_timeout(timeoutSeconds, 0);
  client_->set_write_timeout(timeoutSeconds, 0);
  client_->set_keep_alive(false);
}

OrthancClient::~OrthancClient() = default;

std::string OrthancClient::get(const std::string& path) {
  auto res = client_->Get(base_ + path);
  if (!res)
    throw OrthancError("Orthanc unreachable (GET " + path +
                       "): " + httplib::to_string(res.error()));
  if (res->status != 200)
    throw OrthancError("Orthanc answered " + std::to_string(res->status) + " to GET " + path);
  return res->body;
}

nlohmann::json OrthancClient::getJson(const std::string& path) {
  const std::string body = get(path);
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    throw OrthancError("Orthanc sent invalid JSON for " + path);
  }
}

nlohmann::json OrthancClient::system() { return getJson("/system"); }

ChangePage OrthancClient::changes(int64_t since, int limit) {
  const auto j =
      getJson("/changes?since=" + std::to_string(since) + "&limit=" + std::to_string(limit));
  ChangePage page;
  try {
    for (const auto& c : j.at("Changes")) {
      Change ch;
      ch.seq = c.at("Seq").get<int64_t>();
      ch.type = c.value("ChangeType", "");
      ch.resourceType = c.value("ResourceType", "");
      ch.id = c.value("ID", "");
      page.changes.push_back(ch);
    }
    page.last = j.at("Last").get<int64_t>();
    page.done = j.value("Done", true);
  } catch (const nlohmann::json::exception& e) {
    throw OrthancError(std::string("unexpected /changes answer: ") + e.what());
  }
  return page;
}

int64_t OrthancClient::lastChange() {
  const auto j = getJson("/changes?last");
  try {
    return j.at("Last").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw OrthancError(std::string("unexpected /changes?last answer: ") + e.what());
  }
}

nlohmann::json OrthancClient::series(const std::string& id) { return getJson("/series/" + id); }
nlohmann::json OrthancClient::study(const std::string& id) { return getJson("/studies/" + id); }
nlohmann::json OrthancClient::instanceTags(const std::string& id) {
  return getJson("/instances/" + id + "/simplified-tags");
}
std::string OrthancClient::instanceFile(const std::string& id) {
  return get("/instances/" + id + "/file");
}

StoredInstance OrthancClient::store(const std::string& dicomBytes) {
  auto res = client_->Post(base_ + "/instances", dicomBytes, "application/dicom");
  if (!res)
    throw OrthancError("Orthanc unreachable (POST /instances): " + httplib::to_string(res.error()));
  if (res->status != 200)
    throw OrthancError("Orthanc refused an instance: HTTP " + std::to_string(res->status));
  try {
    const auto j = nlohmann::json::parse(res->body);
    StoredInstance s;
    s.id = j.at("ID").get<std::string>();
    s.status = j.value("Status", "");
    s.parentStudy = j.value("ParentStudy", "");
    s.parentSeries = j.value("ParentSeries", "");
    return s;
  } catch (const nlohmann::json::exception&) {
    throw OrthancError("unexpected answer to POST /instances");
  }
}

void OrthancClient::forward(const std::string& modality, const std::vector<std::string>& ids) {
  const nlohmann::json body = {{"Resources", ids}, {"Synchronous", true}};
  auto res =
      client_->Post(base_ + "/modalities/" + modality + "/store", body.dump(), "application/json");
  if (!res)
    throw OrthancError("Orthanc unreachable (forward to " + modality +
                       "): " + httplib::to_string(res.error()));
  if (res->status != 200)
    throw OrthancError("Orthanc could not forward to modality " + modality + ": HTTP " +
                       std::to_string(res->status));
}

}  // namespace spinescreen::service
