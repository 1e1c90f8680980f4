#include "pipeline/analyze.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "io/loader.h"
#include "io/nifti.h"
#include "pipeline/masks.h"
#include "report/dicom_outputs.h"
#include "report/html.h"
#include "report/json_report.h"
#include "report/picture.h"
#include "spine/from_mask.h"

namespace spinescreen::pipeline {
namespace fs = std::filesystem;

namespace {

class StageTimer {
 public:
  explicit StageTimer(std::map<std::string, double>& sink) : sink_(sink) {}
  template <class F>
  auto run(const std::string& name, F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    struct Record {
      std::map<std::string, double>& sink;
      std::string name;
      std::chrono::steady_clock::time_point t0;
      ~Record() {
        sink[name] +=
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
      }
    } record{sink_, name, t0};
    return f();
  }

 private:
  std::map<std::string, double>& sink_;
};

}  // namespace

AnalysisConfig loadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("cannot read config file " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("config file " + path + " is not valid JSON: " + e.what());
  }
  AnalysisConfig c;
  try {
    if (j.contains("density")) {
      const auto& d = j["density"];
      c.density.osteoporosisLikelyMaxHu =
          d.value("osteoporosis_likely_max_hu", c.density.osteoporosisLikelyMaxHu);
      c.density.lowMaxHu = d.value("low_max_hu", c.density.lowMaxHu);
    }
    if (j.contains("referral")) {
      const auto& r = j["referral"];
      c.referral.minFractureGrade = r.value("min_fracture_grade", c.referral.minFractureGrade);
      c.referral.referOnOsteoporosisLikely =
          r.value("refer_on_osteoporosis_likely", c.referral.referOnOsteoporosisLikely);
      c.referral.referOnLowDensity = r.value("refer_on_low_density", c.referral.referOnLowDensity);
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("config file " + path + ": " + e.what());
  }
  if (c.density.osteoporosisLikelyMaxHu > c.density.lowMaxHu)
    throw UsageError("config file " + path +
                     ": osteoporosis_likely_max_hu must not exceed low_max_hu");
  if (c.referral.minFractureGrade < 1 || c.referral.minFractureGrade > 3)
    throw UsageError("config file " + path + ": min_fracture_grade must be 1, 2 or 3");
  return c;
}

void checkApplicable(const LoadedStudy& study) {
  const auto& info = study.info;
  if (!info.modality.empty() && info.modality != "CT")
    throw NotApplicableError("modality is " + info.modality + ", not CT");
  const Grid& g = study.volume.grid();
  // The slice axis is the voxel axis closest to the patient's superior-inferior direction.
  int sliceAxis = 2;
  double best = 0.0;
  for (int c = 0; c < 3; ++c) {
    const double z = std::abs(g.direction.column(c).z);
    if (z > best) {
      best = z;
      sliceAxis = c;
    }
  }
  const int64_t slices = g.size[sliceAxis];
  const double coverage = slices * g.spacing[sliceAxis];
  if (slices < 10)
    throw NotApplicableError("only " + std::to_string(slices) + " slices; at least 10 are needed");
  if (coverage < 40.0)
    throw NotApplicableError("z coverage " + std::to_string(static_cast<int>(coverage)) +
                             " mm; at least 40 mm is needed");
  // A CT of a body has fat (about -100 HU), lung or air (down to -1000 HU) even when tightly
  // cropped; MR and PET values are not negative.
  const auto& d = study.volume.data();
  size_t negative = 0;
  const size_t step = std::max<size_t>(1, d.size() / 200000);
  size_t n = 0;
  for (size_t i = 0; i < d.size(); i += step, ++n)
    if (d[i] < -150) ++negative;
  if (n > 0 && negative * 500 < n)
    throw NotApplicableError(
        "values do not look like CT Hounsfield units (no fat, lung or air below -150 HU); "
        "MR or PET?");
}

Analysis analyzeLoaded(const LoadedStudy& study, const AnalysisConfig& config) {
  std::map<std::string, double> timing;
  StageTimer timer(timing);
  SpineModel model =
      timer.run("spine", [&] { return spine::locateSpine(study.volume, config.spine); });
  Analysis a = analyzeWithModel(study, config, std::move(model));
  a.report.timingMs["spine"] = timing["spine"];
  return a;
}

Analysis analyzeWithModel(const LoadedStudy& study, const AnalysisConfig& config,
                          SpineModel model) {
  Analysis a;
  Report& r = a.report;
  r.input = study.info;
  r.inputGrid = study.volume.grid();
  StageTimer timer(r.timingMs);
  a.model = std::move(model);
  morphometry::GradingConfig grading;
  grading.sliceThicknessMm = study.info.sliceThicknessMm;
  if (!grading.sliceThicknessMm) {
    // NIfTI carries no slice thickness: the spacing along the slice axis stands in for it.
    const Grid& g = study.volume.grid();
    int axis = 2;
    for (int c = 0; c < 3; ++c)
      if (std::abs(g.direction.column(c).z) > std::abs(g.direction.column(axis).z)) axis = c;
    grading.sliceThicknessMm = g.spacing[axis];
  }
  // A user's mask has its own surfaces: its endplates are moved onto the CT's edges.
  morphometry::MorphometryConfig morph = config.morphometry;
  if (a.model.source != "builtin") morph.refineEdgesWithHu = true;
  timer.run("morphometry", [&] {
    morphometry::measureHeights(study.volume, a.model, morph);
    morphometry::gradeVertebrae(a.model.vertebrae, grading);
    return 0;
  });
  const density::DensitySummary dens = timer.run("density", [&] {
    density::measureTrabecularHu(study.volume, a.model, config.density);
    return density::summariseDensity(a.model.vertebrae, config.density);
  });
  r.patient = timer.run("decision", [&] {
    return decision::decide(a.model.vertebrae, dens, config.referral, study.info);
  });
  r.vertebrae = a.model.vertebrae;
  r.vertebraeSource = a.model.source;
  r.warnings.insert(r.warnings.end(), a.model.warnings.begin(), a.model.warnings.end());
  r.status = Status::kOk;
  r.statusReason = "analysed";
  return a;
}

namespace {

// Writes report.json; returns false (after logging) when it cannot.
bool writeReport(const Report& r, const fs::path& outDir, std::ostream& log) {
  try {
    report::writeJsonAtomically(report::toJson(r), (outDir / "report.json").string());
    return true;
  } catch (const Error& e) {
    log << "error: " << e.what() << '\n';
    return false;
  }
}

}  // namespace

namespace {

spine::MaskImage readMask(const std::string& path, const std::string& what) {
  if (!fs::exists(path)) throw UsageError(what + " does not exist: " + path);
  try {
    return io::readNiftiStudy(path).volume;
  } catch (const NotApplicableError& e) {
    throw InputError(what + " is not a 3-D label map: " + e.what());
  } catch (const Error& e) {
    throw InputError(what + ": " + e.what());
  }
}

SpineModel modelFromMaskFiles(const LoadedStudy& study, const AnalyzeOptions& options) {
  const spine::MaskConvention convention = spine::parseMaskConvention(options.maskConvention);
  const spine::MaskImage vertebrae = readMask(options.vertebraeMask, "vertebrae mask");
  std::optional<spine::MaskImage> bodies;
  if (!options.bodyMask.empty()) bodies = readMask(options.bodyMask, "body mask");
  return spine::modelFromMask(study.volume, vertebrae, convention, bodies ? &*bodies : nullptr);
}

}  // namespace

int runAnalyze(const AnalyzeOptions& options, const AnalysisConfig& config, std::ostream& log) {
  // Mask options are checked before any work.
  if (!options.bodyMask.empty() && options.vertebraeMask.empty()) {
    log << "error: --body-mask needs --vertebrae-mask\n";
    return 2;
  }
  if (!options.vertebraeMask.empty()) {
    try {
      spine::parseMaskConvention(options.maskConvention);
    } catch (const UsageError& e) {
      log << "error: " << e.what() << '\n';
      return 2;
    }
    for (const std::string& m : {options.vertebraeMask, options.bodyMask})
      if (!m.empty() && !fs::exists(m)) {
        log << "error: mask does not exist: " << m << '\n';
        return 2;
      }
  }
  const fs::path outDir(options.outDir);
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec || !fs::is_directory(outDir)) {
    log << "error: cannot create output folder " << options.outDir << '\n';
    return 2;
  }
  {
    // Probe writability before any work.
    const fs::path probe = outDir / (".probe." + std::to_string(::getpid()));
    std::ofstream p(probe);
    if (!p) {
      log << "error: output folder is not writable: " << options.outDir << '\n';
      return 2;
    }
    p.close();
    fs::remove(probe, ec);
  }

