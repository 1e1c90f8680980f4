// The report-text export reader (CSV / JSON lines) and the report classifier.
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "textaudit/classifier.h"
#include "textaudit/report_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  spinescreen::textaudit::ReportReaderOptions options;
  for (auto format :
       {spinescreen::textaudit::ReportFormat::kCsv, spinescreen::textaudit::ReportFormat::kJsonl}) {
    options.format = format;
    try {
      for (const auto& r : spinescreen::textaudit::parseReports(text, "fuzz", options))
        (void)spinescreen::textaudit::classifyReport(r.text);
    } catch (const spinescreen::Error&) {
    }
  }
  if (spinescreen::textaudit::isValidUtf8(text)) (void)spinescreen::textaudit::classifyReport(text);
  return 0;
}
