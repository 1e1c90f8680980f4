// A synthetic phantom's own truth label map, given as a user's mask in both conventions
// (VerSe and TotalSegmentator numbering), gives identical grades from both, and the grades of
// the phantom's truth.
#include <gtest/gtest.h>

#include <map>

#include "core/study.h"
#include "phantom/phantom.h"
#include "pipeline/analyze.h"
#include "spine/from_mask.h"
#include "support/phantom_spec.h"

using namespace spinescreen;

namespace {

// One thoracolumbar phantom at 1.5 mm with a moderate wedge fracture at L1 and a severe crush
// at T11, no other deformity or mimic, so that every truth grade lies well inside its band.
phantom::Phantom makePhantom() {
  phantom::PhantomSpec spec = phantom::randomSpec(9090, 3);
  spinescreen::testing::scanAs(spec, phantom::FovKind::kThoracolumbar, 256, 384.0, 1.5);
  spinescreen::testing::withoutDeformities(spec);
  for (auto& v : spec.column) {
    if (v.label == "L1") {
      v.fracture = phantom::FractureType::kWedge;
      v.fractureLoss = 0.25;
    }
    if (v.label == "T11") {
      v.fracture = phantom::FractureType::kCrush;
      v.fractureLoss = 0.5;
    }
  }
  return phantom::generate(spec);
}

spine::MaskImage toMask(const LabelImage& verse, bool totalSegmentator) {
  spine::MaskImage m(verse.grid(), 0);
  for (size_t i = 0; i < m.data().size(); ++i) {
    const int n = verse.data()[i];
    // TotalSegmentator v2: C1=50 ... T1=43 ... L1=31 ... L5=27, S1=26 (VerSe: C1=1 ... L5=24).
    m.data()[i] = static_cast<int16_t>(totalSegmentator && n >= 1 && n <= 24 ? 51 - n : n);
  }
  return m;
}

std::map<std::string, Vertebra> gradeWith(const phantom::Phantom& p,
                                          spine::MaskConvention convention, bool ts) {
  LoadedStudy study;
  study.volume = p.ct;
  study.info.format = "nifti";
  const SpineModel model = spine::modelFromMask(study.volume, toMask(p.vertebrae, ts), convention);
  const pipeline::Analysis a = pipeline::analyzeWithModel(study, {}, model);
  std::map<std::string, Vertebra> out;
  for (const auto& v : a.report.vertebrae) out[v.label] = v;
  return out;
}

}  // namespace

TEST(MaskRouteOnPhantom, BothConventionsGiveIdenticalGradesAndTheTruthGrades) {
  const phantom::Phantom p = makePhantom();
  ASSERT_TRUE(p.spec.variant.empty()) << "the chosen case must have the standard column";
  const auto verse = gradeWith(p, spine::MaskConvention::kVerse, false);
  const auto ts = gradeWith(p, spine::MaskConvention::kTotalSegmentator, true);
  ASSERT_EQ(verse.size(), ts.size());
  int compared = 0;
  for (const auto& t : p.truth.vertebrae) {
    ASSERT_TRUE(verse.count(t.label)) << t.label;
    ASSERT_TRUE(ts.count(t.label)) << t.label;
    const Vertebra& a = verse.at(t.label);
    const Vertebra& b = ts.at(t.label);
    EXPECT_EQ(a.genantGrade, b.genantGrade) << t.label;
    EXPECT_EQ(a.heights.has_value(), b.heights.has_value()) << t.label;
    // Compared where both sides grade: the truth grades bodies wholly in view; the mask route
    // does not grade a vertebra whose label touches the volume's edge (posterior elements cut).
    if (!t.genantGrade || !a.genantGrade) continue;
    EXPECT_DOUBLE_EQ(a.heights->anteriorMm, b.heights->anteriorMm) << t.label;
    EXPECT_EQ(a.genantGrade, t.genantGrade)
        << t.label << ": measured loss " << a.heightLoss.value_or(-1);
    ++compared;
  }
  EXPECT_GE(compared, 4);
  EXPECT_EQ(verse.at("L1").genantGrade, 2);
  EXPECT_EQ(verse.at("T11").genantGrade, 3);
}
