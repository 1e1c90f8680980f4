// DICOM SR (TID 1500) and Secondary Capture outputs, read back with DCMTK and checked with
// dciodvfy (dicom3tools) and dsrdump.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmsr/dsrdoc.h>
#include <gtest/gtest.h>
#include <png.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/version.h"
#include "report/dicom_outputs.h"
#include "report/dicom_sc.h"
#include "report/dicom_sr.h"
#include "report_fixtures.h"

using namespace spinescreen;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("spinescreen-dicom-test-" + std::to_string(::getpid()) +
                                        "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

std::string attr(const std::string& file, const DcmTagKey& tag) {
  DcmFileFormat ff;
  if (ff.loadFile(file.c_str()).bad()) return "<unreadable>";
  OFString v;
  ff.getDataset()->findAndGetOFStringArray(tag, v);
  return v.c_str();
}

// Runs a command; returns its exit status and combined output.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  std::array<char, 4096> buf;
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int rc = ::pclose(p);
  return {WEXITSTATUS(rc), out};
}

bool haveTool(const std::string& name) { return run("command -v " + name).first == 0; }

// dciodvfy's lines starting with "Error" (warnings are allowed).
std::string dciodvfyErrors(const std::string& file) {
  const auto [rc, out] = run("dciodvfy '" + file + "'");
  std::string errors;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Error", 0) == 0) errors += line + "\n";
  return errors;
}

report::RgbPicture gradient(int w, int h) {
  report::RgbPicture p;
  p.width = w;
  p.height = h;
  p.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* px = &p.rgb[(static_cast<size_t>(y) * w + x) * 3];
      px[0] = static_cast<uint8_t>(x);
      px[1] = static_cast<uint8_t>(y);
      px[2] = static_cast<uint8_t>(x ^ y);
    }
  return p;
}

struct Written {
  report::DicomStudyTarget target;
  report::DicomWriteResult sr, sc;
  std::string srPath, scPath;
};

Written writeBoth(const Report& r, const PatientIdentity& id, const fs::path& dir) {
  Written w;
  w.target = report::resolveStudyTarget(r.input, id);
  w.srPath = (dir / "sr.dcm").string();
  w.scPath = (dir / "sc.dcm").string();
  w.sr = report::writeDicomSr(r, id, w.target, w.srPath);
  w.sc = report::writeDicomSc(gradient(64, 48), r, id, w.target, w.scPath);
  return w;
}

}  // namespace

TEST(DicomSr, IsFiledWithTheSourcePatientAndStudyInANewSeries) {
  TempDir dir;
  const Report r = ::spinescreen::testing::analysedDicomReport();
  const auto w = writeBoth(r, ::spinescreen::testing::sampleIdentity(), dir.path);
  EXPECT_EQ(attr(w.srPath, DCM_SOPClassUID), "1.2.840.10008.5.1.4.1.1.88.22");  // Enhanced SR
  EXPECT_EQ(attr(w.srPath, DCM_StudyInstanceUID), *r.input.studyInstanceUid);
  EXPECT_EQ(attr(w.srPath, DCM_PatientName), "Testperson^Alice");
  EXPECT_EQ(attr(w.srPath, DCM_PatientID), "PID-0042");
  EXPECT_EQ(attr(w.srPath, DCM_PatientBirthDate), "19540312");
  EXPECT_EQ(attr(w.srPath, DCM_AccessionNumber), "ACC77");
  EXPECT_EQ(attr(w.srPath, DCM_StudyDate), "20250102");
  EXPECT_EQ(attr(w.srPath, DCM_PatientAge), "071Y");
  EXPECT_NE(attr(w.srPath, DCM_SeriesInstanceUID), *r.input.seriesInstanceUid);
  EXPECT_EQ(attr(w.srPath, DCM_SOPInstanceUID), w.sr.sopInstanceUid);
  EXPECT_EQ(attr(w.srPath, DCM_SeriesInstanceUID), w.sr.seriesInstanceUid);
}

