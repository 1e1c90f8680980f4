#include "batch/csv.h"

#include <gtest/gtest.h>

#include "core/errors.h"

using namespace spinescreen;

TEST(Csv, ParsesQuotedFieldsWithCommasQuotesAndLineBreaks) {
  const auto rows = csv::parse("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n", "t");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][0], "x, y");
  EXPECT_EQ(rows[1][1], "say \"hi\"");
  EXPECT_EQ(rows[1][2], "two\nlines");
}

TEST(Csv, KeepsEmptyFieldsAndSkipsBlankLines) {
  const auto rows = csv::parse(
      "\xEF\xBB\xBF"
      "a,b\n\n,\n1,\n",
      "t");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], "a");
  EXPECT_EQ(rows[1], (csv::Row{"", ""}));
  EXPECT_EQ(rows[2], (csv::Row{"1", ""}));
}

TEST(Csv, RejectsAnUnclosedQuote) { EXPECT_THROW(csv::parse("a,b\n\"open,1\n", "t"), InputError); }

TEST(Csv, RejectsTextAfterAClosingQuoteAndStrayQuotes) {
  EXPECT_THROW(csv::parse("\"a\"b,c\n", "t"), InputError);
  EXPECT_THROW(csv::parse("a\"b,c\n", "t"), InputError);
}

TEST(Csv, RejectsBinaryInput) {
  EXPECT_THROW(csv::parse(std::string("a,b\n\0\x01", 6), "t"), InputError);
}

TEST(Csv, TableRejectsRowsOfTheWrongWidthNamingTheLine) {
  try {
    csv::parseTable("a,b\n1,2\n\n1,2,3\n", "m.csv");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 4"), std::string::npos) << e.what();
  }
}

TEST(Csv, TableRejectsDuplicateAndEmptyColumnNames) {
  EXPECT_THROW(csv::parseTable("a,a\n", "t"), InputError);
  EXPECT_THROW(csv::parseTable("a,,b\n", "t"), InputError);
  EXPECT_THROW(csv::parseTable("", "t"), InputError);
}

TEST(Csv, QuotesOnlyWhenNeededAndRoundTrips) {
  EXPECT_EQ(csv::quote("plain"), "plain");
  EXPECT_EQ(csv::quote("a,b"), "\"a,b\"");
  EXPECT_EQ(csv::quote("q\"q"), "\"q\"\"q\"");
  const csv::Row row = {"1", "x,y", "he said \"no\"", "multi\nline", ""};
  const auto back = csv::parse(csv::formatRow(row), "t");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], row);
}
