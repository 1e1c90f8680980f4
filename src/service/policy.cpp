#include "service/policy.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace spinescreen::service {
namespace {
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
bool digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

std::optional<double> parseDicomAge(const std::string& as) {
  if (as.size() != 4 || !digits(as.substr(0, 3))) return std::nullopt;
  const double n = std::stoi(as.substr(0, 3));
  switch (as[3]) {
    case 'Y':
      return n;
    case 'M':
      return n / 12.0;
    case 'W':
      return n * 7.0 / 365.25;
    case 'D':
      return n / 365.25;
    default:
      return std::nullopt;
  }
}

std::optional<double> ageFromDates(const std::string& birthDate, const std::string& studyDate) {
  if (birthDate.size() != 8 || studyDate.size() != 8 || !digits(birthDate) || !digits(studyDate))
    return std::nullopt;
  const int by = std::stoi(birthDate.substr(0, 4)), bm = std::stoi(birthDate.substr(4, 2)),
            bd = std::stoi(birthDate.substr(6, 2));
  const int sy = std::stoi(studyDate.substr(0, 4)), sm = std::stoi(studyDate.substr(4, 2)),
            sd = std::stoi(studyDate.substr(6, 2));
  int years = sy - by;
  if (sm < bm || (sm == bm && sd < bd)) --years;
  if (years < 0 || years > 150) return std::nullopt;
  return years;
}

PolicyDecision decide(const SeriesFacts& f, const SeriesPolicy& p) {
  PolicyDecision d;
  if (upper(f.modality) != "CT") {
    d.reason =
        "modality " + (f.modality.empty() ? std::string("(none)") : f.modality) + " is not CT";
    return d;
  }
  if (f.slices < p.minSlices) {
    d.reason = std::to_string(f.slices) + " slices; at least " + std::to_string(p.minSlices) +
               " are needed";
    return d;
  }
  if (!p.bodyParts.empty()) {
    if (f.bodyPart.empty()) {
      if (!p.acceptMissingBodyPart) {
        d.reason = "no body part examined, and the policy asks for one";
        return d;
      }
    } else {
      const std::string bp = upper(f.bodyPart);
      const bool listed = std::any_of(p.bodyParts.begin(), p.bodyParts.end(),
                                      [&](const std::string& b) { return upper(b) == bp; });
      if (!listed) {
        d.reason = "body part " + f.bodyPart + " is not in the policy's list";
        return d;
      }
    }
  }
  if (!f.ageYears) {
    d.ageUnknown = true;
    if (!p.analyseUnknownAge) {
      d.reason = "patient age unknown, and the policy skips such series";
      return d;
    }
    d.accept = true;
    d.reason = "patient age unknown; analysed by policy";
    return d;
  }
  if (*f.ageYears < p.minAgeYears) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "patient younger than the policy's minimum age of %.0f",
                  p.minAgeYears);
    d.reason = buf;  // the age itself is not repeated in logs
    return d;
  }
  d.accept = true;
  return d;
}

}  // namespace spinescreen::service
