// Reading report exports (CogStack and the like): CSV with a header row, JSON lines, a JSON array
// of objects, or an Elasticsearch search response ({"hits": {"hits": [{"_source": ...}]}}).
#pragma once

#include <string>
#include <vector>

namespace spinescreen::textaudit {

enum class ReportFormat { kAuto, kCsv, kJsonl };

struct ReportReaderOptions {
  std::string idColumn = "case_id";
  std::string textColumn = "text";
  // Optional columns: used when present. A name given explicitly (explicitDate/Accession) must
  // exist; the defaults are looked for quietly.
  std::string dateColumn = "date";
  std::string accessionColumn = "accession";
  bool explicitDate = false;
  bool explicitAccession = false;
  ReportFormat format = ReportFormat::kAuto;  // auto: by extension, then by the first byte
};

struct ReportText {
  std::string caseId;
  std::string text;
  std::string date;
  std::string accession;
  int line = 0;  // where the record starts in the file, for messages
};

// Reads every report. Throws InputError (naming the file and line) on a file that cannot be
// read, malformed CSV or JSON, a missing column, an empty case id, text that is not UTF-8, or
// no reports at all. For JSON, a column may be a dotted path ("_source.body") and is also
// looked for under "_source".
std::vector<ReportText> readReports(const std::string& path, const ReportReaderOptions& options);
std::vector<ReportText> parseReports(const std::string& content, const std::string& source,
                                     const ReportReaderOptions& options);

// True when s is well-formed UTF-8 (no overlongs, no surrogates).
bool isValidUtf8(const std::string& s);

}  // namespace spinescreen::textaudit
