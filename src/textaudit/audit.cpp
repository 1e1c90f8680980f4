#include "textaudit/audit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "batch/csv.h"
#include "core/errors.h"
#include "textaudit/levels.h"

namespace fs = std::filesystem;

namespace spinescreen::textaudit {

std::vector<ReadReport> readAll(const std::vector<ReportText>& reports) {
  std::vector<ReadReport> out;
  out.reserve(reports.size());
  for (const auto& r : reports) out.push_back({r, classifyReport(r.text)});
  return out;
}

const char* toString(AuditCategory c) {
  switch (c) {
    case AuditCategory::kFlaggedNamedReferred:
      return "flagged_named_referred";
    case AuditCategory::kFlaggedNamedNotReferred:
      return "flagged_named_not_referred";
    case AuditCategory::kFlaggedNotNamed:
      return "flagged_not_named";
    case AuditCategory::kNotFlaggedNamed:
      return "not_flagged_named";
    case AuditCategory::kNotFlaggedNotNamed:
      return "not_flagged_not_named";
    case AuditCategory::kNoAiResult:
      return "no_ai_result";
    case AuditCategory::kNoReport:
    default:
      return "no_report";
  }
}

bool namesFracture(FractureStatus s) {
  return s == FractureStatus::kAffirmed || s == FractureStatus::kHistorical;
}

Rate makeRate(long k, long n) {
  Rate r;
  r.numerator = k;
  r.denominator = n;
  if (n <= 0) return r;
  const double p = double(k) / n, z = 1.959963984540054, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
  r.value = p;
  r.low = std::max(0.0, centre - half);
  r.high = std::min(1.0, centre + half);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Batch results

namespace {

std::optional<double> parseNumber(const std::string& s, const std::string& where) {
  if (s.empty() || s == "null" || s == "NA") return std::nullopt;
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    throw InputError(where + ": '" + s + "' is not a number");
  }
}

bool parseBool(const std::string& s, const std::string& where) {
  if (s == "true" || s == "1" || s == "yes") return true;
  if (s == "false" || s == "0" || s == "no" || s.empty()) return false;
  throw InputError(where + ": '" + s + "' is not true or false");
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ';') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool safeCaseDir(const std::string& id) {
  return !id.empty() && id != "." && id != ".." && id.find('/') == std::string::npos &&
         id.find('\\') == std::string::npos;
}

// Completes a case from its report.json; false (and a warning) when it cannot be read.
void readReportJson(const fs::path& path, BatchCase& c, std::vector<std::string>& warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    warnings.push_back(c.caseId + ": report.json is not valid JSON; summary.csv used");
    return;
  }
  try {
    const auto& p = j.at("patient");
    if (j.contains("status") && j["status"].is_string()) c.status = j["status"].get<std::string>();
    c.fractureDetected = p.at("fracture_detected").get<bool>();
    c.referralRecommended = p.at("referral_recommended").get<bool>();
    const auto& g = p.at("max_genant_grade");
    c.maxGenantGrade = g.is_null() ? std::nullopt : std::optional<int>(g.get<int>());
    if (p.contains("fractured_levels") && p["fractured_levels"].is_array()) {
      c.fracturedLevels.clear();
      for (const auto& l : p["fractured_levels"]) c.fracturedLevels.push_back(l.get<std::string>());
    }
    auto num = [&](const char* key) -> std::optional<double> {
      if (!p.contains(key) || p[key].is_null()) return std::nullopt;
      return p[key].get<double>();
    };
    c.fractureScore = num("fracture_score");
    c.densityHu = num("density_hu");
    if (p.contains("bone_density_category") && p["bone_density_category"].is_string())
      c.boneDensityCategory = p["bone_density_category"].get<std::string>();
    c.fromReportJson = true;
  } catch (const nlohmann::json::exception& e) {
    warnings.push_back(c.caseId + ": report.json lacks the patient section of the contract (" +
                       std::string(e.what()) + "); summary.csv used");
  }
}

}  // namespace

