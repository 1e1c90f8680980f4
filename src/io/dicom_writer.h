// Writes a HU volume as an uncompressed CT Image Storage series (one file per slice), with
// DCMTK. Used for synthetic phantoms' DICOM output, tests and the ingestion benchmark.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/image.h"

namespace spinescreen::io {

struct DicomSeriesWriteOptions {
  std::string seriesDescription = "spinescreen CT";
  std::optional<std::string> studyInstanceUid;   // fresh when unset
  std::optional<std::string> seriesInstanceUid;  // fresh when unset
  int acquisitionNumber = 1;
  std::string modality = "CT";  // CT Image Storage; other values write MR etc.
  std::string imageType = "ORIGINAL\\PRIMARY\\AXIAL";
  int seriesNumber = 1;
  std::optional<double> patientAgeYears;  // written as PatientAge "055Y"
  std::optional<std::string> patientSex;  // "M", "F", "O"
  std::optional<double> kvp;
  // Contrast/Bolus module: unset -> not written; "" -> written with an empty agent (no
  // contrast); a name -> that agent.
  std::optional<std::string> contrastAgent;
  std::optional<double> sliceThicknessMm;  // default: the slice spacing
  double rescaleIntercept = -1024.0;
  // Gantry tilt to simulate: slice positions advance along the normal tilted by this angle
  // about the row axis (as a tilted gantry's table motion does), GantryDetectorTilt written.
  double gantryTiltDeg = 0.0;
  // Leave Study/Series/SOP Instance UIDs empty in the dataset (as some anonymisers do); the
  // file meta still carries the SOP instance UID.
  bool emptyUids = false;
  // One Enhanced CT Image Storage file (<prefix>.dcm) holding every slice as a frame, with
  // per-frame positions in the functional groups, instead of one file per slice.
  bool enhancedMultiframe = false;
  std::string patientName = "PHANTOM^SYNTHETIC";
  std::string patientId = "PHANTOM";
  std::string filePrefix = "slice";
};

// Writes dir/<prefix>NNNN.dcm, one per slice along the grid's third axis; creates dir. Returns
// the paths written. Throws UsageError when dir cannot be written.
std::vector<std::string> writeDicomSeries(const HuVolume& volume,
                                          const DicomSeriesWriteOptions& options,
                                          const std::string& dir);

}  // namespace spinescreen::io
