// Readers of truth.json, report.json, reads CSV and VerSe centroid files. Every malformed input
// becomes an InputError that names the file and the field.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "batch/csv.h"
#include "core/errors.h"
#include "core/labels.h"
#include "evaluate/evaluate.h"

namespace spinescreen::evaluate {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw InputError(source + ": " + what);
}

const json* find(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

double number(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_number()) bad(source, field + " must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) bad(source, field + " must be finite");
  return d;
}

std::optional<double> optNumber(const json& obj, const char* key, const std::string& source,
                                const std::string& where) {
  const json* v = find(obj, key);
  if (!v || v->is_null()) return std::nullopt;
  return number(*v, source, where + key);
}

Vec3 vec3(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_array() || v.size() != 3) bad(source, field + " must be an array of 3 numbers");
  return {number(v[0], source, field + "[0]"), number(v[1], source, field + "[1]"),
          number(v[2], source, field + "[2]")};
}

std::string label(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_string()) bad(source, field + " must be a string");
  std::string l = v.get<std::string>();
  if (!isValidLabel(l)) bad(source, field + " '" + l + "' is not a vertebra label (C1..S1)");
  return l;
}

std::optional<int> grade(const json& obj, const std::string& source, const std::string& where) {
  const json* v = find(obj, "genant_grade");
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_number_integer()) bad(source, where + "genant_grade must be an integer 0..3 or null");
  const long long g = v->get<long long>();
  if (g < 0 || g > 3) bad(source, where + "genant_grade " + std::to_string(g) + " is not 0..3");
  return static_cast<int>(g);
}

std::optional<Heights> heights(const json& obj, const std::string& source,
                               const std::string& where) {
  const json* v = find(obj, "heights_mm");
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_object()) bad(source, where + "heights_mm must be an object or null");
  Heights h;
  const char* keys[3] = {"anterior", "middle", "posterior"};
  double* dst[3] = {&h.anteriorMm, &h.middleMm, &h.posteriorMm};
  for (int i = 0; i < 3; ++i) {
    const json* x = find(*v, keys[i]);
    if (!x) bad(source, where + "heights_mm lacks " + keys[i]);
    *dst[i] = number(*x, source, where + "heights_mm." + keys[i]);
    if (*dst[i] < 0) bad(source, where + "heights_mm." + keys[i] + " is negative");
  }
  return h;
}

const std::set<std::string>& morphologies() {
  static const std::set<std::string> m = {"normal", "wedge", "biconcave", "crush"};
  return m;
}

// Python's json module writes NaN for missing numbers, which JSON does not have: outside
// strings, a bare NaN becomes null.
std::string nanToNull(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      out += c;
      if (c == '\\' && i + 1 < text.size())
        out += text[++i];
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') inString = true;
    if (text.compare(i, 3, "NaN") == 0) {
      out += "null";
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

json parseFile(const std::string& path, bool allowNaN = false) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(allowNaN ? nanToNull(ss.str()) : ss.str());
  } catch (const json::exception& e) {
    throw InputError(path + ": not valid JSON: " + e.what());
  }
}

const json& requireArray(const json& obj, const char* key, const std::string& source) {
  const json* v = find(obj, key);
  if (!v) bad(source, std::string("missing ") + key);
  if (!v->is_array()) bad(source, std::string(key) + " must be an array");
  return *v;
}

}  // namespace

TruthCase parseTruth(const json& j, const std::string& source) {
  if (!j.is_object()) bad(source, "truth must be a JSON object");
  TruthCase t;
  const json* id = find(j, "case_id");
  if (!id || !id->is_string() || id->get<std::string>().empty())
    bad(source, "case_id must be a non-empty string");
  t.caseId = id->get<std::string>();
  if (const json* a = find(j, "label_anchor"); a && !a->is_null()) {
    if (!a->is_boolean()) bad(source, "label_anchor must be true or false");
    t.labelAnchor = a->get<bool>();
  }
  const json& vs = requireArray(j, "vertebrae", source);
  std::set<std::string> seen;
  for (size_t i = 0; i < vs.size(); ++i) {
    const std::string where = "vertebrae[" + std::to_string(i) + "].";
    const json& v = vs[i];
    if (!v.is_object()) bad(source, where.substr(0, where.size() - 1) + " must be an object");
    TruthVertebra tv;
    const json* l = find(v, "label");
    if (!l) bad(source, where + "label is missing");
    tv.label = label(*l, source, where + "label");
    if (!seen.insert(tv.label).second) bad(source, "label " + tv.label + " appears twice");
    const json* c = find(v, "centroid_lps_mm");
    if (!c) bad(source, where + "centroid_lps_mm is missing");
    tv.centroidLps = vec3(*c, source, where + "centroid_lps_mm");
    tv.heights = heights(v, source, where);
    tv.genantGrade = grade(v, source, where);
    if (const json* m = find(v, "morphology"); m && !m->is_null()) {
      if (!m->is_string() || !morphologies().count(m->get<std::string>()))
        bad(source, where + "morphology must be normal, wedge, biconcave, crush or null");
      tv.morphology = m->get<std::string>();
    }
    t.vertebrae.push_back(std::move(tv));
  }
  const json* p = find(j, "patient");
  if (!p || !p->is_object()) bad(source, "patient must be an object");
  if (const json* a = find(*p, "any_fracture"); a && !a->is_null()) {
    if (!a->is_boolean()) bad(source, "patient.any_fracture must be true, false or null");
    t.anyFracture = a->get<bool>();
  }
  t.l1TrabecularHu = optNumber(*p, "l1_trabecular_hu", source, "patient.");
  return t;
}

