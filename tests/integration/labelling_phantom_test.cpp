// Labels of a column with transitional anatomy, seen from the upper thorax to the sacrum: an
// L1 with a short rib (or a T12 without ribs, 11 rib pairs) should not shift the labels,
// because the sacrum and the vertebrae counted from above outweigh one level's ribs; the labels
// are then not delivered as certain.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "phantom/phantom.h"
#include "spine/spine_locator.h"
#include "support/phantom_spec.h"

using namespace spinescreen;

namespace {

enum class Variant { kElevenRibPairs, kLumbarRib };

// The `nth` chest-abdomen-pelvis phantom of a seed drawn with the usual anatomy, at 3 mm,
// with no fracture or mimic, given the variant.
phantom::Phantom makePhantom(uint64_t seed, int nth, Variant variant) {
  phantom::PhantomSpec spec;
  for (int index = 0, usual = 0;; ++index) {
    spec = phantom::randomSpec(seed, index);
    if (spec.variant.empty() && usual++ == nth) break;
  }
  spinescreen::testing::scanAs(spec, phantom::FovKind::kChestAbdomenPelvis, 256, 400.0, 3.0);
  spinescreen::testing::withoutDeformities(spec);
  for (auto& v : spec.column) {
    v.sacralised = false;
    if (v.label == "T11" && variant == Variant::kElevenRibPairs) v.ribLength = 0.35;
    if (v.label == "T12") v.ribLength = variant == Variant::kElevenRibPairs ? 0.0 : 0.35;
    if (v.label == "L1") v.ribLength = variant == Variant::kLumbarRib ? 0.15 : 0.0;
  }
  spec.variant = variant == Variant::kElevenRibPairs ? "11 rib pairs" : "lumbar rib on L1";
  return phantom::generate(spec, {.masks = false, .render = true});
}

// Each lumbar vertebra of the truth is found with its own label within 20 mm (the
// identification rule), and every label is delivered below certainty.
void expectLumbarLabels(const phantom::Phantom& p) {
  const SpineModel m = spine::locateSpine(p.ct);
  int lumbar = 0;
  for (const auto& t : p.truth.vertebrae) {
    if (t.label[0] != 'L') continue;
    ++lumbar;
    const Vertebra* nearest = nullptr;
    double best = std::numeric_limits<double>::infinity();
    for (const Vertebra& v : m.vertebrae)
      if (const double d = (v.centroidLps - t.centroidLps).norm(); d < best) {
        best = d;
        nearest = &v;
      }
    ASSERT_NE(nearest, nullptr);
    EXPECT_LT(best, 20.0) << t.label;
    EXPECT_EQ(nearest->label, t.label) << "at " << best << " mm";
  }
  EXPECT_EQ(lumbar, 5);
  for (const Vertebra& v : m.vertebrae) {
    ASSERT_TRUE(v.labelConfidence);
    EXPECT_LE(*v.labelConfidence, 0.75) << v.label;
  }
}

}  // namespace

TEST(LabellingOnPhantom, ALumbarRibDoesNotShiftTheLumbarLabels) {
  for (int nth : {0, 1, 2}) {
    SCOPED_TRACE(nth);
    expectLumbarLabels(makePhantom(4242, nth, Variant::kLumbarRib));
  }
}

// Known failure: of these three columns with 11 rib pairs only the second keeps its lumbar
// labels; the other two are labelled one level up, as if the last rib were T12's. The sacrum
// that would settle it is weighed with guessed rates below S1 (both alae on 0.5 of the
// segments; measured 0.17 on the first and 0.01 further down), and the measured rates, which
// label two of the three right, cost the 200 development phantoms 16 identifications (alae
// found on S1 and S2 of one patient are not independent finds). See validation/spine.md,
// ninth pass.
TEST(LabellingOnPhantom, DISABLED_ElevenRibPairsDoNotShiftTheLumbarLabels) {
  for (int nth : {0, 1, 2}) {
    SCOPED_TRACE(nth);
    expectLumbarLabels(makePhantom(4242, nth, Variant::kElevenRibPairs));
  }
}