  Report report;
  report.input.path = options.input;
  const auto t0 = std::chrono::steady_clock::now();
  auto finish = [&](Status status, const std::string& reason, int code) {
    report.status = status;
    report.statusReason = reason;
    report.timingMs["total"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!writeReport(report, outDir, log)) return 2;
    if (status != Status::kOk) log << toString(status) << ": " << reason << '\n';
    return code;
  };

  try {
    LoadedStudy study;
    {
      const auto tl = std::chrono::steady_clock::now();
      study = io::loadStudy(options.input);
      report.timingMs["load"] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tl).count();
    }
    study.info.path = options.input;
    report.input = study.info;
    report.inputGrid = study.volume.grid();
    checkApplicable(study);
    Analysis a;
    if (!options.vertebraeMask.empty()) {
      a = analyzeWithModel(study, config, modelFromMaskFiles(study, options));
    } else {
      a = analyzeLoaded(study, config);
    }
    const double loadMs = report.timingMs["load"];
    report = std::move(a.report);
    report.timingMs["load"] = loadMs;
    {
      // The picture and the page (status ok only).
      const auto tp = std::chrono::steady_clock::now();
      const report::RgbImage picture =
          report::renderSagittal(study.volume, a.model, report.patient);
      const std::vector<uint8_t> png = report::encodePng(picture);
      report::writeBytes(png, (outDir / "sagittal.png").string());
      report.outputs["png"] = "sagittal.png";
      report.outputs["html"] = "report.html";
      const std::string html = report::renderHtml(report, png);
      report::writeBytes(std::vector<uint8_t>(html.begin(), html.end()),
                         (outDir / "report.html").string());
      report.timingMs["picture"] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tp).count();
    }
    // After the picture: sc.dcm captures sagittal.png.
    if (options.saveMasks) {
      io::writeNifti(verseBodyLabelMap(a.model, study.volume.grid()),
                     (outDir / "vertebrae.nii.gz").string());
      report.outputs["masks"] = "vertebrae.nii.gz";
    }
    report::writeDeliveryOutputs(report, study.identity, outDir,
                                 {options.dicomOut, options.fhirOut}, log);
    return finish(Status::kOk, "analysed", 0);
  } catch (const NotApplicableError& e) {
    return finish(Status::kNotApplicable, e.what(), 4);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kUsage) {
      log << "error: " << e.what() << '\n';
      return 2;
    }
    if (e.code() == ErrorCode::kInternal)
      return finish(Status::kFailed, std::string("internal error: ") + e.what(), 1);
    return finish(Status::kFailed, e.what(), exitCodeFor(e.code()));
  } catch (const std::bad_alloc&) {
    return finish(Status::kFailed, "internal error: out of memory", 1);
  } catch (const std::exception& e) {
    return finish(Status::kFailed, std::string("internal error: ") + e.what(), 1);
  }
}

}  // namespace spinescreen::pipeline
