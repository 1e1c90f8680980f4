#include "textaudit/levels.h"

#include <gtest/gtest.h>

using namespace spinescreen::textaudit;

TEST(Levels, ExpandsARangeAcrossTheThoracolumbarJunction) {
  EXPECT_EQ(joinLevels(expandRange("T11", "L1")), "T11;T12;L1");
  EXPECT_EQ(joinLevels(expandRange("L1", "T11")), "T11;T12;L1");
  EXPECT_EQ(joinLevels(expandRange("T4", "L5")).size(),
            std::string("T4;T5;T6;T7;T8;T9;T10;T11;T12;L1;L2;L3;L4;L5").size());
}

TEST(Levels, ReadsRangesAsReportsWriteThem) {
  EXPECT_EQ(joinLevels(extractLevels("fractures T11-L1")), "T11;T12;L1");
  EXPECT_EQ(joinLevels(extractLevels("T11\xE2\x80\x93L1")), "T11;T12;L1");  // en dash
  EXPECT_EQ(joinLevels(extractLevels("T9 through T12")), "T9;T10;T11;T12");
  EXPECT_EQ(joinLevels(extractLevels("from T6 to T8")), "T6;T7;T8");
  EXPECT_EQ(joinLevels(extractLevels("T9-11")), "T9;T10;T11");
  EXPECT_EQ(joinLevels(extractLevels("T7, T8 and T9")), "T7;T8;T9");
}

TEST(Levels, SkipsDiscLevelsAndNonLevels) {
  EXPECT_EQ(joinLevels(extractLevels("disc bulge at L4/5 and L5/S1, T12/L1")), "");
  EXPECT_EQ(joinLevels(extractLevels("T13 L6 C5 S1 T0 L05")), "");
  EXPECT_EQ(joinLevels(extractLevels("T2 weighted")), "");
}

TEST(Levels, AcceptsDorsalNumberingAndAnyCase) {
  EXPECT_EQ(parseLevel("d12").value_or(""), "T12");
  EXPECT_EQ(parseLevel("l3").value_or(""), "L3");
  EXPECT_FALSE(parseLevel("L6").has_value());
}

TEST(Levels, NormalisesToSpinalOrderWithoutDuplicates) {
  std::vector<std::string> l = {"L2", "T12", "L2", "T4"};
  normaliseLevels(l);
  EXPECT_EQ(joinLevels(l), "T4;T12;L2");
}
