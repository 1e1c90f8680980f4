#include "textaudit/levels.h"

#include <algorithm>
#include <cctype>

#include "core/labels.h"
#include "textaudit/tokens.h"

namespace spinescreen::textaudit {

std::optional<std::string> parseLevel(const std::string& token) {
  if (token.size() < 2 || token.size() > 3) return std::nullopt;
  char region = static_cast<char>(std::toupper(static_cast<unsigned char>(token[0])));
  if (region == 'D') region = 'T';  // dorsal
  if (region != 'T' && region != 'L') return std::nullopt;
  for (size_t i = 1; i < token.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(token[i]))) return std::nullopt;
  if (token[1] == '0') return std::nullopt;
  const int n = std::stoi(token.substr(1));
  if ((region == 'T' && n > 12) || (region == 'L' && n > 5) || n < 1) return std::nullopt;
  return std::string(1, region) + std::to_string(n);
}

std::vector<std::string> expandRange(const std::string& first, const std::string& last) {
  const auto a = parseLevel(first);
  const auto b = parseLevel(last);
  if (!a || !b) return {};
  const auto oa = columnOrdinal(*a);
  const auto ob = columnOrdinal(*b);
  if (!oa || !ob) return {};
  int lo = static_cast<int>(std::min(*oa, *ob));
  int hi = static_cast<int>(std::max(*oa, *ob));
  std::vector<std::string> out;
  for (int k = lo; k <= hi; ++k)
    if (auto l = labelFromOrdinal(k)) out.push_back(*l);
  return out;
}

void normaliseLevels(std::vector<std::string>& levels) {
  auto ord = [](const std::string& l) { return columnOrdinal(l).value_or(1e9); };
  std::sort(levels.begin(), levels.end(),
            [&](const std::string& x, const std::string& y) { return ord(x) < ord(y); });
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
}

namespace {
bool isRangeWord(const std::string& t) {
  return t == "-" || t == "to" || t == "through" || t == "thru";
}
}  // namespace

// Levels of tokens [begin, end) of a tokenised text.
std::vector<std::string> levelsInTokens(const std::vector<Token>& toks, size_t begin, size_t end) {
  std::vector<std::string> out;
  // "L4/5", "T12/L1": a disc or a junction, unless vertebrae follow ("L1/L2 vertebral bodies").
  auto vertebraeFollow = [&](size_t i) {
    for (size_t k = i + 1; k < toks.size() && k <= i + 4; ++k)
      if (toks[k].text.compare(0, 6, "verteb") == 0 || toks[k].text == "bodies") return true;
    return false;
  };
  auto isDiscSide = [&](size_t i) {
    const bool slash =
        (i + 1 < toks.size() && toks[i + 1].text == "/") || (i > 0 && toks[i - 1].text == "/");
    if (!slash) return false;
    const size_t last = i + 1 < toks.size() && toks[i + 1].text == "/" ? i + 2 : i;
    return !(last < toks.size() && parseLevel(toks[last].text) && vertebraeFollow(last));
  };
  for (size_t i = begin; i < end && i < toks.size(); ++i) {
    const auto level = parseLevel(toks[i].text);
    if (!level || isDiscSide(i)) continue;
    if (i + 1 < toks.size() && toks[i + 1].text == "weighted") continue;  // MRI T1/T2-weighted
    // Range: LEVEL (-|to|through) LEVEL, or LEVEL - NUMBER within the same region ("T9-11").
    if (i + 2 < end && isRangeWord(toks[i + 1].text)) {
      std::string other = toks[i + 2].text;
      if (!other.empty() && std::all_of(other.begin(), other.end(),
                                        [](char c) { return std::isdigit((unsigned char)c); }))
        other.insert(other.begin(), (*level)[0]);
      if (parseLevel(other) && !isDiscSide(i + 2)) {
        const auto range = expandRange(*level, other);
        out.insert(out.end(), range.begin(), range.end());
        i += 2;
        continue;
      }
    }
    out.push_back(*level);
  }
  normaliseLevels(out);
  return out;
}

std::vector<std::string> extractLevels(const std::string& text) {
  const auto toks = tokenize(text);
  return levelsInTokens(toks, 0, toks.size());
}

std::string joinLevels(const std::vector<std::string>& levels) {
  std::string out;
  for (const auto& l : levels) {
    if (!out.empty()) out += ';';
    out += l;
  }
  return out;
}

}  // namespace spinescreen::textaudit
