// Rule-based reading of radiology reports. Each sentence is tokenised; fracture terms are found;
// cue phrases (negation, uncertainty, history, acuity, mimics) are matched longest-first so that
// pseudo-triggers ("no change", "not seen on the prior", "cannot be excluded") take precedence
// over the plain triggers they contain; then each term takes its status from the cues in its
// clause, as NegEx and ConText do.
#include "textaudit/classifier.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "core/errors.h"
#include "textaudit/levels.h"
#include "textaudit/tokens.h"

namespace spinescreen::textaudit {

const char* toString(FractureStatus s) {
  switch (s) {
    case FractureStatus::kAffirmed:
      return "affirmed";
    case FractureStatus::kHistorical:
      return "historical";
    case FractureStatus::kUncertain:
      return "uncertain";
    case FractureStatus::kNegated:
      return "negated";
    case FractureStatus::kNone:
    default:
      return "none";
  }
}

FractureStatus fractureStatusFromString(const std::string& s) {
  for (auto st : {FractureStatus::kNone, FractureStatus::kNegated, FractureStatus::kUncertain,
                  FractureStatus::kHistorical, FractureStatus::kAffirmed})
    if (s == toString(st)) return st;
  throw InputError("unknown vertebral fracture status '" + s +
                   "' (expected affirmed, negated, uncertain, historical or none)");
}

int statusRank(FractureStatus s) {
  switch (s) {
    case FractureStatus::kAffirmed:
      return 4;
    case FractureStatus::kHistorical:
      return 3;
    case FractureStatus::kUncertain:
      return 2;
    case FractureStatus::kNegated:
      return 1;
    default:
      return 0;
  }
}

namespace {

// ---------------------------------------------------------------------------------------------
// Sentences

const std::array<const char*, 16> kAbbreviations = {"approx", "e.g", "i.e", "vs", "dr",   "fig",
                                                    "mr",     "mrs", "ms",  "st", "incl", "cf",
                                                    "ca",     "eg",  "ie",  "ref"};

bool endsWithAbbreviation(const std::string& s, size_t dot) {
  size_t b = dot;
  while (b > 0 && (std::isalpha(static_cast<unsigned char>(s[b - 1])) || s[b - 1] == '.')) --b;
  std::string word = s.substr(b, dot - b);
  for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* a : kAbbreviations)
    if (word == a) return true;
  return false;
}

std::string collapseSpaces(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

constexpr size_t kMaxSentenceBytes = 1000;

std::vector<std::string> splitSentences(const std::string& textIn) {
  std::string text;
  text.reserve(textIn.size());
  for (size_t i = 0; i < textIn.size(); ++i) {
    if (textIn[i] == '\r') {
      if (i + 1 < textIn.size() && textIn[i + 1] == '\n') continue;
      text += '\n';
    } else {
      text += textIn[i];
    }
  }
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    std::string s = collapseSpaces(cur);
    cur.clear();
    if (!s.empty()) out.push_back(s);
  };
  auto nextNonSpace = [&](size_t i) -> char {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    return i < text.size() ? text[i] : '\0';
  };
  auto onlyListNumber = [&](const std::string& s) {
    std::string t = collapseSpaces(s);
    if (t.empty() || t.size() > 3) return false;
    for (char c : t)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      // A wrapped line continues the sentence when the next line starts in lower case.
      const char n = nextNonSpace(i + 1);
      if (std::islower(static_cast<unsigned char>(n)) && !collapseSpaces(cur).empty()) {
        cur += ' ';
        continue;
      }
      flush();
      continue;
    }
    cur += c;
    // Text with no sentence ends (a run-on export) is cut into pieces of bounded length, at a
    // space, so that scoping stays local and time stays linear.
    if (cur.size() >= kMaxSentenceBytes && (c == ' ' || c == '\t')) {
      flush();
      continue;
    }
    if (c == '.' || c == '!' || c == '?') {
      const bool atEnd = i + 1 >= text.size();
      const bool spaceAfter =
          !atEnd && (text[i + 1] == ' ' || text[i + 1] == '\t' || text[i + 1] == '\n');
      if (!atEnd && !spaceAfter) continue;  // "2.5", "?T12", "e.g."
      const char n = atEnd ? '\0' : nextNonSpace(i + 1);
      if (c == '.') {
        if (endsWithAbbreviation(text, i)) continue;
        if (std::islower(static_cast<unsigned char>(n))) continue;
        if (onlyListNumber(cur.substr(0, cur.size() - 1))) continue;
      } else if (c == '?') {
        if (!std::isupper(static_cast<unsigned char>(n)) && n != '\n' && n != '\0') continue;
      }
      flush();
    }
  }
  flush();
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Token helpers

bool startsWith(const std::string& s, const char* p) {
  return s.compare(0, std::strlen(p), p) == 0;
}

// One pattern element: "word" exact, "pre*" prefix, "a|b|c*" alternatives; compiled once.
struct Element {
  std::vector<std::string> exact, prefixes;
  bool matches(const std::string& tok) const {
    for (const auto& e : exact)
      if (tok == e) return true;
    for (const auto& p : prefixes)
      if (tok.compare(0, p.size(), p) == 0) return true;
    return false;
  }
};

Element compileElement(const std::string& el) {
  Element e;
  size_t start = 0;
  while (start <= el.size()) {
    size_t bar = el.find('|', start);
    if (bar == std::string::npos) bar = el.size();
    std::string alt = el.substr(start, bar - start);
    if (!alt.empty() && alt.back() == '*') {
      alt.pop_back();
      e.prefixes.push_back(alt);
    } else {
      e.exact.push_back(alt);
    }
    start = bar + 1;
  }
  return e;
}

// The compiled form of a pattern given as a string literal (cached by address, per thread).
const Element& literalElement(const char* literal) {
  thread_local std::unordered_map<const char*, Element> cache;
  auto it = cache.find(literal);
  if (it == cache.end()) it = cache.emplace(literal, compileElement(literal)).first;
  return it->second;
}

std::vector<Element> compilePhrase(const char* phrase) {
  std::vector<Element> out;
  std::string cur;
  for (const char* p = phrase; *p; ++p) {
    if (*p == ' ') {
      if (!cur.empty()) out.push_back(compileElement(cur));
      cur.clear();
    } else {
      cur += *p;
    }
  }
  if (!cur.empty()) out.push_back(compileElement(cur));
  return out;
}

// Length in tokens of the phrase matched at i, or 0.
size_t matchPhrase(const std::vector<Token>& t, size_t i, const std::vector<Element>& words) {
  if (i + words.size() > t.size()) return 0;
  for (size_t k = 0; k < words.size(); ++k)
    if (!words[k].matches(t[i + k].text)) return 0;
  return words.size();
}

// Patterns must be string literals (see literalElement).
bool anyOf(const std::string& tok, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (literalElement(w).matches(tok)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Cue lexicon

enum class Cue { kIgnore, kNegPre, kNegPost, kHedge, kHistory, kCurrent, kMimic };

struct CueDef {
  const char* phrase;
  Cue cue;
};

// Longest match wins at each position, so the pseudo-triggers listed here with their longer
// phrases override the short triggers they contain.
const CueDef kCueDefs[] = {
    // ignored: look like triggers, are not
    {"uncertain age|chronicity|duration", Cue::kIgnore},
    {"of uncertain|indeterminate age|chronicity", Cue::kIgnore},
    {"age indeterminate|undetermined|uncertain|unknown", Cue::kIgnore},
    {"indeterminate age|chronicity", Cue::kIgnore},
    {"? acute|old|new|chronic|recent", Cue::kIgnore},
    {"? osteoporotic|pathological|pathologic|traumatic|insufficiency|metastatic", Cue::kIgnore},
    {"not only", Cue::kIgnore},
    {"if not|so", Cue::kIgnore},
    {"year|years|yr|yo - old", Cue::kIgnore},
    {"year|years|yr|yo old", Cue::kIgnore},
    {"may|might|could|would benefit", Cue::kIgnore},
    {"could clarify|help|confirm", Cue::kIgnore},
    {"compared with|to the previous|prior", Cue::kIgnore},
    {"compared with|to previous|prior", Cue::kIgnore},
    {"since|on|from|than the previous|prior|last", Cue::kIgnore},
    {"since|on|from|than previous|prior|last", Cue::kIgnore},
    {"no|without significant|interval|further|other abnormality", Cue::kIgnore},
    // uncertainty
    {"possible|possibly|possibility", Cue::kHedge},
    {"?", Cue::kHedge},
    {"query|queried|questionable|equivocal|doubtful|suspected|suspect|suspicion", Cue::kHedge},
    {"suspicious|concerning|worrisome|worrying for", Cue::kHedge},
    {"raises|raising concern", Cue::kHedge},
    {"may|might|could", Cue::kHedge},
    {"versus|vs", Cue::kHedge},
    {"apparent|apparently", Cue::kHedge},
    {"uncertain|indeterminate|unclear", Cue::kHedge},
    {"cannot be excluded|ruled|exclude", Cue::kHedge},
    {"can not be excluded|ruled|exclude", Cue::kHedge},
    {"cannot be entirely|completely|definitely|fully excluded", Cue::kHedge},
    {"can not be entirely|completely|definitely|fully excluded", Cue::kHedge},
    {"cannot exclude|rule", Cue::kHedge},
    {"can not exclude|rule", Cue::kHedge},
    {"can ' t exclude|rule|be", Cue::kHedge},
    {"could not be excluded", Cue::kHedge},
    {"not be excluded", Cue::kHedge},
    {"not excluded", Cue::kHedge},
    {"not definite|definitely|certain", Cue::kHedge},
    {"differential includes|diagnosis", Cue::kHedge},
    {"raise|raises|raising the possibility", Cue::kHedge},
    // history (pseudo-negations first)
    {"no change|changes", Cue::kHistory},
    {"no interval|significant change", Cue::kHistory},
    {"not changed", Cue::kHistory},
    {"without change", Cue::kHistory},
    {"no further collapse|height|loss|compression|progression|change|changes", Cue::kHistory},
    {"old|chronic|healed|known|established|longstanding|remote|preexisting", Cue::kHistory},
    {"long - standing", Cue::kHistory},
    {"long standing", Cue::kHistory},
    {"pre - existing", Cue::kHistory},
    {"previously|previous|prior|historic|historical", Cue::kHistory},
    {"again noted|seen|demonstrated|identified|present|evident", Cue::kHistory},
    {"stable|unchanged|redemonstrated", Cue::kHistory},
    {"re - demonstrated", Cue::kHistory},
    {"was|were present|seen|evident|visible on|in", Cue::kHistory},
    {"as before", Cue::kHistory},
    {"vertebroplast*|kyphoplast*", Cue::kHistory},
    {"status post", Cue::kHistory},
    {"h / o", Cue::kHistory},
    {"hx|history of", Cue::kHistory},
    {"s / p", Cue::kHistory},
    // current
    {"acute on chronic", Cue::kCurrent},
    {"acute on a chronic", Cue::kCurrent},
    {"not seen|present|visible|evident|demonstrated on", Cue::kCurrent},
    {"not previously", Cue::kCurrent},
    {"previously normal|intact|unremarkable|preserved", Cue::kCurrent},
    {"new|newly|acute|subacute|interval|recent|recently|fresh|further", Cue::kCurrent},
    {"progressive|progression|progressed|increased|increasing|worsening|worsened", Cue::kCurrent},
    {"developed|development", Cue::kCurrent},
    // negation
    {"not seen|identified|demonstrated|present|evident|visualised|visualized|apparent|shown",
     Cue::kNegPost},
    {"is|are|was|were|been excluded", Cue::kNegPost},
    {"ruled out", Cue::kNegPost},
    {"absent|none|resolved", Cue::kNegPost},
    {"no|not|without|nor|neither|never", Cue::kNegPre},
    {"negative for", Cue::kNegPre},
    {"absence of", Cue::kNegPre},
    {"free of", Cue::kNegPre},
    {"rather than", Cue::kNegPre},
    // mimics of fracture
    {"physiological|physiologic|developmental|congenital|degenerative|degeneration", Cue::kMimic},
    {"artefact*|artifact*|schmorl*|scheuermann*|limbus", Cue::kMimic},
    {"normal variant", Cue::kMimic},
    {"within normal limits", Cue::kMimic},
    {"normal morphology|configuration|variation", Cue::kMimic},
    {"normal thoracolumbar|thoracic|lumbar|spinal|vertebral morphology|configuration|variation",
     Cue::kMimic},
};

struct CueHit {
  Cue cue;
  size_t begin, end;  // token span
};

struct CompiledCue {
  std::vector<Element> words;
  Cue cue;
};

const std::vector<CompiledCue>& compiledCues() {
  static const std::vector<CompiledCue> cues = [] {
    std::vector<CompiledCue> v;
    for (const auto& d : kCueDefs) v.push_back({compilePhrase(d.phrase), d.cue});
    return v;
  }();
  return cues;
}

std::vector<CueHit> findCues(const std::vector<Token>& t) {
  std::vector<CueHit> hits;
  const auto& cues = compiledCues();
  size_t i = 0;
  while (i < t.size()) {
    size_t best = 0;
    Cue bestCue = Cue::kIgnore;
    for (const auto& c : cues) {
      const size_t n = matchPhrase(t, i, c.words);
      if (n > best) {
        best = n;
        bestCue = c.cue;
      }
    }
    if (best == 0) {
      ++i;
      continue;
    }
    hits.push_back({bestCue, i, i + best});
    i += best;
  }
  return hits;
}

// ---------------------------------------------------------------------------------------------
// Sites

bool isVertebralWord(const std::string& w) {
  return startsWith(w, "verteb") || startsWith(w, "vertb") || w == "vertebal" ||
         w == "thoracolumbar" || w == "lumbar" || w == "thoracic" || w == "dorsal" || w == "vcf" ||
         w == "vcfs" || parseLevel(w).has_value();
}

bool isSpineWord(const std::string& w) {
  return isVertebralWord(w) || w == "spine" || w == "spinal" || w == "endplate" || w == "endplates";
}

bool isOtherSite(const std::vector<Token>& t, size_t i) {
  const std::string& w = t[i].text;
  if (w.size() == 2 && w[0] == 'c' && w[1] >= '1' && w[1] <= '7') return true;  // C1..C7
  if (w == "c" && i + 2 < t.size() && t[i + 1].text == "-" && t[i + 2].text == "spine") return true;
  if ((w == "transverse" || w == "spinous") && i + 1 < t.size() &&
      startsWith(t[i + 1].text, "process"))
    return true;
  return anyOf(w, {"rib|ribs|costal|costochondral|hip|hips|femur|femoral|nof|intertrochanteric",
                   "subcapital|trochanter*|acetabul*|pelvis|pelvic|pubic|pubis|ramus|rami|sacrum",
                   "sacral|coccyx|coccygeal|iliac|ilium|clavicle|clavicular|scapula*|sternum",
                   "sternal|manubri*|humerus|humeral|radius|radial|ulna|ulnar|wrist|colles",
                   "scaphoid|ankle|malleol*|trimalleolar|bimalleolar|tibia*|fibula*|skull",
                   "orbit|orbital|facial|mandib*|maxilla*|nasal|zygoma*|calcane*|metatarsal*",
                   "metacarpal*|finger*|toe|toes|patella*|knee|shoulder|elbow|odontoid|dens",
                   "cervical|forearm|humeral|tibial|pubic"});
}

// ---------------------------------------------------------------------------------------------
// Fracture terms

enum class Strength { kWeak, kStrong };

struct Term {
  size_t begin = 0, end = 0;  // token span
  Strength strength = Strength::kStrong;
  bool inherentlyVertebral = false;
  bool fractureWord = false;  // names a fracture outright (fracture, fx, #, VCF)
  bool treated = false;       // vertebroplasty / kyphoplasty: a past fracture by definition
  bool normalHeight = false;  // "vertebral heights are maintained"
};

bool isFractureNoun(const std::vector<Token>& t, size_t i) {
  const std::string& w = t[i].text;
  const bool noun = startsWith(w, "fractur") || w == "fx" || w == "fxs" || w == "#" ||
                    anyOf(w, {"fractrue*|fracutre*|fracure*|fractue*|fratcure*|fracteur*"});
  if (!noun) return false;
  if (i + 1 < t.size() &&
      anyOf(t[i + 1].text, {"liaison|risk|clinic|service|prevention|probability|team|nurse"}))
    return false;
  if (w == "#" && i > 0 && anyOf(t[i - 1].text, {"accession|number|acc|mrn|ref|case|item"}))
    return false;
  return true;
}

bool isQualifier(const std::string& w) {
  return anyOf(w, {"compres*|wedge|crush|burst|biconcave|insufficiency|endplate|plate",
                   "osteoporotic|fragility|pathological|pathologic|vertebral|vertebra|body",
                   "spinal|/|-|superior|inferior|anterior|vertebal|vertb*", "verteb*|osteopenic"});
}

bool isInherentQualifier(const std::string& w) {
  return anyOf(w, {"compres*|wedge|crush|burst|biconcave|endplate|plate|vertebral|vertebra",
                   "spinal|vertebal|vertb*|verteb*"});
}

std::vector<Term> findTerms(const std::vector<Token>& t) {
  std::vector<Term> terms;
  std::vector<bool> used(t.size(), false);
  auto mark = [&](const Term& term) {
    for (size_t k = term.begin; k < term.end; ++k) used[k] = true;
    terms.push_back(term);
  };
  // Fracture nouns with the qualifiers before them ("wedge compression fracture").
  for (size_t i = 0; i < t.size(); ++i) {
    if (!isFractureNoun(t, i)) continue;
    Term term;
    term.end = i + 1;
    term.begin = i;
    term.fractureWord = true;
    size_t j = i;
    while (j > 0 && i - (j - 1) <= 4 && isQualifier(t[j - 1].text)) --j;
    while (j < i && (t[j].text == "/" || t[j].text == "-")) ++j;
    term.begin = j;
    for (size_t k = j; k < i; ++k)
      if (isInherentQualifier(t[k].text)) term.inherentlyVertebral = true;
    if (t[i].text == "#" && i > 0 && parseLevel(t[i - 1].text)) term.inherentlyVertebral = true;
    mark(term);
  }
  auto near = [&](size_t i, int before, int after, auto pred) {
    const size_t lo = i >= static_cast<size_t>(before) ? i - before : 0;
    const size_t hi = std::min(t.size(), i + after + 1);
    for (size_t k = lo; k < hi; ++k)
      if (k != i && pred(t[k].text)) return true;
    return false;
  };
  auto isEndplate = [&](size_t k) {
    return t[k].text == "endplate" || t[k].text == "endplates" ||
           (t[k].text == "plate" && k > 0 && t[k - 1].text == "end") ||
           (t[k].text == "plate" && k > 1 && t[k - 1].text == "-" && t[k - 2].text == "end");
  };
  auto endplateNear = [&](size_t i, int before, int after) {
    const size_t lo = i >= static_cast<size_t>(before) ? i - before : 0;
    const size_t hi = std::min(t.size(), i + after + 1);
    for (size_t k = lo; k < hi; ++k)
      if (isEndplate(k)) return true;
    return false;
  };
  for (size_t i = 0; i < t.size(); ++i) {
    if (used[i]) continue;
    const std::string& w = t[i].text;
    Term term;
    term.begin = i;
    term.end = i + 1;
    const std::string next = i + 1 < t.size() ? t[i + 1].text : std::string();
    if (w == "vcf" || w == "vcfs") {
      term.inherentlyVertebral = true;
      term.fractureWord = true;
      mark(term);
    } else if ((startsWith(w, "verteb") && next == "plana") ||
               (anyOf(w, {"compres*|wedge|crush|biconcave"}) && startsWith(next, "deformit"))) {
      term.end = i + 2;
      term.inherentlyVertebral = true;
      mark(term);
    } else if (startsWith(w, "vertebropl") || startsWith(w, "kyphopl")) {
      term.inherentlyVertebral = true;
      term.treated = true;
      mark(term);
    } else if (startsWith(w, "compres")) {
      // Not cord, root, thecal sac or organ compression.
      if (near(i, 3, 4, [](const std::string& x) {
            return anyOf(x, {"cord|root|roots|nerve|thecal|sac|canal|foramen|foraminal|bladder",
                             "vessel|vein|venous|artery|arterial|airway|bronch*|extrinsic|mass",
                             "neural|conus|cauda"});
          }))
        continue;
      mark(term);
    } else if (startsWith(w, "biconcavit") ||
               ((w == "fish" || w == "codfish") && startsWith(next, "verteb"))) {
      term.inherentlyVertebral = true;
      if (w == "fish") term.end = i + 2;
      mark(term);
    } else if (startsWith(w, "flatten") || w == "crush" || w == "crushed") {
      mark(term);
    } else if (w == "plana" || w == "biconcave") {
      term.inherentlyVertebral = true;
      mark(term);
    } else if (w == "wedge" || w == "wedging" || w == "wedged") {
      term.strength = Strength::kWeak;
      mark(term);
    } else if (startsWith(w, "deformit")) {
      if (i > 0 && anyOf(t[i - 1].text, {"kyphotic|scoliotic|foot|hand|valgus|varus"})) continue;
      // A graded deformity ("Genant grade 2", "SQ2") is a fracture; an ungraded one is vague.
      if (!near(i, 4, 0, [](const std::string& x) { return anyOf(x, {"genant|sq1|sq2|sq3"}); }))
        term.strength = Strength::kWeak;
      mark(term);
    } else if (w == "injury" && i > 0 && anyOf(t[i - 1].text, {"bony|bone|osseous"})) {
      term.begin = i - 1;  // "no bony injury": as good as "no fracture"
      term.fractureWord = true;
      mark(term);
    } else if (startsWith(w, "collaps")) {
      if (near(i, 4, 4, [](const std::string& x) {
            return anyOf(x, {"lobe|lobar|lung|lungs|atelectasis|consolidation|alveolar|airway"});
          }))
        continue;
      mark(term);
    } else if (w == "height" || w == "heights") {
      if (near(i, 4, 2, [](const std::string& x) { return startsWith(x, "disc"); })) continue;
      size_t b = i;
      bool loss = false;
      for (size_t k = (i >= 5 ? i - 5 : 0); k < i; ++k)
        if (!used[k] && anyOf(t[k].text, {"loss|lost|reduction|reduced|decrease|decreased",
                                          "diminished|diminution"})) {
          b = std::min(b, k);
          loss = true;
        }
      size_t e = i + 1;
      if (anyOf(next, {"loss|reduction|reduced|decrease"})) {
        loss = true;
        e = i + 2;
      }
      if (!loss) continue;
      term.begin = b;
      term.end = e;
      mark(term);
    } else if (w == "depression" || w == "depressed") {
      if (!endplateNear(i, 6, 4)) continue;
      term.inherentlyVertebral = true;
      mark(term);
    } else if (startsWith(w, "irregular")) {
      if (!endplateNear(i, 4, 6)) continue;
      term.inherentlyVertebral = true;
      term.strength = Strength::kWeak;
      mark(term);
    }
  }
  std::sort(terms.begin(), terms.end(),
            [](const Term& a, const Term& b) { return a.begin < b.begin; });
  return terms;
}

// "Vertebral body heights are maintained", "normal in height", "vertebral bodies intact".
std::optional<Term> normalHeightStatement(const std::vector<Token>& t) {
  bool height = false, normal = false, loss = false, disc = false, vertebral = false,
       intact = false;
  size_t at = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const std::string& w = t[i].text;
    if (w == "height" || w == "heights") {
      height = true;
      at = i;
    }
    if (anyOf(w, {"maintained|preserved|normal|satisfactory|unremarkable|intact|unchanged"}))
      normal = true;
    if (w == "intact") intact = true;
    if (anyOf(w, {"loss|lost|reduction|reduced|decrease|decreased|diminished|except|apart"}))
      loss = true;
    if (startsWith(w, "disc")) disc = true;
    if (startsWith(w, "verteb") || w == "spine") vertebral = true;
  }
  if (loss || !normal) return std::nullopt;
  if (height && (!disc || vertebral)) {
    Term term;
    term.begin = at;
    term.end = at + 1;
    term.normalHeight = true;
    term.inherentlyVertebral = true;
    return term;
  }
  // "Vertebral bodies: normal."
  bool bodies = false, plainNormal = false;
  for (const auto& tok : t) {
    if (startsWith(tok.text, "verteb")) bodies = true;
    if (tok.text == "normal" || tok.text == "unremarkable") plainNormal = true;
  }
  if (bodies && plainNormal && !height) {
    for (size_t i = 0; i < t.size(); ++i)
      if (startsWith(t[i].text, "verteb")) {
        Term term;
        term.begin = i;
        term.end = i + 1;
        term.normalHeight = true;
        term.inherentlyVertebral = true;
        return term;
      }
  }
  if (intact && vertebral) {
    for (size_t i = 0; i < t.size(); ++i)
      if (startsWith(t[i].text, "verteb")) {
        Term term;
        term.begin = i;
        term.end = i + 1;
        term.normalHeight = true;
        term.inherentlyVertebral = true;
        return term;
      }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Sentences with tokens, clauses and cues

struct Sentence {
  std::string text;
  std::vector<Token> toks;
  std::vector<int> clause;  // clause index of each token
  std::vector<CueHit> cues;
  bool isHistory = false;  // "Indication:", "Clinical details:": the question, not the answer
};

bool isClauseBreak(const std::string& w) {
  return anyOf(w, {";|:|but|however|although|though|whereas|except|otherwise|despite"});
}

Sentence prepare(const std::string& text) {
  Sentence s;
  s.text = text;
  s.toks = tokenize(text);
  s.clause.resize(s.toks.size());
  int c = 0;
  for (size_t i = 0; i < s.toks.size(); ++i) {
    if (isClauseBreak(s.toks[i].text)) ++c;
    s.clause[i] = c;
  }
  s.cues = findCues(s.toks);
  for (size_t i = 0; i < s.toks.size() && i < 6; ++i) {
    if (s.toks[i].text != ":") continue;
    for (size_t k = 0; k < i; ++k)
      if (anyOf(s.toks[k].text, {"indication*|clinical|history|hx|reason|mechanism|request",
                                 "question|details|information|info"}))
        s.isHistory = true;
    break;
  }
  return s;
}

bool isMentionOfOtherSite(const Sentence& s, const Term& term) {
  const auto& t = s.toks;
  // Before: "rib fractures", "left femoral neck fracture", "sacral insufficiency fractures",
  // "transverse process fractures of L2 to L4". A bone named right before the term is its site.
  for (size_t k = term.begin; k > 0 && term.begin - k < 3; --k) {
    const size_t j = k - 1;
    if (s.clause[j] != s.clause[term.begin]) break;
    if (isVertebralWord(t[j].text)) break;
    if (isOtherSite(t, j)) return true;
    if (t[j].text == "process" && j > 0 && isOtherSite(t, j - 1)) return true;
    if (j > 0 && t[j].text == "neck" && t[j - 1].text == "femoral") return true;
  }
  // "neck of femur fracture"
  if (term.begin >= 3 && t[term.begin - 1].text == "femur" && t[term.begin - 2].text == "of")
    return true;
  // After: "fracture of the left 6th to 8th ribs"; a vertebral word there keeps it vertebral
  // ("fracture of the cervical, thoracic or lumbar spine").
  if (term.end < t.size() &&
      anyOf(t[term.end].text, {"of|through|in|involving|at|to|affecting|within"})) {
    bool other = false;
    for (size_t k = term.end + 1; k < t.size() && k <= term.end + 8; ++k) {
      if (s.clause[k] != s.clause[term.begin]) break;
      if (isVertebralWord(t[k].text)) return false;
      if (isOtherSite(t, k)) other = true;
    }
    if (other) return true;
  }
  return false;
}

bool sentenceHasVertebralCue(const Sentence& s) {
  for (size_t i = 0; i < s.toks.size(); ++i) {
    const std::string& w = s.toks[i].text;
    if (parseLevel(w)) {
      const bool disc = (i + 1 < s.toks.size() && s.toks[i + 1].text == "/") ||
                        (i > 0 && s.toks[i - 1].text == "/");
      if (!disc) return true;
      continue;
    }
    if (isSpineWord(w)) return true;
  }
  return false;
}

struct Modifiers {
  bool negated = false;
  bool notAFracture = false;   // "..., not a fracture", "rather than a fracture"
  bool otherExcluded = false;  // "no other fracture"
  bool hedged = false;
  bool mimic = false;
  int history = 0;  // +1 historical, -1 current, 0 neither
};

// "no evidence of free fluid, lymphadenopathy or vertebral fracture": the negation runs along a
// list whose last item the term is.
bool negatedList(const Sentence& s, size_t from, size_t termBegin) {
  if (termBegin < from + 2 || termBegin - from > 25) return false;
  const std::string& before = s.toks[termBegin - 1].text;
  if (before != "or" && before != "nor" && before != "and") return false;
  bool comma = false;
  for (size_t k = from; k < termBegin; ++k) {
    if (s.toks[k].text == ",") comma = true;
    if (s.toks[k].text == "." || s.toks[k].text == "(") return false;
  }
  return comma;
}

Modifiers modifiersOf(const Sentence& s, const Term& term) {
  Modifiers m;
  const int clause = s.clause[term.begin];
  int bestPre = -1, bestPost = -1;  // distance of the nearest history/current cue
  int preHist = 0, postHist = 0;
  for (const auto& c : s.cues) {
    if (s.clause[c.begin] != clause) continue;
    const bool inside = c.begin >= term.begin && c.end <= term.end;
    const bool before = c.end <= term.begin;
    const bool after = c.begin >= term.end;
    switch (c.cue) {
      case Cue::kHedge:
        m.hedged = true;
        break;
      case Cue::kMimic:
        m.mimic = true;
        break;
      case Cue::kNegPre:
        if (before && (term.begin - c.end <= 8 || negatedList(s, c.end, term.begin))) {
          m.negated = true;
          for (size_t k = c.end; k < term.begin; ++k)
            if (s.toks[k].text == "other" || s.toks[k].text == "further") m.otherExcluded = true;
          const std::string& first = s.toks[c.begin].text;
          const std::string next = c.end < s.toks.size() ? s.toks[c.end].text : "";
          if ((first == "not" && (next == "a" || next == "an" || c.end == term.begin)) ||
              first == "rather")
            m.notAFracture = true;
        }
        break;
      case Cue::kNegPost:
        if (after && c.begin - term.end <= 6) m.negated = true;
        break;
      case Cue::kHistory:
      case Cue::kCurrent: {
        const int v = c.cue == Cue::kHistory ? 1 : -1;
        if (before || inside) {
          // "Known metastatic disease with pathological fracture": the adjective belongs to
          // another noun phrase.
          bool blocked = false;
          for (size_t k = c.end; before && k < term.begin; ++k)
            if (anyOf(s.toks[k].text, {"with|without|causing|due|secondary"})) blocked = true;
          if (blocked) break;
          const int d = inside ? 0 : static_cast<int>(term.begin - c.end);
          if (d <= 8 && (bestPre < 0 || d <= bestPre)) {
            bestPre = d;
            preHist = v;
          }
        } else if (after) {
          const int d = static_cast<int>(c.begin - term.end);
          if (d <= 8 && (bestPost < 0 || d < bestPost)) {
            bestPost = d;
            postHist = v;
          }
        }
        break;
      }
      default:
        break;
    }
  }
  // A current cue anywhere near wins over a history cue ("new since the 2021 study, previously
  // normal"), except when the nearest cue before the term says otherwise.
  // "Fracture: none." / "Vertebral fractures: nil."
  if (term.end + 1 < s.toks.size() && s.toks[term.end].text == ":" &&
      anyOf(s.toks[term.end + 1].text, {"none|nil|no|absent|negative"}))
    m.negated = true;
  m.history = bestPre >= 0 ? preHist : postHist;
  if (m.history > 0 && bestPre >= 0 && postHist < 0 && bestPost >= 0 && bestPost < bestPre)
    m.history = -1;
  return m;
}

// The status of a vertebral mention that is not negated, in order of precedence: hedging, a
// named mimic, treatment or a history cue, then a current cue, then the term's own strength.
FractureStatus statusOfUnnegated(const Term& term, const Modifiers& m) {
  if (m.hedged) return FractureStatus::kUncertain;
  if (m.mimic && !term.fractureWord) return FractureStatus::kNegated;
  if (term.treated || m.history > 0) return FractureStatus::kHistorical;
  if (m.history < 0) return FractureStatus::kAffirmed;
  return term.strength == Strength::kWeak ? FractureStatus::kUncertain : FractureStatus::kAffirmed;
}

// ---------------------------------------------------------------------------------------------
// Osteoporosis and recommendation

bool negatedBefore(const Sentence& s, size_t i, size_t window) {
  for (const auto& c : s.cues)
    if (c.cue == Cue::kNegPre && c.end <= i && i - c.end <= window &&
        s.clause[c.begin] == s.clause[i])
      return true;
  return false;
}

std::vector<size_t> osteoporosisHits(const Sentence& s) {
  std::vector<size_t> hits;
  const auto& t = s.toks;
  for (size_t i = 0; i < t.size(); ++i) {
    const std::string& w = t[i].text;
    bool hit = false;
    if (startsWith(w, "osteop") && !startsWith(w, "osteophyt") && !startsWith(w, "osteopath") &&
        !startsWith(w, "osteopet") && !startsWith(w, "osteopoik"))
      hit = true;
    if (startsWith(w, "demineral")) hit = true;
    if (w == "density" && i > 0 &&
        (t[i - 1].text == "bone" || (i > 1 && t[i - 1].text == "mineral"))) {
      // "reduced bone density", "bone density is low"
      for (size_t k = (i >= 4 ? i - 4 : 0); k < std::min(t.size(), i + 4); ++k)
        if (anyOf(t[k].text, {"reduced|low|lower|decreased|diminished|poor|reduction"})) hit = true;
    }
    if (!hit) continue;
    // A recommendation to look for it is not a mention of it.
    if (i + 1 < t.size() &&
        anyOf(t[i + 1].text, {"assessment|evaluation|evaluate|work|workup|screening|clinic",
                              "review|referral|investigation|investigations|risk|service"}))
      continue;
    bool lookFor = false;
    for (size_t k = (i >= 3 ? i - 3 : 0); k < i; ++k)
      if (anyOf(t[k].text,
                {"assess*|evaluat*|screen*|investigat*|work|referral|refer|exclude", "rule"}))
        lookFor = true;
    if (lookFor) continue;
    if (negatedBefore(s, i, 5)) continue;
    hits.push_back(i);
  }
  return hits;
}

bool isRecommendationTarget(const std::vector<Token>& t, size_t i, bool boneContext) {
  const std::string& w = t[i].text;
  const std::string next = i + 1 < t.size() ? t[i + 1].text : std::string();
  const std::string next2 = i + 2 < t.size() ? t[i + 2].text : std::string();
  if (w == "fls" || w == "dxa" || w == "dexa" || w == "frax" || startsWith(w, "densitometr") ||
      startsWith(w, "bisphosphonate"))
    return true;
  if (w == "liaison") return true;
  if (w == "bone" && (anyOf(next, {"health|protection|protective|densitometry"}) ||
                      (next == "-" && anyOf(next2, {"health|protection"})) ||
                      (next == "density" && anyOf(next2, {"scan|assessment|measurement|study"})) ||
                      (next == "mineral" && next2 == "density")))
    return true;
  if (w == "metabolic" && next == "bone") return true;
  if (startsWith(w, "osteop") && !startsWith(w, "osteophyt")) {
    if (anyOf(next, {"assessment|evaluation|work|workup|screening|clinic|review|referral",
                     "investigation*|management|treatment|service|team|risk"}))
      return true;
    for (size_t k = (i >= 3 ? i - 3 : 0); k < i; ++k)
      if (anyOf(t[k].text, {"assess*|evaluat*|screen*|investigat*|treat*|work"})) return true;
  }
  if (w == "referral" || w == "refer") {
    if (boneContext) return true;
    // A referral with no destination ("consider referral.") stands for the FLS here.
    return !(anyOf(next, {"to|for"}) && i + 2 < t.size() && t[i + 2].isWord());
  }
  return false;
}

bool isRecommendationCue(const std::string& w) {
  return anyOf(w, {"recommend*|suggest*|consider*|advise*|advice|advised|advisable|please",
                   "should|refer|referral|warrant*|arrange|ensure|benefit|indicated|required",
                   "needed|request|proposed|recommendation*|suggestion*|value|helpful|useful",
                   "worthwhile|beneficial"});
}

bool recommendationNegated(const Sentence& s, size_t i) {
  if (negatedBefore(s, i, 4)) {
    // "no DXA required" negates; "if not done within 2 years" (after the target) does not.
    return true;
  }
  const auto& t = s.toks;
  for (size_t k = i + 1; k < t.size() && k <= i + 5; ++k)
    if (t[k].text == "not" && k + 1 < t.size() &&
        anyOf(t[k + 1].text, {"required|needed|necessary|recommended|indicated|warranted"}))
      return true;
  return false;
}

bool sentenceMakesRecommendation(const Sentence& s) {
  if (s.isHistory) return false;
  const auto& t = s.toks;
  bool boneContext = false;
  for (const auto& tok : t)
    if (startsWith(tok.text, "fractur") || startsWith(tok.text, "osteop") || tok.text == "bone" ||
        tok.text == "fls" || startsWith(tok.text, "verteb") || tok.text == "vcf" ||
        tok.text == "fragility" || tok.text == "dxa" || tok.text == "dexa")
      boneContext = true;
  // The cue must be in the target's clause, unless the sentence opens with a heading that makes
  // it a recommendation ("Advice: FLS", "Recommendation: DXA").
  bool headed = false;
  for (size_t i = 0; i < t.size() && i < 4; ++i)
    if (t[i].text == ":") {
      for (size_t k = 0; k < i; ++k)
        if (anyOf(t[k].text, {"recommendation*|advice|comment*|suggestion*|plan|action*|rec|recs"}))
          headed = true;
      break;
    }
  for (size_t i = 0; i < t.size(); ++i) {
    if (!isRecommendationTarget(t, i, boneContext) || recommendationNegated(s, i)) continue;
    if (headed) return true;
    for (size_t k = 0; k < t.size(); ++k)
      if (s.clause[k] == s.clause[i] && isRecommendationCue(t[k].text)) return true;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string ReportFindings::evidence() const {
  std::vector<int> idx = fractureEvidence;
  for (int i : recommendationEvidence)
    if (std::find(idx.begin(), idx.end(), i) == idx.end()) idx.push_back(i);
  std::string out;
  for (int i : idx) {
    if (!out.empty()) out += " | ";
    out += sentences[i];
  }
  return out;
}

ReportFindings classifyReport(const std::string& text) {
  ReportFindings f;
  f.sentences = splitSentences(text);
  std::vector<bool> mentionIsDescription, mentionIsGenericFracture;  // per mention
  std::vector<bool> mentionNotAFracture, mentionCurrent;
  std::vector<size_t> mentionBegin;
  std::vector<int> mentionClause;
  for (size_t si = 0; si < f.sentences.size(); ++si) {
    const Sentence s = prepare(f.sentences[si]);
    const int sIndex = static_cast<int>(si);
    if (!osteoporosisHits(s).empty()) {
      f.osteoporosisMentioned = true;
      f.osteoporosisEvidence.push_back(sIndex);
    }
    if (sentenceMakesRecommendation(s)) {
      f.recommendationMade = true;
      f.recommendationEvidence.push_back(sIndex);
    }
    if (s.isHistory) continue;

    std::vector<Term> terms = findTerms(s.toks);
    const bool vertebralCue = sentenceHasVertebralCue(s);
    bool anyPositive = false;
    const size_t firstMention = f.mentions.size();
    for (const Term& term : terms) {
      if (isMentionOfOtherSite(s, term)) continue;
      const Modifiers m = modifiersOf(s, term);
      const bool vertebral = term.inherentlyVertebral || vertebralCue;
      FractureStatus st;
      if (m.negated) {
        if (m.otherExcluded) continue;
        // A generic "no fracture" speaks for the imaged spine too; a generic loss of height or
        // deformity that is negated says nothing about the vertebrae.
        if (!vertebral && !term.fractureWord) continue;
        st = FractureStatus::kNegated;
      } else {
        if (!vertebral) continue;
        st = statusOfUnnegated(term, m);
      }
      FractureMention mention;
      std::vector<std::string> clauseLevels;
      mention.status = st;
      mention.sentence = sIndex;
      mention.term = s.text.substr(s.toks[term.begin].begin,
                                   s.toks[term.end - 1].end - s.toks[term.begin].begin);
      if (st != FractureStatus::kNegated) {
        anyPositive = true;
        // Levels of the term's clause; of the whole sentence when the clause names none.
        size_t cb = term.begin, ce = term.end;
        while (cb > 0 && s.clause[cb - 1] == s.clause[term.begin]) --cb;
        while (ce < s.toks.size() && s.clause[ce] == s.clause[term.begin]) ++ce;
        mention.levels = levelsInTokens(s.toks, cb, ce);
        clauseLevels = mention.levels;
        if (mention.levels.empty()) mention.levels = levelsInTokens(s.toks, 0, s.toks.size());
      }
      f.mentions.push_back(mention);
      mentionIsDescription.resize(f.mentions.size(), false);
      mentionIsGenericFracture.resize(f.mentions.size(), false);
      mentionIsDescription.back() = !term.fractureWord;
      mentionNotAFracture.resize(f.mentions.size(), false);
      mentionCurrent.resize(f.mentions.size(), false);
      mentionBegin.resize(f.mentions.size(), 0);
      mentionClause.resize(f.mentions.size(), 0);
      mentionNotAFracture.back() = m.notAFracture;
      mentionCurrent.back() = m.history < 0;
      mentionBegin.back() = term.begin;
      mentionClause.back() = s.clause[term.begin];
      mentionIsGenericFracture.back() =
          term.fractureWord && !term.inherentlyVertebral && clauseLevels.empty();
    }
    // "T5 looks compressed; a fracture is not excluded": a hedged, unlocated "fracture" in one
    // clause qualifies the description of the vertebra in another.
    bool hedgedGenericFracture = false;
    for (size_t k = firstMention; k < f.mentions.size(); ++k)
      if (f.mentions[k].status == FractureStatus::kUncertain && mentionIsGenericFracture[k])
        hedgedGenericFracture = true;
    if (hedgedGenericFracture)
      for (size_t k = firstMention; k < f.mentions.size(); ++k)
        if (f.mentions[k].status == FractureStatus::kAffirmed && mentionIsDescription[k])
          f.mentions[k].status = FractureStatus::kUncertain;
    // "Mild height loss at T12, within normal limits, not a fracture": the description that a
    // later "not a fracture" explains away is negated with it.
    for (size_t j = firstMention; j < f.mentions.size(); ++j) {
      if (!mentionNotAFracture[j]) continue;
      for (size_t k = firstMention; k < f.mentions.size(); ++k)
        if (mentionIsDescription[k] && mentionBegin[k] < mentionBegin[j] &&
            mentionClause[k] == mentionClause[j])
          f.mentions[k].status = FractureStatus::kNegated;
    }
    // "... showed an L3 compression fracture; this appears unchanged": a clause about "this"
    // that says stable / unchanged dates the mentions of the clause before it.
    for (size_t i = 0; i + 1 < s.toks.size(); ++i) {
      if (s.toks[i].text != ";" && s.toks[i].text != ",") continue;
      if (!anyOf(s.toks[i + 1].text, {"this|these|it|which|they|appearances|appearance"})) continue;
      bool hist = false, hasMention = false;
      for (const auto& c : s.cues)
        if (c.begin > i && c.begin <= i + 6 && c.cue == Cue::kHistory) hist = true;
      for (size_t k = firstMention; k < f.mentions.size(); ++k)
        if (mentionBegin[k] > i && mentionBegin[k] <= i + 6) hasMention = true;
      if (!hist || hasMention) continue;
      for (size_t k = firstMention; k < f.mentions.size(); ++k)
        if (mentionBegin[k] < i && f.mentions[k].status == FractureStatus::kAffirmed &&
            !mentionCurrent[k])
          f.mentions[k].status = FractureStatus::kHistorical;
    }
    anyPositive = false;
    for (size_t k = firstMention; k < f.mentions.size(); ++k)
      if (f.mentions[k].status != FractureStatus::kNegated) anyPositive = true;
    if (!anyPositive) {
      if (auto normal = normalHeightStatement(s.toks)) {
        FractureMention mention;
        mention.status = FractureStatus::kNegated;
        mention.sentence = sIndex;
        mention.term = s.text.substr(s.toks[normal->begin].begin,
                                     s.toks[normal->end - 1].end - s.toks[normal->begin].begin);
        f.mentions.push_back(mention);
      }
    }
  }
  for (const auto& m : f.mentions) {
    if (statusRank(m.status) > statusRank(f.vertebralFracture)) f.vertebralFracture = m.status;
    if (m.status != FractureStatus::kNegated)
      f.levels.insert(f.levels.end(), m.levels.begin(), m.levels.end());
  }
  normaliseLevels(f.levels);
  for (const auto& m : f.mentions)
    if (m.status == f.vertebralFracture &&
        std::find(f.fractureEvidence.begin(), f.fractureEvidence.end(), m.sentence) ==
            f.fractureEvidence.end())
      f.fractureEvidence.push_back(m.sentence);
  return f;
}

}  // namespace spinescreen::textaudit
