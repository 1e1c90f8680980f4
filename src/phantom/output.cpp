// truth.json (contracts/truth.schema.json) and the files of one phantom case.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "core/errors.h"
#include "io/dicom_writer.h"
#include "io/nifti.h"
#include "phantom/phantom.h"

namespace spinescreen::phantom {
namespace {

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

nlohmann::json vec(const Vec3& v) {
  return nlohmann::json::array({round3(v.x), round3(v.y), round3(v.z)});
}

}  // namespace

std::string truthJson(const PhantomTruth& t) {
  using nlohmann::json;
  json j;
  j["case_id"] = t.caseId;
  j["source"] = "spinescreen phantom";
  j["label_anchor"] = t.labelAnchor;
  j["spacing_mm"] = vec(t.spacingMm);
  json verts = json::array();
  for (const auto& v : t.vertebrae) {
    json e;
    e["label"] = v.label;
    e["centroid_lps_mm"] = vec(v.centroidLps);
    e["body_centroid_lps_mm"] = v.bodyCentroidLps ? vec(*v.bodyCentroidLps) : json(nullptr);
    if (v.heights)
      e["heights_mm"] = {{"anterior", round3(v.heights->anteriorMm)},
                         {"middle", round3(v.heights->middleMm)},
                         {"posterior", round3(v.heights->posteriorMm)}};
    else
      e["heights_mm"] = nullptr;
    e["genant_grade"] = v.genantGrade ? json(*v.genantGrade) : json(nullptr);
    e["morphology"] = v.morphology ? json(*v.morphology) : json(nullptr);
    e["trabecular_hu"] = v.trabecularHu ? json(round3(*v.trabecularHu)) : json(nullptr);
    verts.push_back(e);
  }
  j["vertebrae"] = verts;
  json p;
  p["any_fracture"] = t.anyFracture ? json(*t.anyFracture) : json(nullptr);
  p["max_grade"] = t.maxGrade ? json(*t.maxGrade) : json(nullptr);
  p["l1_trabecular_hu"] = t.l1TrabecularHu ? json(round3(*t.l1TrabecularHu)) : json(nullptr);
  j["patient"] = p;
  j["notes"] = t.notes;
  return j.dump(2) + "\n";
}

void writeTruth(const PhantomTruth& truth, const std::string& caseDir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(caseDir, ec);
  if (ec || !fs::is_directory(caseDir)) throw UsageError("cannot create output folder " + caseDir);
  const fs::path dir(caseDir);
  const fs::path tmp = dir / "truth.json.tmp";
  std::ofstream f(tmp);
  f << truthJson(truth);
  f.close();
  if (!f) throw UsageError("cannot write " + (dir / "truth.json").string());
  fs::rename(tmp, dir / "truth.json", ec);
  if (ec) throw UsageError("cannot write " + (dir / "truth.json").string());
}

void writeCase(const Phantom& ph, const std::string& caseDir, const WriteOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(caseDir, ec);
  if (ec || !fs::is_directory(caseDir)) throw UsageError("cannot create output folder " + caseDir);
  const fs::path dir(caseDir);
  if (ph.ct.empty()) throw UsageError("phantom was generated without images");
  io::writeNifti(ph.ct, (dir / "ct.nii.gz").string());
  writeTruth(ph.truth, caseDir);
  if (options.masks) {
    if (ph.vertebrae.empty()) throw UsageError("phantom was generated without masks");
    io::writeNifti(ph.vertebrae, (dir / "vertebrae.nii.gz").string());
    io::writeNifti(ph.bodies, (dir / "bodies.nii.gz").string());
  }
  if (options.dicom) {
    io::DicomSeriesWriteOptions o;
    o.seriesDescription = "spinescreen phantom " + ph.spec.caseId;
    o.patientAgeYears = ph.spec.patientAgeYears;
    o.patientSex = ph.spec.patientSex;
    o.kvp = ph.spec.kvp;
    o.contrastAgent = ph.spec.contrast ? std::string("IODINATED") : std::string();
    o.sliceThicknessMm = ph.spec.sliceThicknessMm;
    io::writeDicomSeries(ph.ct, o, (dir / "dicom").string());
  }
}

}  // namespace spinescreen::phantom

namespace spinescreen::phantom {

int runPhantom(const RunOptions& o, std::ostream& log) {
  if (o.outDir.empty()) throw UsageError("phantom needs -o DIR");
  if (o.cases < 1 || o.cases > 100000) throw UsageError("--cases must be between 1 and 100000");
  std::optional<FovKind> fov;
  if (o.fov) {
    fov = fovKindFromString(*o.fov);
    if (!fov)
      throw UsageError("--fov must be chest, abdomen, abdomen-pelvis, cap or thoracolumbar");
  }
  WriteOptions w;
  w.dicom = o.dicom;
  w.masks = o.masks;
  for (int i = 0; i < o.cases; ++i) {
    PhantomSpec spec = randomSpec(o.seed, o.firstIndex + i);
    if (fov) setFov(spec, *fov);
    if (o.small) makeSmall(spec);
    if (o.matrix) setMatrix(spec, *o.matrix);
    if (o.sliceMm) setSliceSpacing(spec, *o.sliceMm);
    GenerateOptions g;
    g.masks = o.masks && !o.truthOnly;
    g.render = !o.truthOnly;
    const auto t0 = std::chrono::steady_clock::now();
    const Phantom ph = generate(spec, g);
    const std::string caseDir = (std::filesystem::path(o.outDir) / spec.caseId).string();
    if (o.truthOnly)
      writeTruth(ph.truth, caseDir);
    else
      writeCase(ph, caseDir, w);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& s = ph.grid.size;
    log << spec.caseId << ": " << toString(spec.fov) << ", " << s[0] << "x" << s[1] << "x" << s[2]
        << " @ " << ph.grid.spacing.x << "x" << ph.grid.spacing.y << "x" << ph.grid.spacing.z
        << " mm, " << ph.truth.vertebrae.size() << " vertebrae, max grade "
        << (ph.truth.maxGrade ? std::to_string(*ph.truth.maxGrade) : std::string("-"))
        << (spec.variant.empty() ? "" : ", " + spec.variant) << ", " << sec << " s\n";
  }
  return 0;
}

}  // namespace spinescreen::phantom
