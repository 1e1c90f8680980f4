#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <typeinfo>

#include "core/errors.h"
#include "evaluate/evaluate.h"

using namespace spinescreen;
using namespace spinescreen::evaluate;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json goodTruth() {
  return json::parse(R"({"case_id":"c1","label_anchor":true,
    "vertebrae":[{"label":"L1","centroid_lps_mm":[1,2,3],"genant_grade":2,"morphology":"wedge",
                  "heights_mm":{"anterior":18,"middle":22,"posterior":27}},
                 {"label":"L2","centroid_lps_mm":[1,2,-27],"genant_grade":null}],
    "patient":{"any_fracture":true,"max_grade":2,"l1_trabecular_hu":101.5}})");
}

json goodReport() {
  return json::parse(R"({"schema_version":"1","tool":{"name":"spinescreen","version":"x"},
    "status":"ok","input":{"path":"x"},
    "vertebrae":[{"label":"L1","centroid_lps_mm":[1,2,3],"genant_grade":0,"heights_mm":null}],
    "patient":{"fracture_detected":false,"max_genant_grade":0,"referral_recommended":false,
               "fracture_score":0.2,"l1_trabecular_hu":null}})");
}

std::string expectInputError(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an InputError: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no error";
  return {};
}

fs::path tempFile(const std::string& name, const std::string& text) {
  const fs::path d =
      fs::temp_directory_path() / ("spinescreen_eval_rd_" + std::to_string(getpid()));
  fs::create_directories(d);
  std::ofstream(d / name, std::ios::binary) << text;
  return d / name;
}

}  // namespace

TEST(TruthReader, ReadsEveryField) {
  const TruthCase t = parseTruth(goodTruth(), "t");
  EXPECT_EQ(t.caseId, "c1");
  ASSERT_EQ(t.vertebrae.size(), 2u);
  EXPECT_EQ(t.vertebrae[0].genantGrade, 2);
  EXPECT_FALSE(t.vertebrae[1].genantGrade.has_value());
  ASSERT_TRUE(t.vertebrae[0].heights);
  EXPECT_DOUBLE_EQ(t.vertebrae[0].heights->anteriorMm, 18);
  EXPECT_EQ(t.anyFracture, true);
  EXPECT_EQ(t.l1TrabecularHu, 101.5);
  EXPECT_TRUE(t.labelAnchor);
}

TEST(TruthReader, RejectsMalformedTruthNamingTheField) {
  auto mutate = [](auto f) {
    json j = goodTruth();
    f(j);
    return j;
  };
  const std::vector<std::pair<json, std::string>> cases = {
      {json::array(), "object"},
      {mutate([](json& j) { j.erase("case_id"); }), "case_id"},
      {mutate([](json& j) { j["vertebrae"] = "L1"; }), "vertebrae must be an array"},
      {mutate([](json& j) { j["vertebrae"][0]["label"] = "X9"; }), "not a vertebra label"},
      {mutate([](json& j) { j["vertebrae"][0]["label"] = 5; }), "label must be a string"},
      {mutate([](json& j) {
         j["vertebrae"][0]["centroid_lps_mm"] = {1, 2};
       }),
       "3 numbers"},
      {mutate([](json& j) {
         j["vertebrae"][0]["centroid_lps_mm"] = {1, "2", 3};
       }),
       "number"},
      {mutate([](json& j) { j["vertebrae"][0]["genant_grade"] = 4; }), "not 0..3"},
      {mutate([](json& j) { j["vertebrae"][0]["genant_grade"] = 1.5; }), "integer"},
      {mutate([](json& j) { j["vertebrae"][0]["morphology"] = "flat"; }), "morphology"},
      {mutate([](json& j) {
         j["vertebrae"][0]["heights_mm"] = {{"anterior", 1}};
       }),
       "lacks"},
      {mutate([](json& j) { j["vertebrae"][1]["label"] = "L1"; }), "twice"},
      {mutate([](json& j) { j["label_anchor"] = "yes"; }), "label_anchor"},
      {mutate([](json& j) { j.erase("patient"); }), "patient"},
      {mutate([](json& j) { j["patient"]["l1_trabecular_hu"] = "low"; }), "l1_trabecular_hu"},
  };
  for (const auto& [j, fragment] : cases) {
    const std::string msg = expectInputError([&] { parseTruth(j, "truth.json"); });
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg << " / wanted " << fragment;
    EXPECT_NE(msg.find("truth.json"), std::string::npos) << msg;
  }
}

TEST(TruthReader, RejectsFilesThatAreNotJson) {
  const auto p = tempFile("broken.json", "{\"case_id\": \"a\", ");
  const std::string msg = expectInputError([&] { readTruth(p.string()); });
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
  expectInputError([&] { readTruth((p.parent_path() / "absent.json").string()); });
  const auto bin = tempFile("bin.json", std::string("\x00\xff\x10", 3));
  expectInputError([&] { readTruth(bin.string()); });
}

