// FHIR R4 bundle: every resource validates against the R4 resource shapes it uses
// (tests/report/fhir/*.schema.json, checked with valijson) and carries the findings.
#include "report/fhir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "core/errors.h"
#include "report_fixtures.h"
#include "support/schema.h"

using namespace spinescreen;
using nlohmann::json;

namespace {

// Violations of `doc` against tests/report/fhir/<name>.schema.json with the shared data types.
std::string fhirViolations(const json& doc, const std::string& name) {
  const std::string dir = ::spinescreen::testing::sourceDir() + "/tests/report/fhir/";
  std::ifstream typesIn(dir + "datatypes.json");
  std::ifstream schemaIn(dir + name + ".schema.json");
  if (!typesIn || !schemaIn) return "cannot open the schema for " + name;
  json schema = json::parse(schemaIn);
  schema["definitions"] = json::parse(typesIn)["definitions"];
  return ::spinescreen::testing::violationsOf(doc, std::move(schema));
}

std::string bundleViolations(const json& bundle) {
  std::string out = fhirViolations(bundle, "Bundle");
  for (const auto& e : bundle.value("entry", json::array())) {
    const std::string type = e["resource"].value("resourceType", "");
    if (type != "Observation" && type != "DiagnosticReport" && type != "Patient")
      out += "unexpected resource type " + type + "\n";
    else
      out += fhirViolations(e["resource"], type);
  }
  return out;
}

std::vector<json> resources(const json& bundle, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : bundle["entry"])
    if (e["resource"]["resourceType"] == type) out.push_back(e["resource"]);
  return out;
}

const json* observationFor(const std::vector<json>& obs, const std::string& bodySiteCode) {
  for (const auto& o : obs)
    if (o.contains("bodySite") && o["bodySite"].contains("coding") &&
        o["bodySite"]["coding"][0]["code"] == bodySiteCode && o.contains("component"))
      return &o;
  return nullptr;
}

}  // namespace

TEST(FhirBundle, EveryResourceMatchesTheR4ShapesItUses) {
  const json b = report::toFhirBundle(::spinescreen::testing::analysedDicomReport(),
                                      ::spinescreen::testing::sampleIdentity());
  EXPECT_EQ(bundleViolations(b), "");
  EXPECT_EQ(b["type"], "transaction");
}

TEST(FhirBundle, SchemasRejectMalformedResources) {
  // The shapes must be able to fail: a wrong status, a value without number, two values.
  json obs = {{"resourceType", "Observation"}, {"status", "done"}, {"code", {{"text", "x"}}}};
  EXPECT_NE(fhirViolations(obs, "Observation"), "");
  obs["status"] = "final";
  EXPECT_EQ(fhirViolations(obs, "Observation"), "");
  obs["valueQuantity"] = {{"unit", "mm"}};
  EXPECT_NE(fhirViolations(obs, "Observation"), "");
  obs["valueQuantity"] = {{"value", 1.0}};
  obs["valueBoolean"] = true;
  EXPECT_NE(fhirViolations(obs, "Observation"), "");
  json bundle = {{"resourceType", "Bundle"},
                 {"type", "transaction"},
                 {"entry", json::array({{{"resource", {{"resourceType", "Patient"}}}}})}};
  EXPECT_NE(fhirViolations(bundle, "Bundle"), "");  // transaction entry without request
}

TEST(FhirBundle, ReportListsEveryObservationAndReferencesResolve) {
  const json b = report::toFhirBundle(::spinescreen::testing::analysedDicomReport(),
                                      ::spinescreen::testing::sampleIdentity());
  std::set<std::string> urls;
  for (const auto& e : b["entry"]) urls.insert(e["fullUrl"].get<std::string>());
  EXPECT_EQ(urls.size(), b["entry"].size());  // unique
  const auto reports = resources(b, "DiagnosticReport");
  ASSERT_EQ(reports.size(), 1u);
  const auto obs = resources(b, "Observation");
  EXPECT_EQ(reports[0]["result"].size(), obs.size());
  for (const auto& r : reports[0]["result"]) EXPECT_TRUE(urls.count(r["reference"]));
  const auto patients = resources(b, "Patient");
  ASSERT_EQ(patients.size(), 1u);
  EXPECT_EQ(patients[0]["identifier"][0]["value"], "PID-0042");
  EXPECT_EQ(patients[0]["birthDate"], "1954-03-12");
  for (const auto& o : obs) EXPECT_TRUE(urls.count(o["subject"]["reference"]));
  EXPECT_EQ(reports[0]["status"], "preliminary");
}