TruthCase readTruth(const std::string& path) { return parseTruth(parseFile(path), path); }

PredCase parseReport(const json& j, const std::string& source) {
  if (!j.is_object()) bad(source, "report must be a JSON object");
  PredCase r;
  const json* s = find(j, "status");
  if (!s || !s->is_string()) bad(source, "status must be a string");
  r.status = s->get<std::string>();
  if (r.status != "ok" && r.status != "not_applicable" && r.status != "failed")
    bad(source, "status '" + r.status + "' is not ok, not_applicable or failed");
  const json& vs = requireArray(j, "vertebrae", source);
  for (size_t i = 0; i < vs.size(); ++i) {
    const std::string where = "vertebrae[" + std::to_string(i) + "].";
    const json& v = vs[i];
    if (!v.is_object()) bad(source, where.substr(0, where.size() - 1) + " must be an object");
    PredVertebra pv;
    const json* l = find(v, "label");
    if (!l) bad(source, where + "label is missing");
    pv.label = label(*l, source, where + "label");
    const json* c = find(v, "centroid_lps_mm");
    if (!c) bad(source, where + "centroid_lps_mm is missing");
    pv.centroidLps = vec3(*c, source, where + "centroid_lps_mm");
    pv.heights = heights(v, source, where);
    pv.genantGrade = grade(v, source, where);
    r.vertebrae.push_back(std::move(pv));
  }
  const json* p = find(j, "patient");
  if (!p || !p->is_object()) bad(source, "patient must be an object");
  const json* fd = find(*p, "fracture_detected");
  if (!fd || !fd->is_boolean()) bad(source, "patient.fracture_detected must be true or false");
  r.fractureDetected = fd->get<bool>();
  r.fractureScore = optNumber(*p, "fracture_score", source, "patient.");
  if (r.fractureScore && (*r.fractureScore < 0 || *r.fractureScore > 1))
    bad(source, "patient.fracture_score must lie in [0, 1]");
  r.l1TrabecularHu = optNumber(*p, "l1_trabecular_hu", source, "patient.");
  return r;
}

PredCase readReport(const std::string& path) { return parseReport(parseFile(path), path); }

std::vector<TruthCase> readReadsCsv(const std::string& path) {
  const csv::Table t = csv::readTable(path);
  const int caseCol = t.column("case_id");
  const int levelCol = t.column("level");
  const int gradeCol = t.column("genant_grade");
  const int morphCol = t.column("morphology");
  if (caseCol < 0 || levelCol < 0 || gradeCol < 0)
    throw InputError(path + ": the header needs case_id, level and genant_grade");
  std::vector<TruthCase> cases;
  std::map<std::string, size_t> index;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    // Where a row's error is; built only when there is one.
    const auto where = [&] { return path + ": line " + std::to_string(t.lineOfRow[r]); };
    const std::string& id = row[static_cast<size_t>(caseCol)];
    if (id.empty()) throw InputError(where() + ": empty case_id");
    const std::string& lvl = row[static_cast<size_t>(levelCol)];
    if (!isValidLabel(lvl))
      // NOLINTNEXTLINE(performance-inefficient-string-concatenation): error path, once
      throw InputError(where() + ": level '" + lvl + "' is not a vertebra label (C1..S1)");
    TruthVertebra v;
    v.label = lvl;
    const std::string& g = row[static_cast<size_t>(gradeCol)];
    if (!g.empty() && g != "null" && g != "NA") {
      if (g.size() != 1 || g[0] < '0' || g[0] > '3')
        // NOLINTNEXTLINE(performance-inefficient-string-concatenation): error path, once
        throw InputError(where() + ": genant_grade '" + g + "' is not 0, 1, 2, 3 or empty");
      v.genantGrade = g[0] - '0';
    }
    if (morphCol >= 0) {
      const std::string& m = row[static_cast<size_t>(morphCol)];
      if (!m.empty()) {
        if (!morphologies().count(m))
          // NOLINTNEXTLINE(performance-inefficient-string-concatenation): error path, once
          throw InputError(where() + ": morphology '" + m +
                           "' is not normal, wedge, biconcave, crush or empty");
        v.morphology = m;
      }
    }
    auto it = index.find(id);
    if (it == index.end()) {
      TruthCase c;
      c.caseId = id;
      c.hasPositions = false;
      index[id] = cases.size();
      cases.push_back(std::move(c));
      it = index.find(id);
    }
    TruthCase& c = cases[it->second];
    for (const auto& e : c.vertebrae)
      if (e.label == v.label)
        // NOLINTNEXTLINE(performance-inefficient-string-concatenation): error path, once
        throw InputError(where() + ": level " + v.label + " of " + id + " is read twice");
    c.vertebrae.push_back(std::move(v));
  }
  return cases;
}

