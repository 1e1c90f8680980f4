#include "textaudit/report_reader.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "batch/csv.h"
#include "core/errors.h"

namespace spinescreen::textaudit {

bool isValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read reports file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError("cannot read reports file " + path);
  return ss.str();
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool endsWith(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

ReportFormat detectFormat(const std::string& content, const std::string& source) {
  const std::string name = lower(source);
  if (endsWith(name, ".csv")) return ReportFormat::kCsv;
  if (endsWith(name, ".jsonl") || endsWith(name, ".ndjson") || endsWith(name, ".json"))
    return ReportFormat::kJsonl;
  size_t i = content.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  while (i < content.size() && std::isspace(static_cast<unsigned char>(content[i]))) ++i;
  if (i < content.size() && (content[i] == '{' || content[i] == '[')) return ReportFormat::kJsonl;
  return ReportFormat::kCsv;
}

void checkRecord(ReportText& r, const std::string& source) {
  auto trim = [](std::string& s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t b = 0;
    while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    s.erase(0, b);
  };
  trim(r.caseId);
  trim(r.date);
  trim(r.accession);
  const std::string where = source + ": line " + std::to_string(r.line);
  if (r.caseId.empty()) throw InputError(where + ": empty case id");
  for (const std::string* f : {&r.caseId, &r.text, &r.date, &r.accession})
    if (!isValidUtf8(*f))
      throw InputError(where + ": text is not valid UTF-8; export the reports as UTF-8");
}

std::vector<ReportText> parseCsv(const std::string& content, const std::string& source,
                                 const ReportReaderOptions& o) {
  const csv::Table t = csv::parseTable(content, source);
  // A column by its exact name, else by its name in any case ("Case_ID").
  auto find = [&](const std::string& name) {
    int c = t.column(name);
    if (c >= 0) return c;
    for (size_t i = 0; i < t.header.size(); ++i)
      if (lower(t.header[i]) == lower(name)) c = c == -1 ? static_cast<int>(i) : -2;
    return c;
  };
  auto need = [&](const std::string& name) {
    const int c = find(name);
    if (c == -2) throw InputError(source + ": column '" + name + "' matches several columns");
    if (c < 0) {
      std::string cols;
      for (const auto& h : t.header) cols += (cols.empty() ? "" : ", ") + h;
      throw InputError(source + ": no column '" + name + "' (columns: " + cols + ")");
    }
    return c;
  };
  const int idCol = need(o.idColumn);
  const int textCol = need(o.textColumn);
  const int dateCol = o.explicitDate ? need(o.dateColumn) : std::max(-1, find(o.dateColumn));
  const int accCol =
      o.explicitAccession ? need(o.accessionColumn) : std::max(-1, find(o.accessionColumn));
  std::vector<ReportText> out;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    ReportText rec;
    rec.line = t.lineOfRow[r];
    rec.caseId = t.rows[r][idCol];
    rec.text = t.rows[r][textCol];
    if (dateCol >= 0) rec.date = t.rows[r][dateCol];
    if (accCol >= 0) rec.accession = t.rows[r][accCol];
    checkRecord(rec, source);
    out.push_back(std::move(rec));
  }
  return out;
}

// The value of a column in one JSON record: the key itself, a dotted path, or under "_source".
const nlohmann::json* lookup(const nlohmann::json& obj, const std::string& column) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(column);
  if (it != obj.end()) return &*it;
  const nlohmann::json* cur = &obj;
  size_t start = 0;
  bool ok = true;
  while (start <= column.size()) {
    size_t dot = column.find('.', start);
    if (dot == std::string::npos) dot = column.size();
    const std::string key = column.substr(start, dot - start);
    if (!cur->is_object() || !cur->contains(key)) {
      ok = false;
      break;
    }
    cur = &(*cur)[key];
    start = dot + 1;
  }
  if (ok && cur != &obj) return cur;
  auto src = obj.find("_source");
  if (src != obj.end() && src->is_object()) return lookup(*src, column);
  return nullptr;
}

