#include "textaudit/tokens.h"

#include <cctype>

namespace spinescreen::textaudit {

bool Token::isWord() const {
  const unsigned char c = static_cast<unsigned char>(text.empty() ? ' ' : text[0]);
  return std::isalnum(c) || c >= 0x80;
}

namespace {
bool isWordByte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

// Length of a UTF-8 punctuation sequence at i mapped to an ASCII stand-in, or 0.
size_t utf8Punct(const std::string& s, size_t i, char& standIn) {
  auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0; };
  if (at(i) == 0xE2 && at(i + 1) == 0x80 && (at(i + 2) >= 0x90 && at(i + 2) <= 0x95)) {
    standIn = '-';  // hyphens, en and em dashes
    return 3;
  }
  if (at(i) == 0xE2 && at(i + 1) == 0x88 && at(i + 2) == 0x92) {
    standIn = '-';  // minus sign
    return 3;
  }
  if (at(i) == 0xE2 && at(i + 1) == 0x80 && (at(i + 2) == 0x98 || at(i + 2) == 0x99)) {
    standIn = '\'';
    return 3;
  }
  if (at(i) == 0xE2 && at(i + 1) == 0x80 && (at(i + 2) == 0x9C || at(i + 2) == 0x9D)) {
    standIn = '"';
    return 3;
  }
  if (at(i) == 0xC2 && at(i + 1) == 0xA0) {
    standIn = ' ';
    return 2;
  }
  if (at(i) == 0xE2 && at(i + 1) == 0x89 && (at(i + 2) == 0xA5 || at(i + 2) == 0xA4)) {
    standIn = at(i + 2) == 0xA5 ? '>' : '<';  // >= and <=
    return 3;
  }
  return 0;
}
}  // namespace

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    char standIn = 0;
    if (const size_t n = utf8Punct(s, i, standIn)) {
      if (standIn != ' ') out.push_back({std::string(1, standIn), i, i + n});
      i += n;
      continue;
    }
    if (std::isspace(c) || c < 0x20) {
      ++i;
      continue;
    }
    if (isWordByte(c)) {
      size_t j = i;
      std::string w;
      while (j < s.size() && isWordByte(static_cast<unsigned char>(s[j]))) {
        char dummy;
        if (utf8Punct(s, j, dummy)) break;
        w += static_cast<char>(std::tolower(static_cast<unsigned char>(s[j])));
        ++j;
      }
      out.push_back({w, i, j});
      i = j;
      continue;
    }
    if (c == '#' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      ++i;  // "#12345": a number sign, not a fracture
      continue;
    }
    out.push_back({std::string(1, static_cast<char>(c)), i, i + 1});
    ++i;
  }
  return out;
}

}  // namespace spinescreen::textaudit
