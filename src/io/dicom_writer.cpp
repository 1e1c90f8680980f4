#include "io/dicom_writer.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/oflog/oflog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/errors.h"
#include "core/geometry.h"

namespace spinescreen::io {
namespace fs = std::filesystem;

namespace {

// DCMTK logs about unusual or non-DICOM files to stderr; our own errors say what matters.
void quietDcmtk() {
  static std::once_flag once;
  std::call_once(once, [] { OFLog::configure(OFLogger::FATAL_LOG_LEVEL); });
}

std::string newUid(const char* root) {
  char buf[100];
  dcmGenerateUniqueIdentifier(buf, root);
  return buf;
}

// A DS value of at most 16 characters.
std::string ds(double v) {
  char buf[64];
  for (int decimals = 6; decimals >= 0; --decimals) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    if (std::strlen(buf) <= 16) return buf;
  }
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string ds3(const Vec3& v) { return ds(v.x) + "\\" + ds(v.y) + "\\" + ds(v.z); }

void check(const OFCondition& c, const std::string& what) {
  if (c.bad()) throw UsageError("cannot write DICOM (" + what + "): " + c.text());
}

}  // namespace

std::vector<std::string> writeDicomSeries(const HuVolume& volume, const DicomSeriesWriteOptions& o,
                                          const std::string& dir) {
  quietDcmtk();
  const Grid& g = volume.grid();
  if (volume.empty()) throw UsageError("cannot write an empty volume as DICOM");
  if (g.size[0] > 65535 || g.size[1] > 65535)
    throw UsageError("slice too large for DICOM rows/columns");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw UsageError("cannot create DICOM output folder " + dir);

  const bool ct = o.modality == "CT";
  const std::string sopClass =
      ct ? UID_CTImageStorage
         : (o.modality == "MR" ? UID_MRImageStorage : UID_SecondaryCaptureImageStorage);
  const std::string studyUid = o.studyInstanceUid.value_or(newUid(SITE_STUDY_UID_ROOT));
  const std::string seriesUid = o.seriesInstanceUid.value_or(newUid(SITE_SERIES_UID_ROOT));
  const std::string frameUid = newUid(SITE_INSTANCE_UID_ROOT);
  const Vec3 row = g.direction.column(0).normalized();
  const Vec3 col = g.direction.column(1).normalized();
  const Vec3 normal = g.direction.column(2).normalized();
  const double tiltRad = o.gantryTiltDeg * kPi / 180.0;
  const double intercept = std::round(o.rescaleIntercept);

  // Stored value = HU - intercept; signed storage when some value would be negative.
  int64_t minStored = 0;
  for (int16_t v : volume.data()) minStored = std::min<int64_t>(minStored, v - intercept);
  const bool isSigned = minStored < 0;

  char date[16], time[16];
  {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(date, sizeof date, "%Y%m%d", &tm);
    std::strftime(time, sizeof time, "%H%M%S", &tm);
  }

  const int64_t slices = g.size[2];
  const size_t sliceVoxels = static_cast<size_t>(g.size[0] * g.size[1]);
  auto storedPixels = [&](int64_t k, Uint16* out) {
    const int16_t* src = volume.data().data() + static_cast<size_t>(k) * sliceVoxels;
    for (size_t i = 0; i < sliceVoxels; ++i) {
      const int64_t stored = static_cast<int64_t>(src[i]) - static_cast<int64_t>(intercept);
      out[i] = isSigned ? static_cast<Uint16>(
                              static_cast<int16_t>(std::clamp<int64_t>(stored, -32768, 32767)))
                        : static_cast<Uint16>(std::clamp<int64_t>(stored, 0, 65535));
    }
  };
  auto positionOf = [&](int64_t k) {
    return g.indexToLps({0.0, 0.0, static_cast<double>(k)}) +
           col * (static_cast<double>(k) * g.spacing.z * std::tan(tiltRad));
  };

  if (o.enhancedMultiframe) {
    if (!ct) throw UsageError("enhanced multi-frame output is written for CT only");
    DcmFileFormat ff;
    DcmDataset* d = ff.getDataset();
    const std::pair<DcmTagKey, std::string> strings[] = {
        {DCM_SpecificCharacterSet, "ISO_IR 100"},
        {DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL\\NONE"},
        {DCM_SOPClassUID, UID_EnhancedCTImageStorage},
        {DCM_SOPInstanceUID, newUid(SITE_INSTANCE_UID_ROOT)},
        {DCM_StudyDate, date},
        {DCM_StudyTime, time},
        {DCM_ContentDate, date},
        {DCM_ContentTime, time},
        {DCM_AcquisitionDateTime, std::string(date) + time},
        {DCM_AccessionNumber, ""},
        {DCM_Modality, "CT"},
        {DCM_Manufacturer, "spinescreen"},
        {DCM_ReferringPhysicianName, ""},
        {DCM_SeriesDescription, o.seriesDescription},
        {DCM_PatientName, o.patientName},
        {DCM_PatientID, o.patientId},
        {DCM_PatientBirthDate, ""},
        {DCM_PatientSex, o.patientSex.value_or("")},
        {DCM_StudyInstanceUID, studyUid},
        {DCM_SeriesInstanceUID, seriesUid},
        {DCM_StudyID, "1"},
        {DCM_SeriesNumber, std::to_string(o.seriesNumber)},
        {DCM_InstanceNumber, "1"},
        {DCM_FrameOfReferenceUID, frameUid},
        {DCM_PositionReferenceIndicator, ""},
        {DCM_PhotometricInterpretation, "MONOCHROME2"},
        {DCM_NumberOfFrames, std::to_string(slices)},
        {DCM_ContentQualification, "PRODUCT"},
        {DCM_BurnedInAnnotation, "NO"},
    };
    for (const auto& [tag, value] : strings)
      check(d->putAndInsertString(tag, value.c_str()), "header");
    if (o.kvp) check(d->putAndInsertString(DCM_KVP, ds(*o.kvp).c_str()), "kvp");
    if (o.contrastAgent)
      check(d->putAndInsertString(DCM_ContrastBolusAgent, o.contrastAgent->c_str()), "contrast");
    DcmItem* shared = nullptr;
    check(d->findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0), "groups");
    DcmItem* item = nullptr;
    check(shared->findOrCreateSequenceItem(DCM_PixelMeasuresSequence, item, 0), "groups");
    check(item->putAndInsertString(DCM_PixelSpacing,
                                   (ds(g.spacing.y) + "\\" + ds(g.spacing.x)).c_str()),
          "spacing");
    check(item->putAndInsertString(DCM_SliceThickness,
                                   ds(o.sliceThicknessMm.value_or(g.spacing.z)).c_str()),
          "thickness");
    check(item->putAndInsertString(DCM_SpacingBetweenSlices, ds(g.spacing.z).c_str()), "spacing");
    check(shared->findOrCreateSequenceItem(DCM_PlaneOrientationSequence, item, 0), "groups");
    check(
        item->putAndInsertString(DCM_ImageOrientationPatient, (ds3(row) + "\\" + ds3(col)).c_str()),
        "orientation");
    check(shared->findOrCreateSequenceItem(DCM_PixelValueTransformationSequence, item, 0),
          "groups");
    check(item->putAndInsertString(DCM_RescaleIntercept, ds(intercept).c_str()), "rescale");
    check(item->putAndInsertString(DCM_RescaleSlope, "1"), "rescale");
    check(item->putAndInsertString(DCM_RescaleType, "HU"), "rescale");
    for (int64_t k = 0; k < slices; ++k) {
      DcmItem* frame = nullptr;
      check(d->findOrCreateSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, -2), "groups");
      check(frame->findOrCreateSequenceItem(DCM_PlanePositionSequence, item, 0), "groups");
      check(item->putAndInsertString(DCM_ImagePositionPatient, ds3(positionOf(k)).c_str()),
            "position");
    }
    check(d->putAndInsertUint16(DCM_SamplesPerPixel, 1), "pixel");
    check(d->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(g.size[1])), "pixel");
    check(d->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(g.size[0])), "pixel");
    check(d->putAndInsertUint16(DCM_BitsAllocated, 16), "pixel");
    check(d->putAndInsertUint16(DCM_BitsStored, 16), "pixel");
    check(d->putAndInsertUint16(DCM_HighBit, 15), "pixel");
    check(d->putAndInsertUint16(DCM_PixelRepresentation, isSigned ? 1 : 0), "pixel");
    std::vector<Uint16> pixels(sliceVoxels * static_cast<size_t>(slices));
    for (int64_t k = 0; k < slices; ++k)
      storedPixels(k, pixels.data() + static_cast<size_t>(k) * sliceVoxels);
    check(d->putAndInsertUint16Array(DCM_PixelData, pixels.data(),
                                     static_cast<unsigned long>(pixels.size())),
          "pixel data");
    const std::string path = (fs::path(dir) / (o.filePrefix + ".dcm")).string();
    check(ff.saveFile(OFFilename(path.c_str()), EXS_LittleEndianExplicit, EET_ExplicitLength),
          path);
    return {path};
  }
  std::vector<std::string> paths(static_cast<size_t>(slices));
  std::atomic<int64_t> next{0};
  std::mutex errorMutex;
  std::string error;

  auto writeOne = [&](int64_t k) {
    DcmFileFormat ff;
    DcmDataset* d = ff.getDataset();
    const std::string sopUid = newUid(SITE_INSTANCE_UID_ROOT);
    const Vec3 ipp = g.indexToLps({0.0, 0.0, static_cast<double>(k)}) +
                     col * (static_cast<double>(k) * g.spacing.z * std::tan(tiltRad));
    char ageBuf[8] = "";
    if (o.patientAgeYears)
      std::snprintf(ageBuf, sizeof ageBuf, "%03dY",
                    std::clamp(static_cast<int>(*o.patientAgeYears), 0, 999));
    const std::pair<DcmTagKey, std::string> strings[] = {
        {DCM_SpecificCharacterSet, "ISO_IR 100"},
        {DCM_ImageType, o.imageType},
        {DCM_SOPClassUID, sopClass},
        {DCM_SOPInstanceUID, sopUid},
        {DCM_StudyDate, date},
        {DCM_SeriesDate, date},
        {DCM_ContentDate, date},
        {DCM_StudyTime, time},
        {DCM_SeriesTime, time},
        {DCM_ContentTime, time},
        {DCM_AccessionNumber, ""},
        {DCM_Modality, o.modality},
        {DCM_Manufacturer, "spinescreen"},
        {DCM_ReferringPhysicianName, ""},
        {DCM_SeriesDescription, o.seriesDescription},
        {DCM_PatientName, o.patientName},
        {DCM_PatientID, o.patientId},
        {DCM_PatientBirthDate, ""},
        {DCM_PatientSex, o.patientSex.value_or("")},
        {DCM_SliceThickness, ds(o.sliceThicknessMm.value_or(g.spacing.z))},
        {DCM_StudyInstanceUID, studyUid},
        {DCM_SeriesInstanceUID, seriesUid},
        {DCM_StudyID, "1"},
        {DCM_SeriesNumber, std::to_string(o.seriesNumber)},
        {DCM_AcquisitionNumber, std::to_string(o.acquisitionNumber)},
        {DCM_InstanceNumber, std::to_string(k + 1)},
        {DCM_ImagePositionPatient, ds3(ipp)},
        {DCM_ImageOrientationPatient, ds3(row) + "\\" + ds3(col)},
        {DCM_FrameOfReferenceUID, frameUid},
        {DCM_PositionReferenceIndicator, ""},
        {DCM_SliceLocation, ds(ipp.dot(normal))},
        {DCM_PhotometricInterpretation, "MONOCHROME2"},
        {DCM_PixelSpacing, ds(g.spacing.y) + "\\" + ds(g.spacing.x)},
    };
    for (const auto& [tag, value] : strings)
      check(d->putAndInsertString(tag, value.c_str()), "header");
    if (o.patientAgeYears) check(d->putAndInsertString(DCM_PatientAge, ageBuf), "age");
    if (ct) {
      check(d->putAndInsertString(DCM_RescaleIntercept, ds(intercept).c_str()), "rescale");
      check(d->putAndInsertString(DCM_RescaleSlope, "1"), "rescale");
      check(d->putAndInsertString(DCM_RescaleType, "HU"), "rescale");
      check(d->putAndInsertString(DCM_GantryDetectorTilt, ds(o.gantryTiltDeg).c_str()), "tilt");
      if (o.kvp) check(d->putAndInsertString(DCM_KVP, ds(*o.kvp).c_str()), "kvp");
      if (o.contrastAgent)
        check(d->putAndInsertString(DCM_ContrastBolusAgent, o.contrastAgent->c_str()), "contrast");
    }
    check(d->putAndInsertUint16(DCM_SamplesPerPixel, 1), "pixel");
    check(d->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(g.size[1])), "pixel");
    check(d->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(g.size[0])), "pixel");
    check(d->putAndInsertUint16(DCM_BitsAllocated, 16), "pixel");
    check(d->putAndInsertUint16(DCM_BitsStored, 16), "pixel");
    check(d->putAndInsertUint16(DCM_HighBit, 15), "pixel");
    check(d->putAndInsertUint16(DCM_PixelRepresentation, isSigned ? 1 : 0), "pixel");
    std::vector<Uint16> pixels(sliceVoxels);
    const int16_t* src = volume.data().data() + static_cast<size_t>(k) * sliceVoxels;
    for (size_t i = 0; i < sliceVoxels; ++i) {
      const int64_t stored = static_cast<int64_t>(src[i]) - static_cast<int64_t>(intercept);
      pixels[i] = isSigned ? static_cast<Uint16>(
                                 static_cast<int16_t>(std::clamp<int64_t>(stored, -32768, 32767)))
                           : static_cast<Uint16>(std::clamp<int64_t>(stored, 0, 65535));
    }
    check(d->putAndInsertUint16Array(DCM_PixelData, pixels.data(),
                                     static_cast<unsigned long>(sliceVoxels)),
          "pixel data");
    char name[64];
    std::snprintf(name, sizeof name, "%s%05lld.dcm", o.filePrefix.c_str(),
                  static_cast<long long>(k) + 1);
    const std::string path = (fs::path(dir) / name).string();
    check(ff.saveFile(OFFilename(path.c_str()), EXS_LittleEndianExplicit, EET_ExplicitLength),
          path);
    if (o.emptyUids) {
      // Keep the UIDs in the file meta only.
      for (const DcmTagKey& t : {DCM_SOPClassUID, DCM_SOPInstanceUID, DCM_StudyInstanceUID,
                                 DCM_SeriesInstanceUID, DCM_FrameOfReferenceUID})
        check(d->putAndInsertString(t, ""), "uids");
      check(ff.saveFile(OFFilename(path.c_str()), EXS_LittleEndianExplicit, EET_ExplicitLength,
                        EGL_recalcGL, EPD_noChange, 0, 0, EWM_dontUpdateMeta),
            path);
    }
    paths[static_cast<size_t>(k)] = path;
  };

  auto work = [&] {
    for (int64_t k = next++; k < slices; k = next++) {
      try {
        writeOne(k);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(errorMutex);
        if (error.empty()) error = e.what();
        next = slices;
      }
    }
  };
  const unsigned workers = std::min<unsigned>(
      {std::max(1u, std::thread::hardware_concurrency()), 4u, static_cast<unsigned>(slices)});
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (!error.empty()) throw UsageError(error);
  return paths;
}

}  // namespace spinescreen::io
