#include "core/labels.h"

#include <gtest/gtest.h>

using namespace spinescreen;

TEST(Labels, VerseNumbersMatchTheVerseConvention) {
  EXPECT_EQ(verseNumber("C1"), 1);
  EXPECT_EQ(verseNumber("T1"), 8);
  EXPECT_EQ(verseNumber("T12"), 19);
  EXPECT_EQ(verseNumber("L1"), 20);
  EXPECT_EQ(verseNumber("L5"), 24);
  EXPECT_EQ(verseNumber("L6"), 25);
  EXPECT_EQ(verseNumber("S1"), 26);
  EXPECT_EQ(verseNumber("T13"), 28);
  EXPECT_FALSE(verseNumber("X3").has_value());
}

TEST(Labels, VerseNumbersRoundTrip) {
  for (int n : {1, 7, 8, 19, 20, 24, 25, 26, 28}) {
    const auto label = labelFromVerseNumber(n);
    ASSERT_TRUE(label.has_value()) << n;
    EXPECT_EQ(verseNumber(*label), n);
  }
  EXPECT_FALSE(labelFromVerseNumber(27).has_value());
  EXPECT_FALSE(labelFromVerseNumber(0).has_value());
}

TEST(Labels, VariantsSitBetweenTheirNeighbours) {
  EXPECT_LT(*columnOrdinal("T12"), *columnOrdinal("T13"));
  EXPECT_LT(*columnOrdinal("T13"), *columnOrdinal("L1"));
  EXPECT_LT(*columnOrdinal("L5"), *columnOrdinal("L6"));
  EXPECT_LT(*columnOrdinal("L6"), *columnOrdinal("S1"));
}