TEST(ReportReader, ReadsStatusVertebraeAndPatient) {
  const PredCase p = parseReport(goodReport(), "r");
  EXPECT_EQ(p.status, "ok");
  ASSERT_EQ(p.vertebrae.size(), 1u);
  EXPECT_EQ(p.vertebrae[0].genantGrade, 0);
  EXPECT_FALSE(p.fractureDetected);
  EXPECT_EQ(p.fractureScore, 0.2);
  EXPECT_FALSE(p.l1TrabecularHu);
}

TEST(ReportReader, RejectsMalformedReports) {
  auto mutate = [](auto f) {
    json j = goodReport();
    f(j);
    return j;
  };
  const std::vector<std::pair<json, std::string>> cases = {
      {json("ok"), "object"},
      {mutate([](json& j) { j["status"] = "done"; }), "status"},
      {mutate([](json& j) { j.erase("status"); }), "status"},
      {mutate([](json& j) { j.erase("vertebrae"); }), "vertebrae"},
      {mutate([](json& j) { j["vertebrae"][0] = 3; }), "must be an object"},
      {mutate([](json& j) { j["vertebrae"][0].erase("centroid_lps_mm"); }), "centroid_lps_mm"},
      {mutate([](json& j) { j["patient"]["fracture_detected"] = "no"; }), "fracture_detected"},
      {mutate([](json& j) { j["patient"]["fracture_score"] = 1.5; }), "fracture_score"},
      {mutate([](json& j) { j["patient"] = nullptr; }), "patient"},
  };
  for (const auto& [j, fragment] : cases) {
    const std::string msg = expectInputError([&] { parseReport(j, "report.json"); });
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg << " / wanted " << fragment;
  }
}

TEST(ReadsCsv, ReadsGradesWithUnknownsAndMorphology) {
  const auto p = tempFile("reads.csv",
                          "case_id,level,genant_grade,morphology\n"
                          "a,L1,2,wedge\na,L2,,\nb,T12,0,normal\n");
  const auto cases = readReadsCsv(p.string());
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].caseId, "a");
  EXPECT_FALSE(cases[0].hasPositions);
  ASSERT_EQ(cases[0].vertebrae.size(), 2u);
  EXPECT_EQ(cases[0].vertebrae[0].genantGrade, 2);
  EXPECT_EQ(cases[0].vertebrae[0].morphology, "wedge");
  EXPECT_FALSE(cases[0].vertebrae[1].genantGrade);
  EXPECT_EQ(cases[1].vertebrae[0].label, "T12");
}

TEST(ReadsCsv, RejectsMalformedReads) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"case_id,level\na,L1\n", "genant_grade"},
      {"case_id,level,genant_grade\na,L9,1\n", "not a vertebra label"},
      {"case_id,level,genant_grade\na,L1,5\n", "not 0, 1, 2, 3"},
      {"case_id,level,genant_grade\na,L1,two\n", "not 0, 1, 2, 3"},
      {"case_id,level,genant_grade\na,L1,1\na,L1,2\n", "twice"},
      {"case_id,level,genant_grade\n,L1,1\n", "empty case_id"},
      {"case_id,level,genant_grade,morphology\na,L1,1,odd\n", "morphology"},
      {"case_id,level,genant_grade\na,L1,\"1\n", "never closed"},
      {"case_id,level,genant_grade\na,L1\n", "fields"},
  };
  for (const auto& [text, fragment] : cases) {
    const auto p = tempFile("bad.csv", text);
    const std::string msg = expectInputError([&] { readReadsCsv(p.string()); });
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg << " / wanted " << fragment;
  }
}

// Mutated inputs: every reader either accepts the text or rejects it with an InputError; nothing
// else escapes (no crash, no other exception type).
TEST(Readers, MutatedInputsEitherParseOrRaiseInputError) {
  const std::string truthText = goodTruth().dump();
  const std::string reportText = goodReport().dump();
  const std::string readsText = "case_id,level,genant_grade,morphology\na,L1,2,wedge\nb,T12,,\n";
  const std::string ctdText = R"([{"direction":["P","I","R"]},{"label":20,"X":2.5,"Y":3,"Z":4}])";
  VoxelGrid grid;
  grid.size[0] = grid.size[1] = grid.size[2] = 16;
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\",:0123456789.-eE truefalsnul\n\\LTCS";
  auto mutate = [&](std::string s) {
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          s.erase(pos, 1 + rng() % 8);
          break;
        case 2:
          s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          s[pos] = static_cast<char>(rng() % 256);
      }
    }
    return s;
  };
  int rejected = 0;
  for (int i = 0; i < 250; ++i) {
    const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> targets = {
        {mutate(truthText), [](const std::string& p) { readTruth(p); }},
        {mutate(reportText), [](const std::string& p) { readReport(p); }},
        {mutate(readsText), [](const std::string& p) { readReadsCsv(p); }},
        {mutate(ctdText), [&](const std::string& p) { readVerseCentroids(p, grid); }},
    };
    for (const auto& [text, read] : targets) {
      const auto p = tempFile("fuzz.txt", text);
      try {
        read(p.string());
      } catch (const InputError&) {
        ++rejected;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "unexpected " << typeid(e).name() << ": " << e.what()
                      << "\ninput: " << text;
        return;
      }
    }
  }
  EXPECT_GT(rejected, 100);  // the mutations do break things; the readers notice
}
