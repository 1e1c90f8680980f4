// The batch manifest reader (CSV with a header row).
#include <cstdint>
#include <string>

#include "batch/csv.h"
#include "core/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto table = spinescreen::csv::parseTable(text, "fuzz");
    (void)table;
  } catch (const spinescreen::Error&) {
  }
  return 0;
}
