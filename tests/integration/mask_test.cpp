// Whole-program tests of `analyze --vertebrae-mask`: a small CT written here with its label
// map in both conventions, the mask errors, and the real development CT with its peer report
// (through the mask routes and the built-in model).
#include <gtest/gtest.h>
#include <itkBinaryBallStructuringElement.h>
#include <itkBinaryErodeImageFilter.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/itk_bridge.h"
#include "io/nifti.h"
#include "morphometry/synthetic_body.h"
#include "support/run.h"
#include "support/schema.h"

using namespace spinescreen;
using namespace spinescreen::testing;
namespace fs = std::filesystem;

namespace {

fs::path freshDir(const std::string& name) {
  // Per process: ctest runs these tests in parallel processes.
  const fs::path d =
      fs::temp_directory_path() / ("spinescreen_mask_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Removes this process's folders when the tests end.
class CleanUp : public ::testing::Environment {
 public:
  void TearDown() override {
    const std::string prefix = "spinescreen_mask_" + std::to_string(::getpid()) + "_";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec))
      if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove_all(e.path(), ec);
  }
};
const auto* const kCleanUp = ::testing::AddGlobalTestEnvironment(new CleanUp);

// VerSe numbers of the vertebrae in the phantom, cranial to caudal; the first is cut by the
// top of the field of view.
const int kVerse[] = {18, 19, 20, 21};  // T11, T12, L1, L2

// A CT of four vertebrae (body plus a bony ring round the canal and a spinous process), L1
// wedge-fractured, and its whole-vertebra label map in VerSe numbering.
struct Phantom {
  HuVolume ct;
  LabelImage verse;
};

Phantom makePhantom() {
  Grid g;
  g.size = {70, 90, 120};
  g.spacing = {1.0, 1.0, 1.0};
  g.origin = {-35.0, -40.0, -70.0};
  Phantom p{HuVolume(g, 40), LabelImage(g, 0)};
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        const Vec3 w = g.indexToLps({double(i), double(j), double(k)});
        if (std::abs(w.x) > 30) p.ct.at(i, j, k) = -1000;  // air beside the patient
      }
  for (int n = 0; n < 4; ++n) {
    BodySpec b;
    b.centre = {0.1, -8.0, 50.0 - 32.0 * n + 0.1};
    if (kVerse[n] == 20) {
      b.ha = 15.0;
      b.hm = 20.0;
    }
    paintBody(b, p.verse, kVerse[n], &p.ct, 350);
    // Ring round the canal behind the body, and a spinous process.
    const Vec3 canal = b.centre + Vec3{0, b.depthMm / 2 + 8.0, 0};
    for (int64_t k = 0; k < g.size[2]; ++k)
      for (int64_t j = 0; j < g.size[1]; ++j)
        for (int64_t i = 0; i < g.size[0]; ++i) {
          const Vec3 d = g.indexToLps({double(i), double(j), double(k)}) - canal;
          if (std::abs(d.z) > 7.0) continue;
          const double r = std::hypot(d.x, d.y);
          const bool ring = r >= 7.0 && r <= 12.0;
          const bool spinous = std::abs(d.x) < 3.0 && d.y > 11.0 && d.y < 28.0;
          if ((ring || spinous) && p.verse.at(i, j, k) == 0) {
            p.verse.at(i, j, k) = static_cast<uint8_t>(kVerse[n]);
            p.ct.at(i, j, k) = 500;
          }
        }
  }
  return p;
}

LabelImage toTotalSegmentator(const LabelImage& verse) {
  LabelImage ts = verse;
  for (auto& v : ts.data())
    if (v) v = static_cast<uint8_t>(v == 26 ? 26 : 51 - v);
  return ts;
}

struct Files {
  fs::path dir, ct, verse, ts;
};

const Files& phantomFiles() {
  static Files f = [] {
    Files out;
    out.dir = freshDir("phantom");
    const Phantom p = makePhantom();
    out.ct = out.dir / "ct.nii.gz";
    out.verse = out.dir / "verse.nii.gz";
    out.ts = out.dir / "ts.nii.gz";
    io::writeNifti(p.ct, out.ct.string());
    io::writeNifti(p.verse, out.verse.string());
    io::writeNifti(toTotalSegmentator(p.verse), out.ts.string());
    return out;
  }();
  return f;
}

