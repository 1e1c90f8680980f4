#include "report/json_report.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/version.h"

namespace spinescreen::report {
namespace {
using nlohmann::json;

// Rounds for a readable report: 0.01 mm / HU is far below what CT resolves.
double round2(double v) { return std::round(v * 100.0) / 100.0; }

json vec(const Vec3& v) { return json::array({round2(v.x), round2(v.y), round2(v.z)}); }

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
json optNumber(const std::optional<double>& v) { return v ? json(round2(*v)) : json(nullptr); }

json vertebraJson(const Vertebra& v) {
  json j;
  j["label"] = v.label;
  j["label_confidence"] = optNumber(v.labelConfidence);
  j["centroid_lps_mm"] = vec(v.centroidLps);
  j["body_centroid_lps_mm"] = v.bodyCentroidLps ? vec(*v.bodyCentroidLps) : json(nullptr);
  j["measurable"] = v.measurable;
  if (!v.measurable && !v.notMeasurableReason.empty())
    j["not_measurable_reason"] = v.notMeasurableReason;
  if (v.heights) {
    j["heights_mm"] = {{"anterior", round2(v.heights->anteriorMm)},
                       {"middle", round2(v.heights->middleMm)},
                       {"posterior", round2(v.heights->posteriorMm)}};
  } else {
    j["heights_mm"] = nullptr;
  }
  j["height_loss"] =
      v.heightLoss ? json(std::round(*v.heightLoss * 1000.0) / 1000.0) : json(nullptr);
  j["genant_grade"] = opt(v.genantGrade);
  j["morphology"] = v.morphology ? json(toString(*v.morphology)) : json(nullptr);
  j["fracture_probability"] = v.fractureProbability
                                  ? json(std::round(*v.fractureProbability * 1000.0) / 1000.0)
                                  : json(nullptr);
  j["trabecular_hu"] = optNumber(v.trabecularHu);
  if (!v.notes.empty()) j["notes"] = v.notes;
  return j;
}
}  // namespace

json toJson(const Report& r) {
  json j;
  j["schema_version"] = "1";
  j["tool"] = {{"name", kToolName}, {"version", kVersion}};
  j["status"] = toString(r.status);
  j["status_reason"] = r.statusReason;

  json in;
  in["path"] = r.input.path;
  if (!r.input.format.empty()) in["format"] = r.input.format;
  if (!r.input.modality.empty()) in["modality"] = r.input.modality;
  in["study_instance_uid"] = opt(r.input.studyInstanceUid);
  in["series_instance_uid"] = opt(r.input.seriesInstanceUid);
  if (r.inputGrid) {
    const Grid& g = *r.inputGrid;
    in["size_voxels"] = json::array({g.size[0], g.size[1], g.size[2]});
    in["spacing_mm"] =
        json::array({std::round(g.spacing.x * 1e4) / 1e4, std::round(g.spacing.y * 1e4) / 1e4,
                     std::round(g.spacing.z * 1e4) / 1e4});
  }
  in["slice_thickness_mm"] = opt(r.input.sliceThicknessMm);
  in["contrast"] = opt(r.input.contrast);
  in["kvp"] = opt(r.input.kvp);
  in["patient_age_years"] = opt(r.input.patientAgeYears);
  in["patient_sex"] = opt(r.input.patientSex);
  if (r.input.seriesDescription) in["series_description"] = *r.input.seriesDescription;
  if (r.input.convolutionKernel) in["convolution_kernel"] = *r.input.convolutionKernel;
  if (!r.input.notes.empty()) in["notes"] = r.input.notes;
  j["input"] = in;

  j["vertebrae_source"] = r.vertebraeSource;
  j["vertebrae"] = json::array();
  for (const auto& v : r.vertebrae) j["vertebrae"].push_back(vertebraJson(v));

  const PatientFindings& p = r.patient;
  json pj;
  pj["fracture_detected"] = p.fractureDetected;
  pj["max_genant_grade"] = opt(p.maxGenantGrade);
  pj["fractured_levels"] = p.fracturedLevels;
  pj["fracture_score"] =
      p.fractureScore ? json(std::round(*p.fractureScore * 1000.0) / 1000.0) : json(nullptr);
  pj["l1_trabecular_hu"] = optNumber(p.l1TrabecularHu);
  pj["density_hu"] = optNumber(p.densityHu);
  pj["density_level"] = opt(p.densityLevel);
  pj["bone_density_category"] =
      p.boneDensityCategory ? json(toString(*p.boneDensityCategory)) : json(nullptr);
  pj["referral_recommended"] = p.referralRecommended;
  pj["referral_reasons"] = p.referralReasons;
  j["patient"] = pj;

  json outs = json::object();
  for (const auto& [k, v] : r.outputs) outs[k] = v;
  j["outputs"] = outs;
  json timing = json::object();
  for (const auto& [k, v] : r.timingMs) timing[k] = std::round(v * 10.0) / 10.0;
  j["timing_ms"] = timing;
  j["warnings"] = r.warnings;
  return j;
}

void writeJsonAtomically(const json& j, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path tmp = target.parent_path() /
                       (".tmp." + target.filename().string() + "." + std::to_string(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError("cannot write " + tmp.string());
    out << j.dump(2) << '\n';
    out.flush();
    if (!out) throw UsageError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw UsageError("cannot write " + path);
  }
}

}  // namespace spinescreen::report
