// DICOM Structured Report (TID 1500 Measurement Report) of one analysed study, encoded
// with DCMTK's dcmsr/cmr classes.
#pragma once

#include <string>

#include "core/report.h"
#include "core/study.h"
#include "report/dicom_common.h"

namespace spinescreen::report {

struct DicomWriteResult {
  std::string sopInstanceUid;
  std::string seriesInstanceUid;
  std::string studyInstanceUid;
};

// Writes the Enhanced SR of `report` (status ok) to `path`, filed in `target` with the
// patient of `identity`: per vertebra a measurement group (coded level, heights, height
// loss, Genant grade and shape, trabecular HU), the patient-level findings, the algorithm's
// name and version, and references to the source series and instances. Throws UsageError
// when the report is not analysed or the file cannot be written, Error(kInternal) when DCMTK
// refuses the content.
DicomWriteResult writeDicomSr(const Report& report, const PatientIdentity& identity,
                              const DicomStudyTarget& target, const std::string& path);

}  // namespace spinescreen::report
