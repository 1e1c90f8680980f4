// DICOM Secondary Capture of the annotated sagittal picture, encoded with DCMTK.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/report.h"
#include "core/study.h"
#include "report/dicom_common.h"
#include "report/dicom_sr.h"

namespace spinescreen::report {

// 8-bit RGB pixels, row by row, interleaved (R, G, B).
struct RgbPicture {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

// Reads a PNG file (any colour type) as 8-bit RGB. Throws InputError when it is missing or
// not a PNG.
RgbPicture readPngAsRgb(const std::string& path);

// Writes a Secondary Capture of `picture` to `path`: same patient and study as the SR
// (`target`), a new series described as the annotated sagittal view. Throws UsageError when
// the report is not analysed, the picture is empty or inconsistent, or the file cannot be
// written.
DicomWriteResult writeDicomSc(const RgbPicture& picture, const Report& report,
                              const PatientIdentity& identity, const DicomStudyTarget& target,
                              const std::string& path);

}  // namespace spinescreen::report
