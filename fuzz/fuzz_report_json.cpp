// The report.json and truth.json readers that `evaluate` uses.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "evaluate/evaluate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    (void)spinescreen::evaluate::parseReport(j, "fuzz");
  } catch (const spinescreen::Error&) {
  }
  try {
    (void)spinescreen::evaluate::parseTruth(j, "fuzz");
  } catch (const spinescreen::Error&) {
  }
  return 0;
}