TEST(DicomSr, CarriesTid1500WithCodedVertebraeAndMeasurements) {
  TempDir dir;
  const auto w = writeBoth(::spinescreen::testing::analysedDicomReport(),
                           ::spinescreen::testing::sampleIdentity(), dir.path);
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(w.srPath.c_str()).good());
  DSRDocument doc;
  ASSERT_TRUE(doc.read(*ff.getDataset()).good());
  OFString templ, mapping;
  doc.getTree().getTemplateIdentification(templ, mapping);
  EXPECT_EQ(std::string(templ.c_str()), "1500");
  EXPECT_EQ(std::string(mapping.c_str()), "DCMR");
  EXPECT_EQ(
      std::string(doc.getTree().getCurrentContentItem().getConceptName().getCodeValue().c_str()),
      "126000");

  // Walk the tree: collect finding sites, numeric values by concept, text values.
  std::set<std::string> sites;
  std::map<std::string, std::vector<std::string>> numbers;
  std::vector<std::string> texts;
  DSRDocumentTree& tree = doc.getTree();
  if (tree.gotoRoot() > 0) {
    do {
      const DSRContentItem& item = tree.getCurrentContentItem();
      const std::string concept = item.getConceptName().getCodeMeaning().c_str();
      if (item.getValueType() == DSRTypes::VT_Code && concept == "Finding Site")
        sites.insert(item.getCodeValue().getCodeValue().c_str());
      if (item.getValueType() == DSRTypes::VT_Num)
        numbers[concept].push_back(item.getNumericValue().getNumericValue().c_str());
      if (item.getValueType() == DSRTypes::VT_Text) texts.push_back(item.getStringValue().c_str());
    } while (tree.iterate() > 0);
  }
  // T12 (23215003) and L1 (66794005) carry measurement groups; T11 has one without heights.
  EXPECT_TRUE(sites.count("66794005"));
  EXPECT_TRUE(sites.count("23215003"));
  EXPECT_FALSE(sites.count("12989004"));  // T11 has no measurement: named in a note instead
  ASSERT_EQ(numbers["Anterior vertebral body height"].size(), 2u);
  EXPECT_EQ(numbers["Anterior vertebral body height"][1], "18.2");
  EXPECT_EQ(numbers["Vertebral body height loss"][1], "32.6");
  EXPECT_EQ(numbers["Genant semiquantitative grade"][1], "2");
  EXPECT_EQ(numbers["Mean Attenuation Coefficient"][1], "95.3");
  bool hasName = false, hasVersion = false, hasReason = false, hasUnmeasured = false;
  for (const auto& t : texts) {
    hasName |= t == "spinescreen";
    hasVersion |= t == kVersion;
    hasReason |= t.find("moderate wedge fracture at L1") != std::string::npos;
    hasUnmeasured |= t == "T11: cut by the field of view";
  }
  EXPECT_TRUE(hasName && hasVersion && hasReason && hasUnmeasured);
  // The source instances are referenced as evidence.
  EXPECT_EQ(doc.getCurrentRequestedProcedureEvidence().getNumberOfInstances(), 5u);
}

TEST(DicomSr, PassesDciodvfyAndDsrdump) {
  if (!haveTool("dciodvfy") || !haveTool("dsrdump"))
    GTEST_SKIP() << "dciodvfy (dicom3tools) or dsrdump (dcmtk) not installed";
  TempDir dir;
  const auto w = writeBoth(::spinescreen::testing::analysedDicomReport(),
                           ::spinescreen::testing::sampleIdentity(), dir.path);
  EXPECT_EQ(dciodvfyErrors(w.srPath), "");
  const auto [rc, out] = run("dsrdump +Pl '" + w.srPath + "'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Imaging Measurement Report"), std::string::npos);
  EXPECT_NE(out.find("L1 vertebra"), std::string::npos);
}

TEST(DicomSc, PassesDciodvfyAndKeepsThePixels) {
  if (!haveTool("dciodvfy")) GTEST_SKIP() << "dciodvfy (dicom3tools) not installed";
  TempDir dir;
  const Report r = ::spinescreen::testing::analysedDicomReport();
  const auto w = writeBoth(r, ::spinescreen::testing::sampleIdentity(), dir.path);
  EXPECT_EQ(dciodvfyErrors(w.scPath), "");
  EXPECT_EQ(attr(w.scPath, DCM_SOPClassUID), "1.2.840.10008.5.1.4.1.1.7");
  EXPECT_EQ(attr(w.scPath, DCM_StudyInstanceUID), *r.input.studyInstanceUid);
  EXPECT_EQ(attr(w.scPath, DCM_PatientID), "PID-0042");
  EXPECT_EQ(attr(w.scPath, DCM_Rows), "48");
  EXPECT_EQ(attr(w.scPath, DCM_Columns), "64");
  EXPECT_NE(attr(w.scPath, DCM_SeriesDescription).find("sagittal"), std::string::npos);
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(w.scPath.c_str()).good());
  const Uint8* px = nullptr;
  unsigned long n = 0;
  ASSERT_TRUE(ff.getDataset()->findAndGetUint8Array(DCM_PixelData, px, &n).good());
  ASSERT_EQ(n, 64u * 48u * 3u);
  const auto expected = gradient(64, 48);
  EXPECT_TRUE(std::equal(expected.rgb.begin(), expected.rgb.end(), px));
}

