// report.json (contracts/report.schema.json): build, parse and write atomically.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/report.h"

namespace spinescreen::report {

nlohmann::json toJson(const Report& report);

// Writes `json` to `path` through a temporary file in the same folder and a rename, so a
// reader never sees a half-written file. Throws UsageError when the folder is not writable.
void writeJsonAtomically(const nlohmann::json& json, const std::string& path);

}  // namespace spinescreen::report
