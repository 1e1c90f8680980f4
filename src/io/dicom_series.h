// DICOM discovery, series grouping and series choice (contracts/CLI.md, "Inputs of analyze").
//
// discoverSeries() reads only headers (DCMTK, pixel data skipped), groups the files into
// series and sorts each series' slices along its slice normal. chooseSeries() marks which
// series qualify for analysis, with a reason for each, and picks one. readDicomSeries() reads
// the chosen series' voxels (GDCM) as HU on a regular LPS grid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/study.h"

namespace spinescreen::io {

// One DICOM file as its header describes it.
struct DicomSlice {
  std::string path;
  std::string sopInstanceUid;    // dataset's, else the file meta's
  std::optional<Vec3> position;  // ImagePositionPatient (LPS mm)
  std::optional<int64_t> instanceNumber;
  std::optional<int64_t> acquisitionNumber;
  int64_t frames = 1;
  // A frame of a multi-frame file: its index, and its rescale from the functional groups.
  int64_t frame = -1;
  std::optional<double> rescaleSlope;
  std::optional<double> rescaleIntercept;
};

// Non-identifying facts of a series, from its first file.
struct SeriesFacts {
  std::string modality;
  std::string sopClassUid;  // dataset's, else the file meta's
  std::string studyInstanceUid;
  std::string seriesInstanceUid;
  std::string imageType;  // e.g. ORIGINAL\PRIMARY\AXIAL
  std::string seriesDescription;
  std::string kernel;
  std::string manufacturer;
  std::string transferSyntax;
  std::optional<int64_t> seriesNumber;
  std::optional<int64_t> acquisitionNumber;
  int64_t rows = 0;
  int64_t columns = 0;
  std::optional<double> pixelSpacingRow;     // between rows (mm)
  std::optional<double> pixelSpacingColumn;  // between columns (mm)
  std::optional<double> sliceThicknessMm;
  std::optional<double> kvp;
  std::optional<double> gantryTiltDeg;
  std::optional<Vec3> rowDirection;     // ImageOrientationPatient, first triplet
  std::optional<Vec3> columnDirection;  // second triplet
  bool hasPixelData = false;
  // Contrast: agent/route non-empty -> true; agent attribute present but empty -> false.
  std::optional<bool> contrast;
  std::optional<double> patientAgeYears;  // PatientAge, else birth date and study date
  std::optional<std::string> patientSex;
};

struct SeriesCandidate {
  std::string groupKey;  // what grouped the files (UID or geometry/acquisition keys)
  bool groupedByUid = false;
  SeriesFacts facts;
  PatientIdentity identity;         // never printed
  std::vector<DicomSlice> slices;   // sorted along the slice normal when geometry is known
  bool enhancedMultiframe = false;  // one file holding the whole volume

  // Derived by discovery.
  int64_t sliceCount = 0;                // files, or frames of a multi-frame file
  std::optional<double> sliceSpacingMm;  // median distance between neighbouring slices
  std::optional<double> coverageMm;      // first to last slice along the normal
  std::optional<double> axialAngleDeg;   // angle between the slice normal and the body axis

  // Set by chooseSeries.
  bool eligible = false;
  bool chosen = false;
  std::string reason;  // why it is (not) chosen
};

struct Discovery {
  std::string input;
  std::vector<SeriesCandidate> series;
  std::vector<std::string> niftiFiles;
  std::vector<std::string> unreadableDicom;  // files that look like DICOM but do not parse
  int64_t dicomFiles = 0;
  int64_t ignoredFiles = 0;
};

// True when the file starts like DICOM (preamble + "DICM").
bool looksLikeDicomFile(const std::string& path);

// INPUT is a DICOM file (its folder's files of the same series are gathered, or the file alone
// when it is an enhanced multi-frame image) or a folder searched recursively. Never reads
// pixel data. Throws InputError when INPUT does not exist.
Discovery discoverSeries(const std::string& input);

// Marks each series eligible or not (with a reason) and returns the index of the chosen one.
// Throws NotApplicableError (e.g. only MR, only a localizer, too few slices) or InputError
// (no image series at all, unreadable files) saying precisely why none qualifies.
size_t chooseSeries(Discovery& discovery);

// One line per series with its key facts and why it was or was not chosen (no names/IDs).
std::string describeDiscovery(const Discovery& discovery);

// Reads a series (or an enhanced multi-frame file) as HU in LPS on a regular grid; resamples
// variable spacing, gantry tilt and oblique stacks with a note, refuses what it cannot make
// safe (UnsafeGeometryError). Fills StudyInfo and PatientIdentity.
LoadedStudy readDicomSeries(const SeriesCandidate& c);

// Convenience: discover, choose and read.
LoadedStudy loadDicom(const std::string& input);

// Completed years from a DICOM AS value ("055Y", "006M", "010W", "003D").
std::optional<double> parseDicomAge(const std::string& value);
// Completed years between two DICOM dates (YYYYMMDD); nullopt when either is malformed.
std::optional<double> yearsBetween(const std::string& birthDate, const std::string& onDate);

}  // namespace spinescreen::io
