// Vertebral levels as reports write them: "T12", "L1", "D12" (dorsal), ranges "T11-L1",
// "T9 to T12", "T9 through T12", "T9-11", lists "T7, T8 and T9". Disc levels ("L4/5",
// "T12/L1", "L5/S1") are not vertebral levels and are skipped.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace spinescreen::textaudit {

// "t12", "T12", "d12" -> "T12"; "l1" -> "L1". Only T1..T12 and L1..L5; nullopt otherwise.
std::optional<std::string> parseLevel(const std::string& token);

// Every level from first to last inclusive, in spinal order ("T11","L1" -> T11;T12;L1); either
// order of the ends is accepted. Empty when either end is not a level.
std::vector<std::string> expandRange(const std::string& first, const std::string& last);

// Levels named in a piece of text, ranges expanded, duplicates removed, in spinal order.
std::vector<std::string> extractLevels(const std::string& text);

// Sorts into spinal order and removes duplicates.
void normaliseLevels(std::vector<std::string>& levels);

// "T11;T12;L1".
std::string joinLevels(const std::vector<std::string>& levels);

}  // namespace spinescreen::textaudit
