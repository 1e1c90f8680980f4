// Reading report exports: CSV and JSON lines as CogStack and spreadsheets write them.
#include <gtest/gtest.h>

#include "core/errors.h"
#include "textaudit/report_reader.h"

using namespace spinescreen;
using namespace spinescreen::textaudit;

namespace {
std::vector<ReportText> parse(const std::string& content, const std::string& name,
                              ReportReaderOptions o = {}) {
  return parseReports(content, name, o);
}
}  // namespace

TEST(ReportReader, ReadsQuotedMultiLineCsvFieldsWithCrlfAndBom) {
  const std::string csv =
      "\xEF\xBB\xBF"
      "case_id,text,date\r\n"
      "a1,\"CT abdomen.\r\nL1 compression fracture, 30%.\r\nSaid \"\"new\"\".\",2024-01-02\r\n"
      "a2,No fracture.,2024-01-03\r\n";
  const auto r = parse(csv, "x.csv");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].caseId, "a1");
  EXPECT_EQ(r[0].text, "CT abdomen.\r\nL1 compression fracture, 30%.\r\nSaid \"new\".");
  EXPECT_EQ(r[0].date, "2024-01-02");
  EXPECT_EQ(r[1].caseId, "a2");
  EXPECT_EQ(r[1].line, 5);
}

TEST(ReportReader, UsesConfiguredColumnNames) {
  ReportReaderOptions o;
  o.idColumn = "study";
  o.textColumn = "body_analysed";
  o.accessionColumn = "acc";
  const auto r = parse("acc,body_analysed,study\nX9,Old T12 fracture.,s7\n", "r.csv", o);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].caseId, "s7");
  EXPECT_EQ(r[0].text, "Old T12 fracture.");
  EXPECT_EQ(r[0].accession, "X9");
}

TEST(ReportReader, MatchesColumnNamesInAnyCaseWhenNoneMatchesExactly) {
  const auto r = parse("Case_ID,TEXT,Accession\nc9,Old T12 fracture.,A7\n", "r.csv");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].caseId, "c9");
  EXPECT_EQ(r[0].accession, "A7");
  EXPECT_THROW(parse("Text,TEXT,case_id\na,b,c\n", "r.csv"), InputError);  // ambiguous
}

TEST(ReportReader, NamesAMissingColumnAndListsTheOnesThere) {
  try {
    parse("id,report\n1,text\n", "r.csv");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no column 'case_id'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("id, report"), std::string::npos);
  }
}

TEST(ReportReader, AnExplicitlyNamedOptionalColumnMustExist) {
  ReportReaderOptions o;
  o.dateColumn = "report_date";
  o.explicitDate = true;
  EXPECT_THROW(parse("case_id,text\n1,a\n", "r.csv", o), InputError);
  o.explicitDate = false;
  EXPECT_NO_THROW(parse("case_id,text\n1,a\n", "r.csv", o));
}

TEST(ReportReader, RejectsMalformedCsvWithTheLine) {
  try {
    parse("case_id,text\n1,\"never closed\n2,b\n", "r.csv");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse("case_id,text\n1,a,extra\n", "r.csv"), InputError);
  EXPECT_THROW(parse("case_id,text\n,text without id\n", "r.csv"), InputError);
  EXPECT_THROW(parse("case_id,text\n", "r.csv"), InputError);  // no reports
  EXPECT_THROW(parse("", "r.csv"), InputError);
}

TEST(ReportReader, RejectsTextThatIsNotUtf8) {
  try {
    parse("case_id,text\n1,fract\xFCre\n", "r.csv");  // Latin-1
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos);
  }
  EXPECT_NO_THROW(parse("case_id,text\n1,caf\xC3\xA9 \xE2\x80\x93 ok\n", "r.csv"));
}

TEST(ReportReader, ReadsJsonLinesWithNumbersNestedFieldsAndBlankLines) {
  const std::string jsonl =
      "{\"case_id\": 17, \"text\": \"T12 # noted.\\nRefer FLS.\"}\r\n"
      "\n"
      "{\"_source\": {\"case_id\": \"b\", \"text\": \"No fracture.\"}, \"date\": null}\n";
  const auto r = parse(jsonl, "x.jsonl");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].caseId, "17");
  EXPECT_EQ(r[0].text, "T12 # noted.\nRefer FLS.");
  EXPECT_EQ(r[1].caseId, "b");
  EXPECT_EQ(r[1].line, 3);
}

TEST(ReportReader, FollowsDottedPathsAndSearchResponses) {
  ReportReaderOptions o;
  o.idColumn = "meta.id";
  o.textColumn = "body";
  const auto r = parse("{\"meta\": {\"id\": \"m1\"}, \"body\": \"text\"}\n", "x.jsonl", o);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].caseId, "m1");
  const auto es = parse(
      "{\"hits\": {\"hits\": [{\"_source\": {\"case_id\": \"e1\", \"text\": \"a\"}},"
      " {\"_source\": {\"case_id\": \"e2\", \"text\": \"b\"}}]}}",
      "search.json");
  ASSERT_EQ(es.size(), 2u);
  EXPECT_EQ(es[1].caseId, "e2");
}

TEST(ReportReader, ReadsAJsonArray) {
  const auto r = parse("[{\"case_id\":\"a\",\"text\":\"x\"},{\"case_id\":\"b\",\"text\":\"y\"}]",
                       "export.json");
  EXPECT_EQ(r.size(), 2u);
}

TEST(ReportReader, RejectsMalformedJsonWithTheLine) {
  try {
    parse("{\"case_id\":\"a\",\"text\":\"x\"}\n{\"case_id\": \"b\", \"text\": \n", "x.jsonl");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse("{\"case_id\":\"a\"}\n", "x.jsonl"), InputError);  // no text
  EXPECT_THROW(parse("{\"case_id\":\"a\",\"text\":null}\n", "x.jsonl"), InputError);
  EXPECT_THROW(parse("{\"case_id\":[1],\"text\":\"t\"}\n", "x.jsonl"), InputError);
  EXPECT_THROW(parse("[1, 2]", "x.json"), InputError);
}

TEST(ReportReader, DetectsTheFormatFromContentWhenTheNameSaysNothing) {
  EXPECT_EQ(parse("{\"case_id\":\"a\",\"text\":\"x\"}\n", "export.txt").size(), 1u);
  EXPECT_EQ(parse("case_id,text\na,x\n", "export.txt").size(), 1u);
  ReportReaderOptions o;
  o.format = ReportFormat::kCsv;
  EXPECT_THROW(parse("{\"case_id\":\"a\",\"text\":\"x\"}\n", "x.jsonl", o), InputError);
}

TEST(ReportReader, RejectsBinaryFilesAndMissingFiles) {
  EXPECT_THROW(parse(std::string("case_id,text\n1,a\0b\n", 17), "r.csv"), InputError);
  EXPECT_THROW(readReports("/nonexistent/reports.csv", {}), InputError);
}

TEST(ReportReader, ValidatesUtf8Sequences) {
  EXPECT_TRUE(isValidUtf8("plain"));
  EXPECT_TRUE(isValidUtf8("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(isValidUtf8("\xC0\xAF"));      // overlong
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(isValidUtf8("\xE2\x80"));      // truncated
}