struct Analysed {
  RunResult run;
  nlohmann::json report;
  fs::path outDir;
};

Analysed analyze(const std::string& ct, const std::string& args, const std::string& outName) {
  const fs::path out = freshDir(outName);
  Analysed a;
  a.outDir = out;
  a.run =
      runSpinescreen("analyze " + shellQuote(ct) + " " + args + " -o " + shellQuote(out.string()));
  if (fs::exists(out / "report.json")) a.report = readJsonFile((out / "report.json").string());
  return a;
}

std::map<std::string, nlohmann::json> byLabel(const nlohmann::json& report) {
  std::map<std::string, nlohmann::json> m;
  for (const auto& v : report["vertebrae"]) m[v["label"].get<std::string>()] = v;
  return m;
}

}  // namespace

TEST(MaskRoute, BothConventionsGiveTheSameGrades) {
  const Files& f = phantomFiles();
  const auto ts = analyze(
      f.ct.string(),
      "--vertebrae-mask " + shellQuote(f.ts.string()) + " --mask-convention totalsegmentator",
      "ts");
  const auto vs =
      analyze(f.ct.string(), "--vertebrae-mask " + shellQuote(f.verse.string()), "verse");
  ASSERT_EQ(ts.run.exitCode, 0) << ts.run.output;
  ASSERT_EQ(vs.run.exitCode, 0) << vs.run.output;
  EXPECT_EQ(reportViolations(ts.report), "");
  EXPECT_EQ(ts.report["vertebrae_source"], "mask:totalsegmentator");
  EXPECT_EQ(vs.report["vertebrae_source"], "mask:verse");
  // auto says what it chose.
  EXPECT_NE(vs.report["warnings"].dump().find("recognised as verse"), std::string::npos);

  const auto a = byLabel(ts.report), b = byLabel(vs.report);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (const auto& [label, v] : a) {
    ASSERT_TRUE(b.count(label)) << label;
    EXPECT_EQ(v["genant_grade"], b.at(label)["genant_grade"]) << label;
    EXPECT_EQ(v["heights_mm"], b.at(label)["heights_mm"]) << label;
  }
  // T11 is cut by the top of the volume; L1 is the wedge fracture.
  EXPECT_EQ(a.at("T11")["measurable"], false);
  EXPECT_EQ(a.at("T11")["not_measurable_reason"], "cut by the field of view");
  EXPECT_GE(a.at("L1")["genant_grade"].get<int>(), 2);
  EXPECT_EQ(a.at("L1")["morphology"], "wedge");
  EXPECT_EQ(a.at("T12")["genant_grade"], 0);
  EXPECT_EQ(a.at("L2")["genant_grade"], 0);
  EXPECT_NEAR(a.at("L1")["heights_mm"]["anterior"].get<double>(), 15.0, 1.0);
  EXPECT_NEAR(a.at("L2")["heights_mm"]["posterior"].get<double>(), 26.0, 1.0);
  EXPECT_EQ(ts.report["patient"]["fractured_levels"], nlohmann::json::array({"L1"}));
  // The body was cut from the posterior elements: its density is the body's 350 HU, not
  // mixed with the 500 HU ring.
  EXPECT_NEAR(a.at("L2")["trabecular_hu"].get<double>(), 350.0, 5.0);
  // Picture and page.
  EXPECT_EQ(ts.report["outputs"]["png"], "sagittal.png");
  EXPECT_EQ(ts.report["outputs"]["html"], "report.html");
  EXPECT_TRUE(fs::exists(ts.outDir / "sagittal.png"));
  EXPECT_TRUE(fs::exists(ts.outDir / "report.html"));
}

TEST(MaskRoute, ResamplesAMaskOnAnotherGridInTheSameSpace) {
  const Files& f = phantomFiles();
  const Phantom p = makePhantom();
  // The label map on a 2 mm grid covering the same space (nearest neighbour from 1 mm).
  Grid g = p.verse.grid();
  g.size = {35, 45, 60};
  g.spacing = {2.0, 2.0, 2.0};
  g.origin = g.origin + Vec3{0.5, 0.5, 0.5};
  LabelImage coarse(g, 0);
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        const Vec3 idx = p.verse.grid().lpsToIndex(g.indexToLps({double(i), double(j), double(k)}));
        coarse.at(i, j, k) =
            p.verse.valueOr(std::llround(idx.x), std::llround(idx.y), std::llround(idx.z), 0);
      }
  const fs::path path = f.dir / "coarse.nii.gz";
  io::writeNifti(coarse, path.string());
  const auto r = analyze(f.ct.string(), "--vertebrae-mask " + shellQuote(path.string()), "coarse");
  ASSERT_EQ(r.run.exitCode, 0) << r.run.output;
  EXPECT_NE(r.report["warnings"].dump().find("resampled"), std::string::npos);
  const auto v = byLabel(r.report);
  EXPECT_GE(v.at("L1")["genant_grade"].get<int>(), 2);
  EXPECT_EQ(v.at("L2")["genant_grade"], 0);
}

