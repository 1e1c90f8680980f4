// report.html: one self-contained page (the picture embedded as a data URI) with the
// measurements per level, the decision and its reasons, and the input facts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/report.h"

namespace spinescreen::report {

std::string htmlEscape(const std::string& s);
std::string base64(const std::vector<uint8_t>& in);

// `png` may be empty (no picture). Never contains identifying data.
std::string renderHtml(const Report& r, const std::vector<uint8_t>& png);

}  // namespace spinescreen::report
