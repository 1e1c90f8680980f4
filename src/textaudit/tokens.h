// Word tokens of report text, lower-cased, with their byte offsets (internal to textaudit).
#pragma once

#include <string>
#include <vector>

namespace spinescreen::textaudit {

struct Token {
  std::string text;  // lower case; punctuation is a token of its own
  size_t begin = 0;  // byte offsets in the text tokenised
  size_t end = 0;
  bool isWord() const;
};

// Letters and digits make words ("t12", "30", "4th"); every other printable character is a token
// of its own ("-", "/", "?", "#", "%", ";"). UTF-8 dashes and minus signs become "-", curly
// apostrophes "'", no-break spaces spaces; other non-ASCII bytes stay inside words. A "#" glued to
// a number ("#12345") is dropped, so "#" alone means fracture.
std::vector<Token> tokenize(const std::string& s);

// Vertebral levels named by tokens [begin, end) (see levels.h for the forms accepted).
std::vector<std::string> levelsInTokens(const std::vector<Token>& toks, size_t begin, size_t end);

}  // namespace spinescreen::textaudit
