#include "report/dicom_sr.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmsr/cmr/tid1500.h>
#include <dcmtk/dcmsr/codes/dcm.h>
#include <dcmtk/dcmsr/codes/ucum.h>
#include <dcmtk/dcmsr/dsrdoc.h>

#include <cstdio>
#include <sstream>

#include "core/errors.h"
#include "report/dicom_codes.h"

namespace spinescreen::report {
namespace {

using Measurements = TID1500_MeasurementReport::TID1501_Measurements;
using Value = CMR_SRNumericMeasurementValueWithUnits<
    CID7181_AbstractMultiDimensionalImageModelComponentUnits>;

void check(const OFCondition& c, const std::string& what) {
  if (c.bad()) throw Error(ErrorCode::kInternal, "DICOM SR: " + what + ": " + c.text());
}

DSRCodedEntryValue coded(const Code& c) { return DSRCodedEntryValue(c.value, c.scheme, c.meaning); }

std::string number(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  // DS allows 16 characters; the values here are far shorter.
  return buf;
}

Value withUnits(double v, int decimals,
                CID7181_AbstractMultiDimensionalImageModelComponentUnits::EnumType unit) {
  return Value(number(v, decimals), CID7181_AbstractMultiDimensionalImageModelComponentUnits(unit));
}

Value withUcum(double v, int decimals, const char* code, const char* meaning) {
  return Value(number(v, decimals),
               CID7181_AbstractMultiDimensionalImageModelComponentUnits(
                   DSRCodedEntryValue(code, "UCUM", meaning)),
               OFFalse);
}

// A measurement group for a vertebra with at least one measurement; false (nothing added)
// for one with none, which TID 1501 cannot hold.
bool addVertebraGroup(TID1500_MeasurementReport& mr, const Vertebra& v) {
  const auto site = vertebraCode(v.label);
  if (!site) return false;  // unknown labels are not coded; report.json still carries them
  if (!v.heights && !v.heightLoss && !v.genantGrade && !v.trabecularHu) return false;
  check(mr.addIndividualMeasurements(), "add measurement group");
  Measurements& g = mr.getIndividualMeasurements();
  check(g.setTrackingIdentifier("vertebra " + v.label), "tracking identifier");
  check(g.setTrackingUniqueIdentifier(newDicomUid()), "tracking UID");
  check(g.setFinding(coded(codes::vertebralFracture())), "finding");
  check(g.addFindingSite(coded(*site)), "finding site");
  using U = CID7181_AbstractMultiDimensionalImageModelComponentUnits;
  if (v.heights) {
    check(g.addMeasurement(
              CID7469_GenericIntensityAndSizeMeasurements(coded(codes::anteriorHeight())),
              withUnits(v.heights->anteriorMm, 1, U::Millimeter), OFFalse),
          "anterior height");
    check(
        g.addMeasurement(CID7469_GenericIntensityAndSizeMeasurements(coded(codes::middleHeight())),
                         withUnits(v.heights->middleMm, 1, U::Millimeter), OFFalse),
        "middle height");
    check(g.addMeasurement(
              CID7469_GenericIntensityAndSizeMeasurements(coded(codes::posteriorHeight())),
              withUnits(v.heights->posteriorMm, 1, U::Millimeter), OFFalse),
          "posterior height");
  }
  if (v.heightLoss)
    check(g.addMeasurement(CID7469_GenericIntensityAndSizeMeasurements(coded(codes::heightLoss())),
                           withUnits(*v.heightLoss * 100.0, 1, U::Percent), OFFalse),
          "height loss");
  if (v.genantGrade)
    check(g.addMeasurement(CID7469_GenericIntensityAndSizeMeasurements(coded(codes::genantGrade())),
                           withUcum(*v.genantGrade, 0, "{grade}", "grade"), OFFalse),
          "Genant grade");
  if (v.trabecularHu)
    check(g.addMeasurement(
              CID7469_GenericIntensityAndSizeMeasurements(coded(codes::trabecularAttenuation())),
              withUnits(*v.trabecularHu, 1, U::HounsfieldUnit), OFFalse),
          "trabecular HU");
  if (v.genantGrade)
    check(g.addQualitativeEvaluation(coded(codes::genantGrade()),
                                     coded(codes::genantGradeValue(*v.genantGrade))),
          "Genant grade (coded)");
  if (v.morphology)
    check(g.addQualitativeEvaluation(coded(codes::fractureMorphology()),
                                     coded(codes::morphology(*v.morphology))),
          "morphology");
  return true;
}

std::string truncate(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n); }

}  // namespace