TEST(MaskRoute, RejectsValuesOutsideTheConvention) {
  const Files& f = phantomFiles();
  Phantom p = makePhantom();
  p.verse.at(35, 45, 60) = 27;  // not a VerSe vertebra
  const fs::path path = f.dir / "bad_values.nii.gz";
  io::writeNifti(p.verse, path.string());
  const auto r = analyze(
      f.ct.string(), "--vertebrae-mask " + shellQuote(path.string()) + " --mask-convention verse",
      "badvalues");
  EXPECT_EQ(r.run.exitCode, 3) << r.run.output;
  EXPECT_EQ(r.report["status"], "failed");
  EXPECT_NE(r.report["status_reason"].get<std::string>().find("27"), std::string::npos);
}

TEST(MaskRoute, RejectsAMaskInAnotherPhysicalSpace) {
  const Files& f = phantomFiles();
  Phantom p = makePhantom();
  p.verse.grid().origin = p.verse.grid().origin + Vec3{0, 0, 400};
  const fs::path path = f.dir / "elsewhere.nii.gz";
  io::writeNifti(p.verse, path.string());
  const auto r =
      analyze(f.ct.string(), "--vertebrae-mask " + shellQuote(path.string()), "elsewhere");
  EXPECT_EQ(r.run.exitCode, 3) << r.run.output;
  EXPECT_NE(r.report["status_reason"].get<std::string>().find("physical space"), std::string::npos);
}

TEST(MaskRoute, RejectsAnEmptyMask) {
  const Files& f = phantomFiles();
  Phantom p = makePhantom();
  std::fill(p.verse.data().begin(), p.verse.data().end(), 0);
  const fs::path path = f.dir / "empty.nii.gz";
  io::writeNifti(p.verse, path.string());
  const auto r = analyze(f.ct.string(), "--vertebrae-mask " + shellQuote(path.string()), "empty");
  EXPECT_EQ(r.run.exitCode, 3) << r.run.output;
  EXPECT_NE(r.report["status_reason"].get<std::string>().find("no labels"), std::string::npos);
}

TEST(MaskRoute, AsksForTheConventionWhenTheLabelsDoNotTell) {
  // Only 25 and 26: TotalSegmentator's sacrum and S1, or VerSe's L6 and S1.
  const Files& f = phantomFiles();
  Phantom p = makePhantom();
  for (auto& v : p.verse.data())
    if (v) v = v == 20 ? 25 : (v == 21 ? 26 : 0);
  const fs::path path = f.dir / "ambiguous.nii.gz";
  io::writeNifti(p.verse, path.string());
  const auto r =
      analyze(f.ct.string(), "--vertebrae-mask " + shellQuote(path.string()), "ambiguous");
  EXPECT_EQ(r.run.exitCode, 2) << r.run.output;
  EXPECT_NE(r.run.output.find("--mask-convention"), std::string::npos) << r.run.output;
  const auto told = analyze(
      f.ct.string(), "--vertebrae-mask " + shellQuote(path.string()) + " --mask-convention verse",
      "ambiguous_verse");
  EXPECT_EQ(told.run.exitCode, 0) << told.run.output;
  const auto v = byLabel(told.report);
  EXPECT_TRUE(v.count("L6"));
  EXPECT_TRUE(v.count("S1"));
}

