#include "evaluate/evaluate.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "batch/csv.h"
#include "core/errors.h"

namespace spinescreen::evaluate {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kIdentifyMm = 20.0;
constexpr double kMatchMm = 15.0;

double round4(double v) { return std::round(v * 1e4) / 1e4; }

json numberOrNull(std::optional<double> v) { return v ? json(round4(*v)) : json(nullptr); }

std::optional<double> ratio(long k, long n) {
  if (n <= 0) return std::nullopt;
  return static_cast<double>(k) / n;
}

json intervalOrNull(long k, long n) {
  const auto w = wilson(k, n);
  if (!w) return nullptr;
  return json::array({round4(w->low), round4(w->high)});
}

struct Confusion {
  long tp = 0, fp = 0, tn = 0, fn = 0;
  void add(bool truthPos, bool predPos) {
    if (truthPos)
      (predPos ? tp : fn)++;
    else
      (predPos ? fp : tn)++;
  }
  json toJson() const {
    json j;
    j["sensitivity"] = numberOrNull(ratio(tp, tp + fn));
    j["sensitivity_ci95"] = intervalOrNull(tp, tp + fn);
    j["specificity"] = numberOrNull(ratio(tn, tn + fp));
    j["specificity_ci95"] = intervalOrNull(tn, tn + fp);
    j["ppv"] = numberOrNull(ratio(tp, tp + fp));
    j["ppv_ci95"] = intervalOrNull(tp, tp + fp);
    j["npv"] = numberOrNull(ratio(tn, tn + fn));
    j["npv_ci95"] = intervalOrNull(tn, tn + fn);
    j["tp"] = tp;
    j["fp"] = fp;
    j["tn"] = tn;
    j["fn"] = fn;
    return j;
  }
};

std::string fmt(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}
std::string fmtOpt(const std::optional<double>& v, int decimals = 2) {
  return v ? fmt(*v, decimals) : std::string();
}
std::string fmtOpt(const std::optional<int>& v) { return v ? std::to_string(*v) : std::string(); }

void writeFileAtomically(const fs::path& target, const std::string& text) {
  const fs::path tmp = target.parent_path() /
                       (".tmp." + target.filename().string() + "." + std::to_string(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError("cannot write " + target.string());
    out << text;
    out.flush();
    if (!out) throw UsageError("cannot write " + target.string());
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw UsageError("cannot write " + target.string());
  }
}

}  // namespace

json computeMetrics(const std::vector<TruthCase>& truth,
                    const std::map<std::string, PredCase>& pred, std::string* vertebraeCsv,
                    std::string* casesCsv, json* counts) {
  long failed = 0, notApplicable = 0;
  long idTotal = 0, idHit = 0;
  double centroidErrSum = 0.0;
  Confusion v2, v1, p2;
  long unmatchedNormal[2] = {0, 0};   // ge2, ge1: normal truth with no predicted vertebra
  long unassessedNormal[2] = {0, 0};  // matched, but the prediction had no grade
  long gradeTotal = 0, gradeExact = 0, gradeTotalFx = 0, gradeExactFx = 0;
  double heightErrSum = 0.0;
  long heightN = 0;
  double huErrSum = 0.0;
  long huN = 0, huTruth = 0;
  long patientSkipped = 0;
  std::vector<double> posScores, negScores;
  const double inf = std::numeric_limits<double>::infinity();

  std::string vcsv =
      csv::formatRow({"case_id", "label", "truth_grade", "truth_x", "truth_y", "truth_z",
                      "identified", "centroid_error_mm", "matched_label", "match_distance_mm",
                      "pred_grade", "outcome_ge2", "outcome_ge1", "height_abs_error_mm"});
  std::string ccsv =
      csv::formatRow({"case_id", "status", "truth_vertebrae", "identified", "truth_fracture",
                      "pred_fracture", "fracture_score", "outcome", "truth_l1_hu", "pred_l1_hu"});

  static const PredCase kMissing = [] {
    PredCase p;
    p.status = "missing";
    return p;
  }();

  for (const TruthCase& t : truth) {
    auto it = pred.find(t.caseId);
    const PredCase& p = it == pred.end() ? kMissing : it->second;
    const bool ok = p.status == "ok";
    if (p.status == "failed" || p.status == "missing") ++failed;
    if (p.status == "not_applicable") ++notApplicable;
    const bool scoreIds = t.labelAnchor && t.hasPositions;
    long caseIdTotal = 0, caseIdHit = 0;

    for (const TruthVertebra& tv : t.vertebrae) {
      csv::Row row = {t.caseId, tv.label, fmtOpt(tv.genantGrade)};
      if (tv.centroidLps) {
        row.push_back(fmt(tv.centroidLps->x));
        row.push_back(fmt(tv.centroidLps->y));
        row.push_back(fmt(tv.centroidLps->z));
      } else {
        row.insert(row.end(), {"", "", ""});
      }
      // Identification: same label within 20 mm.
      std::string identified;
      std::string idErr;
      if (scoreIds && tv.centroidLps) {
        double best = inf;
        for (const auto& pv : p.vertebrae)
          if (pv.label == tv.label)
            best = std::min(best, (pv.centroidLps - *tv.centroidLps).norm());
        ++idTotal;
        ++caseIdTotal;
        if (best <= kIdentifyMm) {
          ++idHit;
          ++caseIdHit;
          centroidErrSum += best;
          identified = "true";
          idErr = fmt(best);
        } else {
          identified = "false";
        }
      }
      row.push_back(identified);
      row.push_back(idErr);

      // Fracture match: by position (nearest within 15 mm, any label), or by level for reads.
      const PredVertebra* match = nullptr;
      double matchDist = inf;
      for (const auto& pv : p.vertebrae) {
        if (t.hasPositions && tv.centroidLps) {
          const double d = (pv.centroidLps - *tv.centroidLps).norm();
          if (d <= kMatchMm && d < matchDist) {
            matchDist = d;
            match = &pv;
          }
        } else if (!t.hasPositions && pv.label == tv.label) {
          match = &pv;
          break;
        }
      }
      row.push_back(match ? match->label : "");
      row.push_back(match && std::isfinite(matchDist) ? fmt(matchDist) : "");
      row.push_back(match ? fmtOpt(match->genantGrade) : "");

      for (int k = 0; k < 2; ++k) {
        const int threshold = k == 0 ? 2 : 1;
        std::string outcome;
        if (tv.genantGrade) {
          const bool truthPos = *tv.genantGrade >= threshold;
          Confusion& cm = k == 0 ? v2 : v1;
          if (!match || !match->genantGrade) {
            if (truthPos) {
              cm.fn++;
              outcome = "fn";
            } else if (!match) {
              unmatchedNormal[k]++;
              outcome = "unmatched_normal";
            } else {
              unassessedNormal[k]++;
              outcome = "unassessed_normal";
            }
          } else {
            const bool predPos = *match->genantGrade >= threshold;
            cm.add(truthPos, predPos);
            outcome = truthPos ? (predPos ? "tp" : "fn") : (predPos ? "fp" : "tn");
          }
        }
        row.push_back(outcome);
      }
      if (tv.genantGrade && match && match->genantGrade) {
        ++gradeTotal;
        const bool exact = *match->genantGrade == *tv.genantGrade;
        if (exact) ++gradeExact;
        if (*tv.genantGrade >= 1) {
          ++gradeTotalFx;
          if (exact) ++gradeExactFx;
        }
      }
      std::string hErr;
      if (tv.heights && match && match->heights) {
        const double e = (std::abs(tv.heights->anteriorMm - match->heights->anteriorMm) +
                          std::abs(tv.heights->middleMm - match->heights->middleMm) +
                          std::abs(tv.heights->posteriorMm - match->heights->posteriorMm));
        heightErrSum += e;
        heightN += 3;
        hErr = fmt(e / 3.0);
      }
      row.push_back(hErr);
      vcsv += csv::formatRow(row);
    }

    // Patient level.
    std::optional<bool> truthPos;
    bool anyGraded = false;
    for (const auto& tv : t.vertebrae)
      if (tv.genantGrade) {
        anyGraded = true;
        if (*tv.genantGrade >= 2) truthPos = true;
      }
    if (!truthPos) {
      if (t.anyFracture)
        truthPos = *t.anyFracture;
      else if (anyGraded)
        truthPos = false;
    }
    std::string outcome, predFx, score;
    if (truthPos) {
      bool predPos;
      double s;
      if (ok) {
        predPos = p.fractureDetected;
        s = p.fractureScore ? *p.fractureScore : (p.fractureDetected ? 1.0 : 0.0);
        score = fmt(s, 3);
      } else {
        // No answer is a wrong answer, and the worst score.
        predPos = !*truthPos;
        s = *truthPos ? -inf : inf;
      }
      p2.add(*truthPos, predPos);
      (*truthPos ? posScores : negScores).push_back(s);
      predFx = ok ? (predPos ? "true" : "false") : "";
      outcome = *truthPos ? (predPos ? "tp" : "fn") : (predPos ? "fp" : "tn");
    } else {
      ++patientSkipped;
      outcome = "unknown_truth";
    }

    std::string predHu;
    if (t.l1TrabecularHu) {
      ++huTruth;
      if (ok && p.l1TrabecularHu) {
        ++huN;
        huErrSum += std::abs(*p.l1TrabecularHu - *t.l1TrabecularHu);
      }
    }
    if (ok && p.l1TrabecularHu) predHu = fmt(*p.l1TrabecularHu, 1);
    ccsv += csv::formatRow(
        {t.caseId, p.status, std::to_string(t.vertebrae.size()),
         scoreIds ? std::to_string(caseIdHit) + "/" + std::to_string(caseIdTotal) : "",
         truthPos ? (*truthPos ? "true" : "false") : "", predFx, score, outcome,
         fmtOpt(t.l1TrabecularHu, 1), predHu});
  }

  json m;
  m["cases"] = static_cast<long>(truth.size());
  m["failed"] = failed;
  m["not_applicable"] = notApplicable;
  m["identification_rate"] = numberOrNull(ratio(idHit, idTotal));
  m["centroid_error_mm"] =
      numberOrNull(idHit > 0 ? std::optional<double>(centroidErrSum / idHit) : std::nullopt);
  m["vertebra_ge2"] = v2.toJson();
  m["vertebra_ge1"] = v1.toJson();
  json pj = p2.toJson();
  if (auto a = aucWithCi(posScores, negScores)) {
    pj["auc"] = round4(a->auc);
    pj["auc_ci95"] = json::array({round4(a->ci95.low), round4(a->ci95.high)});
  } else {
    pj["auc"] = nullptr;
    pj["auc_ci95"] = nullptr;
  }
  m["patient_ge2"] = pj;
  m["grade_exact_rate"] = numberOrNull(ratio(gradeExact, gradeTotal));
  m["grade_exact_rate_fractured"] = numberOrNull(ratio(gradeExactFx, gradeTotalFx));
  m["height_mae_mm"] =
      numberOrNull(heightN > 0 ? std::optional<double>(heightErrSum / heightN) : std::nullopt);
  m["l1_hu_mae"] = numberOrNull(huN > 0 ? std::optional<double>(huErrSum / huN) : std::nullopt);
  m["l1_hu_coverage"] = numberOrNull(ratio(huN, huTruth));
  if (vertebraeCsv) *vertebraeCsv = std::move(vcsv);
  if (casesCsv) *casesCsv = std::move(ccsv);
  if (counts)
    *counts = {{"unmatched_normal_ge2", unmatchedNormal[0]},
               {"unmatched_normal_ge1", unmatchedNormal[1]},
               {"unassessed_normal_ge2", unassessedNormal[0]},
               {"unassessed_normal_ge1", unassessedNormal[1]},
               {"identification_scored", idTotal},
               {"grade_compared", gradeTotal},
               {"grade_compared_fractured", gradeTotalFx},
               {"patients_unknown_truth", patientSkipped},
               {"l1_hu_truth", huTruth}};
  return m;
}

json runEvaluate(const EvaluateOptions& o, std::ostream& out) {
  const std::vector<TruthCase> truth = loadTruth(o.truth, o.grades);
  std::error_code ec;
  if (!fs::is_directory(o.pred, ec)) throw UsageError("--pred " + o.pred + " is not a folder");
  std::map<std::string, PredCase> pred;
  long unreadable = 0;
  for (const auto& t : truth) {
    const fs::path rp = fs::path(o.pred) / t.caseId / "report.json";
    if (!fs::exists(rp, ec)) continue;  // missing: counted as failed
    try {
      pred[t.caseId] = readReport(rp.string());
    } catch (const InputError& e) {
      // A report that cannot be read is no answer: scored as failed.
      PredCase p;
      p.status = "failed";
      pred[t.caseId] = p;
      ++unreadable;
      out << "warning: " << e.what() << '\n';
    }
  }
  fs::create_directories(o.outDir, ec);
  if (!fs::is_directory(o.outDir, ec)) throw UsageError("cannot create " + o.outDir);
  std::string vcsv, ccsv;
  json counts;
  json m = computeMetrics(truth, pred, &vcsv, &ccsv, &counts);
  counts["unreadable_reports"] = unreadable;
  const fs::path dir(o.outDir);
  writeFileAtomically(dir / "metrics.json", m.dump(2) + "\n");
  writeFileAtomically(dir / "counts.json", counts.dump(2) + "\n");
  writeFileAtomically(dir / "vertebrae.csv", vcsv);
  writeFileAtomically(dir / "cases.csv", ccsv);

  auto show = [](const json& v, int decimals = 3) {
    return v.is_null() ? std::string("n/a") : fmt(v.get<double>(), decimals);
  };
  auto showCi = [&](const json& v) {
    return v.is_null() ? std::string("") : " [" + show(v[0]) + ", " + show(v[1]) + "]";
  };
  out << "cases " << m["cases"] << " (failed " << m["failed"] << ", not_applicable "
      << m["not_applicable"] << ")\n";
  out << "identification rate " << show(m["identification_rate"]) << ", centroid error "
      << show(m["centroid_error_mm"], 1) << " mm\n";
  for (const char* key : {"vertebra_ge2", "vertebra_ge1", "patient_ge2"}) {
    const json& b = m[key];
    out << key << ": sensitivity " << show(b["sensitivity"]) << showCi(b["sensitivity_ci95"])
        << ", specificity " << show(b["specificity"]) << showCi(b["specificity_ci95"]) << " (tp "
        << b["tp"] << " fp " << b["fp"] << " tn " << b["tn"] << " fn " << b["fn"] << ")";
    if (b.contains("auc")) out << ", AUC " << show(b["auc"]) << showCi(b["auc_ci95"]);
    out << '\n';
  }
  out << "grade exact " << show(m["grade_exact_rate"]) << " (fractured "
      << show(m["grade_exact_rate_fractured"]) << "), height MAE " << show(m["height_mae_mm"], 2)
      << " mm, L1 HU MAE " << show(m["l1_hu_mae"], 1) << " (coverage " << show(m["l1_hu_coverage"])
      << ")\n";
  out << "normal vertebrae with no predicted vertebra within 15 mm: "
      << counts["unmatched_normal_ge2"] << " (left out of specificity)\n";
  out << "written: " << (dir / "metrics.json").string() << ", vertebrae.csv, cases.csv\n";
  return m;
}

}  // namespace spinescreen::evaluate
