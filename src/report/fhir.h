// FHIR R4 output: a transaction Bundle with a DiagnosticReport and its Observations, for a
// fracture liaison service's system to ingest.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/report.h"
#include "core/study.h"

namespace spinescreen::report {

struct FhirOptions {
  // Include a Patient resource with the identity (name, ID, birth date) so the receiving
  // system can match the patient. Off: the subject is only a logical identifier reference.
  bool includePatientIdentity = true;
  // System URI of the patient identifier (the issuer of Patient ID at the site).
  std::string patientIdentifierSystem = "urn:spinescreen:patient-id";
};

// Bundle (type transaction) of: Patient (when identity is known and asked for), one
// Observation per vertebra (grade, heights, height loss, shape, trabecular HU), L1 (or the
// density level's) trabecular HU, bone density category, fracture detected, referral
// recommendation with its reasons, and the DiagnosticReport that lists them. Throws
// UsageError when the report is not analysed.
nlohmann::json toFhirBundle(const Report& report, const PatientIdentity& identity,
                            const FhirOptions& options = {});

}  // namespace spinescreen::report
