// Behaviour of the report reader: negation, uncertainty and history scoping, sites, synonyms,
// recommendations and osteoporosis mentions, on sentences written for these tests.
#include "textaudit/classifier.h"

#include <gtest/gtest.h>

#include <random>

#include "textaudit/levels.h"

using namespace spinescreen::textaudit;

namespace {
FractureStatus statusOf(const std::string& text) { return classifyReport(text).vertebralFracture; }
std::string levelsOf(const std::string& text) { return joinLevels(classifyReport(text).levels); }
}  // namespace

TEST(TextClassifier, AffirmsAPlainCompressionFracture) {
  const auto f = classifyReport("Findings: There is a compression fracture of L2 with 30% loss.");
  EXPECT_EQ(f.vertebralFracture, FractureStatus::kAffirmed);
  EXPECT_EQ(joinLevels(f.levels), "L2");
  EXPECT_NE(f.evidence().find("compression fracture of L2"), std::string::npos);
}

TEST(TextClassifier, NegatesWithinTheScopeOfNo) {
  EXPECT_EQ(statusOf("No vertebral compression fracture."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("There is no evidence of a vertebral fracture."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("Vertebral fracture is not identified."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("Bones: no acute fracture."), FractureStatus::kNegated);
}

TEST(TextClassifier, NegationRunsAlongAListToItsLastItem) {
  EXPECT_EQ(statusOf("No evidence of free fluid, collection, lymphadenopathy, bowel obstruction "
                     "or vertebral fracture."),
            FractureStatus::kNegated);
}

TEST(TextClassifier, NotAFractureExplainsAwayTheDescriptionBeforeIt) {
  EXPECT_EQ(statusOf("Slight height loss at L1, developmental, not a fracture."),
            FractureStatus::kNegated);
}

TEST(TextClassifier, ADatingClauseAboutThisMakesAMentionHistorical) {
  EXPECT_EQ(statusOf("The 2019 CT showed a T9 compression fracture; this is unchanged."),
            FractureStatus::kHistorical);
  EXPECT_EQ(statusOf("The previously normal T9 vertebra now shows a compression fracture."),
            FractureStatus::kAffirmed);
}

TEST(TextClassifier, NegationScopeEndsAtButAndSemicolon) {
  EXPECT_EQ(statusOf("No rib fracture but there is a wedge fracture of T9."),
            FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("No acute abnormality; T11 compression fracture."), FractureStatus::kAffirmed);
}

TEST(TextClassifier, NegationDoesNotReachBackwards) {
  EXPECT_EQ(statusOf("L3 compression fracture, no retropulsion."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Old L1 compression deformity, no associated uptake."),
            FractureStatus::kHistorical);
}

TEST(TextClassifier, NormalVertebralHeightsAreANegation) {
  EXPECT_EQ(statusOf("Vertebral body heights are maintained."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("The lumbar vertebrae are normal in height."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("Disc heights are preserved."), FractureStatus::kNone);
}

TEST(TextClassifier, HedgesMakeAMentionUncertain) {
  EXPECT_EQ(statusOf("Possible mild wedging of T8."), FractureStatus::kUncertain);
  EXPECT_EQ(statusOf("?L2 compression fracture."), FractureStatus::kUncertain);
  EXPECT_EQ(statusOf("A compression fracture of T6 cannot be excluded."),
            FractureStatus::kUncertain);
  EXPECT_EQ(statusOf("Height loss at T5, which may represent a fracture."),
            FractureStatus::kUncertain);
}

TEST(TextClassifier, AHedgedFractureInOneClauseQualifiesTheDescriptionInAnother) {
  EXPECT_EQ(statusOf("L2 looks mildly compressed; a fracture cannot be excluded."),
            FractureStatus::kUncertain);
  EXPECT_EQ(statusOf("L2 compression fracture; a further fracture at T9 cannot be excluded."),
            FractureStatus::kAffirmed);
}

TEST(TextClassifier, AHeadingWithNoneNegates) {
  EXPECT_EQ(statusOf("Vertebral fractures: none."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("Fracture: L1, moderate."), FractureStatus::kAffirmed);
}

TEST(TextClassifier, AgeUncertaintyIsNotFractureUncertainty) {
  EXPECT_EQ(statusOf("Wedge deformity of L1 of uncertain age."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("T12 compression fracture, age indeterminate."), FractureStatus::kAffirmed);
}

TEST(TextClassifier, OldKnownAndTreatedFracturesAreHistorical) {
  EXPECT_EQ(statusOf("Known T12 fracture."), FractureStatus::kHistorical);
  EXPECT_EQ(statusOf("Chronic L2 wedge compression fracture, unchanged."),
            FractureStatus::kHistorical);
  EXPECT_EQ(statusOf("Status post L1 kyphoplasty."), FractureStatus::kHistorical);
  EXPECT_EQ(statusOf("The T7 fracture is stable compared with 2020."), FractureStatus::kHistorical);
}

TEST(TextClassifier, NewOrAcuteBeatsAComparisonWithThePrior) {
  EXPECT_EQ(statusOf("New L2 compression fracture compared with the previous study."),
            FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Moderate T11 compression fracture, not seen on the prior CT."),
            FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Acute on chronic L4 compression fracture."), FractureStatus::kAffirmed);
}

TEST(TextClassifier, AffirmedWinsOverHistorical) {
  const auto f = classifyReport("Old L4 compression fracture. New T12 wedge fracture.");
  EXPECT_EQ(f.vertebralFracture, FractureStatus::kAffirmed);
  EXPECT_EQ(joinLevels(f.levels), "T12;L4");
  ASSERT_EQ(f.fractureEvidence.size(), 1u);
  EXPECT_EQ(f.sentences[f.fractureEvidence[0]], "New T12 wedge fracture.");
}

TEST(TextClassifier, OtherBonesDoNotCount) {
  EXPECT_EQ(statusOf("Old healed left rib fractures."), FractureStatus::kNone);
  EXPECT_EQ(statusOf("Fracture of the right neck of femur."), FractureStatus::kNone);
  EXPECT_EQ(statusOf("Bilateral sacral insufficiency fractures."), FractureStatus::kNone);
  EXPECT_EQ(statusOf("No acute rib fracture."), FractureStatus::kNone);
  EXPECT_EQ(statusOf("Distal radius fracture."), FractureStatus::kNone);
  EXPECT_EQ(statusOf("Transverse process fractures of L2 to L4."), FractureStatus::kNone);
}

TEST(TextClassifier, SpineListedWithOtherRegionsStillCounts) {
  EXPECT_EQ(statusOf("No acute fracture of the cervical, thoracic or lumbar spine."),
            FractureStatus::kNegated);
}

TEST(TextClassifier, FractureLiaisonServiceIsNotAFracture) {
  const auto f = classifyReport("Please refer to the fracture liaison service.");
  EXPECT_EQ(f.vertebralFracture, FractureStatus::kNone);
  EXPECT_TRUE(f.recommendationMade);
}

TEST(TextClassifier, ReadsSynonymsAndAbbreviations) {
  EXPECT_EQ(statusOf("T9 # with 40% height loss."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Incidental VCF at L1."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("L3 vertebra plana."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Collapse of the T10 vertebral body."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Superior endplate depression of L1."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Crush fracture of T5."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("L2 vertebral fractrue."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Biconcavity of L4."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Flattening of the T11 vertebral body."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Redemonstrated T11 wedge fracture."), FractureStatus::kHistorical);
}

TEST(TextClassifier, NonSpinalCollapseAndCompressionDoNotCount) {
  EXPECT_EQ(statusOf("Collapse of the left lower lobe."), FractureStatus::kNone);
  EXPECT_EQ(statusOf("No spinal cord compression at T10."), FractureStatus::kNone);
}

TEST(TextClassifier, ReadsShorthand) {
  EXPECT_EQ(statusOf("T/L-spine: no #."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("h/o L2 fracture."), FractureStatus::kHistorical);
  EXPECT_EQ(statusOf("SQ2 deformity of T9."), FractureStatus::kAffirmed);
  EXPECT_EQ(statusOf("Ungraded deformity of T9."), FractureStatus::kUncertain);
  EXPECT_EQ(statusOf("No bony injury to the lumbar spine."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("Vertebral bodies: normal."), FractureStatus::kNegated);
  EXPECT_TRUE(classifyReport("Rec: DXA.").recommendationMade);
  EXPECT_EQ(statusOf("Accession # 12345. Normal study."), FractureStatus::kNone);
}

TEST(TextClassifier, MimicsOfFractureAreNotFractures) {
  EXPECT_EQ(statusOf("Schmorl's nodes at L2 and L3."), FractureStatus::kNone);
  EXPECT_EQ(statusOf("Mild physiological wedging of T11 and T12."), FractureStatus::kNegated);
  EXPECT_EQ(statusOf("Mild wedging at T12, in keeping with normal thoracolumbar morphology."),
            FractureStatus::kNegated);
  EXPECT_EQ(statusOf("Degenerative change in the lumbar spine."), FractureStatus::kNone);
}

TEST(TextClassifier, ClinicalQuestionIsNotAFinding) {
  EXPECT_EQ(statusOf("Indication: back pain, ?L1 fracture.\nNo vertebral fracture."),
            FractureStatus::kNegated);
}

TEST(TextClassifier, LevelsComeFromTheFractureClause) {
  EXPECT_EQ(levelsOf("Compression fractures from T11-L1."), "T11;T12;L1");
  EXPECT_EQ(levelsOf("T12 shows 30% anterior height loss; L2 disc bulge at L4/5."), "T12");
  EXPECT_EQ(levelsOf("No fracture at L1. Wedge fracture of T9."), "T9");
  EXPECT_EQ(levelsOf("Collapse of the L1/L2 vertebral bodies."), "L1;L2");
}

TEST(TextClassifier, FindsBoneHealthRecommendations) {
  EXPECT_TRUE(classifyReport("Recommend DXA.").recommendationMade);
  EXPECT_TRUE(classifyReport("Suggest referral to the FLS.").recommendationMade);
  EXPECT_TRUE(classifyReport("Bone health assessment recommended.").recommendationMade);
  EXPECT_TRUE(classifyReport("Consider osteoporosis work-up.").recommendationMade);
  EXPECT_TRUE(classifyReport("Advice: DEXA scan.").recommendationMade);
}

TEST(TextClassifier, OtherRecommendationsAndPastTestsAreNotBoneHealthAdvice) {
  EXPECT_FALSE(
      classifyReport("Recommend follow-up CT in 3 months for the nodule.").recommendationMade);
  EXPECT_FALSE(classifyReport("DXA in 2020 showed osteopenia.").recommendationMade);
  EXPECT_FALSE(classifyReport("No DXA is required.").recommendationMade);
  EXPECT_TRUE(classifyReport("Osteoporosis treated? If not, consider DXA.").recommendationMade);
}

TEST(TextClassifier, FindsOsteoporosisButNotARequestToLookForIt) {
  EXPECT_TRUE(classifyReport("Diffuse osteopenia.").osteoporosisMentioned);
  EXPECT_TRUE(classifyReport("Reduced bone density.").osteoporosisMentioned);
  EXPECT_TRUE(classifyReport("Osteoporotic L1 fracture.").osteoporosisMentioned);
  EXPECT_FALSE(classifyReport("Recommend osteoporosis assessment.").osteoporosisMentioned);
  EXPECT_FALSE(classifyReport("No osteopenia.").osteoporosisMentioned);
  EXPECT_TRUE(classifyReport("No fracture despite marked osteopenia.").osteoporosisMentioned);
  EXPECT_FALSE(classifyReport("Multilevel osteophytes.").osteoporosisMentioned);
}

TEST(TextClassifier, EmptyOrOddTextGivesNone) {
  EXPECT_EQ(statusOf(""), FractureStatus::kNone);
  EXPECT_EQ(statusOf("\n\n   \r\n"), FractureStatus::kNone);
  EXPECT_EQ(statusOf(std::string("\xE2\x80\x93\xC2\xA0#?;:", 8)), FractureStatus::kNone);
}

TEST(SentenceSplitter, KeepsAbbreviationsAndDecimalsInsideASentence) {
  const auto s = splitSentences("Approx. 2.5 cm cyst. T12 fracture (approx. 30% loss).\r\nNext");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], "Approx. 2.5 cm cyst.");
  EXPECT_EQ(s[1], "T12 fracture (approx. 30% loss).");
  EXPECT_EQ(s[2], "Next");
}

TEST(SentenceSplitter, JoinsAWrappedLine) {
  const auto s = splitSentences("There is a compression fracture of\nthe L1 vertebral body.");
  ASSERT_EQ(s.size(), 1u);
}

TEST(TextClassifier, SurvivesArbitraryBytes) {
  // Any text gives an answer: random bytes, punctuation runs and very long sentences.
  std::mt19937 rng(12345);
  const std::string alphabet =
      "abcdefghijklmnopqrstuvwxyzTL0123456789 .,;:?#-/()\n\r\t'\"\xE2\x80\x93\xC2\xA0\xFF";
  for (int n = 0; n < 300; ++n) {
    std::string text;
    const int len = static_cast<int>(rng() % 400);
    for (int i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    const auto f = classifyReport(text);
    for (int i : f.fractureEvidence) ASSERT_LT(static_cast<size_t>(i), f.sentences.size());
  }
  std::string longSentence;
  for (int i = 0; i < 20000; ++i) longSentence += "no fracture or T12 wedge ? ";
  const auto f = classifyReport(longSentence);  // bounded pieces, so this stays quick
  EXPECT_GT(f.sentences.size(), 100u);
  EXPECT_EQ(f.vertebralFracture, FractureStatus::kUncertain);
}