std::string scalarText(const nlohmann::json& v, const std::string& where, const std::string& col,
                       bool allowNull) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_number()) return v.dump();
  if (v.is_null() && allowNull) return {};
  throw InputError(where + ": column '" + col + "' is " + v.type_name() + ", expected a string");
}

ReportText fromJson(const nlohmann::json& obj, const std::string& source, int line,
                    const ReportReaderOptions& o) {
  const std::string where = source + ": line " + std::to_string(line);
  if (!obj.is_object()) throw InputError(where + ": expected a JSON object");
  ReportText r;
  r.line = line;
  auto need = [&](const std::string& col) -> const nlohmann::json& {
    const nlohmann::json* v = lookup(obj, col);
    if (!v) throw InputError(where + ": no field '" + col + "'");
    return *v;
  };
  r.caseId = scalarText(need(o.idColumn), where, o.idColumn, false);
  r.text = scalarText(need(o.textColumn), where, o.textColumn, false);
  if (const auto* v = o.explicitDate ? &need(o.dateColumn) : lookup(obj, o.dateColumn))
    r.date = scalarText(*v, where, o.dateColumn, true);
  if (const auto* v =
          o.explicitAccession ? &need(o.accessionColumn) : lookup(obj, o.accessionColumn))
    r.accession = scalarText(*v, where, o.accessionColumn, true);
  checkRecord(r, source);
  return r;
}

std::vector<ReportText> parseJson(const std::string& contentIn, const std::string& source,
                                  const ReportReaderOptions& o) {
  std::string_view content(contentIn);
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  size_t first = 0;
  while (first < content.size() && std::isspace(static_cast<unsigned char>(content[first])))
    ++first;
  std::vector<ReportText> out;
  auto fail = [&](int line, const std::exception& e) {
    throw InputError(source + ": line " + std::to_string(line) + ": not valid JSON (" + e.what() +
                     ")");
  };
  if (first < content.size() && content[first] == '[') {
    // One JSON array of records.
    nlohmann::json all;
    try {
      all = nlohmann::json::parse(content);
    } catch (const nlohmann::json::exception& e) {
      fail(1, e);
    }
    int k = 0;
    for (const auto& rec : all) out.push_back(fromJson(rec, source, ++k, o));
    return out;
  }
  // JSON lines; a single object that is a search response is taken whole.
  int line = 0;
  size_t pos = 0;
  while (pos <= content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) nl = content.size();
    std::string_view l = content.substr(pos, nl - pos);
    ++line;
    pos = nl + 1;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) {
      if (nl == content.size()) break;
      continue;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(l);
    } catch (const nlohmann::json::exception& e) {
      if (line == 1 && content.find('\n') != std::string_view::npos) {
        // Perhaps one pretty-printed document.
        try {
          j = nlohmann::json::parse(content);
          pos = content.size() + 1;
        } catch (const nlohmann::json::exception&) {
          fail(line, e);
        }
      } else {
        fail(line, e);
      }
    }
    if (j.is_object() && j.contains("hits") && j["hits"].is_object() &&
        j["hits"].contains("hits") && j["hits"]["hits"].is_array()) {
      int k = 0;
      for (const auto& hit : j["hits"]["hits"]) out.push_back(fromJson(hit, source, ++k, o));
      continue;
    }
    out.push_back(fromJson(j, source, line, o));
    if (nl == content.size()) break;
  }
  return out;
}

}  // namespace

std::vector<ReportText> parseReports(const std::string& content, const std::string& source,
                                     const ReportReaderOptions& options) {
  if (content.find('\0') != std::string::npos)
    throw InputError(source + ": contains NUL bytes; not a text export");
  ReportFormat f = options.format;
  if (f == ReportFormat::kAuto) f = detectFormat(content, source);
  std::vector<ReportText> out = f == ReportFormat::kCsv ? parseCsv(content, source, options)
                                                        : parseJson(content, source, options);
  if (out.empty()) throw InputError(source + ": no reports");
  return out;
}

std::vector<ReportText> readReports(const std::string& path, const ReportReaderOptions& options) {
  return parseReports(slurp(path), path, options);
}

}  // namespace spinescreen::textaudit