TEST(DicomOutputs, UidsAreFreshAndDistinctOnEveryWrite) {
  TempDir a, b;
  const Report r = ::spinescreen::testing::analysedDicomReport();
  const auto w1 = writeBoth(r, ::spinescreen::testing::sampleIdentity(), a.path);
  const auto w2 = writeBoth(r, ::spinescreen::testing::sampleIdentity(), b.path);
  const std::set<std::string> uids = {
      w1.sr.sopInstanceUid,    w1.sr.seriesInstanceUid, w1.sc.sopInstanceUid,
      w1.sc.seriesInstanceUid, w2.sr.sopInstanceUid,    w2.sr.seriesInstanceUid,
      w2.sc.sopInstanceUid,    w2.sc.seriesInstanceUid, *r.input.seriesInstanceUid};
  EXPECT_EQ(uids.size(), 9u);
  for (const auto& u : uids) {
    EXPECT_LE(u.size(), 64u);
    EXPECT_EQ(u.find_first_not_of("0123456789."), std::string::npos) << u;
  }
}

TEST(DicomOutputs, NiftiInputOpensANewStudyWithANote) {
  TempDir dir;
  Report r = ::spinescreen::testing::analysedDicomReport();
  r.input.format = "nifti";
  r.input.studyInstanceUid.reset();
  r.input.seriesInstanceUid.reset();
  r.input.sopClassUid.reset();
  r.input.sopInstanceUids.clear();
  const auto w = writeBoth(r, PatientIdentity{}, dir.path);
  EXPECT_TRUE(w.target.newStudy);
  EXPECT_FALSE(w.target.studyInstanceUid.empty());
  EXPECT_EQ(attr(w.srPath, DCM_StudyInstanceUID), w.target.studyInstanceUid);
  EXPECT_EQ(attr(w.scPath, DCM_StudyInstanceUID), w.target.studyInstanceUid);
  const auto [rc, out] = run("dsrdump +Pl '" + w.srPath + "'");
  EXPECT_NE(out.find("no source DICOM study"), std::string::npos) << out;
  if (haveTool("dciodvfy")) {
    EXPECT_EQ(dciodvfyErrors(w.srPath), "");
    EXPECT_EQ(dciodvfyErrors(w.scPath), "");
  }
}

TEST(DicomOutputs, RefuseAStudyThatWasNotAnalysed) {
  TempDir dir;
  Report r = ::spinescreen::testing::analysedDicomReport();
  r.status = Status::kNotApplicable;
  const auto target = report::resolveStudyTarget(r.input, {});
  EXPECT_THROW(report::writeDicomSr(r, {}, target, (dir.path / "sr.dcm").string()), UsageError);
  EXPECT_THROW(report::writeDicomSc(gradient(8, 8), r, {}, target, (dir.path / "sc.dcm").string()),
               UsageError);
  EXPECT_FALSE(fs::exists(dir.path / "sr.dcm"));
  EXPECT_FALSE(fs::exists(dir.path / "sc.dcm"));
}

TEST(DicomSc, RejectsAPictureWhosePixelsDoNotMatchItsSize) {
  TempDir dir;
  const Report r = ::spinescreen::testing::analysedDicomReport();
  auto p = gradient(16, 16);
  p.rgb.resize(10);
  const auto target = report::resolveStudyTarget(r.input, {});
  EXPECT_THROW(report::writeDicomSc(p, r, {}, target, (dir.path / "sc.dcm").string()), UsageError);
}