Vec3 verseCentroidToLps(const std::string axisCodes[3], const double coord[3], const VoxelGrid& g) {
  // nibabel's code of each image axis: where the index increases towards, in RAS terms.
  auto codeOfColumn = [&](int c) {
    const Vec3 lps = g.direction.column(c);
    const double ras[3] = {-lps.x, -lps.y, lps.z};
    int best = 0;
    for (int k = 1; k < 3; ++k)
      if (std::abs(ras[k]) > std::abs(ras[best])) best = k;
    static const char pos[3] = {'R', 'A', 'S'};
    static const char neg[3] = {'L', 'P', 'I'};
    return ras[best] >= 0 ? pos[best] : neg[best];
  };
  auto axisOf = [](char code) {
    switch (code) {
      case 'R':
      case 'L':
        return 0;
      case 'A':
      case 'P':
        return 1;
      case 'S':
      case 'I':
        return 2;
      default:
        return -1;
    }
  };
  double index[3] = {0, 0, 0};
  bool used[3] = {false, false, false};
  for (int a = 0; a < 3; ++a) {
    if (axisCodes[a].size() != 1 || axisOf(axisCodes[a][0]) < 0)
      throw InputError("centroid direction code '" + axisCodes[a] + "' is not R, L, A, P, S or I");
    const char code = axisCodes[a][0];
    int imageAxis = -1;
    for (int i = 0; i < 3; ++i)
      if (axisOf(codeOfColumn(i)) == axisOf(code)) imageAxis = i;
    if (imageAxis < 0 || used[imageAxis])
      throw InputError("centroid direction codes do not name three different axes");
    used[imageAxis] = true;
    index[imageAxis] = codeOfColumn(imageAxis) == code
                           ? coord[a]
                           : static_cast<double>(g.size[imageAxis]) - coord[a];
  }
  Vec3 p = g.origin;
  const double sp[3] = {g.spacing.x, g.spacing.y, g.spacing.z};
  for (int i = 0; i < 3; ++i) p += g.direction.column(i) * (sp[i] * index[i]);
  return p;
}

