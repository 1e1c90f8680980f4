#include "core/labels.h"

#include <array>

namespace spinescreen {
namespace {
const std::array<const char*, 25> kStandard = {
    "C1", "C2", "C3", "C4",  "C5",  "C6",  "C7", "T1", "T2", "T3", "T4", "T5", "T6",
    "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"};
}  // namespace

std::optional<double> columnOrdinal(const std::string& label) {
  for (size_t i = 0; i < kStandard.size(); ++i)
    if (label == kStandard[i]) return static_cast<double>(i);
  if (label == "T13") return 18.5;
  if (label == "L6") return 23.5;
  return std::nullopt;
}

std::optional<std::string> labelFromOrdinal(int ordinal) {
  if (ordinal < 0 || ordinal >= static_cast<int>(kStandard.size())) return std::nullopt;
  return std::string(kStandard[static_cast<size_t>(ordinal)]);
}

bool isValidLabel(const std::string& label) { return columnOrdinal(label).has_value(); }

std::optional<int> verseNumber(const std::string& label) {
  if (label == "T13") return 28;
  if (label == "L6") return 25;
  if (label == "S1") return 26;
  const auto ord = columnOrdinal(label);
  if (!ord) return std::nullopt;
  return static_cast<int>(*ord) + 1;
}

std::optional<std::string> labelFromVerseNumber(int number) {
  if (number == 28) return std::string("T13");
  if (number == 25) return std::string("L6");
  if (number == 26) return std::string("S1");
  if (number >= 1 && number <= 24) return labelFromOrdinal(number - 1);
  return std::nullopt;
}

}  // namespace spinescreen