TEST(FhirBundle, CarriesPerVertebraGradeHeightsAndDensity) {
  const json b = report::toFhirBundle(::spinescreen::testing::analysedDicomReport(),
                                      ::spinescreen::testing::sampleIdentity());
  const auto obs = resources(b, "Observation");
  const json* l1 = observationFor(obs, "66794005");
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ((*l1)["valueInteger"], 2);
  std::map<std::string, json> comps;
  for (const auto& c : (*l1)["component"]) comps[c["code"]["text"]] = c;
  EXPECT_DOUBLE_EQ(comps["Anterior vertebral body height"]["valueQuantity"]["value"].get<double>(),
                   18.2);
  EXPECT_EQ(comps["Anterior vertebral body height"]["valueQuantity"]["code"], "mm");
  EXPECT_DOUBLE_EQ(comps["Vertebral body height loss"]["valueQuantity"]["value"].get<double>(),
                   32.6);
  EXPECT_EQ(comps["Vertebral fracture morphology"]["valueCodeableConcept"]["text"],
            "Wedge deformity");
  EXPECT_EQ(comps["Mean Attenuation Coefficient"]["valueQuantity"]["code"], "[hnsf'U]");
  // T11 was not measurable: no grade, a reason instead.
  bool t11 = false;
  for (const auto& o : obs)
    if (o.contains("bodySite") && o["bodySite"]["text"] == "T11") {
      t11 = true;
      EXPECT_FALSE(o.contains("valueInteger"));
      EXPECT_EQ(o["dataAbsentReason"]["text"], "cut by the field of view");
    }
  EXPECT_TRUE(t11);
  // L1 HU and the referral with its reasons.
  bool hu = false, referral = false;
  for (const auto& o : obs) {
    if (o["code"]["coding"][0]["code"] == "112181" && o.contains("valueQuantity")) {
      hu = true;
      EXPECT_DOUBLE_EQ(o["valueQuantity"]["value"].get<double>(), 95.3);
      EXPECT_EQ(o["bodySite"]["coding"][0]["code"], "66794005");
    }
    if (o["code"]["coding"][0]["code"] == "FLS") {
      referral = true;
      EXPECT_EQ(o["valueBoolean"], true);
      EXPECT_EQ(o["note"].size(), 2u);
    }
  }
  EXPECT_TRUE(hu);
  EXPECT_TRUE(referral);
}

TEST(FhirBundle, CanLeaveThePatientsIdentityOut) {
  report::FhirOptions opt;
  opt.includePatientIdentity = false;
  const json b = report::toFhirBundle(::spinescreen::testing::analysedDicomReport(),
                                      ::spinescreen::testing::sampleIdentity(), opt);
  EXPECT_EQ(bundleViolations(b), "");
  EXPECT_TRUE(resources(b, "Patient").empty());
  const std::string text = b.dump();
  EXPECT_EQ(text.find("PID-0042"), std::string::npos);
  EXPECT_EQ(text.find("Testperson"), std::string::npos);
  EXPECT_EQ(text.find("1954"), std::string::npos);
}

TEST(FhirBundle, NoReferralAndNoFractureIsStatedPlainly) {
  Report r = ::spinescreen::testing::analysedDicomReport();
  r.patient = PatientFindings{};
  const json b = report::toFhirBundle(r, PatientIdentity{});
  EXPECT_EQ(bundleViolations(b), "");
  const auto reports = resources(b, "DiagnosticReport");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0]["conclusion"].get<std::string>().find("No vertebral compression fracture"),
            std::string::npos);
}

TEST(FhirBundle, RefusesAStudyThatWasNotAnalysed) {
  Report r = ::spinescreen::testing::analysedDicomReport();
  r.status = Status::kFailed;
  EXPECT_THROW(report::toFhirBundle(r, PatientIdentity{}), UsageError);
}