std::vector<TruthVertebra> readVerseCentroids(const std::string& path, const VoxelGrid& grid) {
  const json j = parseFile(path, /*allowNaN=*/true);
  if (!j.is_array() || j.empty())
    bad(path, "a VerSe centroid file is a non-empty array whose first entry names the direction");
  const json* dir = j[0].is_object() ? find(j[0], "direction") : nullptr;
  if (!dir || !dir->is_array() || dir->size() != 3)
    bad(path, "the first entry must be {\"direction\": [three axis codes]}");
  std::string codes[3];
  for (int a = 0; a < 3; ++a) {
    if (!(*dir)[static_cast<size_t>(a)].is_string()) bad(path, "direction codes must be strings");
    codes[a] = (*dir)[static_cast<size_t>(a)].get<std::string>();
  }
  std::vector<TruthVertebra> out;
  std::set<std::string> seen;
  for (size_t i = 1; i < j.size(); ++i) {
    const std::string where = "entry " + std::to_string(i) + ": ";
    const json& e = j[i];
    if (!e.is_object()) bad(path, where + "must be an object");
    const json* l = find(e, "label");
    if (!l || !l->is_number_integer()) bad(path, where + "label must be an integer");
    const long long verseNo = l->get<long long>();
    if (verseNo == 27) continue;  // the coccyx: not a vertebra this project scores
    const auto name = verseNo >= 1 && verseNo <= 28
                          ? labelFromVerseNumber(static_cast<int>(verseNo))
                          : std::nullopt;
    if (!name) bad(path, where + "label " + l->dump() + " is not a VerSe vertebra number");
    double c[3];
    const char* keys[3] = {"X", "Y", "Z"};
    bool missing = false;
    for (int a = 0; a < 3; ++a) {
      const json* x = find(e, keys[a]);
      if (!x) bad(path, where + "lacks " + keys[a]);
      if (x->is_null()) {
        missing = true;  // NaN in the file: VerSe's own tools skip such centroids
        continue;
      }
      c[a] = number(*x, path, where + keys[a]);
    }
    if (missing) continue;
    if (!seen.insert(*name).second) bad(path, where + "label " + *name + " appears twice");
    TruthVertebra v;
    v.label = *name;
    try {
      v.centroidLps = verseCentroidToLps(codes, c, grid);
    } catch (const InputError& ex) {
      bad(path, ex.what());
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<TruthCase> readVerseDataset(const std::string& root, const std::string& gradesCsv) {
  const fs::path raw = fs::path(root) / "rawdata";
  const fs::path der = fs::path(root) / "derivatives";
  std::map<std::string, TruthCase> readsById;
  if (!gradesCsv.empty())
    for (auto& c : readReadsCsv(gradesCsv)) readsById[c.caseId] = std::move(c);
  struct Ct {
    std::string subject, stem;
    fs::path ct;
  };
  std::vector<Ct> cts;
  std::map<std::string, int> perSubject;
  std::error_code ec;
  std::vector<fs::path> subjects;
  for (const auto& e : fs::directory_iterator(raw, ec))
    if (e.is_directory()) subjects.push_back(e.path());
  if (ec) throw InputError("cannot read " + raw.string());
  std::sort(subjects.begin(), subjects.end());
  for (const auto& sub : subjects) {
    std::vector<fs::path> files;
    for (const auto& f : fs::recursive_directory_iterator(sub, ec)) files.push_back(f.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      const std::string name = f.filename().string();
      for (const std::string suffix : {"_ct.nii.gz", "_ct.nii"}) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
          cts.push_back({sub.filename().string(), name.substr(0, name.size() - suffix.size()), f});
          ++perSubject[sub.filename().string()];
          break;
        }
      }
    }
  }
  std::vector<TruthCase> out;
  for (const auto& ct : cts) {
    // The centroid file: derivatives/<subject>/**/<stem>*_ctd.json
    fs::path ctd;
    const fs::path subDer = der / ct.subject;
    std::vector<fs::path> candidates;
    for (const auto& f : fs::recursive_directory_iterator(subDer, ec)) {
      const std::string name = f.path().filename().string();
      if (name.rfind(ct.stem, 0) == 0 && name.size() > 9 &&
          name.compare(name.size() - 9, 9, "_ctd.json") == 0)
        candidates.push_back(f.path());
    }
    if (candidates.empty()) continue;  // a CT without centroids is not scored
    std::sort(candidates.begin(), candidates.end());
    ctd = candidates.front();
    TruthCase c;
    c.caseId = perSubject[ct.subject] > 1 ? ct.stem : ct.subject;
    const VoxelGrid grid = readImageGrid(ct.ct.string());
    c.vertebrae = readVerseCentroids(ctd.string(), grid);
    if (auto it = readsById.find(c.caseId); it != readsById.end()) {
      for (const auto& rv : it->second.vertebrae)
        for (auto& v : c.vertebrae)
          if (v.label == rv.label) {
            v.genantGrade = rv.genantGrade;
            v.morphology = rv.morphology;
          }
    }
    out.push_back(std::move(c));
  }
  if (out.empty())
    throw UsageError(root + ": no CT in rawdata/ has a centroid file in derivatives/");
  return out;
}

std::vector<TruthCase> loadTruth(const std::string& path, const std::string& gradesCsv) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    if (!gradesCsv.empty())
      throw UsageError("--grades goes with a VerSe dataset; a reads CSV already has grades");
    return readReadsCsv(path);
  }
  if (!fs::is_directory(path, ec))
    throw UsageError("truth " + path + " is neither a reads CSV nor a folder");
  if (fs::is_directory(fs::path(path) / "rawdata", ec) &&
      fs::is_directory(fs::path(path) / "derivatives", ec))
    return readVerseDataset(path, gradesCsv);
  if (!gradesCsv.empty())
    throw UsageError("--grades goes with a VerSe dataset; truth.json files carry their grades");
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.is_directory() && fs::exists(e.path() / "truth.json")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  std::vector<TruthCase> out;
  for (const auto& d : dirs) {
    TruthCase c = readTruth((d / "truth.json").string());
    c.caseId = d.filename().string();  // the folder name is what batch names the study
    out.push_back(std::move(c));
  }
  if (out.empty())
    throw UsageError("truth " + path +
                     " holds no <case_id>/truth.json, and is not a VerSe dataset");
  return out;
}

}  // namespace spinescreen::evaluate
