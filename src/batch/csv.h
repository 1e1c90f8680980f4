// Comma-separated values as RFC 4180 writes them: fields quoted when they hold a comma, a quote
// or a line break, quotes doubled inside. Used for manifests, reads and summaries.
#pragma once

#include <string>
#include <vector>

namespace spinescreen::csv {

using Row = std::vector<std::string>;

// Parses a whole CSV text into rows. Accepts LF and CRLF line ends and a UTF-8 byte-order mark;
// skips lines that are entirely empty. Throws InputError naming `source` and the line on
// malformed quoting or a NUL byte.
std::vector<Row> parse(const std::string& text, const std::string& source);

// Reads and parses a CSV file; throws InputError when it cannot be read.
std::vector<Row> readFile(const std::string& path);

// A table with a header row: the columns by name, then the data rows, each checked to have as
// many fields as the header. Throws InputError on an empty file, a duplicate or empty column
// name, or a row of the wrong width.
struct Table {
  Row header;
  std::vector<Row> rows;
  std::vector<int> lineOfRow;  // 1-based line where each data row starts, for messages
  // Index of a column, or -1.
  int column(const std::string& name) const;
};
Table readTable(const std::string& path);
Table parseTable(const std::string& text, const std::string& source);

// One field, quoted when needed.
std::string quote(const std::string& field);
// One line, fields quoted when needed, ending in '\n'.
std::string formatRow(const Row& fields);

}  // namespace spinescreen::csv
