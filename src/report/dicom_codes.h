// Coded concepts the DICOM SR and the FHIR bundle share. Plain data: no DCMTK here.
#pragma once

#include <optional>
#include <string>

#include "core/report.h"

namespace spinescreen::report {

struct Code {
  std::string scheme;   // DICOM Coding Scheme Designator: "SCT", "DCM", "UCUM", "99SPNSCR"
  std::string value;    // code value
  std::string meaning;  // code meaning
};

// The private coding scheme for concepts no public terminology names (Genant grade,
// per-site heights). Declared in the SR's Coding Scheme Identification Sequence.
inline constexpr const char* kPrivateScheme = "99SPNSCR";
inline constexpr const char* kPrivateSchemeName = "spinescreen vertebral morphometry concepts";

// SNOMED CT body structure of a vertebra ("L1" -> 66794005 "First lumbar vertebra"), as in
// DICOM's anatomic codes. Variants with no SNOMED concept of their own (T13, L6) get a code
// of the private scheme; nullopt for an unknown label.
std::optional<Code> vertebraCode(const std::string& label);

// FHIR system URI of a DICOM coding scheme designator.
std::string fhirSystem(const std::string& scheme);

namespace codes {
// Concept names.
Code anteriorHeight();
Code middleHeight();
Code posteriorHeight();
Code heightLoss();
Code genantGrade();
Code fractureMorphology();
Code trabecularAttenuation();  // DCM 112181 Mean Attenuation Coefficient
Code vertebralFracture();      // SCT 125605004 Fracture of bone (finding)
Code fractureDetected();
Code densityCategory();
Code flsReferral();
Code referralReason();
Code densityLevel();
Code sourceNote();
Code notMeasured();
// Values.
Code yes();
Code no();
Code morphology(Morphology m);
Code densityCategory(DensityCategory c);
Code genantGradeValue(int grade);
}  // namespace codes

}  // namespace spinescreen::report