BatchResults readBatchResults(const std::string& batchDir) {
  const fs::path dir(batchDir);
  const fs::path summary = dir / "summary.csv";
  if (!fs::is_directory(dir)) throw InputError("results folder " + batchDir + " does not exist");
  if (!fs::exists(summary))
    throw InputError("results folder " + batchDir + " has no summary.csv (not a batch folder)");
  const csv::Table t = csv::readTable(summary.string());
  auto need = [&](const char* name) {
    const int c = t.column(name);
    if (c < 0) throw InputError(summary.string() + ": no column '" + name + "'");
    return c;
  };
  const int cId = need("case_id"), cStatus = need("status"), cGrade = need("max_genant_grade"),
            cLevels = need("fractured_levels"), cReferral = need("referral_recommended");
  const int cScore = t.column("fracture_score"), cHu = t.column("density_hu"),
            cCategory = t.column("bone_density_category");
  BatchResults out;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const std::string where = summary.string() + ": line " + std::to_string(t.lineOfRow[r]);
    BatchCase c;
    c.caseId = row[cId];
    if (c.caseId.empty()) throw InputError(where + ": empty case_id");
    c.status = row[cStatus];
    if (auto g = parseNumber(row[cGrade], where + ", max_genant_grade")) {
      if (*g < 0 || *g > 3 || *g != std::floor(*g))
        throw InputError(where + ": max_genant_grade " + row[cGrade] + " is not 0..3");
      c.maxGenantGrade = static_cast<int>(*g);
    }
    c.fracturedLevels = splitList(row[cLevels]);
    c.referralRecommended = parseBool(row[cReferral], where + ", referral_recommended");
    if (cScore >= 0) c.fractureScore = parseNumber(row[cScore], where + ", fracture_score");
    if (cHu >= 0) c.densityHu = parseNumber(row[cHu], where + ", density_hu");
    if (cCategory >= 0) c.boneDensityCategory = row[cCategory];
    c.fractureDetected = c.maxGenantGrade && *c.maxGenantGrade >= 2;
    if (safeCaseDir(c.caseId)) readReportJson(dir / c.caseId / "report.json", c, out.warnings);
    if (!out.cases.emplace(c.caseId, c).second)
      throw InputError(where + ": case_id appears twice in summary.csv");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Join

CohortAudit joinAudit(const std::vector<ReadReport>& reports, const BatchResults& batch) {
  CohortAudit a;
  a.warnings = batch.warnings;
  std::map<std::string, CaseAudit> byCase;
  for (const auto& r : reports) {
    CaseAudit& c = byCase[r.report.caseId];
    c.caseId = r.report.caseId;
    ++c.reports;
    const auto& f = r.findings;
    if (statusRank(f.vertebralFracture) > statusRank(c.reportStatus))
      c.reportStatus = f.vertebralFracture;
    c.reportLevels.insert(c.reportLevels.end(), f.levels.begin(), f.levels.end());
    c.recommendationMade = c.recommendationMade || f.recommendationMade;
    c.osteoporosisMentioned = c.osteoporosisMentioned || f.osteoporosisMentioned;
    auto add = [](std::string& to, const std::string& v) {
      if (v.empty() || to == v) return;
      to += to.empty() ? v : " | " + v;
    };
    add(c.date, r.report.date);
    add(c.accession, r.report.accession);
    add(c.evidence, f.evidence());
  }
  for (const auto& [id, bc] : batch.cases)
    if (!byCase.count(id)) {
      CaseAudit c;
      c.caseId = id;
      byCase[id] = c;
    }
  long flagged = 0, named = 0, referred = 0, namedReferred = 0, aiNegative = 0, reportOnly = 0;
  for (auto& [id, c] : byCase) {
    normaliseLevels(c.reportLevels);
    auto it = batch.cases.find(id);
    if (it != batch.cases.end()) c.ai = it->second;
    const bool usable = c.ai && c.ai->status == "ok";
    const bool isNamed = namesFracture(c.reportStatus);
    if (c.reports == 0) {
      c.category = AuditCategory::kNoReport;
    } else if (!usable) {
      c.category = AuditCategory::kNoAiResult;
    } else if (c.ai->fractureDetected) {
      ++flagged;
      if (isNamed) ++named;
      if (c.recommendationMade) ++referred;
      if (isNamed && c.recommendationMade) ++namedReferred;
      c.category = !isNamed               ? AuditCategory::kFlaggedNotNamed
                   : c.recommendationMade ? AuditCategory::kFlaggedNamedReferred
                                          : AuditCategory::kFlaggedNamedNotReferred;
    } else {
      ++aiNegative;
      if (isNamed) ++reportOnly;
      c.category = isNamed ? AuditCategory::kNotFlaggedNamed : AuditCategory::kNotFlaggedNotNamed;
    }
    ++a.counts[c.category];
    a.cases.push_back(std::move(c));
  }
  a.identificationRate = makeRate(named, flagged);
  a.referralRate = makeRate(referred, flagged);
  a.referralRateWhenNamed = makeRate(namedReferred, named);
  a.reportOnlyFractureRate = makeRate(reportOnly, aiNegative);
  return a;
}

std::vector<CaseAudit> worklist(const CohortAudit& audit) {
  std::vector<CaseAudit> out;
  for (const auto& c : audit.cases)
    if (c.category == AuditCategory::kFlaggedNotNamed) out.push_back(c);
  std::sort(out.begin(), out.end(), [](const CaseAudit& x, const CaseAudit& y) {
    const int gx = x.ai->maxGenantGrade.value_or(-1), gy = y.ai->maxGenantGrade.value_or(-1);
    if (gx != gy) return gx > gy;
    const double sx = x.ai->fractureScore.value_or(-1), sy = y.ai->fractureScore.value_or(-1);
    if (sx != sy) return sx > sy;
    return x.caseId < y.caseId;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Output

namespace {

std::string fmt(const std::optional<double>& v, int digits = 3) {
  if (!v) return {};
  std::ostringstream ss;
  ss.precision(digits);
  ss << std::fixed << *v;
  std::string s = ss.str();
  while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
    const bool dot = s.back() == '.';
    s.pop_back();
    if (dot) break;
  }
  return s;
}

std::string fmtInt(const std::optional<int>& v) { return v ? std::to_string(*v) : std::string(); }

const char* b(bool v) { return v ? "true" : "false"; }

nlohmann::json rateJson(const Rate& r) {
  nlohmann::json j;
  j["numerator"] = r.numerator;
  j["denominator"] = r.denominator;
  j["value"] = r.value ? nlohmann::json(*r.value) : nlohmann::json(nullptr);
  j["ci95"] = r.value ? nlohmann::json::array({*r.low, *r.high}) : nlohmann::json(nullptr);
  return j;
}

void writeFile(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw UsageError("cannot write " + tmp.string());
    out << content;
    if (!out) throw UsageError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw UsageError("cannot write " + path.string() + ": " + ec.message());
}

}  // namespace

std::string reportsCsv(const std::vector<ReadReport>& reports) {
  std::string out = csv::formatRow({"case_id", "vertebral_fracture", "levels",
                                    "osteoporosis_mentioned", "recommendation_made", "evidence"});
  for (const auto& r : reports) {
    const auto& f = r.findings;
    out += csv::formatRow({r.report.caseId, toString(f.vertebralFracture), joinLevels(f.levels),
                           b(f.osteoporosisMentioned), b(f.recommendationMade), f.evidence()});
  }
  return out;
}

std::string casesCsv(const CohortAudit& audit) {
  std::string out = csv::formatRow(
      {"case_id", "category", "ai_status", "ai_fracture_detected", "max_genant_grade",
       "fractured_levels", "fracture_score", "ai_referral_recommended", "bone_density_category",
       "report_count", "report_vertebral_fracture", "report_levels", "report_recommendation_made",
       "report_osteoporosis_mentioned", "levels_in_both", "date", "accession", "evidence"});
  for (const auto& c : audit.cases) {
    const bool ai = c.ai.has_value();
    // Levels both the report and spinescreen name: empty when they speak of different vertebrae.
    std::vector<std::string> common;
    if (ai)
      for (const auto& l : c.reportLevels)
        if (std::find(c.ai->fracturedLevels.begin(), c.ai->fracturedLevels.end(), l) !=
            c.ai->fracturedLevels.end())
          common.push_back(l);
    out += csv::formatRow(
        {c.caseId, toString(c.category), ai ? c.ai->status : "",
         ai ? b(c.ai->fractureDetected) : "", ai ? fmtInt(c.ai->maxGenantGrade) : "",
         ai ? joinLevels(c.ai->fracturedLevels) : "", ai ? fmt(c.ai->fractureScore) : "",
         ai ? b(c.ai->referralRecommended) : "", ai ? c.ai->boneDensityCategory : "",
         std::to_string(c.reports), c.reports ? toString(c.reportStatus) : "",
         joinLevels(c.reportLevels), c.reports ? b(c.recommendationMade) : "",
         c.reports ? b(c.osteoporosisMentioned) : "", joinLevels(common), c.date, c.accession,
         c.evidence});
  }
  return out;
}

std::string worklistCsv(const std::vector<CaseAudit>& list) {
  std::string out =
      csv::formatRow({"rank", "case_id", "max_genant_grade", "fractured_levels", "fracture_score",
                      "bone_density_category", "density_hu", "report_vertebral_fracture",
                      "report_recommendation_made", "date", "accession"});
  int rank = 0;
  for (const auto& c : list)
    out += csv::formatRow({std::to_string(++rank), c.caseId, fmtInt(c.ai->maxGenantGrade),
                           joinLevels(c.ai->fracturedLevels), fmt(c.ai->fractureScore),
                           c.ai->boneDensityCategory, fmt(c.ai->densityHu, 1),
                           toString(c.reportStatus), b(c.recommendationMade), c.date, c.accession});
  return out;
}

int runTextAudit(const TextAuditOptions& o, std::ostream& log) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.reportsPath.empty()) throw UsageError("--reports is required");
  if (o.outDir.empty()) throw UsageError("-o OUTDIR is required");
  const auto texts = readReports(o.reportsPath, o.reader);
  std::optional<BatchResults> batch;
  if (!o.resultsDir.empty()) batch = readBatchResults(o.resultsDir);
  std::error_code ec;
  fs::create_directories(o.outDir, ec);
  if (ec || !fs::is_directory(o.outDir))
    throw UsageError("cannot create output folder " + o.outDir);

  const auto reports = readAll(texts);
  writeFile(fs::path(o.outDir) / "reports.csv", reportsCsv(reports));
  std::map<FractureStatus, long> byStatus;
  long recs = 0;
  for (const auto& r : reports) {
    ++byStatus[r.findings.vertebralFracture];
    if (r.findings.recommendationMade) ++recs;
  }
  log << "textaudit: " << reports.size() << " reports: ";
  for (auto st : {FractureStatus::kAffirmed, FractureStatus::kHistorical,
                  FractureStatus::kUncertain, FractureStatus::kNegated, FractureStatus::kNone})
    log << toString(st) << " " << byStatus[st] << ", ";
  log << "recommendation made " << recs << "\n";
  if (!batch) return 0;

  const CohortAudit audit = joinAudit(reports, *batch);
  const auto list = worklist(audit);
  writeFile(fs::path(o.outDir) / "cases.csv", casesCsv(audit));
  writeFile(fs::path(o.outDir) / "worklist.csv", worklistCsv(list));
  nlohmann::json j;
  j["reports"] = reports.size();
  j["cases"] = audit.cases.size();
  nlohmann::json counts = nlohmann::json::object();
  for (auto c :
       {AuditCategory::kFlaggedNamedReferred, AuditCategory::kFlaggedNamedNotReferred,
        AuditCategory::kFlaggedNotNamed, AuditCategory::kNotFlaggedNamed,
        AuditCategory::kNotFlaggedNotNamed, AuditCategory::kNoAiResult, AuditCategory::kNoReport}) {
    auto it = audit.counts.find(c);
    counts[toString(c)] = it == audit.counts.end() ? 0 : it->second;
  }
  j["categories"] = counts;
  j["identification_rate"] = rateJson(audit.identificationRate);
  j["referral_rate"] = rateJson(audit.referralRate);
  j["referral_rate_when_named"] = rateJson(audit.referralRateWhenNamed);
  j["report_only_fracture_rate"] = rateJson(audit.reportOnlyFractureRate);
  j["worklist"] = list.size();
  j["warnings"] = audit.warnings;
  j["definitions"] = {
      {"flagged", "spinescreen status ok and patient.fracture_detected (Genant grade >= 2)"},
      {"named", "the report affirms a vertebral fracture or names a known / old one"},
      {"referred", "the report recommends FLS referral, DXA or bone-health assessment"}};
  writeFile(fs::path(o.outDir) / "audit.json", j.dump(2) + "\n");
  auto pct = [](const Rate& r) {
    return r.value ? fmt(*r.value * 100, 1) + "% (" + std::to_string(r.numerator) + "/" +
                         std::to_string(r.denominator) + ")"
                   : std::string("n/a (no flagged cases)");
  };
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log << "textaudit: " << audit.cases.size() << " cases; identification rate "
      << pct(audit.identificationRate) << "; referral rate " << pct(audit.referralRate)
      << "; worklist " << list.size() << "; warnings " << audit.warnings.size() << "; "
      << fmt(secs, 2) << " s\n";
  return 0;
}

}  // namespace spinescreen::textaudit
