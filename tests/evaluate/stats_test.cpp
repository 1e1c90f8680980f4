#include <gtest/gtest.h>

#include <cmath>

#include "evaluate/evaluate.h"

using namespace spinescreen::evaluate;

TEST(Wilson, MatchesPublishedIntervals) {
  // Newcombe (1998), method 3: 81/263 -> 0.2553-0.3662; and 8/10 -> 0.4902-0.9433.
  auto a = wilson(81, 263);
  ASSERT_TRUE(a);
  EXPECT_NEAR(a->low, 0.2553, 1e-4);
  EXPECT_NEAR(a->high, 0.3662, 1e-4);
  auto b = wilson(8, 10);
  ASSERT_TRUE(b);
  EXPECT_NEAR(b->low, 0.4902, 1e-4);
  EXPECT_NEAR(b->high, 0.9433, 1e-4);
}

TEST(Wilson, StaysInsideZeroOneAtTheExtremes) {
  auto z = wilson(0, 10);
  ASSERT_TRUE(z);
  EXPECT_NEAR(z->low, 0.0, 1e-12);
  EXPECT_NEAR(z->high, 0.2775, 1e-4);
  auto o = wilson(10, 10);
  ASSERT_TRUE(o);
  EXPECT_NEAR(o->low, 0.7225, 1e-4);
  EXPECT_NEAR(o->high, 1.0, 1e-12);
  EXPECT_FALSE(wilson(0, 0));
  EXPECT_FALSE(wilson(3, 2));
}

TEST(Auc, CountsPairsAndHalfTies) {
  // 11 of the 12 positive-negative pairs are ordered right.
  auto a = aucWithCi({0.9, 0.8, 0.4}, {0.5, 0.3, 0.2, 0.1});
  ASSERT_TRUE(a);
  EXPECT_NEAR(a->auc, 11.0 / 12.0, 1e-12);
  // DeLong: S10 = 1/48, S01 = 1/36, var = S10/3 + S01/4 = 1/72.
  const double se = std::sqrt(1.0 / 72.0);
  EXPECT_NEAR(a->ci95.low, 11.0 / 12.0 - 1.959964 * se, 1e-5);
  EXPECT_DOUBLE_EQ(a->ci95.high, 1.0);
  auto t = aucWithCi({0.5, 0.5}, {0.5});
  ASSERT_TRUE(t);
  EXPECT_DOUBLE_EQ(t->auc, 0.5);
  auto inv = aucWithCi({0.1}, {0.9, 0.8});
  ASSERT_TRUE(inv);
  EXPECT_DOUBLE_EQ(inv->auc, 0.0);
}

TEST(Auc, NeedsBothClasses) {
  EXPECT_FALSE(aucWithCi({0.3}, {}));
  EXPECT_FALSE(aucWithCi({}, {0.3}));
}
