// Which stable series the service analyses.
#pragma once

#include <optional>
#include <string>

#include "service/config.h"

namespace spinescreen::service {

// What Orthanc tells about a series, before anything is downloaded.
struct SeriesFacts {
  std::string modality;
  std::string bodyPart;            // BodyPartExamined, may be empty
  std::optional<double> ageYears;  // from PatientAge, or birth date and study date
  int slices = 0;                  // instances, or frames of a single multi-frame instance
  std::string sopClassUid;
};

struct PolicyDecision {
  bool accept = false;
  bool ageUnknown = false;
  std::string reason;  // why not, or notes on acceptance ("age unknown")
};

PolicyDecision decide(const SeriesFacts& facts, const SeriesPolicy& policy);

// DICOM AS ("067Y", "030M", "012W", "005D") in years; nullopt when malformed.
std::optional<double> parseDicomAge(const std::string& as);

// Whole years between two DICOM dates (YYYYMMDD); nullopt when either is malformed.
std::optional<double> ageFromDates(const std::string& birthDate, const std::string& studyDate);

}  // namespace spinescreen::service
