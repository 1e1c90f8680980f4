#include "report/fhir.h"

#include <chrono>
#include <ctime>
#include <random>

#include "core/errors.h"
#include "core/version.h"
#include "report/dicom_codes.h"

namespace spinescreen::report {
namespace {
using nlohmann::json;

std::string newUuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0x0fff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

json coding(const Code& c) {
  return json{{"system", fhirSystem(c.scheme)}, {"code", c.value}, {"display", c.meaning}};
}
json concept(const Code& c) {
  return json{{"coding", json::array({coding(c)})}, {"text", c.meaning}};
}

json quantity(double v, const std::string& unit, const std::string& ucum) {
  return json{
      {"value", v}, {"unit", unit}, {"system", "http://unitsofmeasure.org"}, {"code", ucum}};
}

double round1(double v) { return std::round(v * 10.0) / 10.0; }

std::string nowIso() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// DICOM DA + TM -> FHIR dateTime; empty when the date is not a DICOM date.
std::string fhirDateTime(const std::string& da, const std::string& tm) {
  if (da.size() != 8) return {};
  for (char c : da)
    if (c < '0' || c > '9') return {};
  std::string s = da.substr(0, 4) + "-" + da.substr(4, 2) + "-" + da.substr(6, 2);
  if (tm.size() >= 6) {
    for (int i = 0; i < 6; ++i)
      if (tm[i] < '0' || tm[i] > '9') return s;
    // Local time of the modality with no zone: FHIR then needs a date alone.
    return s;
  }
  return s;
}

std::string fhirDate(const std::string& da) { return fhirDateTime(da, ""); }

const json kImagingCategory =
    json{{"coding",
          json::array({{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                        {"code", "imaging"},
                        {"display", "Imaging"}}})}};

struct Builder {
  json bundle;
  json reportResults = json::array();
  json subject;
  std::string effective;
  std::string issued;
  const Report& report;

  explicit Builder(const Report& r) : report(r) {}

