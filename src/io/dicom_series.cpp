// DICOM discovery and series choice: headers only, read with DCMTK.
#include "io/dicom_series.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/oflog/oflog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "core/geometry.h"
#include "io/loader.h"

namespace spinescreen::io {
namespace fs = std::filesystem;

namespace {

// DCMTK logs about unusual or non-DICOM files to stderr; our own errors say what matters.
void quietDcmtk() {
  static std::once_flag once;
  std::call_once(once, [] { OFLog::configure(OFLogger::FATAL_LOG_LEVEL); });
}

// Elements longer than this (pixel data) are not loaded while scanning headers.
constexpr Uint32 kMaxHeaderElementBytes = 4096;

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (std::isspace(static_cast<unsigned char>(s[b])) || s[b] == '\0')) ++b;
  while (e > b && (std::isspace(static_cast<unsigned char>(s[e - 1])) || s[e - 1] == '\0')) --e;
  return s.substr(b, e - b);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string getString(DcmItem* item, const DcmTagKey& tag, bool deep = false) {
  OFString v;
  if (item && item->findAndGetOFStringArray(tag, v, deep ? OFTrue : OFFalse).good()) return trim(v);
  return {};
}

std::optional<double> getDouble(DcmItem* item, const DcmTagKey& tag, unsigned long pos = 0,
                                bool deep = false) {
  Float64 v = 0;
  if (item && item->findAndGetFloat64(tag, v, pos, deep ? OFTrue : OFFalse).good() &&
      std::isfinite(v))
    return v;
  return std::nullopt;
}

std::optional<int64_t> getInt(DcmItem* item, const DcmTagKey& tag) {
  Sint32 v = 0;
  if (item && item->findAndGetSint32(tag, v).good()) return v;
  // Some writers store IS with trailing junk; fall back on the string.
  const std::string s = getString(item, tag);
  if (s.empty()) return std::nullopt;
  try {
    return std::stoll(s);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<Vec3> getVec3(DcmItem* item, const DcmTagKey& tag, unsigned long first,
                            bool deep = false) {
  auto a = getDouble(item, tag, first, deep), b = getDouble(item, tag, first + 1, deep),
       c = getDouble(item, tag, first + 2, deep);
  if (!a || !b || !c) return std::nullopt;
  return Vec3{*a, *b, *c};
}

bool isEnhancedVolumeClass(const std::string& sopClass) {
  return sopClass == UID_EnhancedCTImageStorage || sopClass == UID_EnhancedMRImageStorage ||
         sopClass == UID_EnhancedMRColorImageStorage || sopClass == UID_EnhancedPETImageStorage ||
         sopClass == "1.2.840.10008.5.1.4.1.1.2.2" /* Legacy converted enhanced CT */;
}

bool isSecondaryCapture(const std::string& sopClass) {
  return sopClass.rfind("1.2.840.10008.5.1.4.1.1.7", 0) == 0;
}

// Structured reports (incl. dose reports), presentation states, key objects, raw data,
// encapsulated documents, registrations, segmentations: not image series.
bool isNonImageClass(const std::string& sopClass) {
  static const char* prefixes[] = {
      "1.2.840.10008.5.1.4.1.1.88.",   // SR, dose SR, key object selection
      "1.2.840.10008.5.1.4.1.1.11.",   // presentation states
      "1.2.840.10008.5.1.4.1.1.66",    // raw data, spatial registration, segmentation, ...
      "1.2.840.10008.5.1.4.1.1.104.",  // encapsulated PDF/CDA
      "1.2.840.10008.5.1.4.1.1.481.",  // RT objects
      "1.2.840.10008.5.1.4.1.1.9.",    // waveforms
  };
  for (const char* p : prefixes)
    if (sopClass.rfind(p, 0) == 0) return true;
  return false;
}

bool hasExtension(const std::string& name, const char* ext) {
  const size_t n = std::strlen(ext);
  if (name.size() < n) return false;
  std::string tail = name.substr(name.size() - n);
  for (auto& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tail == ext;
}

// Files that are certainly not DICOM, judged by name: skipped without opening.
bool obviouslyNotDicom(const std::string& name) {
  static const char* exts[] = {".json", ".png",  ".jpg", ".jpeg", ".txt", ".md",  ".csv",
                               ".html", ".htm",  ".xml", ".pdf",  ".nii", ".gz",  ".zip",
                               ".tar",  ".py",   ".sh",  ".log",  ".mha", ".mhd", ".nrrd",
                               ".bval", ".bvec", ".yml", ".yaml", ".ini", ".raw"};
  for (const char* e : exts)
    if (hasExtension(name, e)) return true;
  const std::string base = fs::path(name).filename().string();
  return base.empty() || base[0] == '.' || base == "DICOMDIR" || base == "LICENSE";
}

struct ScannedFile {
  enum Kind { kNotDicom, kUnreadable, kDicom } kind = kNotDicom;
  DicomSlice slice;
  std::vector<DicomSlice> frames;  // one per frame of an enhanced multi-frame file
  SeriesFacts facts;
  PatientIdentity identity;
};

std::optional<bool> contrastOf(DcmDataset* ds) {
  const std::string agent = getString(ds, DCM_ContrastBolusAgent);
  const std::string route = getString(ds, DCM_ContrastBolusRoute);
  const std::string upperAgent = upper(agent);
  if (!agent.empty() && upperAgent != "NONE" && upperAgent != "NO") return true;
  if (!route.empty() && upper(route) != "NONE") return true;
  // The Contrast/Bolus module present but its agent empty (or "NONE"): no contrast.
  if (ds->tagExists(DCM_ContrastBolusAgent)) return false;
  return std::nullopt;
}

ScannedFile scanFile(const std::string& path) {
  quietDcmtk();
  ScannedFile out;
  DcmFileFormat ff;
  const OFCondition st = ff.loadFile(OFFilename(path.c_str()), EXS_Unknown, EGL_noChange,
                                     kMaxHeaderElementBytes, ERM_autoDetect);
  const bool preamble = looksLikeDicomFile(path);
  if (st.bad()) {
    out.kind = preamble ? ScannedFile::kUnreadable : ScannedFile::kNotDicom;
    return out;
  }
  DcmDataset* ds = ff.getDataset();
  DcmMetaInfo* meta = ff.getMetaInfo();
  SeriesFacts& f = out.facts;
  f.modality = upper(getString(ds, DCM_Modality));
  f.sopClassUid = getString(ds, DCM_SOPClassUID);
  if (f.sopClassUid.empty()) f.sopClassUid = getString(meta, DCM_MediaStorageSOPClassUID);
  f.transferSyntax = getString(meta, DCM_TransferSyntaxUID);
  f.hasPixelData = ds->tagExists(DCM_PixelData);
  const auto rows = getInt(ds, DCM_Rows), cols = getInt(ds, DCM_Columns);
  // A file without a preamble parses as a raw dataset; accept it only when it is recognisably
  // a DICOM object.
  if (!preamble && f.modality.empty() && f.sopClassUid.empty() && !(rows && f.hasPixelData)) {
    out.kind = ScannedFile::kNotDicom;
    return out;
  }
  out.kind = ScannedFile::kDicom;
  f.rows = rows.value_or(0);
  f.columns = cols.value_or(0);
  f.studyInstanceUid = getString(ds, DCM_StudyInstanceUID);
  f.seriesInstanceUid = getString(ds, DCM_SeriesInstanceUID);
  f.imageType = upper(getString(ds, DCM_ImageType));
  f.seriesDescription = getString(ds, DCM_SeriesDescription);
  f.kernel = getString(ds, DCM_ConvolutionKernel);
  f.manufacturer = getString(ds, DCM_Manufacturer);
  f.seriesNumber = getInt(ds, DCM_SeriesNumber);
  f.acquisitionNumber = getInt(ds, DCM_AcquisitionNumber);
  const bool enhanced = isEnhancedVolumeClass(f.sopClassUid);
  f.pixelSpacingRow = getDouble(ds, DCM_PixelSpacing, 0, enhanced);
  f.pixelSpacingColumn = getDouble(ds, DCM_PixelSpacing, 1, enhanced);
  f.sliceThicknessMm = getDouble(ds, DCM_SliceThickness, 0, enhanced);
  f.kvp = getDouble(ds, DCM_KVP, 0, enhanced);
  f.gantryTiltDeg = getDouble(ds, DCM_GantryDetectorTilt);
  f.rowDirection = getVec3(ds, DCM_ImageOrientationPatient, 0, enhanced);
  f.columnDirection = getVec3(ds, DCM_ImageOrientationPatient, 3, enhanced);
  f.contrast = contrastOf(ds);
  f.patientAgeYears = parseDicomAge(getString(ds, DCM_PatientAge));
  const std::string sex = upper(getString(ds, DCM_PatientSex));
  if (!sex.empty()) f.patientSex = sex;

  PatientIdentity& id = out.identity;
  id.patientName = getString(ds, DCM_PatientName);
  id.patientId = getString(ds, DCM_PatientID);
  id.birthDate = getString(ds, DCM_PatientBirthDate);
  id.accessionNumber = getString(ds, DCM_AccessionNumber);
  id.studyId = getString(ds, DCM_StudyID);
  id.studyDate = getString(ds, DCM_StudyDate);
  id.studyTime = getString(ds, DCM_StudyTime);
  id.referringPhysician = getString(ds, DCM_ReferringPhysicianName);
  if (!f.patientAgeYears && !id.birthDate.empty()) {
    std::string on = id.studyDate;
    if (on.empty()) on = getString(ds, DCM_SeriesDate);
    if (on.empty()) on = getString(ds, DCM_AcquisitionDate);
    f.patientAgeYears = yearsBetween(id.birthDate, on);
  }

  DicomSlice& s = out.slice;
  s.path = path;
  s.sopInstanceUid = getString(ds, DCM_SOPInstanceUID);
  if (s.sopInstanceUid.empty()) s.sopInstanceUid = getString(meta, DCM_MediaStorageSOPInstanceUID);
  s.position = getVec3(ds, DCM_ImagePositionPatient, 0, enhanced);
  s.instanceNumber = getInt(ds, DCM_InstanceNumber);
  s.acquisitionNumber = f.acquisitionNumber;
  s.frames = std::max<int64_t>(1, getInt(ds, DCM_NumberOfFrames).value_or(1));
  // Enhanced multi-frame: each frame's position and rescale from the functional groups.
  DcmSequenceOfItems* perFrame = nullptr;
  if (s.frames > 1 &&
      ds->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrame).good() && perFrame &&
      static_cast<int64_t>(perFrame->card()) == s.frames) {
    DcmItem* shared = nullptr;
    ds->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
    const auto topSlope = getDouble(ds, DCM_RescaleSlope);
    const auto topIntercept = getDouble(ds, DCM_RescaleIntercept);
    for (int64_t i = 0; i < s.frames; ++i) {
      DcmItem* item = perFrame->getItem(static_cast<unsigned long>(i));
      DicomSlice fr = s;
      fr.frame = i;
      fr.position = getVec3(item, DCM_ImagePositionPatient, 0, true);
      if (!fr.position) fr.position = getVec3(shared, DCM_ImagePositionPatient, 0, true);
      fr.rescaleSlope = getDouble(item, DCM_RescaleSlope, 0, true);
      if (!fr.rescaleSlope) fr.rescaleSlope = getDouble(shared, DCM_RescaleSlope, 0, true);
      if (!fr.rescaleSlope) fr.rescaleSlope = topSlope;
      fr.rescaleIntercept = getDouble(item, DCM_RescaleIntercept, 0, true);
      if (!fr.rescaleIntercept)
        fr.rescaleIntercept = getDouble(shared, DCM_RescaleIntercept, 0, true);
      if (!fr.rescaleIntercept) fr.rescaleIntercept = topIntercept;
      fr.instanceNumber = i + 1;
      out.frames.push_back(std::move(fr));
    }
  }
  return out;
}

std::string fmt(double v, int decimals) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(decimals) << v;
  return os.str();
}

std::string optFmt(const std::optional<double>& v, int decimals) {
  return v ? fmt(*v, decimals) : std::string("?");
}

std::string vecKey(const std::optional<Vec3>& v) {
  if (!v) return "-";
  return fmt(v->x, 3) + "," + fmt(v->y, 3) + "," + fmt(v->z, 3);
}

// Files grouped into one series: by SeriesInstanceUID (split further by image size and
// orientation, so that a localizer sharing the UID stays apart), or, when the UID is empty, by
// geometry and acquisition keys.
std::string groupKeyOf(const ScannedFile& f, bool* byUid) {
  const SeriesFacts& s = f.facts;
  const std::string geometry = std::to_string(s.rows) + "x" + std::to_string(s.columns) + "|" +
                               vecKey(s.rowDirection) + "|" + vecKey(s.columnDirection);
  const bool enhanced = isEnhancedVolumeClass(s.sopClassUid) || f.slice.frames > 1;
  std::string key;
  if (!s.seriesInstanceUid.empty()) {
    *byUid = true;
    key = "uid:" + s.seriesInstanceUid + "|" + geometry;
  } else {
    *byUid = false;
    key = "keys:" + s.studyInstanceUid + "|" + s.modality + "|" + s.sopClassUid + "|" + geometry +
          "|" + optFmt(s.pixelSpacingRow, 4) + "," + optFmt(s.pixelSpacingColumn, 4) + "|" +
          optFmt(s.sliceThicknessMm, 3) + "|" +
          (s.seriesNumber ? std::to_string(*s.seriesNumber) : "-") + "|" +
          (s.acquisitionNumber ? std::to_string(*s.acquisitionNumber) : "-") + "|" + s.kernel +
          "|" + s.seriesDescription + "|" + s.imageType;
  }
  // A multi-frame file is a volume of its own.
  if (enhanced) key += "|file:" + f.slice.path;
  return key;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

void deriveGeometry(SeriesCandidate& c) {
  const SeriesFacts& f = c.facts;
  c.enhancedMultiframe =
      !c.slices.empty() &&
      std::all_of(c.slices.begin(), c.slices.end(),
                  [&](const DicomSlice& s) { return s.path == c.slices.front().path; }) &&
      (c.slices[0].frames > 1 || isEnhancedVolumeClass(f.sopClassUid));
  if (f.rowDirection && f.columnDirection) {
    const Vec3 n = f.rowDirection->cross(*f.columnDirection).normalized();
    if (n.norm() > 0.5) c.axialAngleDeg = std::acos(std::min(1.0, std::abs(n.z))) * 180.0 / kPi;
    const bool allPositions =
        std::all_of(c.slices.begin(), c.slices.end(),
                    [](const DicomSlice& s) { return s.position.has_value(); });
    if (allPositions && n.norm() > 0.5) {
      std::stable_sort(c.slices.begin(), c.slices.end(),
                       [&](const DicomSlice& a, const DicomSlice& b) {
                         const double da = a.position->dot(n), db = b.position->dot(n);
                         if (std::abs(da - db) > 1e-6) return da < db;
                         return a.instanceNumber.value_or(0) < b.instanceNumber.value_or(0);
                       });
      if (c.slices.size() >= 2) {
        std::vector<double> gaps;
        for (size_t k = 1; k < c.slices.size(); ++k)
          gaps.push_back(c.slices[k].position->dot(n) - c.slices[k - 1].position->dot(n));
        c.sliceSpacingMm = median(gaps);
        c.coverageMm = c.slices.back().position->dot(n) - c.slices.front().position->dot(n);
      }
    } else {
      std::stable_sort(c.slices.begin(), c.slices.end(),
                       [](const DicomSlice& a, const DicomSlice& b) {
                         return a.instanceNumber.value_or(0) < b.instanceNumber.value_or(0);
                       });
    }
  }
  if (c.enhancedMultiframe && c.slices.size() == 1) {
    // Frames without per-frame positions: read through ITK's GDCM (readMultiframe).
    c.sliceCount = c.slices[0].frames;
    const double step = f.sliceThicknessMm.value_or(0.0);
    if (step > 0) {
      c.sliceSpacingMm = step;
      c.coverageMm = step * static_cast<double>(c.sliceCount - 1);
    }
  } else {
    c.sliceCount = static_cast<int64_t>(c.slices.size());
  }
}

// The same instance stored twice (same SOP instance UID) counts once.
void dropDuplicateInstances(std::vector<SeriesCandidate>& series) {
  for (auto& c : series) {
    std::set<std::string> seen;
    std::vector<DicomSlice> keep;
    for (auto& s : c.slices)
      if (s.sopInstanceUid.empty() ||
          seen.insert(s.sopInstanceUid + "#" + std::to_string(s.frame)).second)
        keep.push_back(std::move(s));
    c.slices = std::move(keep);
  }
}

// Several acquisitions (e.g. contrast phases) at the same positions under one series UID become
// one candidate each, so that duplicated positions do not mix phases.
void splitPhasesByAcquisition(std::vector<SeriesCandidate>& series) {
  std::vector<SeriesCandidate> out;
  for (auto& c : series) {
    std::map<int64_t, std::vector<DicomSlice>> byAcq;
    for (const auto& s : c.slices) byAcq[s.acquisitionNumber.value_or(-1)].push_back(s);
    bool duplicated = false;
    if (byAcq.size() > 1 && c.facts.rowDirection && c.facts.columnDirection) {
      const Vec3 n = c.facts.rowDirection->cross(*c.facts.columnDirection).normalized();
      std::vector<double> z;
      for (const auto& s : c.slices)
        if (s.position) z.push_back(s.position->dot(n));
      std::sort(z.begin(), z.end());
      for (size_t k = 1; k < z.size(); ++k)
        if (z[k] - z[k - 1] < 0.01) duplicated = true;
    }
    if (!duplicated) {
      out.push_back(std::move(c));
      continue;
    }
    for (auto& [acq, slices] : byAcq) {
      SeriesCandidate part = c;
      part.slices = std::move(slices);
      part.groupKey += "|acquisition:" + std::to_string(acq);
      if (acq >= 0) part.facts.acquisitionNumber = acq;
      out.push_back(std::move(part));
    }
  }
  series = std::move(out);
}

void collectFiles(const fs::path& dir, std::vector<std::string>& files,
                  std::vector<std::string>& niftis, int64_t& ignored) {
  std::error_code ec;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string p = it->path().string();
    if (hasNiftiExtension(p)) {
      niftis.push_back(p);
    } else if (obviouslyNotDicom(p) || it->file_size(ec) < 132) {
      ++ignored;
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  std::sort(niftis.begin(), niftis.end());
}

std::vector<ScannedFile> scanAll(const std::vector<std::string>& files) {
  std::vector<ScannedFile> out(files.size());
  const unsigned workers =
      std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(),
                                      static_cast<unsigned>(files.size() / 16 + 1)));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) out[i] = scanFile(files[i]);
  };
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < std::min(workers, 8u); ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

}  // namespace

