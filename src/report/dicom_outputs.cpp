#include "report/dicom_outputs.h"

#include "core/errors.h"
#include "report/dicom_common.h"
#include "report/dicom_sc.h"
#include "report/dicom_sr.h"
#include "report/fhir.h"
#include "report/json_report.h"

namespace spinescreen::report {
namespace fs = std::filesystem;

namespace {
template <class F>
void attempt(Report& report, const std::string& what, std::ostream& log, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    const std::string msg = what + " not written: " + e.what();
    log << "warning: " << msg << '\n';
    report.warnings.push_back(msg);
  }
}
}  // namespace

void writeDeliveryOutputs(Report& report, const PatientIdentity& identity, const fs::path& outDir,
                          const DeliveryRequest& request, std::ostream& log) {
  if (report.status != Status::kOk) return;
  if (request.dicom) {
    const DicomStudyTarget target = resolveStudyTarget(report.input, identity);
    attempt(report, "sr.dcm", log, [&] {
      writeDicomSr(report, identity, target, (outDir / "sr.dcm").string());
      report.outputs["dicom_sr"] = "sr.dcm";
    });
    const fs::path png = outDir / "sagittal.png";
    if (fs::exists(png)) {
      attempt(report, "sc.dcm", log, [&] {
        writeDicomSc(readPngAsRgb(png.string()), report, identity, target,
                     (outDir / "sc.dcm").string());
        report.outputs["dicom_sc"] = "sc.dcm";
      });
    } else {
      const std::string msg = "sc.dcm not written: no sagittal.png to capture";
      log << "warning: " << msg << '\n';
      report.warnings.push_back(msg);
    }
  }
  if (request.fhir) {
    attempt(report, "fhir.json", log, [&] {
      writeJsonAtomically(toFhirBundle(report, identity), (outDir / "fhir.json").string());
      report.outputs["fhir"] = "fhir.json";
    });
  }
}

}  // namespace spinescreen::report