  // Adds an Observation to the bundle and to the DiagnosticReport's results.
  json& addObservation(json obs) {
    const std::string url = "urn:uuid:" + newUuid();
    obs["resourceType"] = "Observation";
    obs["status"] = "preliminary";
    obs["category"] = json::array({kImagingCategory});
    obs["subject"] = subject;
    if (!effective.empty()) obs["effectiveDateTime"] = effective;
    obs["issued"] = issued;
    obs["device"] = json{{"display", std::string(kToolName) + " " + kVersion}};
    bundle["entry"].push_back(json{{"fullUrl", url},
                                   {"resource", std::move(obs)},
                                   {"request", {{"method", "POST"}, {"url", "Observation"}}}});
    reportResults.push_back(json{{"reference", url}});
    return bundle["entry"].back()["resource"];
  }
};

json vertebraObservation(const Vertebra& v) {
  json obs;
  obs["code"] = json{{"coding", json::array({coding(codes::genantGrade())})},
                     {"text", "Vertebral morphometry " + v.label}};
  if (const auto site = vertebraCode(v.label))
    obs["bodySite"] = json{{"coding", json::array({coding(*site)})}, {"text", v.label}};
  else
    obs["bodySite"] = json{{"text", v.label}};
  if (v.genantGrade)
    obs["valueInteger"] = *v.genantGrade;
  else
    obs["dataAbsentReason"] =
        json{{"coding",
              json::array({{{"system", "http://terminology.hl7.org/CodeSystem/data-absent-reason"},
                            {"code", "not-performed"}}})},
             {"text", v.notMeasurableReason.empty() ? "not graded" : v.notMeasurableReason}};
  json comps = json::array();
  if (v.heights) {
    comps.push_back({{"code", concept(codes::anteriorHeight())},
                     {"valueQuantity", quantity(round1(v.heights->anteriorMm), "mm", "mm")}});
    comps.push_back({{"code", concept(codes::middleHeight())},
                     {"valueQuantity", quantity(round1(v.heights->middleMm), "mm", "mm")}});
    comps.push_back({{"code", concept(codes::posteriorHeight())},
                     {"valueQuantity", quantity(round1(v.heights->posteriorMm), "mm", "mm")}});
  }
  if (v.heightLoss)
    comps.push_back({{"code", concept(codes::heightLoss())},
                     {"valueQuantity", quantity(round1(*v.heightLoss * 100.0), "%", "%")}});
  if (v.morphology)
    comps.push_back({{"code", concept(codes::fractureMorphology())},
                     {"valueCodeableConcept", concept(codes::morphology(*v.morphology))}});
  if (v.trabecularHu)
    comps.push_back({{"code", concept(codes::trabecularAttenuation())},
                     {"valueQuantity", quantity(round1(*v.trabecularHu), "HU", "[hnsf'U]")}});
  if (!comps.empty()) obs["component"] = std::move(comps);
  return obs;
}

}  // namespace

nlohmann::json toFhirBundle(const Report& report, const PatientIdentity& identity,
                            const FhirOptions& options) {
  if (report.status != Status::kOk)
    throw UsageError("a FHIR DiagnosticReport is written only for an analysed study");
  Builder b(report);
  b.bundle = json{{"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", json::array()}};
  b.issued = nowIso();
  b.effective = fhirDateTime(identity.studyDate, identity.studyTime);

  // Subject.
  if (options.includePatientIdentity && !identity.patientId.empty()) {
    json patient{{"resourceType", "Patient"},
                 {"identifier", json::array({{{"system", options.patientIdentifierSystem},
                                              {"value", identity.patientId}}})}};
    if (!identity.patientName.empty()) {
      // DICOM PN: family^given^middle^prefix^suffix
      const std::string& pn = identity.patientName;
      const auto caret = pn.find('^');
      json name{{"text", pn}};
      name["family"] = pn.substr(0, caret);
      if (caret != std::string::npos) {
        const std::string rest = pn.substr(caret + 1);
        const std::string given = rest.substr(0, rest.find('^'));
        if (!given.empty()) name["given"] = json::array({given});
      }
      patient["name"] = json::array({name});
    }
    if (report.input.patientSex) {
      const std::string& s = *report.input.patientSex;
      patient["gender"] = s == "M" ? "male" : s == "F" ? "female" : s == "O" ? "other" : "unknown";
    }
    if (const std::string bd = fhirDate(identity.birthDate); !bd.empty()) patient["birthDate"] = bd;
    const std::string url = "urn:uuid:" + newUuid();
    // Create the patient only if no patient with this identifier exists yet.
    json request{{"method", "POST"},
                 {"url", "Patient"},
                 {"ifNoneExist",
                  "identifier=" + options.patientIdentifierSystem + "|" + identity.patientId}};
    b.bundle["entry"].push_back(
        json{{"fullUrl", url}, {"resource", patient}, {"request", std::move(request)}});
    b.subject = json{{"reference", url}};
  } else {
    b.subject = json{{"display", "patient of the source study"}};
  }

  for (const auto& v : report.vertebrae) b.addObservation(vertebraObservation(v));

  const PatientFindings& p = report.patient;
  // Trabecular attenuation at the density level (L1 first).
  if (p.densityHu || p.l1TrabecularHu) {
    const double hu = p.l1TrabecularHu ? *p.l1TrabecularHu : *p.densityHu;
    const std::string level = p.l1TrabecularHu ? "L1" : p.densityLevel.value_or("");
    json obs{{"code", concept(codes::trabecularAttenuation())},
             {"valueQuantity", quantity(round1(hu), "HU", "[hnsf'U]")}};
    if (const auto site = vertebraCode(level))
      obs["bodySite"] = json{{"coding", json::array({coding(*site)})}, {"text", level}};
    b.addObservation(std::move(obs));
  }
  if (p.boneDensityCategory)
    b.addObservation(
        json{{"code", concept(codes::densityCategory())},
             {"valueCodeableConcept", concept(codes::densityCategory(*p.boneDensityCategory))}});
  {
    json obs{{"code", concept(codes::fractureDetected())}, {"valueBoolean", p.fractureDetected}};
    if (!p.fracturedLevels.empty()) {
      std::string levels;
      for (const auto& l : p.fracturedLevels) levels += (levels.empty() ? "" : ", ") + l;
      obs["note"] = json::array({{{"text", "fractured levels: " + levels}}});
    }
    b.addObservation(std::move(obs));
  }
  {
    json obs{{"code", concept(codes::flsReferral())}, {"valueBoolean", p.referralRecommended}};
    if (!p.referralReasons.empty()) {
      json notes = json::array();
      for (const auto& r : p.referralReasons) notes.push_back({{"text", r}});
      obs["note"] = std::move(notes);
    }
    b.addObservation(std::move(obs));
  }

  std::string conclusion;
  if (p.fractureDetected) {
    conclusion = "Vertebral compression fracture suspected";
    if (!p.fracturedLevels.empty()) {
      conclusion += " at";
      for (size_t i = 0; i < p.fracturedLevels.size(); ++i)
        conclusion += (i ? ", " : " ") + p.fracturedLevels[i];
    }
    if (p.maxGenantGrade)
      conclusion += " (maximum Genant grade " + std::to_string(*p.maxGenantGrade) + ")";
    conclusion += ". ";
  } else {
    conclusion = "No vertebral compression fracture detected. ";
  }
  if (p.boneDensityCategory)
    conclusion += std::string("Bone density: ") +
                  codes::densityCategory(*p.boneDensityCategory).meaning + ". ";
  conclusion += p.referralRecommended ? "Referral to the fracture liaison service recommended."
                                      : "No referral recommended.";
  conclusion += " Computer-generated; to be confirmed by a radiologist.";

  json dr{
      {"resourceType", "DiagnosticReport"},
      {"status", "preliminary"},
      {"category", json::array({{{"coding", json::array({{{"system", "http://loinc.org"},
                                                          {"code", "LP29684-5"},
                                                          {"display", "Radiology"}}})}}})},
      {"code",
       json{
           {"coding",
            json::array({{{"system", fhirSystem(kPrivateScheme)},
                          {"code", "VCF-SCREEN"},
                          {"display",
                           "Opportunistic vertebral fracture and bone density screening on CT"}}})},
           {"text", "Opportunistic vertebral fracture and bone density screening on CT"}}},
      {"subject", b.subject},
      {"issued", b.issued},
      {"performer", json::array({{{"display", std::string(kToolName) + " " + kVersion}}})},
      {"result", b.reportResults},
      {"conclusion", conclusion}};
  if (!b.effective.empty()) dr["effectiveDateTime"] = b.effective;
  if (report.input.studyInstanceUid)
    dr["identifier"] = json::array(
        {{{"system", "urn:dicom:uid"}, {"value", "urn:oid:" + *report.input.studyInstanceUid}}});
  dr["conclusionCode"] = json::array({concept(p.referralRecommended ? codes::yes() : codes::no())});
  dr["conclusionCode"][0]["text"] =
      p.referralRecommended ? "FLS referral recommended" : "no FLS referral";
  b.bundle["entry"].push_back(json{{"fullUrl", "urn:uuid:" + newUuid()},
                                   {"resource", std::move(dr)},
                                   {"request", {{"method", "POST"}, {"url", "DiagnosticReport"}}}});
  return b.bundle;
}

}  // namespace spinescreen::report
