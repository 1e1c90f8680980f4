#include "report/dicom_codes.h"

#include <map>

namespace spinescreen::report {

std::optional<Code> vertebraCode(const std::string& label) {
  // SNOMED CT concepts of DICOM PS3.16's anatomic codes (the ones TotalSegmentator's DICOM
  // mapping and CID 7151 use).
  static const std::map<std::string, std::pair<const char*, const char*>> kSct = {
      {"C1", {"14806007", "C1 vertebra"}},   {"C2", {"39976000", "C2 vertebra"}},
      {"C3", {"113205007", "C3 vertebra"}},  {"C4", {"5329002", "C4 vertebra"}},
      {"C5", {"36978003", "C5 vertebra"}},   {"C6", {"36054005", "C6 vertebra"}},
      {"C7", {"87391001", "C7 vertebra"}},   {"T1", {"64864005", "T1 vertebra"}},
      {"T2", {"53733008", "T2 vertebra"}},   {"T3", {"1626008", "T3 vertebra"}},
      {"T4", {"73071006", "T4 vertebra"}},   {"T5", {"56401006", "T5 vertebra"}},
      {"T6", {"45296009", "T6 vertebra"}},   {"T7", {"62487009", "T7 vertebra"}},
      {"T8", {"11068009", "T8 vertebra"}},   {"T9", {"82687006", "T9 vertebra"}},
      {"T10", {"7610001", "T10 vertebra"}},  {"T11", {"12989004", "T11 vertebra"}},
      {"T12", {"23215003", "T12 vertebra"}}, {"L1", {"66794005", "L1 vertebra"}},
      {"L2", {"14293000", "L2 vertebra"}},   {"L3", {"36470004", "L3 vertebra"}},
      {"L4", {"11994002", "L4 vertebra"}},   {"L5", {"49668003", "L5 vertebra"}},
      {"S1", {"65985001", "S1 vertebra"}},
  };
  if (auto it = kSct.find(label); it != kSct.end())
    return Code{"SCT", it->second.first, it->second.second};
  if (label == "T13") return Code{kPrivateScheme, "V-T13", "T13 vertebra (supernumerary)"};
  if (label == "L6") return Code{kPrivateScheme, "V-L6", "L6 vertebra (supernumerary)"};
  return std::nullopt;
}

std::string fhirSystem(const std::string& scheme) {
  if (scheme == "SCT") return "http://snomed.info/sct";
  if (scheme == "DCM") return "http://dicom.nema.org/resources/ontology/DCM";
  if (scheme == "UCUM") return "http://unitsofmeasure.org";
  if (scheme == "LN") return "http://loinc.org";
  return "urn:spinescreen:codes";  // the private scheme
}

namespace codes {
Code anteriorHeight() { return {kPrivateScheme, "H-A", "Anterior vertebral body height"}; }
Code middleHeight() { return {kPrivateScheme, "H-M", "Middle vertebral body height"}; }
Code posteriorHeight() { return {kPrivateScheme, "H-P", "Posterior vertebral body height"}; }
Code heightLoss() { return {kPrivateScheme, "H-LOSS", "Vertebral body height loss"}; }
Code genantGrade() { return {kPrivateScheme, "GENANT", "Genant semiquantitative grade"}; }
Code fractureMorphology() { return {kPrivateScheme, "SHAPE", "Vertebral fracture morphology"}; }
Code trabecularAttenuation() { return {"DCM", "112181", "Mean Attenuation Coefficient"}; }
Code vertebralFracture() { return {"SCT", "125605004", "Fracture of bone"}; }
Code fractureDetected() {
  return {kPrivateScheme, "VCF", "Vertebral compression fracture detected"};
}
Code densityCategory() { return {kPrivateScheme, "BMD-CAT", "Bone density category from CT"}; }
Code flsReferral() {
  return {kPrivateScheme, "FLS", "Fracture liaison service referral recommended"};
}
Code referralReason() { return {kPrivateScheme, "FLS-WHY", "Reason for referral"}; }
Code densityLevel() { return {kPrivateScheme, "BMD-LEVEL", "Level of density measurement"}; }
Code sourceNote() { return {kPrivateScheme, "SRC-NOTE", "Source of the measurements"}; }
Code notMeasured() { return {kPrivateScheme, "NOT-MEAS", "Vertebra seen but not measured"}; }
Code yes() { return {"SCT", "373066001", "Yes"}; }
Code no() { return {"SCT", "373067005", "No"}; }
Code morphology(Morphology m) {
  switch (m) {
    case Morphology::kWedge:
      return {kPrivateScheme, "M-WEDGE", "Wedge deformity"};
    case Morphology::kBiconcave:
      return {kPrivateScheme, "M-BICONCAVE", "Biconcave deformity"};
    case Morphology::kCrush:
      return {kPrivateScheme, "M-CRUSH", "Crush deformity"};
    case Morphology::kNormal:
    default:
      return {kPrivateScheme, "M-NORMAL", "Normal vertebral shape"};
  }
}
Code densityCategory(DensityCategory c) {
  switch (c) {
    case DensityCategory::kNormal:
      return {kPrivateScheme, "D-NORMAL", "Normal bone density"};
    case DensityCategory::kLow:
      return {kPrivateScheme, "D-LOW", "Low bone density"};
    case DensityCategory::kOsteoporosisLikely:
      return {kPrivateScheme, "D-OP", "Osteoporosis likely"};
    case DensityCategory::kIndeterminate:
    default:
      return {kPrivateScheme, "D-INDET", "Bone density indeterminate"};
  }
}
Code genantGradeValue(int grade) {
  static const char* kNames[] = {"Genant grade 0 (normal)", "Genant grade 1 (mild)",
                                 "Genant grade 2 (moderate)", "Genant grade 3 (severe)"};
  if (grade < 0 || grade > 3) grade = 0;
  return {kPrivateScheme, "G" + std::to_string(grade), kNames[grade]};
}
}  // namespace codes

}  // namespace spinescreen::report
