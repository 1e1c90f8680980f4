// The outputs that carry results to where clinicians look: sr.dcm and sc.dcm (DICOM) and
// fhir.json, written beside report.json for an analysed study.
#pragma once

#include <filesystem>
#include <ostream>

#include "core/report.h"
#include "core/study.h"

namespace spinescreen::report {

struct DeliveryRequest {
  bool dicom = false;  // sr.dcm + sc.dcm
  bool fhir = false;   // fhir.json
};

// Writes the requested outputs into `outDir` for `report` (status ok; nothing otherwise) and
// records them in report.outputs (`dicom_sr`, `dicom_sc`, `fhir`). The Secondary Capture
// shows OUTDIR/sagittal.png, so that picture must be written first; without it sc.dcm is
// left out with a warning. A failure is logged and recorded in report.warnings; it does not
// undo the analysis. Never logs identifying data.
void writeDeliveryOutputs(Report& report, const PatientIdentity& identity,
                          const std::filesystem::path& outDir, const DeliveryRequest& request,
                          std::ostream& log);

}  // namespace spinescreen::report
