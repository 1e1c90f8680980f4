// What the DICOM outputs (SR, Secondary Capture) share: the study they are filed in and
// fresh UIDs. Only this part of src/report links DCMTK.
#pragma once

#include <string>

#include "core/report.h"
#include "core/study.h"

namespace spinescreen::report {

// The study the outputs of one analysis are filed in: the source study when the input was
// DICOM with a Study Instance UID, else a new study made for them.
struct DicomStudyTarget {
  std::string studyInstanceUid;
  bool newStudy = false;  // no source study: the outputs open a study of their own
  std::string studyDate;  // YYYYMMDD (the source's, or today for a new study)
  std::string studyTime;  // HHMMSS
};

// Decides the target study once per analysis so that the SR and the SC agree.
DicomStudyTarget resolveStudyTarget(const StudyInfo& info, const PatientIdentity& identity);

// A new globally unique UID (dcmGenerateUniqueIdentifier under DCMTK's site root).
std::string newDicomUid();

// Patient's age as DICOM AS ("065Y"), or empty when unknown or implausible.
std::string dicomAgeString(const StudyInfo& info);

// The algorithm's identification, as both outputs carry it.
std::string algorithmName();
std::string algorithmVersion();

}  // namespace spinescreen::report