TEST(DicomSr, UnwritablePathIsAUsageError) {
  const Report r = ::spinescreen::testing::analysedDicomReport();
  const auto target = report::resolveStudyTarget(r.input, {});
  EXPECT_THROW(report::writeDicomSr(r, {}, target, "/nonexistent-dir/sub/sr.dcm"), UsageError);
}

TEST(PngReader, ReadsAnRgbaPngAsRgb) {
  TempDir dir;
  const std::string path = (dir.path / "p.png").string();
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = 5;
  img.height = 3;
  img.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba(5 * 3 * 4);
  for (size_t i = 0; i < rgba.size(); ++i) rgba[i] = static_cast<uint8_t>(i * 7);
  for (size_t i = 3; i < rgba.size(); i += 4) rgba[i] = 255;  // opaque
  ASSERT_TRUE(png_image_write_to_file(&img, path.c_str(), 0, rgba.data(), 0, nullptr));
  const auto p = report::readPngAsRgb(path);
  ASSERT_EQ(p.width, 5);
  ASSERT_EQ(p.height, 3);
  ASSERT_EQ(p.rgb.size(), 45u);
  for (size_t i = 0, j = 0; i < rgba.size(); i += 4, j += 3) {
    EXPECT_EQ(p.rgb[j], rgba[i]);
    EXPECT_EQ(p.rgb[j + 2], rgba[i + 2]);
  }
}

TEST(PngReader, RejectsAFileThatIsNotAPng) {
  TempDir dir;
  const std::string path = (dir.path / "x.png").string();
  std::ofstream(path) << "not a png";
  EXPECT_THROW(report::readPngAsRgb(path), InputError);
  EXPECT_THROW(report::readPngAsRgb((dir.path / "missing.png").string()), InputError);
}

TEST(DeliveryOutputs, NothingIsWrittenForAStudyThatWasNotAnalysed) {
  for (Status st : {Status::kNotApplicable, Status::kFailed}) {
    TempDir dir;
    Report r = ::spinescreen::testing::analysedDicomReport();
    r.status = st;
    std::ostringstream log;
    report::writeDeliveryOutputs(r, ::spinescreen::testing::sampleIdentity(), dir.path,
                                 {true, true}, log);
    EXPECT_TRUE(fs::is_empty(dir.path));
    EXPECT_TRUE(r.outputs.empty());
  }
}

TEST(DeliveryOutputs, WritesSrScAndFhirBesideTheReportAndListsThem) {
  TempDir dir;
  Report r = ::spinescreen::testing::analysedDicomReport();
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = 32;
  img.height = 20;
  img.format = PNG_FORMAT_RGB;
  const auto pic = gradient(32, 20);
  ASSERT_TRUE(png_image_write_to_file(&img, (dir.path / "sagittal.png").c_str(), 0, pic.rgb.data(),
                                      0, nullptr));
  std::ostringstream log;
  report::writeDeliveryOutputs(r, ::spinescreen::testing::sampleIdentity(), dir.path, {true, true},
                               log);
  EXPECT_EQ(r.outputs["dicom_sr"], "sr.dcm");
  EXPECT_EQ(r.outputs["dicom_sc"], "sc.dcm");
  EXPECT_EQ(r.outputs["fhir"], "fhir.json");
  EXPECT_TRUE(r.warnings.empty());
  const std::string sr = (dir.path / "sr.dcm").string(), sc = (dir.path / "sc.dcm").string();
  EXPECT_EQ(attr(sr, DCM_StudyInstanceUID), attr(sc, DCM_StudyInstanceUID));
  EXPECT_EQ(attr(sc, DCM_Columns), "32");
  EXPECT_TRUE(fs::exists(dir.path / "fhir.json"));
  // The log never carries the patient's identity.
  EXPECT_EQ(log.str().find("PID-0042"), std::string::npos);
}

TEST(DeliveryOutputs, WithoutAPictureTheSrIsWrittenAndTheMissingScIsAWarning) {
  TempDir dir;
  Report r = ::spinescreen::testing::analysedDicomReport();
  std::ostringstream log;
  report::writeDeliveryOutputs(r, {}, dir.path, {true, false}, log);
  EXPECT_EQ(r.outputs.count("dicom_sr"), 1u);
  EXPECT_EQ(r.outputs.count("dicom_sc"), 0u);
  EXPECT_EQ(r.outputs.count("fhir"), 0u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("sagittal.png"), std::string::npos);
}
