// Where tests find optional real data: the folder named by SPINESCREEN_TEST_DATA (laid out as
// the development data set). Tests that need it call SPINESCREEN_REQUIRE_TEST_DATA() and skip
// cleanly when it is unset.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace spinescreen::testing {

inline std::string testDataDir() {
  const char* d = std::getenv("SPINESCREEN_TEST_DATA");
  return d ? std::string(d) : std::string();
}

// Path of a file inside the test data folder, or "" when unavailable.
inline std::string testDataFile(const std::string& relative) {
  const std::string dir = testDataDir();
  if (dir.empty()) return {};
  const std::filesystem::path p = std::filesystem::path(dir) / relative;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

inline std::string sourceDir() { return SPINESCREEN_SOURCE_DIR; }
inline std::string spinescreenBinary() { return SPINESCREEN_BINARY; }

}  // namespace spinescreen::testing

#define SPINESCREEN_REQUIRE_TEST_FILE(var, relative)                      \
  const std::string var = ::spinescreen::testing::testDataFile(relative); \
  if (var.empty()) GTEST_SKIP() << "SPINESCREEN_TEST_DATA unset or lacks " << relative
