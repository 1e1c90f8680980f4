#include "batch/csv.h"

#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace spinescreen::csv {

std::vector<Row> parse(const std::string& textIn, const std::string& source) {
  std::string_view text(textIn);
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<Row> rows;
  Row row;
  std::string field;
  bool inQuotes = false;
  bool fieldWasQuoted = false;
  bool rowHasContent = false;
  int line = 1;
  int quoteLine = 0;
  auto endField = [&] {
    row.push_back(std::move(field));
    field.clear();
    fieldWasQuoted = false;
  };
  auto endRow = [&] {
    endField();
    const bool empty = row.size() == 1 && row[0].empty() && !rowHasContent;
    if (!empty) rows.push_back(std::move(row));
    row.clear();
    rowHasContent = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0')
      throw InputError(source + ": line " + std::to_string(line) + ": NUL byte; not a text file");
    if (inQuotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          inQuotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!field.empty() || fieldWasQuoted)
          throw InputError(source + ": line " + std::to_string(line) +
                           ": a quote inside an unquoted field");
        inQuotes = true;
        fieldWasQuoted = true;
        rowHasContent = true;
        quoteLine = line;
        break;
      case ',':
        endField();
        rowHasContent = true;
        break;
      case '\r':
        if (i + 1 < text.size() && text[i + 1] == '\n') break;  // CRLF: the LF ends the row
        endRow();
        ++line;
        break;
      case '\n':
        endRow();
        ++line;
        break;
      default:
        if (fieldWasQuoted)
          throw InputError(source + ": line " + std::to_string(line) +
                           ": text after a closing quote");
        field += c;
        rowHasContent = true;
    }
  }
  if (inQuotes)
    throw InputError(source + ": line " + std::to_string(quoteLine) +
                     ": a quoted field is never closed");
  if (rowHasContent || !field.empty() || !row.empty()) endRow();
  return rows;
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError("cannot read " + path);
  return ss.str();
}
}  // namespace

std::vector<Row> readFile(const std::string& path) { return parse(slurp(path), path); }

int Table::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

Table parseTable(const std::string& text, const std::string& source) {
  // Parse once to learn where rows start, for messages that name lines.
  std::vector<Row> rows = parse(text, source);
  if (rows.empty()) throw InputError(source + ": empty; a header row is needed");
  Table t;
  t.header = std::move(rows[0]);
  for (size_t i = 0; i < t.header.size(); ++i) {
    std::string& h = t.header[i];
    while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.pop_back();
    while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.erase(h.begin());
    if (h.empty())
      throw InputError(source + ": column " + std::to_string(i + 1) + " of the header is empty");
    for (size_t k = 0; k < i; ++k)
      if (t.header[k] == h)
        // NOLINTNEXTLINE(performance-inefficient-string-concatenation): error path, once
        throw InputError(source + ": column '" + h + "' appears twice");
  }
  // Line numbers: count the line breaks outside quotes up to each row. Rows are few enough
  // that a second light scan is cheap.
  std::vector<int> starts;
  {
    bool inQ = false;
    int line = 1;
    bool atRowStart = true;
    for (const char c : text) {
      if (atRowStart && c != '\n' && c != '\r') {
        starts.push_back(line);
        atRowStart = false;
      }
      if (c == '"') inQ = !inQ;
      if (c == '\n') {
        ++line;
        if (!inQ) atRowStart = true;
      }
    }
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    const int line = r < starts.size() ? starts[r] : static_cast<int>(r + 1);
    if (rows[r].size() != t.header.size())
      throw InputError(source + ": line " + std::to_string(line) + " has " +
                       std::to_string(rows[r].size()) + " fields; the header has " +
                       std::to_string(t.header.size()));
    t.rows.push_back(std::move(rows[r]));
    t.lineOfRow.push_back(line);
  }
  return t;
}

Table readTable(const std::string& path) { return parseTable(slurp(path), path); }

std::string quote(const std::string& f) {
  if (f.find_first_of(",\"\r\n") == std::string::npos) return f;
  std::string out = "\"";
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string formatRow(const Row& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += quote(fields[i]);
  }
  out += '\n';
  return out;
}

}  // namespace spinescreen::csv
