// What one radiology report says about vertebral fractures, bone density and bone-health
// referral: rule-based, with NegEx-style scoping of negation, uncertainty and history
// (Chapman et al. 2001; ConText, Harkema et al. 2009), for UK and US reporting styles.
#pragma once

#include <string>
#include <vector>

namespace spinescreen::textaudit {

// How a report speaks of vertebral fracture. When several mentions disagree the report takes
// the first of: affirmed > historical > uncertain > negated > none.
enum class FractureStatus { kNone, kNegated, kUncertain, kHistorical, kAffirmed };

const char* toString(FractureStatus s);
// Precedence of a status: affirmed 4, historical 3, uncertain 2, negated 1, none 0.
int statusRank(FractureStatus s);
// Parses "affirmed" etc.; throws InputError on anything else.
FractureStatus fractureStatusFromString(const std::string& s);

// One vertebral fracture mention found in a sentence.
struct FractureMention {
  FractureStatus status = FractureStatus::kNone;
  std::string term;                 // the words that named it, e.g. "compression fracture"
  std::vector<std::string> levels;  // levels it names, in spinal order
  int sentence = 0;                 // index into ReportFindings::sentences
};

struct ReportFindings {
  FractureStatus vertebralFracture = FractureStatus::kNone;
  std::vector<std::string> levels;  // levels of the non-negated mentions, spinal order
  bool osteoporosisMentioned = false;
  bool recommendationMade = false;
  std::vector<std::string> sentences;       // the report split into sentences
  std::vector<FractureMention> mentions;    // every vertebral (or generic negated) mention
  std::vector<int> fractureEvidence;        // sentences that decided vertebralFracture
  std::vector<int> osteoporosisEvidence;    // sentences that mention low bone density
  std::vector<int> recommendationEvidence;  // sentences that make the recommendation
  // The deciding sentences (fracture, then recommendation), joined with " | ".
  std::string evidence() const;
};

// Reads one report. Never throws on text content: any text gives an answer.
ReportFindings classifyReport(const std::string& text);

// The report split into sentences (exposed for tests): line breaks and sentence-ending
// full stops split; abbreviations ("approx.", "e.g.") and decimals do not.
std::vector<std::string> splitSentences(const std::string& text);

}  // namespace spinescreen::textaudit
