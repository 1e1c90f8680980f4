// DICOM discovery, grouping, series choice and header parsing on an arbitrary file (seeded
// with valid CT slices, so grouping and choice are exercised, not only rejection).
#include <cstdint>
#include <filesystem>

#include "core/errors.h"
#include "fuzz_util.h"
#include "io/dicom_series.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  const fs::path dir = spinescreen::fuzz::scratchDir() / "series";
  fs::create_directories(dir);
  spinescreen::fuzz::writeScratch("series/fuzzed.dcm", data, size);
  try {
    auto discovery = spinescreen::io::discoverSeries(dir.string());
    (void)spinescreen::io::describeDiscovery(discovery);
    const size_t chosen = spinescreen::io::chooseSeries(discovery);
    (void)chosen;
  } catch (const spinescreen::Error&) {
  }
  return 0;
}
