// What the reader learned about a study besides its voxels.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/image.h"

namespace spinescreen {

// Identifying attributes, needed only to file DICOM outputs with the source study.
// Never written to logs, stdout or report.json.
struct PatientIdentity {
  std::string patientName;
  std::string patientId;
  std::string birthDate;
  std::string accessionNumber;
  std::string studyId;
  std::string studyDate;
  std::string studyTime;
  std::string referringPhysician;
};

// Non-identifying facts about the input, as report.json's `input` section carries them.
struct StudyInfo {
  std::string path;    // as given on the command line
  std::string format;  // "dicom" | "nifti"
  std::string modality = "CT";
  std::optional<std::string> studyInstanceUid;
  std::optional<std::string> seriesInstanceUid;
  std::optional<std::string> seriesDescription;
  std::optional<double> sliceThicknessMm;
  std::optional<bool> contrast;
  std::optional<double> kvp;
  std::optional<double> patientAgeYears;
  std::optional<std::string> patientSex;
  std::optional<std::string> manufacturer;
  std::optional<std::string> convolutionKernel;
  std::vector<std::string> sopInstanceUids;  // source instances, for SR references
  std::optional<std::string> sopClassUid;
  std::vector<std::string> notes;  // e.g. "resampled: gantry tilt 12.0 deg corrected"
};

// A study read into memory: HU voxels in LPS plus what we know about it.
struct LoadedStudy {
  HuVolume volume;
  StudyInfo info;
  PatientIdentity identity;
};

}  // namespace spinescreen
