// Reports built by hand for the DICOM and FHIR output tests.
#pragma once

#include <string>

#include "core/report.h"
#include "core/study.h"

namespace spinescreen::testing {

// An analysed study from a DICOM CT series: L1 with a moderate wedge fracture, T12 normal,
// T11 not measurable; low density, referral recommended.
inline Report analysedDicomReport(const std::string& studyUid = "1.2.826.0.1.3680043.9.7433.1.1",
                                  const std::string& seriesUid = "1.2.826.0.1.3680043.9.7433.1.2") {
  Report r;
  r.status = Status::kOk;
  r.statusReason = "analysed";
  r.input.path = "ct-series";
  r.input.format = "dicom";
  r.input.studyInstanceUid = studyUid;
  r.input.seriesInstanceUid = seriesUid;
  r.input.sopClassUid = "1.2.840.10008.5.1.4.1.1.2";
  for (int i = 1; i <= 5; ++i)
    r.input.sopInstanceUids.push_back(seriesUid + "." + std::to_string(i));
  r.input.patientAgeYears = 71.0;
  r.input.patientSex = "F";
  Vertebra t11;
  t11.label = "T11";
  t11.measurable = false;
  t11.notMeasurableReason = "cut by the field of view";
  r.vertebrae.push_back(t11);
  Vertebra t12;
  t12.label = "T12";
  t12.heights = Heights{25.5, 25.0, 26.0};
  t12.heightLoss = 0.04;
  t12.genantGrade = 0;
  t12.morphology = Morphology::kNormal;
  t12.trabecularHu = 101.0;
  r.vertebrae.push_back(t12);
  Vertebra l1;
  l1.label = "L1";
  l1.heights = Heights{18.2, 22.1, 27.0};
  l1.heightLoss = 0.326;
  l1.genantGrade = 2;
  l1.morphology = Morphology::kWedge;
  l1.trabecularHu = 95.3;
  r.vertebrae.push_back(l1);
  Vertebra l2;
  l2.label = "L2";
  l2.measurable = false;
  l2.notMeasurableReason = "body too small to measure";
  r.vertebrae.push_back(l2);
  r.patient.fractureDetected = true;
  r.patient.maxGenantGrade = 2;
  r.patient.fracturedLevels = {"L1"};
  r.patient.l1TrabecularHu = 95.3;
  r.patient.densityHu = 95.3;
  r.patient.densityLevel = "L1";
  r.patient.boneDensityCategory = DensityCategory::kOsteoporosisLikely;
  r.patient.referralRecommended = true;
  r.patient.referralReasons = {"moderate wedge fracture at L1 (Genant grade 2)",
                               "L1 trabecular attenuation 95 HU (osteoporosis likely)"};
  return r;
}

inline PatientIdentity sampleIdentity() {
  PatientIdentity id;
  id.patientName = "Testperson^Alice";
  id.patientId = "PID-0042";
  id.birthDate = "19540312";
  id.accessionNumber = "ACC77";
  id.studyId = "S1";
  id.studyDate = "20250102";
  id.studyTime = "101500";
  return id;
}

}  // namespace spinescreen::testing