DicomWriteResult writeDicomSr(const Report& report, const PatientIdentity& identity,
                              const DicomStudyTarget& target, const std::string& path) {
  if (report.status != Status::kOk)
    throw UsageError("a DICOM SR is written only for an analysed study");
  if (target.studyInstanceUid.empty()) throw UsageError("DICOM SR: no study to file it in");

  TID1500_MeasurementReport mr(CMR_CID7021::ImagingMeasurementReport);
  check(mr.setLanguage(CID5000_Languages::English, CID5001_Countries::UnitedStates), "language");
  const std::string deviceUid = newDicomUid();
  check(mr.getObservationContext().addDeviceObserver(deviceUid, algorithmName(), algorithmName(),
                                                     algorithmName()),
        "device observer");
  check(mr.addProcedureReported(CMR_CID100::CTUnspecifiedBodyRegion), "procedure reported");

  // Image library: the source instances the measurements were made on.
  const bool haveSourceInstances = !target.newStudy && report.input.seriesInstanceUid &&
                                   report.input.sopClassUid &&
                                   !report.input.sopInstanceUids.empty();
  if (haveSourceInstances) {
    check(mr.getImageLibrary().createNewImageLibrary(), "image library");
    check(mr.getImageLibrary().addImageGroup(), "image library group");
    for (const auto& sop : report.input.sopInstanceUids) {
      DcmItem item;
      item.putAndInsertString(DCM_SOPClassUID, report.input.sopClassUid->c_str());
      item.putAndInsertString(DCM_SOPInstanceUID, sop.c_str());
      check(mr.getImageLibrary().addImageEntry(item, TID1600_ImageLibrary::withoutDescriptors),
            "image library entry");
    }
  }

  std::vector<std::string> unmeasured;
  for (const auto& v : report.vertebrae)
    if (!addVertebraGroup(mr, v))
      unmeasured.push_back(
          v.label + ": " +
          (v.notMeasurableReason.empty() ? std::string("no measurement") : v.notMeasurableReason));

  // Patient-level findings (TID 1500 row 12, qualitative evaluations).
  const PatientFindings& p = report.patient;
  check(mr.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_AlgorithmName), algorithmName()),
        "algorithm name");
  check(mr.addQualitativeEvaluation(DSRCodedEntryValue(CODE_DCM_AlgorithmVersion),
                                    algorithmVersion()),
        "algorithm version");
  check(mr.addQualitativeEvaluation(coded(codes::fractureDetected()),
                                    coded(p.fractureDetected ? codes::yes() : codes::no())),
        "fracture detected");
  if (p.maxGenantGrade)
    check(mr.addQualitativeEvaluation(coded(codes::genantGrade()),
                                      coded(codes::genantGradeValue(*p.maxGenantGrade))),
          "maximum Genant grade");
  if (p.boneDensityCategory)
    check(mr.addQualitativeEvaluation(coded(codes::densityCategory()),
                                      coded(codes::densityCategory(*p.boneDensityCategory))),
          "density category");
  if (p.densityLevel && p.densityHu) {
    std::ostringstream os;
    os << "trabecular attenuation " << number(*p.densityHu, 1) << " HU at " << *p.densityLevel;
    check(mr.addQualitativeEvaluation(coded(codes::densityLevel()), os.str()), "density level");
  }
  check(mr.addQualitativeEvaluation(coded(codes::flsReferral()),
                                    coded(p.referralRecommended ? codes::yes() : codes::no())),
        "referral");
  for (const auto& reason : p.referralReasons)
    check(mr.addQualitativeEvaluation(coded(codes::referralReason()), truncate(reason, 1000)),
          "referral reason");
  for (const auto& u : unmeasured)
    check(mr.addQualitativeEvaluation(coded(codes::notMeasured()), truncate(u, 1000)),
          "not measured");
  if (target.newStudy)
    check(mr.addQualitativeEvaluation(
              coded(codes::sourceNote()),
              std::string("measured on a ") +
                  (report.input.format.empty() ? "non-DICOM" : report.input.format) +
                  " volume with no source DICOM study; these results open a new study"),
          "source note");

  if (!mr.isValid()) throw Error(ErrorCode::kInternal, "DICOM SR: TID 1500 content is incomplete");

  DSRDocument doc(DSRTypes::DT_EnhancedSR);
  check(doc.setTreeFromRootTemplate(mr, OFTrue), "document tree");
  check(doc.createNewSeriesInStudy(target.studyInstanceUid), "series");
  doc.setSpecificCharacterSetType(DSRTypes::CS_UTF8);
  doc.setPreliminaryFlag(DSRTypes::PF_Preliminary);
  doc.setCompletionFlagDescription("computer-generated measurements, not reviewed");
  doc.setPatientName(identity.patientName, OFFalse);
  doc.setPatientID(identity.patientId, OFFalse);
  doc.setPatientBirthDate(identity.birthDate, OFFalse);
  if (report.input.patientSex) doc.setPatientSex(*report.input.patientSex, OFFalse);
  doc.setAccessionNumber(identity.accessionNumber, OFFalse);
  doc.setStudyID(identity.studyId, OFFalse);
  doc.setStudyDate(target.studyDate, OFFalse);
  doc.setStudyTime(target.studyTime, OFFalse);
  doc.setReferringPhysicianName(identity.referringPhysician, OFFalse);
  doc.setSeriesDescription("spinescreen vertebral fracture and bone density measurements");
  doc.setSeriesNumber("9901");
  doc.setInstanceNumber("1");
  doc.setManufacturer(algorithmName());
  doc.setManufacturerModelName(algorithmName());
  doc.setSoftwareVersions(algorithmVersion());
  doc.setDeviceSerialNumber("0");
  check(doc.getCodingSchemeIdentification().addItem(kPrivateScheme), "coding scheme");
  doc.getCodingSchemeIdentification().setCodingSchemeName(kPrivateSchemeName);
  doc.getCodingSchemeIdentification().setCodingSchemeResponsibleOrganization(algorithmName());
  if (haveSourceInstances) {
    for (const auto& sop : report.input.sopInstanceUids)
      check(doc.getCurrentRequestedProcedureEvidence().addItem(target.studyInstanceUid,
                                                               *report.input.seriesInstanceUid,
                                                               *report.input.sopClassUid, sop),
            "evidence");
  }

  DcmFileFormat file;
  check(doc.write(*file.getDataset()), "encode");
  DcmDataset* ds = file.getDataset();
  const std::string age = dicomAgeString(report.input);
  if (!age.empty()) ds->putAndInsertString(DCM_PatientAge, age.c_str());

  DicomWriteResult result;
  OFString s;
  ds->findAndGetOFString(DCM_SOPInstanceUID, s);
  result.sopInstanceUid = s;
  ds->findAndGetOFString(DCM_SeriesInstanceUID, s);
  result.seriesInstanceUid = s;
  result.studyInstanceUid = target.studyInstanceUid;

  const OFCondition w = file.saveFile(path.c_str(), EXS_LittleEndianExplicit);
  if (w.bad()) throw UsageError("cannot write " + path + ": " + w.text());
  return result;
}

}  // namespace spinescreen::report
