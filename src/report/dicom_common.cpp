#include "report/dicom_common.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/ofstd/ofdatime.h>

#include <cmath>
#include <cstdio>

#include "core/version.h"

namespace spinescreen::report {

std::string newDicomUid() {
  char buf[100];
  dcmGenerateUniqueIdentifier(buf, SITE_INSTANCE_UID_ROOT);
  return buf;
}

DicomStudyTarget resolveStudyTarget(const StudyInfo& info, const PatientIdentity& identity) {
  DicomStudyTarget t;
  if (info.studyInstanceUid && !info.studyInstanceUid->empty()) {
    t.studyInstanceUid = *info.studyInstanceUid;
    t.newStudy = false;
    t.studyDate = identity.studyDate;
    t.studyTime = identity.studyTime;
    return t;
  }
  char buf[100];
  dcmGenerateUniqueIdentifier(buf, SITE_STUDY_UID_ROOT);
  t.studyInstanceUid = buf;
  t.newStudy = true;
  OFString date, time;
  const OFDateTime now = OFDateTime::getCurrentDateTime();
  now.getDate().getISOFormattedDate(date, false);
  now.getTime().getISOFormattedTime(time, true, false, false, false);
  t.studyDate = date;
  t.studyTime = time;
  return t;
}

std::string dicomAgeString(const StudyInfo& info) {
  if (!info.patientAgeYears) return {};
  const double years = *info.patientAgeYears;
  if (!std::isfinite(years) || years < 0 || years > 150) return {};
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03dY", static_cast<int>(std::floor(years)));
  return buf;
}

std::string algorithmName() { return kToolName; }
std::string algorithmVersion() { return kVersion; }

}  // namespace spinescreen::report