TEST(MaskRoute, RejectsAnUnknownConventionAndAMissingMask) {
  const Files& f = phantomFiles();
  EXPECT_EQ(
      analyze(f.ct.string(),
              "--vertebrae-mask " + shellQuote(f.verse.string()) + " --mask-convention nnunet",
              "badconv")
          .run.exitCode,
      2);
  EXPECT_EQ(analyze(f.ct.string(), "--vertebrae-mask /no/such/mask.nii.gz", "nomask").run.exitCode,
            2);
  const auto lone = analyze(f.ct.string(), "--body-mask " + shellQuote(f.verse.string()), "lone");
  EXPECT_EQ(lone.run.exitCode, 2);
  EXPECT_NE(lone.run.output.find("needs --vertebrae-mask"), std::string::npos) << lone.run.output;
}

namespace {
// L1-L5 heights against the peer tool's report (totalseg_spine_report) on the same CT: each
// within 3 mm, and 2 mm over all 15 heights on average.
void expectHeightsAgreeWithPeer(const nlohmann::json& report, const std::string& peerPath) {
  const auto peer = readJsonFile(peerPath)["results"];
  const auto ours = byLabel(report);
  double sum = 0.0;
  int n = 0;
  for (const std::string level : {"L1", "L2", "L3", "L4", "L5"}) {
    ASSERT_TRUE(ours.count(level)) << level;
    const auto& v = ours.at(level);
    ASSERT_EQ(v["measurable"], true) << level;
    for (const std::string part : {"anterior", "middle", "posterior"}) {
      const double d =
          std::abs(v["heights_mm"][part].get<double>() -
                   peer["vertebrae_" + level + "_height_" + part + "_mm"].get<double>());
      EXPECT_LE(d, 3.0) << level << " " << part;
      sum += d;
      ++n;
    }
  }
  EXPECT_LE(sum / n, 2.0);
  for (const auto& v : report["vertebrae"])
    if (!v["genant_grade"].is_null()) {
      EXPECT_LT(v["genant_grade"].get<int>(), 2) << v["label"];
    }
}
// The median HU inside the peer's L1 body mask eroded by 5 mm: the reference for L1's
// trabecular HU (the peer report's own mean and median include the cortex).
double erodedL1Median(const std::string& ct, const std::string& bodies) {
  const HuVolume hu = io::readNiftiStudy(ct).volume;
  const HuVolume lab = io::readNiftiStudy(bodies).volume;
  LabelImage l1(lab.grid(), 0);
  for (size_t i = 0; i < l1.data().size(); ++i) l1.data()[i] = lab.data()[i] == 20;
  using Bin = itk::Image<uint8_t, 3>;
  using Ball = itk::BinaryBallStructuringElement<uint8_t, 3>;
  Ball ball;
  Ball::SizeType radius;
  for (unsigned d = 0; d < 3; ++d)
    radius[d] = std::max<long>(1, std::lround(5.0 / lab.grid().spacing[static_cast<int>(d)]));
  ball.SetRadius(radius);
  ball.CreateStructuringElement();
  auto erode = itk::BinaryErodeImageFilter<Bin, Bin, Ball>::New();
  erode->SetInput(toItk(l1));
  erode->SetKernel(ball);
  erode->SetForegroundValue(1);
  erode->Update();
  const LabelImage eroded = fromItk<uint8_t>(erode->GetOutput());
  std::vector<double> values;
  for (size_t i = 0; i < eroded.data().size(); ++i)
    if (eroded.data()[i]) values.push_back(hu.data()[i]);
  EXPECT_GT(values.size(), 10u);
  if (values.empty()) return std::nan("");
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}
}  // namespace

// The real development CT with TotalSegmentator's whole-vertebra mask alone: the bodies are
// separated from the posterior elements here and their endplates moved onto the CT's edges.
TEST(MaskRoute, RealCtWithTheVertebraMaskAloneAgreesWithThePeerReport) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/example_ct.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(mask, "totalseg-example/spine_report/totalseg.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(peerPath, "totalseg-example/spine_report/spine_report.json");
  const auto r = analyze(ct, "--vertebrae-mask " + shellQuote(mask), "alone");
  ASSERT_EQ(r.run.exitCode, 0) << r.run.output;
  EXPECT_EQ(r.report["vertebrae_source"], "mask:totalsegmentator");
  expectHeightsAgreeWithPeer(r.report, peerPath);
}

