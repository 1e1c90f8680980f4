// The labelled corpus (tests/textaudit/corpus): a regression guard on the figures in
// docs/validation/textaudit.md. The rules were written on dev.jsonl; test.jsonl is only scored.
#include <gtest/gtest.h>

#include "support/test_data.h"
#include "textaudit/corpus_score.h"

using namespace spinescreen::textaudit;

namespace {
void expectScores(const std::string& split) {
  const std::string path = spinescreen::testing::sourceDir() + "/tests/textaudit/corpus/" + split;
  const auto corpus = readLabelledCorpus(path);
  ASSERT_GE(corpus.size(), 40u);
  const CorpusScore s = scoreCorpus(corpus);
  EXPECT_GE(s.label("vertebral_fracture=affirmed").f1(), 0.95);
  EXPECT_GE(s.label("recommendation_made").f1(), 0.95);
  EXPECT_GE(s.label("fracture_named (affirmed|historical)").f1(), 0.95);
}
}  // namespace

TEST(TextCorpus, DevelopmentSplitMeetsTheTargets) { expectScores("dev.jsonl"); }
TEST(TextCorpus, HeldOutSplitMeetsTheTargets) { expectScores("test.jsonl"); }
TEST(TextCorpus, ChallengeSplitsMeetTheTargets) {
  expectScores("challenge.jsonl");
  expectScores("challenge2.jsonl");
  expectScores("challenge3.jsonl");
}

TEST(TextCorpus, EveryLabelIsOneOfTheContractValues) {
  for (const char* split :
       {"dev.jsonl", "test.jsonl", "challenge.jsonl", "challenge2.jsonl", "challenge3.jsonl"}) {
    const auto corpus =
        readLabelledCorpus(spinescreen::testing::sourceDir() + "/tests/textaudit/corpus/" + split);
    for (const auto& r : corpus) {
      EXPECT_FALSE(r.caseId.empty());
      EXPECT_FALSE(r.text.empty()) << r.caseId;
    }
  }
}