bool looksLikeDicomFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[132];
  if (!in.read(buf, sizeof buf)) return false;
  return std::memcmp(buf + 128, "DICM", 4) == 0;
}

std::optional<double> parseDicomAge(const std::string& value) {
  const std::string v = trim(value);
  if (v.size() != 4) return std::nullopt;
  for (int i = 0; i < 3; ++i)
    if (!std::isdigit(static_cast<unsigned char>(v[i]))) return std::nullopt;
  const double n = std::stod(v.substr(0, 3));
  switch (std::toupper(static_cast<unsigned char>(v[3]))) {
    case 'Y':
      return n;
    case 'M':
      return std::floor(n / 12.0 * 100.0) / 100.0;
    case 'W':
      return std::floor(n * 7.0 / 365.25 * 100.0) / 100.0;
    case 'D':
      return std::floor(n / 365.25 * 100.0) / 100.0;
    default:
      return std::nullopt;
  }
}

std::optional<double> yearsBetween(const std::string& birthDate, const std::string& onDate) {
  auto parse = [](const std::string& d, int& y, int& m, int& day) {
    const std::string t = trim(d);
    if (t.size() != 8 || !std::all_of(t.begin(), t.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return false;
    y = std::stoi(t.substr(0, 4));
    m = std::stoi(t.substr(4, 2));
    day = std::stoi(t.substr(6, 2));
    return m >= 1 && m <= 12 && day >= 1 && day <= 31;
  };
  int by, bm, bd, sy, sm, sd;
  if (!parse(birthDate, by, bm, bd) || !parse(onDate, sy, sm, sd)) return std::nullopt;
  int years = sy - by;
  if (sm < bm || (sm == bm && sd < bd)) --years;
  if (years < 0 || years > 130) return std::nullopt;
  return static_cast<double>(years);
}

Discovery discoverSeries(const std::string& input) {
  Discovery d;
  d.input = input;
  std::error_code ec;
  if (!fs::exists(input, ec)) throw InputError("input does not exist: " + input);
  std::vector<std::string> files;
  std::string singleFile;
  if (fs::is_directory(input, ec)) {
    collectFiles(input, files, d.niftiFiles, d.ignoredFiles);
  } else if (fs::is_regular_file(input, ec)) {
    singleFile = fs::absolute(input, ec).lexically_normal().string();
    const ScannedFile first = scanFile(input);
    if (first.kind == ScannedFile::kUnreadable)
      throw InputError("DICOM file cannot be read (truncated or corrupt): " + input);
    if (first.kind == ScannedFile::kNotDicom)
      throw InputError("input is neither NIfTI nor DICOM: " + input);
    const bool multiframe =
        first.slice.frames > 1 || isEnhancedVolumeClass(first.facts.sopClassUid);
    if (multiframe) {
      files.push_back(input);
    } else {
      const fs::path parent =
          fs::path(input).parent_path().empty() ? fs::path(".") : fs::path(input).parent_path();
      for (const auto& e : fs::directory_iterator(parent, ec)) {
        if (!e.is_regular_file(ec)) continue;
        const std::string p = e.path().string();
        if (!hasNiftiExtension(p) && !obviouslyNotDicom(p)) files.push_back(p);
      }
      std::sort(files.begin(), files.end());
    }
  } else {
    throw InputError("input is neither a file nor a folder: " + input);
  }

  std::vector<ScannedFile> scanned = scanAll(files);
  std::map<std::string, size_t> byKey;
  std::string wantedKey;
  for (size_t i = 0; i < scanned.size(); ++i) {
    ScannedFile& f = scanned[i];
    if (f.kind == ScannedFile::kNotDicom) {
      ++d.ignoredFiles;
      continue;
    }
    ++d.dicomFiles;
    if (f.kind == ScannedFile::kUnreadable) {
      d.unreadableDicom.push_back(files[i]);
      continue;
    }
    bool byUid = false;
    const std::string key = groupKeyOf(f, &byUid);
    if (!singleFile.empty() &&
        fs::absolute(f.slice.path, ec).lexically_normal().string() == singleFile)
      wantedKey = key;
    auto it = byKey.find(key);
    if (it == byKey.end()) {
      it = byKey.emplace(key, d.series.size()).first;
      SeriesCandidate c;
      c.groupKey = key;
      c.groupedByUid = byUid;
      c.facts = f.facts;
      c.identity = f.identity;
      d.series.push_back(std::move(c));
    }
    auto& target = d.series[it->second].slices;
    if (f.frames.empty())
      target.push_back(std::move(f.slice));
    else
      for (auto& fr : f.frames) target.push_back(std::move(fr));
  }
  if (!singleFile.empty()) {
    // A DICOM file names its own series: keep only that one.
    std::vector<SeriesCandidate> keep;
    for (auto& s : d.series)
      if (s.groupKey == wantedKey) keep.push_back(std::move(s));
    d.series = std::move(keep);
    d.unreadableDicom.erase(
        std::remove_if(d.unreadableDicom.begin(), d.unreadableDicom.end(),
                       [&](const std::string& p) {
                         return fs::absolute(p, ec).lexically_normal().string() != singleFile;
                       }),
        d.unreadableDicom.end());
  }
  dropDuplicateInstances(d.series);
  splitPhasesByAcquisition(d.series);
  for (auto& s : d.series) deriveGeometry(s);
  return d;
}

size_t chooseSeries(Discovery& d) {
  // Reasons a series cannot be analysed, checked in this order.
  bool anyCt = false;
  for (auto& c : d.series) {
    const SeriesFacts& f = c.facts;
    c.eligible = false;
    c.chosen = false;
    const bool ctClass = f.sopClassUid == UID_CTImageStorage ||
                         f.sopClassUid == UID_EnhancedCTImageStorage ||
                         f.sopClassUid == "1.2.840.10008.5.1.4.1.1.2.2";
    const std::string modality = f.modality.empty() && ctClass ? "CT" : f.modality;
    if (isNonImageClass(f.sopClassUid) || modality == "SR" || modality == "KO" ||
        modality == "PR" || modality == "RTSTRUCT" || modality == "SEG" || modality == "REG") {
      c.reason = "not an image series (" + (modality.empty() ? f.sopClassUid : modality) +
                 (modality == "SR" || f.sopClassUid.rfind("1.2.840.10008.5.1.4.1.1.88.", 0) == 0
                      ? ": structured or dose report"
                      : "") +
                 ")";
      continue;
    }
    if (!f.hasPixelData || f.rows <= 0 || f.columns <= 0) {
      c.reason = "no pixel data";
      continue;
    }
    if (isSecondaryCapture(f.sopClassUid)) {
      c.reason = "secondary capture (a screenshot, not a reconstruction)";
      continue;
    }
    if (modality != "CT") {
      c.reason = "modality " + (modality.empty() ? std::string("unknown") : modality) + ", not CT";
      continue;
    }
    anyCt = true;
    if (f.imageType.find("LOCALIZER") != std::string::npos ||
        f.imageType.find("SCOUT") != std::string::npos ||
        f.imageType.find("TOPOGRAM") != std::string::npos) {
      c.reason = "localizer/scout image";
      continue;
    }
    if (c.sliceCount <= 1) {
      c.reason = "a single slice";
      continue;
    }
    if (!f.rowDirection || !f.columnDirection || (!c.enhancedMultiframe && !c.coverageMm)) {
      c.reason = "no slice orientation/position (ImageOrientationPatient/ImagePositionPatient)";
      continue;
    }
    if (c.axialAngleDeg && *c.axialAngleDeg > 45.0) {
      c.reason = "not axial (slice normal " + fmt(*c.axialAngleDeg, 0) +
                 " deg from the body axis: a sagittal or coronal reformation)";
      continue;
    }
    if (c.sliceCount < 10) {
      c.reason = "only " + std::to_string(c.sliceCount) + " slices (at least 10 needed)";
      continue;
    }
    if (c.coverageMm && *c.coverageMm < 40.0 - 1e-6 &&
        *c.coverageMm + c.sliceSpacingMm.value_or(0) < 40.0) {
      c.reason = "z coverage " + fmt(*c.coverageMm, 0) + " mm (at least 40 mm needed)";
      continue;
    }
    c.eligible = true;
  }

  // Among eligible series: the thinnest reconstruction; the widest coverage breaks ties.
  auto thickness = [](const SeriesCandidate& c) {
    if (c.facts.sliceThicknessMm && *c.facts.sliceThicknessMm > 0) return *c.facts.sliceThicknessMm;
    return c.sliceSpacingMm.value_or(1e9);
  };
  std::optional<size_t> best;
  for (size_t i = 0; i < d.series.size(); ++i) {
    const auto& c = d.series[i];
    if (!c.eligible) continue;
    if (!best) {
      best = i;
      continue;
    }
    const auto& b = d.series[*best];
    const double tc = thickness(c), tb = thickness(b);
    if (tc < tb - 0.05 ||
        (std::abs(tc - tb) <= 0.05 && c.coverageMm.value_or(0) > b.coverageMm.value_or(0) + 1e-6) ||
        (std::abs(tc - tb) <= 0.05 &&
         std::abs(c.coverageMm.value_or(0) - b.coverageMm.value_or(0)) <= 1e-6 &&
         c.sliceCount > b.sliceCount))
      best = i;
  }
  if (best) {
    for (size_t i = 0; i < d.series.size(); ++i) {
      auto& c = d.series[i];
      if (i == *best) {
        c.chosen = true;
        c.reason = "chosen: " +
                   std::string(d.series.size() > 1 ? "thinnest eligible axial CT"
                                                   : "the only eligible axial CT") +
                   (d.series.size() > 1 ? " (widest coverage breaks ties)" : "");
      } else if (c.eligible) {
        const auto& b = d.series[*best];
        if (thickness(c) > thickness(b) + 0.05)
          c.reason = "eligible, but thicker slices than the chosen series";
        else if (c.coverageMm.value_or(0) + 1e-6 < b.coverageMm.value_or(0))
          c.reason = "eligible, but less coverage than the chosen series";
        else
          c.reason = "eligible, but no better than the chosen series (same thickness and coverage)";
      }
    }
    return *best;
  }

  // Nothing qualifies: say precisely why.
  if (d.series.empty()) {
    if (!d.unreadableDicom.empty())
      throw InputError(std::to_string(d.unreadableDicom.size()) +
                       " DICOM file(s) cannot be read (truncated or corrupt), e.g. " +
                       d.unreadableDicom.front());
    throw InputError("no DICOM image found in " + d.input);
  }
  std::map<std::string, int> reasons;
  std::map<std::string, int> modalities;
  for (const auto& c : d.series) {
    ++reasons[c.reason];
    ++modalities[c.facts.modality.empty() ? "unknown" : c.facts.modality];
  }
  std::string summary;
  for (const auto& [r, n] : reasons)
    summary += (summary.empty() ? "" : "; ") + std::to_string(n) + " series: " + r;
  const bool allNonImage =
      std::all_of(d.series.begin(), d.series.end(), [](const SeriesCandidate& c) {
        return c.reason.rfind("not an image", 0) == 0 || c.reason == "no pixel data";
      });
  if (allNonImage)
    throw InputError("no image series, only non-image DICOM objects (" + summary + ")");
  if (!anyCt) {
    std::string mods;
    for (const auto& [m, n] : modalities) mods += (mods.empty() ? "" : ", ") + m;
    throw NotApplicableError("only " + mods + " series found, no CT (" + summary + ")");
  }
  throw NotApplicableError("no CT series qualifies for analysis (" + summary + ")");
}

std::string describeDiscovery(const Discovery& d) {
  std::ostringstream os;
  os << d.series.size() << " series in " << d.dicomFiles << " DICOM file(s)";
  if (!d.unreadableDicom.empty()) os << ", " << d.unreadableDicom.size() << " unreadable";
  if (d.ignoredFiles) os << ", " << d.ignoredFiles << " other file(s) ignored";
  if (!d.niftiFiles.empty()) os << ", " << d.niftiFiles.size() << " NIfTI file(s)";
  os << '\n';
  for (size_t i = 0; i < d.series.size(); ++i) {
    const auto& c = d.series[i];
    const auto& f = c.facts;
    os << (c.chosen ? "* " : "  ") << "[" << i + 1 << "] "
       << (f.modality.empty() ? "?" : f.modality);
    if (f.seriesNumber) os << " #" << *f.seriesNumber;
    if (!f.seriesDescription.empty()) os << " \"" << f.seriesDescription << "\"";
    os << " slices=" << c.sliceCount << " " << f.columns << "x" << f.rows;
    os << " pixel=" << optFmt(f.pixelSpacingColumn, 3) << "x" << optFmt(f.pixelSpacingRow, 3)
       << "mm";
    os << " thickness=" << optFmt(f.sliceThicknessMm, 2) << "mm";
    os << " spacing=" << optFmt(c.sliceSpacingMm, 2) << "mm";
    os << " coverage=" << optFmt(c.coverageMm, 1) << "mm";
    if (c.axialAngleDeg) os << " tilt_from_axial=" << fmt(*c.axialAngleDeg, 1) << "deg";
    if (!f.kernel.empty()) os << " kernel=" << f.kernel;
    if (!f.imageType.empty()) os << " type=" << f.imageType;
    if (c.groupKey.find("|acquisition:") != std::string::npos && f.acquisitionNumber)
      os << " acquisition=" << *f.acquisitionNumber;
    os << " grouped_by=" << (c.groupedByUid ? "SeriesInstanceUID" : "geometry+acquisition keys");
    os << "\n      -> " << c.reason << '\n';
  }
  return os.str();
}

LoadedStudy loadDicom(const std::string& input) {
  Discovery d = discoverSeries(input);
  const size_t i = chooseSeries(d);
  LoadedStudy s = readDicomSeries(d.series[i]);
  if (d.series.size() > 1)
    s.info.notes.push_back("series chosen among " + std::to_string(d.series.size()) + ": " +
                           d.series[i].reason);
  return s;
}

}  // namespace spinescreen::io