// The same CT and vertebra mask, its bodies separated here or given as the peer's body mask:
// the body cut here keeps the posterior cortex's voxel row (and the pedicle roots beside it)
// that the body mask leaves out. The heights are measured on the CT's edges, so who separated
// the bodies changes no L1-L5 height by more than half a voxel (1.5 mm).
TEST(MaskRoute, RealCtHeightsDoNotDependOnWhoSeparatedTheBodies) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/example_ct.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(mask, "totalseg-example/spine_report/totalseg.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(
      bodies, "totalseg-example/spine_report/totalseg_vertebrae_pp_refined.nii.gz");
  const std::string vertebrae = "--vertebrae-mask " + shellQuote(mask);
  const auto cut = analyze(ct, vertebrae, "cut");
  const auto given = analyze(ct, vertebrae + " --body-mask " + shellQuote(bodies), "given");
  ASSERT_EQ(cut.run.exitCode, 0) << cut.run.output;
  ASSERT_EQ(given.run.exitCode, 0) << given.run.output;
  const auto a = byLabel(cut.report), b = byLabel(given.report);
  for (const std::string level : {"L1", "L2", "L3", "L4", "L5"}) {
    ASSERT_TRUE(a.count(level) && b.count(level)) << level;
    for (const std::string part : {"anterior", "middle", "posterior"})
      EXPECT_NEAR(a.at(level)["heights_mm"][part].get<double>(),
                  b.at(level)["heights_mm"][part].get<double>(), 1.5)
          << level << " " << part;
  }
}

// The real development CT with TotalSegmentator's masks, against the peer tool's report
// (totalseg_spine_report) on the same CT and the same body masks.
TEST(MaskRoute, RealCtAgreesWithThePeerReport) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/example_ct.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(mask, "totalseg-example/spine_report/totalseg.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(
      bodies, "totalseg-example/spine_report/totalseg_vertebrae_pp_refined.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(peerPath, "totalseg-example/spine_report/spine_report.json");
  const auto r = analyze(
      ct, "--vertebrae-mask " + shellQuote(mask) + " --body-mask " + shellQuote(bodies), "real");
  ASSERT_EQ(r.run.exitCode, 0) << r.run.output;
  EXPECT_EQ(reportViolations(r.report), "");
  EXPECT_EQ(r.report["vertebrae_source"], "mask:totalsegmentator");
  expectHeightsAgreeWithPeer(r.report, peerPath);
  const auto ours = byLabel(r.report);

  // L1 trabecular HU against its body mask eroded by 5 mm. This L1 holds a bone island (a
  // compact focus of about 9 mm, over 176 HU, in the upper middle of the body; visible on the
  // sagittal picture) that the ROI leaves out as a focal lesion: the plain mean of the eroded
  // mask includes it (122 HU), its median does not depend on it.
  const double referenceMedian = erodedL1Median(ct, bodies);
  std::printf("L1 trabecular HU: ours %.1f; eroded peer mask median %.1f\n",
              ours.at("L1")["trabecular_hu"].get<double>(), referenceMedian);
  EXPECT_NEAR(ours.at("L1")["trabecular_hu"].get<double>(), referenceMedian, 10.0);
  bool lesionNoted = false;
  for (const auto& note : ours.at("L1")["notes"])
    lesionNoted =
        lesionNoted || note.get<std::string>().find("focal bright lesion") != std::string::npos;
  EXPECT_TRUE(lesionNoted);
}

// The built-in spine model on the real development CT, against the peer tool's report: the
// same height rule as the mask routes, no false fracture, and L1's trabecular HU.
TEST(BuiltInModel, RealCtAgreesWithThePeerReport) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/example_ct.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(
      bodies, "totalseg-example/spine_report/totalseg_vertebrae_pp_refined.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(peerPath, "totalseg-example/spine_report/spine_report.json");
  const auto r = analyze(ct, "", "builtin");
  ASSERT_EQ(r.run.exitCode, 0) << r.run.output;
  EXPECT_EQ(reportViolations(r.report), "");
  EXPECT_EQ(r.report["vertebrae_source"], "builtin");
  expectHeightsAgreeWithPeer(r.report, peerPath);
  const double referenceMedian = erodedL1Median(ct, bodies);
  const auto ours = byLabel(r.report);
  std::printf("L1 trabecular HU: ours %.1f; eroded peer mask median %.1f\n",
              ours.at("L1")["trabecular_hu"].get<double>(), referenceMedian);
  EXPECT_NEAR(ours.at("L1")["trabecular_hu"].get<double>(), referenceMedian, 10.0);
  EXPECT_EQ(r.report["patient"]["density_level"], "L1");
}
