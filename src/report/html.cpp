#include "report/html.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "core/version.h"

namespace spinescreen::report {
namespace {

std::string num(const std::optional<double>& v, int decimals = 1) {
  if (!v) return "&ndash;";
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << *v;
  return s.str();
}

const char* categoryText(DensityCategory c) {
  switch (c) {
    case DensityCategory::kOsteoporosisLikely:
      return "osteoporosis likely";
    case DensityCategory::kLow:
      return "low";
    case DensityCategory::kNormal:
      return "normal";
    default:
      return "indeterminate";
  }
}

}  // namespace

std::string htmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string base64(const std::vector<uint8_t>& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint32_t(in[i]) << 16) | (uint32_t(in[i + 1]) << 8) | in[i + 2];
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint32_t(in[i]) << 16;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint32_t(in[i]) << 16) | (uint32_t(in[i + 1]) << 8);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string renderHtml(const Report& r, const std::vector<uint8_t>& png) {
  const PatientFindings& p = r.patient;
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<title>spinescreen report</title><style>"
    << "body{font-family:sans-serif;margin:1.5em;max-width:70em;color:#111}"
    << "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;"
    << "padding:.25em .6em;text-align:right}th{background:#eee}td.l,th.l{text-align:left}"
    << "tr.g2 td{background:#fdd}tr.g1 td{background:#fed}.warn{color:#a40}"
    << ".flag{font-weight:bold;color:#b00}.note{border:2px solid #b00;padding:.5em;margin:1em 0}"
    << "img{max-width:100%;border:1px solid #444}</style></head><body>\n";
  h << "<h1>spinescreen: vertebral fracture and bone density screening</h1>\n";
  h << "<p class=\"note\">Not for diagnostic use without review by a qualified reader. "
    << "Automated measurements can be wrong; check them on the images.</p>\n";
  h << "<p>Status: <b>" << htmlEscape(toString(r.status)) << "</b> &mdash; "
    << htmlEscape(r.statusReason) << "</p>\n";

  h << "<h2>Result</h2>\n<ul>";
  h << "<li>Fracture (Genant grade 2&ndash;3): <b"
    << (p.fractureDetected ? " class=\"flag\">yes" : ">no") << "</b>";
  if (!p.fracturedLevels.empty()) {
    h << " at ";
    for (size_t i = 0; i < p.fracturedLevels.size(); ++i)
      h << (i ? ", " : "") << htmlEscape(p.fracturedLevels[i]);
  }
  h << "</li><li>Highest Genant grade: "
    << (p.maxGenantGrade ? std::to_string(*p.maxGenantGrade) : std::string("&ndash;"))
    << "</li><li>Fracture score: " << num(p.fractureScore, 3) << "</li>";
  h << "<li>Trabecular density: " << num(p.densityHu, 0) << " HU";
  if (p.densityLevel) h << " at " << htmlEscape(*p.densityLevel);
  h << " &mdash; " << categoryText(p.boneDensityCategory.value_or(DensityCategory::kIndeterminate))
    << "; L1: " << num(p.l1TrabecularHu, 0) << " HU</li>";
  h << "<li>Referral to the fracture liaison service: <b"
    << (p.referralRecommended ? " class=\"flag\">recommended" : ">not recommended") << "</b>";
  if (!p.referralReasons.empty()) {
    h << "<ul>";
    for (const auto& reason : p.referralReasons) h << "<li>" << htmlEscape(reason) << "</li>";
    h << "</ul>";
  }
  h << "</li></ul>\n";

  if (!png.empty())
    h << "<h2>Sagittal view</h2>\n<img alt=\"annotated curved sagittal reformation\" "
      << "src=\"data:image/png;base64," << base64(png) << "\">\n";

  h << "<h2>Measurements per level</h2>\n<table><tr><th class=\"l\">level</th>"
    << "<th>H<sub>a</sub> mm</th><th>H<sub>m</sub> mm</th><th>H<sub>p</sub> mm</th>"
    << "<th>height loss</th><th>Genant grade</th><th class=\"l\">shape</th>"
    << "<th>fracture probability</th><th>trabecular HU</th><th class=\"l\">notes</th></tr>\n";
  for (const auto& v : r.vertebrae) {
    const int g = v.genantGrade.value_or(0);
    h << "<tr"
      << (g >= 2   ? " class=\"g2\""
          : g == 1 ? " class=\"g1\""
                   : "")
      << "><td class=\"l\">" << htmlEscape(v.label) << "</td>";
    if (v.heights) {
      h << "<td>" << num(v.heights->anteriorMm) << "</td><td>" << num(v.heights->middleMm)
        << "</td><td>" << num(v.heights->posteriorMm) << "</td>";
    } else {
      h << "<td>&ndash;</td><td>&ndash;</td><td>&ndash;</td>";
    }
    h << "<td>" << (v.heightLoss ? num(*v.heightLoss * 100.0, 0) + "%" : std::string("&ndash;"))
      << "</td><td>" << (v.genantGrade ? std::to_string(*v.genantGrade) : "&ndash;")
      << "</td><td class=\"l\">" << (v.morphology ? toString(*v.morphology) : "") << "</td><td>"
      << num(v.fractureProbability, 2) << "</td><td>" << num(v.trabecularHu, 0)
      << "</td><td class=\"l\">";
    std::string notes;
    if (!v.measurable) notes = "not measured: " + v.notMeasurableReason;
    for (const auto& n : v.notes) notes += (notes.empty() ? "" : "; ") + n;
    h << htmlEscape(notes) << "</td></tr>\n";
  }
  h << "</table>\n<p>Heights are measured in each body's mid-sagittal plane along the local "
    << "spine axis at 15%, 50% and 85% of its depth from the anterior wall. Height loss = 1 "
    << "&minus; min(H<sub>a</sub>, H<sub>m</sub>) / max(H<sub>p</sub>, mean H<sub>p</sub> of "
    << "unfractured neighbours); Genant grade 1 at 20&ndash;25%, 2 at 25&ndash;40%, 3 above "
    << "40%. Trabecular HU: mean over the body interior at least 5 mm from its surface, "
    << "posterior third, cement and small bright foci excluded.</p>\n";

  h << "<h2>Input</h2>\n<ul>";
  const StudyInfo& in = r.input;
  if (!in.format.empty()) h << "<li>Format: " << htmlEscape(in.format) << "</li>";
  if (!in.modality.empty()) h << "<li>Modality: " << htmlEscape(in.modality) << "</li>";
  if (r.inputGrid) {
    const Grid& g = *r.inputGrid;
    h << "<li>Size: " << g.size[0] << " &times; " << g.size[1] << " &times; " << g.size[2]
      << " voxels; spacing " << num(g.spacing.x, 2) << " &times; " << num(g.spacing.y, 2)
      << " &times; " << num(g.spacing.z, 2) << " mm</li>";
  }
  if (in.sliceThicknessMm)
    h << "<li>Slice thickness: " << num(in.sliceThicknessMm, 2) << " mm</li>";
  h << "<li>Contrast: "
    << (in.contrast ? (*in.contrast ? "yes (HU read somewhat higher)" : "no") : "unknown")
    << "</li><li>kVp: " << (in.kvp ? num(in.kvp, 0) : std::string("unknown")) << "</li>";
  if (in.manufacturer) h << "<li>Manufacturer: " << htmlEscape(*in.manufacturer) << "</li>";
  if (in.convolutionKernel) h << "<li>Kernel: " << htmlEscape(*in.convolutionKernel) << "</li>";
  h << "<li>Vertebrae from: " << htmlEscape(r.vertebraeSource) << "</li></ul>\n";
  if (!r.warnings.empty()) {
    h << "<h2>Warnings</h2>\n<ul class=\"warn\">";
    for (const auto& w : r.warnings) h << "<li>" << htmlEscape(w) << "</li>";
    h << "</ul>\n";
  }
  h << "<p><small>" << htmlEscape(std::string(kToolName) + " " + kVersion)
    << ". Not for diagnostic use without review.</small></p>\n</body></html>\n";
  return h.str();
}

}  // namespace spinescreen::report
