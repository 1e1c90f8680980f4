#include "report/picture.h"

#include <gtest/gtest.h>

#include "morphometry/morphometry.h"
#include "morphometry/synthetic_body.h"
#include "report/html.h"

using namespace spinescreen;
using spinescreen::testing::BodySpec;

namespace {

// Three stacked bodies (T12, L1, L2) in a CT, L1 wedge-fractured, measured and graded.
struct Column {
  HuVolume ct;
  SpineModel model;
  PatientFindings patient;
};

Column makeColumn() {
  Column c;
  Grid g;
  g.size = {80, 80, 120};
  g.spacing = {1.0, 1.0, 1.0};
  g.origin = {-40, -40, -60};
  c.ct = HuVolume(g, 30);
  c.model.bodies = LabelImage(g, 0);
  const char* labels[] = {"T12", "L1", "L2"};
  for (int i = 0; i < 3; ++i) {
    BodySpec b;
    b.centre = {0.1, 0.1, 32.0 - 32.0 * i + 0.1};
    if (i == 1) {
      b.ha = 15;
      b.hm = 21;
    }
    spinescreen::testing::paintBody(b, c.model.bodies, 19 + i, &c.ct, 400);
    Vertebra v;
    v.label = labels[i];
    v.bodyLabel = 19 + i;
    v.centroidLps = b.centre;
    v.bodyCentroidLps = b.centre;
    c.model.vertebrae.push_back(v);
    c.model.centrelineLps.push_back(b.centre);
  }
  morphometry::measureHeights(c.ct, c.model, {});
  morphometry::gradeVertebrae(c.model.vertebrae);
  c.patient.fractureDetected = true;
  c.patient.fracturedLevels = {"L1"};
  c.patient.densityLevel = "T12";
  c.patient.densityHu = 150;
  return c;
}

}  // namespace

TEST(Picture, DrawsTheColumnWithTheFractureInRed) {
  const Column c = makeColumn();
  ASSERT_GE(c.model.vertebrae[1].genantGrade.value_or(0), 2);
  const report::RgbImage img = report::renderSagittal(c.ct, c.model, c.patient);
  EXPECT_GE(img.width, 400);
  EXPECT_GE(img.height, 400);
  // Not blank: many grey levels.
  std::set<int> greys;
  size_t red = 0, green = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = img.at(x, y);
      if (p[0] == p[1] && p[1] == p[2]) greys.insert(p[0]);
      if (p[0] > 180 && p[1] < 120 && p[2] < 120) ++red;
      if (p[1] > 180 && p[0] < 120 && p[2] < 120) ++green;
    }
  EXPECT_GT(greys.size(), 3u);
  EXPECT_GT(red, 200u);   // the fractured body tinted, its lines and label
  EXPECT_GT(green, 50u);  // the normal neighbours' height lines
  // The red sits at L1's height in the picture, between the other two bodies' labels.
  size_t redNearL1 = 0;
  const int midRow = img.height / 2;
  for (int y = midRow - img.height / 8; y < midRow + img.height / 8; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = img.at(x, y);
      if (p[0] > 180 && p[1] < 120 && p[2] < 120) ++redNearL1;
    }
  EXPECT_GT(redNearL1, red / 2);
}

TEST(Picture, EncodesAValidPng) {
  report::RgbImage img(20, 10);
  const uint8_t white[3] = {255, 255, 255};
  report::drawText(img, 0, 0, "L1", white, 1);
  const auto png = report::encodePng(img);
  ASSERT_GT(png.size(), 8u);
  const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  EXPECT_TRUE(std::equal(sig, sig + 8, png.begin()));
}

TEST(Picture, WorksWithoutACentrelineOrBodies) {
  Column c = makeColumn();
  c.model.centrelineLps.clear();
  c.model.bodies = LabelImage();
  const report::RgbImage img = report::renderSagittal(c.ct, c.model, c.patient);
  EXPECT_GT(img.width, 0);
  EXPECT_GT(img.height, 0);
}

TEST(Html, IsSelfContainedAndEscapesText) {
  Report r;
  r.status = Status::kOk;
  r.statusReason = "analysed";
  r.warnings = {"<script>alert(1)</script>"};
  Vertebra v;
  v.label = "L1";
  v.heights = Heights{15, 21, 26};
  v.genantGrade = 2;
  v.morphology = Morphology::kWedge;
  r.vertebrae = {v};
  r.patient.fractureDetected = true;
  r.patient.fracturedLevels = {"L1"};
  r.patient.referralRecommended = true;
  r.patient.referralReasons = {"moderate (grade 2) wedge fracture at L1 & <more>"};
  const std::vector<uint8_t> png{1, 2, 3, 4, 5};
  const std::string html = report::renderHtml(r, png);
  EXPECT_NE(html.find("data:image/png;base64,AQIDBAU="), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("L1 &amp; &lt;more&gt;"), std::string::npos);
  EXPECT_NE(html.find("Not for diagnostic use without review"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);  // nothing fetched from elsewhere
}

TEST(Html, Base64MatchesKnownVectors) {
  auto b = [](const std::string& s) {
    return report::base64(std::vector<uint8_t>(s.begin(), s.end()));
  };
  EXPECT_EQ(b(""), "");
  EXPECT_EQ(b("f"), "Zg==");
  EXPECT_EQ(b("fo"), "Zm8=");
  EXPECT_EQ(b("foo"), "Zm9v");
  EXPECT_EQ(b("foobar"), "Zm9vYmFy");
}
