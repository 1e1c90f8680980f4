#include "report/dicom_sc.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/ofstd/ofdatime.h>
#include <png.h>

#include <cstring>
#include <memory>

#include "core/errors.h"

namespace spinescreen::report {

RgbPicture readPngAsRgb(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str()))
    throw InputError("cannot read PNG " + path + ": " + image.message);
  image.format = PNG_FORMAT_RGB;
  RgbPicture p;
  p.width = static_cast<int>(image.width);
  p.height = static_cast<int>(image.height);
  if (p.width <= 0 || p.height <= 0 || p.width > 16384 || p.height > 16384) {
    png_image_free(&image);
    throw InputError("PNG " + path + " has an implausible size");
  }
  p.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, p.rgb.data(), 0, nullptr)) {
    const std::string msg = image.message;
    png_image_free(&image);
    throw InputError("cannot decode PNG " + path + ": " + msg);
  }
  return p;
}

namespace {
void put(DcmDataset& ds, const DcmTagKey& tag, const std::string& value) {
  const OFCondition c = ds.putAndInsertString(tag, value.c_str());
  if (c.bad())
    throw Error(ErrorCode::kInternal, std::string("DICOM SC: cannot set attribute: ") + c.text());
}
}  // namespace

DicomWriteResult writeDicomSc(const RgbPicture& picture, const Report& report,
                              const PatientIdentity& identity, const DicomStudyTarget& target,
                              const std::string& path) {
  if (report.status != Status::kOk)
    throw UsageError("a DICOM Secondary Capture is written only for an analysed study");
  if (picture.width <= 0 || picture.height <= 0 || picture.width > 65535 ||
      picture.height > 65535 ||
      picture.rgb.size() != static_cast<size_t>(picture.width) * picture.height * 3)
    throw UsageError("DICOM SC: the picture is empty or its size does not match its pixels");
  if (target.studyInstanceUid.empty()) throw UsageError("DICOM SC: no study to file it in");

  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  DicomWriteResult result;
  result.studyInstanceUid = target.studyInstanceUid;
  char uid[100];
  result.seriesInstanceUid = dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT);
  result.sopInstanceUid = dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);

  OFString date, time;
  const OFDateTime now = OFDateTime::getCurrentDateTime();
  now.getDate().getISOFormattedDate(date, false);
  now.getTime().getISOFormattedTime(time, true, false, false, false);

  // SOP Common
  put(ds, DCM_SpecificCharacterSet, "ISO_IR 192");
  put(ds, DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  put(ds, DCM_SOPInstanceUID, result.sopInstanceUid);
  put(ds, DCM_InstanceCreationDate, date);
  put(ds, DCM_InstanceCreationTime, time);
  // Patient, General Study, Patient Study
  put(ds, DCM_PatientName, identity.patientName);
  put(ds, DCM_PatientID, identity.patientId);
  put(ds, DCM_PatientBirthDate, identity.birthDate);
  put(ds, DCM_PatientSex, report.input.patientSex.value_or(""));
  const std::string age = dicomAgeString(report.input);
  if (!age.empty()) put(ds, DCM_PatientAge, age);
  put(ds, DCM_StudyInstanceUID, target.studyInstanceUid);
  put(ds, DCM_StudyDate, target.studyDate);
  put(ds, DCM_StudyTime, target.studyTime);
  put(ds, DCM_ReferringPhysicianName, identity.referringPhysician);
  put(ds, DCM_StudyID, identity.studyId);
  put(ds, DCM_AccessionNumber, identity.accessionNumber);
  // General Series
  put(ds, DCM_Modality, "OT");
  put(ds, DCM_SeriesInstanceUID, result.seriesInstanceUid);
  put(ds, DCM_SeriesNumber, "9902");
  put(ds, DCM_BodyPartExamined, "SPINE");  // unpaired: no Laterality
  put(ds, DCM_SeriesDate, date);
  put(ds, DCM_SeriesTime, time);
  put(ds, DCM_SeriesDescription, "spinescreen annotated sagittal view (not for diagnosis alone)");
  // General Equipment, SC Equipment
  put(ds, DCM_Manufacturer, algorithmName());
  put(ds, DCM_ManufacturerModelName, algorithmName());
  put(ds, DCM_SoftwareVersions, algorithmVersion());
  put(ds, DCM_ConversionType, "WSD");
  put(ds, DCM_SecondaryCaptureDeviceManufacturer, algorithmName());
  put(ds, DCM_SecondaryCaptureDeviceManufacturerModelName, algorithmName());
  put(ds, DCM_SecondaryCaptureDeviceSoftwareVersions, algorithmVersion());
  // General Image, SC Image
  put(ds, DCM_InstanceNumber, "1");
  put(ds, DCM_PatientOrientation, "");
  put(ds, DCM_ContentDate, date);
  put(ds, DCM_ContentTime, time);
  put(ds, DCM_ImageType, "DERIVED\\SECONDARY");
  put(ds, DCM_DerivationDescription,
      "sagittal reformat of the source CT with vertebral labels, heights and grades drawn by " +
          algorithmName() + " " + algorithmVersion());
  put(ds, DCM_BurnedInAnnotation, "NO");
  put(ds, DCM_LossyImageCompression, "00");
  // Image Pixel
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 3);
  put(ds, DCM_PhotometricInterpretation, "RGB");
  ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(picture.height));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(picture.width));
  ds.putAndInsertUint16(DCM_BitsAllocated, 8);
  ds.putAndInsertUint16(DCM_BitsStored, 8);
  ds.putAndInsertUint16(DCM_HighBit, 7);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  const OFCondition px = ds.putAndInsertUint8Array(DCM_PixelData, picture.rgb.data(),
                                                   static_cast<unsigned long>(picture.rgb.size()));
  if (px.bad())
    throw Error(ErrorCode::kInternal, std::string("DICOM SC: pixel data: ") + px.text());

  // Reference the source series the picture was derived from, when there is one.
  if (!target.newStudy && report.input.seriesInstanceUid && report.input.sopClassUid &&
      !report.input.sopInstanceUids.empty()) {
    DcmItem* item = nullptr;
    if (ds.findOrCreateSequenceItem(DCM_SourceImageSequence, item, -2).good() && item) {
      const auto& uids = report.input.sopInstanceUids;
      item->putAndInsertString(DCM_ReferencedSOPClassUID, report.input.sopClassUid->c_str());
      item->putAndInsertString(DCM_ReferencedSOPInstanceUID, uids[uids.size() / 2].c_str());
    }
  }

  const OFCondition w = file.saveFile(path.c_str(), EXS_LittleEndianExplicit);
  if (w.bad()) throw UsageError("cannot write " + path + ": " + w.text());
  return result;
}

}  // namespace spinescreen::report
