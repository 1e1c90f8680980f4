// Behaviour of the spine stage on small columns built in code, and on the development CTs
// when SPINESCREEN_TEST_DATA is set.
#include "spine/spine_locator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/labels.h"
#include "io/nifti.h"
#include "spine/column.h"
#include "support/test_data.h"

using namespace spinescreen;

namespace {

struct ColumnSpec {
  int vertebrae = 5;
  double bodyHeightMm = 24.0;
  double discMm = 8.0;
  double tiltDeg = 0.0;  // sagittal tilt of the column axis
  double spacingMm = 1.5;
  double sliceMm = 1.5;
  double trabecularHu = 180.0;
  double cortexHu = 600.0;
  double discHu = 80.0;
  double aortaHu = 0.0;        // > 0: a contrast-filled aorta touching the bodies front-left
  double aortaLeftMm = 14.0;   // where its centre lies: left of the body centre
  double aortaFrontMm = 20.0;  // and in front of it
  bool aortaOutside = false;   // the aorta only displaces soft tissue (the bodies keep their
                               // cortex where it abuts them)
  int aortaBesideBody = -1;    // >= 0: the aorta only beside the lower half of that body and
                               // the disc below it (a vessel crossing)
  double sideWedgeDeg = 0.0;   // endplates tilted side to side by half this each
  double bodyHalfWidthMm = 20.0;
  double bodyHalfDepthMm = 15.0;
  int fusedDisc = -1;          // >= 0: that disc (0 = above the first body) is bone, not disc
  int ribBodies = 0;           // the first this many bodies carry a rib pair (500 HU bone)
  double organTipHu = 0.0;     // > 0: a small blob of this HU on both sides of the first rib-free
                               // body, where the tip of an enhancing kidney lies
  double wedgeDeg = 0.0;       // endplates tilted by half this each, every body taller in front
  double islandHu = 0.0;       // > 0: a bone island (radius 4 mm, this HU) in the middle body,
                               // 8 mm left of its centre, its top 3 mm below the upper endplate
  double twinLateralMm = 0.0;  // > 0: beside the bodies from `twinFrom` on, a mirrored pair
  int twinFrom = 0;            // of dense body-like bones with a dark hole behind each, this
                               // far either side of the column (the sacral alae)
};

// A trunk of soft tissue holding a straight column of elliptic bodies (cortical shell,
// trabecular core), discs, and a bony ring around a canal behind each body. Returns the volume
// and the body centres (cranial first).
HuVolume buildColumn(const ColumnSpec& s, std::vector<Vec3>* centres) {
  const double period = s.bodyHeightMm + s.discMm;
  const double length = s.vertebrae * period + 30.0;
  Grid g;
  g.spacing = {s.spacingMm, s.spacingMm, s.sliceMm};
  g.size = {static_cast<int64_t>(200.0 / s.spacingMm), static_cast<int64_t>(170.0 / s.spacingMm),
            static_cast<int64_t>(length / s.sliceMm)};
  g.origin = {-100.0, -100.0, 0.0};
  HuVolume v(g, -1000);
  const double th = s.tiltDeg * 3.14159265358979 / 180.0;
  const Vec3 axis{0.0, std::sin(th), std::cos(th)};  // towards superior (and posterior)
  const Vec3 ant = Vec3{0.0, -std::cos(th), std::sin(th)};
  const Vec3 lat{1.0, 0.0, 0.0};
  const Vec3 base{0.0, 0.0, length / 2.0};  // column centre
  const double top = s.vertebrae * period / 2.0;
  if (centres) {
    centres->clear();
    for (int i = 0; i < s.vertebrae; ++i)
      centres->push_back(base + axis * (top - s.discMm - s.bodyHeightMm / 2.0 - i * period));
  }
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        const Vec3 p = g.indexToLps({double(i), double(j), double(k)});
        // Trunk: an ellipse 90 x 75 mm (half axes), centred 10 mm in front of the column.
        const double ex = p.x / 90.0, ey = (p.y + 10.0) / 75.0;
        if (ex * ex + ey * ey > 1.0) continue;
        double hu = 40.0;
        const Vec3 q = p - base;
        const double h = q.dot(axis), a = q.dot(ant), l = q.dot(lat);
        const double rel = top - h;  // distance below the column's top
        if (rel >= 0.0 && rel <= s.vertebrae * period) {
          const double inPeriod = std::fmod(rel, period);
          // Wedged bodies: each endplate tilted, so the disc is thinner in front.
          const double tilt = a * std::tan(0.5 * s.wedgeDeg * 3.14159265358979 / 180.0) +
                              l * std::tan(0.5 * s.sideWedgeDeg * 3.14159265358979 / 180.0);
          const bool inDisc =
              ((inPeriod >= tilt && inPeriod < s.discMm - tilt) || inPeriod >= period + tilt) &&
              static_cast<int>(std::floor(rel / period)) != s.fusedDisc;
          // Body: an ellipse, by default 20 mm (lateral) x 15 mm (AP) half axes.
          const double bx = l / s.bodyHalfWidthMm, by = a / s.bodyHalfDepthMm;
          const double br = std::sqrt(bx * bx + by * by);
          if (br <= 1.0) {
            if (inDisc) {
              hu = s.discHu;
            } else {
              const double fromEnd = inPeriod < tilt ? tilt - inPeriod
                                                     : std::min(inPeriod - (s.discMm - tilt),
                                                                period + tilt - inPeriod);
              hu = (br > 0.92 || fromEnd < 1.5) ? s.cortexHu : s.trabecularHu;
            }
          }
          // Canal centred 24 mm behind the body centre, radius 8 mm, ring to 14 mm.
          const double cr = std::hypot(l, a + 24.0);
          if (!inDisc && cr > 8.0 && cr <= 14.0 && a < -12.0) hu = s.cortexHu * 0.8;
          if (cr <= 8.0) hu = 20.0;
          if (s.twinLateralMm > 0.0 && static_cast<int>(std::floor(rel / period)) >= s.twinFrom) {
            const double tl = std::abs(l) - s.twinLateralMm;
            const double tr = std::hypot(tl / 14.0, a / 14.0);
            if (tr <= 1.0) hu = tr > 0.9 ? 700.0 : 260.0;
            const double hr = std::hypot(tl, a + 24.0);
            if (hr > 7.0 && hr <= 12.0 && a < -12.0) hu = 600.0;
            if (hr <= 7.0) hu = 20.0;
          }
        }
        // Ribs: bars of radius 4 mm from 22 to 85 mm beside the body, 18 mm behind its centre,
        // at the level of its upper third.
        for (int b = 0; b < s.ribBodies; ++b) {
          const double hb = top - s.discMm - s.bodyHeightMm / 3.0 - b * period;
          if (std::abs(l) >= 22.0 && std::abs(l) <= 85.0 && std::hypot(h - hb, a + 18.0) <= 4.0)
            hu = 500.0;
        }
        if (s.organTipHu > 0.0) {
          const double hb = top - s.discMm - s.bodyHeightMm / 3.0 - s.ribBodies * period;
          const double ox = (std::abs(l) - 55.0) / 12.0, oy = (a + 14.0) / 8.0, oz = (h - hb) / 5.0;
          if (ox * ox + oy * oy + oz * oz <= 1.0) hu = s.organTipHu;
        }
        if (s.islandHu > 0.0) {
          const double hi = top - s.discMm - 7.0 - (s.vertebrae / 2) * period;
          if (std::sqrt((l - 8.0) * (l - 8.0) + a * a + (h - hi) * (h - hi)) <= 4.0)
            hu = s.islandHu;
        }
        // Aorta: radius 12 mm, centred 14 mm left and 20 mm in front of the body centre axis
        // (so it touches the front-left of the bodies), along the whole trunk.
        const double crossing = rel - s.aortaBesideBody * period - s.discMm;
        if (s.aortaHu > 0.0 && std::hypot(l - s.aortaLeftMm, a - s.aortaFrontMm) <= 12.0 &&
            !(s.aortaOutside && hu != 40.0) &&
            (s.aortaBesideBody < 0 ||
             (crossing >= 0.5 * s.bodyHeightMm && crossing <= period - 1.0)))
          hu = s.aortaHu;
        v.at(i, j, k) = static_cast<int16_t>(hu);
      }
  return v;
}

}  // namespace

TEST(SpineLocator, FindsEveryBodyOfASyntheticColumnInOrder) {
  ColumnSpec spec;
  std::vector<Vec3> truth;
  const HuVolume v = buildColumn(spec, &truth);
  const SpineModel m = spine::locateSpine(v);
  int matched = 0;
  double lastZ = 1e9;
  for (const Vertebra& vt : m.vertebrae) {
    EXPECT_LT(vt.centroidLps.z, lastZ) << "not sorted cranial to caudal";
    lastZ = vt.centroidLps.z;
    if (!vt.measurable || !vt.bodyCentroidLps) continue;
    double best = 1e9;
    Vec3 diff;
    for (const Vec3& t : truth)
      if ((*vt.bodyCentroidLps - t).norm() < best) {
        best = (*vt.bodyCentroidLps - t).norm();
        diff = *vt.bodyCentroidLps - t;
      }
    EXPECT_LT(best, 2.5) << vt.label << " off by " << diff.x << " " << diff.y << " " << diff.z;
    ++matched;
  }
  // The two end bodies touch the ends of the column; the inner ones must all be found.
  EXPECT_GE(matched, spec.vertebrae - 2);
  EXPECT_LE(matched, spec.vertebrae);
  // The bodies lie on the input grid, each voxel divided so that no spacing exceeds 1 mm.
  const Grid& bg = m.bodies.grid();
  for (int d = 0; d < 3; ++d) {
    EXPECT_LE(bg.spacing[d], 1.0 + 1e-9);
    const double parts = v.grid().spacing[d] / bg.spacing[d];
    EXPECT_NEAR(parts, std::round(parts), 1e-9);
    EXPECT_EQ(bg.size[d], v.grid().size[d] * static_cast<int64_t>(std::lround(parts)));
  }
  EXPECT_LT((bg.indexToLps({-0.5, -0.5, -0.5}) - v.grid().indexToLps({-0.5, -0.5, -0.5})).norm(),
            1e-6)
      << "bodies must cover the input's extent";
}

namespace {
// Every inner body is found at its centre and no body voxel lies in the aorta beside it.
void expectColumnNotAorta(const ColumnSpec& spec) {
  std::vector<Vec3> truth;
  const HuVolume v = buildColumn(spec, &truth);
  const SpineModel m = spine::locateSpine(v);
  int matched = 0;
  for (const Vertebra& vt : m.vertebrae) {
    if (!vt.measurable || !vt.bodyCentroidLps) continue;
    double best = 1e9;
    for (const Vec3& t : truth) best = std::min(best, (*vt.bodyCentroidLps - t).norm());
    EXPECT_LT(best, 2.5) << vt.label;
    ++matched;
  }
  EXPECT_GE(matched, spec.vertebrae - 2);
  const Grid& g = m.bodies.grid();
  int inAorta = 0;
  for (size_t i = 1; i + 1 < truth.size(); ++i) {
    const Vec3& t = truth[i];
    const Vec3 idx = g.lpsToIndex(t + Vec3{14.0, -20.0, 0.0});
    inAorta += m.bodies.valueOr(std::lround(idx.x), std::lround(idx.y), std::lround(idx.z), 0) != 0;
  }
  EXPECT_EQ(inAorta, 0);
}
}  // namespace

namespace {
// How much of the bodies' mask lies in the aorta beside the inner bodies, and the largest
// sideways error of an inner body's centroid.
struct AortaLeak {
  double aortaMl = 0.0;  // body mask in the aorta
  double worstLateralMm = 0.0;
  int inner = 0;  // inner bodies found
};
AortaLeak aortaLeak(const ColumnSpec& spec) {
  std::vector<Vec3> truth;
  const HuVolume v = buildColumn(spec, &truth);
  const SpineModel m = spine::locateSpine(v);
  AortaLeak r;
  const Grid& g = m.bodies.grid();
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        if (!m.bodies.at(i, j, k)) continue;
        const Vec3 p = g.indexToLps({double(i), double(j), double(k)});
        if (p.z > truth[1].z + 13.0 || p.z < truth[truth.size() - 2].z - 13.0) continue;
        // (Outside the body's ellipse grown by 1 mm: where the aorta displaced soft tissue.)
        if (std::hypot(p.x - spec.aortaLeftMm, p.y + spec.aortaFrontMm) < 12.0 &&
            std::hypot(p.x / 21.0, p.y / 16.0) > 1.0)
          r.aortaMl += g.spacing.x * g.spacing.y * g.spacing.z / 1000.0;
      }
  for (const Vertebra& vt : m.vertebrae) {
    if (!vt.measurable || !vt.bodyCentroidLps) continue;
    for (size_t i = 1; i + 1 < truth.size(); ++i)
      if (std::abs(vt.bodyCentroidLps->z - truth[i].z) < 8.0) {
        r.worstLateralMm = std::max(r.worstLateralMm, std::abs(vt.bodyCentroidLps->x));
        ++r.inner;
      }
  }
  return r;
}
}  // namespace

namespace {
// An enhanced aorta pressed against the front-left side of the bodies (26 mm left of their
// centres and 8 mm in front), displacing soft tissue only.
ColumnSpec abuttingAorta(double aortaHu, double cortexHu, double sliceMm) {
  ColumnSpec spec;
  spec.aortaHu = aortaHu;
  spec.cortexHu = cortexHu;
  spec.aortaOutside = true;
  spec.aortaLeftMm = 26.0;
  spec.aortaFrontMm = 8.0;
  spec.sliceMm = sliceMm;
  spec.spacingMm = 0.8;
  return spec;
}

// Bodies of upper thoracic size: 28 x 22 mm across, `heightMm` tall, 5 mm discs.
void upperThoracicBodies(ColumnSpec& spec, int count, double heightMm) {
  spec.vertebrae = count;
  spec.bodyHeightMm = heightMm;
  spec.discMm = 5.0;
  spec.bodyHalfWidthMm = 14.0;
  spec.bodyHalfDepthMm = 11.0;
}

// A column of osteoporotic bodies: trabecular bone and cortex at these HU.
ColumnSpec osteoporotic(double trabecularHu, double cortexHu) {
  ColumnSpec s;
  s.trabecularHu = trabecularHu;
  s.cortexHu = cortexHu;
  return s;
}

// The tracker's run through a synthetic column, which spans more than 50 slices.
spine::detail::ColumnTrack trackThrough(const ColumnSpec& spec) {
  spine::detail::ColumnTrack t = spine::detail::trackColumn(buildColumn(spec, nullptr));
  EXPECT_GT(t.lastSlice - t.firstSlice, 50);
  return t;
}

}  // namespace

// Known weakness, kept as a check for a fix: an enhanced aorta pressed against the side of the
// bodies, as bright as their cortex. The outline runs on into it on that side, and the body,
// centred on the mean of its outline, is pulled 5.4 mm towards it. Taking the centre from the
// mirrored rays of the bodies' back half passes this, but on the real abdomen CT (3 mm voxels)
// pedicles lengthen the back rays on one side and L4 moved 7.7 mm, and the head CT then showed
// a "spine".
TEST(SpineLocator, DISABLED_AnAortaAsBrightAsTheCortexBesideTheBodiesDoesNotPullThemSideways) {
  const AortaLeak r = aortaLeak(abuttingAorta(450.0, 450.0, 3.0));
  EXPECT_EQ(r.inner, 3);
  EXPECT_LT(r.worstLateralMm, 1.5);
}

// The same aorta darker than the cortex (330 against 600 HU, still above the body's
// threshold): the body ends at its cortical ring, not at the aorta's far wall (2.1 ml of aorta
// in the bodies before).
TEST(SpineLocator, TheBodyEndsAtItsCortexWhereAnEnhancedAortaAbutsIt) {
  const AortaLeak r = aortaLeak(abuttingAorta(330.0, 600.0, 0.8));
  EXPECT_EQ(r.inner, 3);
  EXPECT_LT(r.aortaMl, 0.2);
}

// Known weakness, kept as a check for a fix: upper thoracic bodies (28 mm wide, 15 mm tall,
// 5 mm discs) with an enhanced vessel of 24 mm pressed against their left side at mid-depth, as
// the descending aorta or the arch can lie. The engine finds only two bodies of plausible size
// and reports no spine in view (exit 4). With the vessel 8 mm further forward every body is
// found but outlined 4.8 mm off-centre (4.2 ml of the vessel in the bodies); 3 mm further out it
// is left alone (0.05 mm).
TEST(SpineLocator, DISABLED_AnEnhancedVesselBesideSmallBodiesLeavesThemFoundAndCentred) {
  ColumnSpec spec = abuttingAorta(330.0, 600.0, 1.5);
  upperThoracicBodies(spec, 7, 15.0);
  spec.aortaLeftMm = 27.0;
  spec.aortaFrontMm = 0.0;
  const AortaLeak r = aortaLeak(spec);
  EXPECT_EQ(r.inner, 5);
  EXPECT_LT(r.worstLateralMm, 1.5);
}

// A vessel crossing beside the lower half of one body and its disc, on 3 mm slices: the planes
// towards that endplate would carry the outline into it, but an outline reaches at most a few
// millimetres beyond the body's middle half (2.1 ml of the vessel in the body before).
TEST(SpineLocator, AVesselBesideTheLowerHalfOfABodyStaysOutOfIt) {
  ColumnSpec spec = abuttingAorta(330.0, 450.0, 3.0);
  spec.aortaBesideBody = 2;
  const AortaLeak r = aortaLeak(spec);
  EXPECT_EQ(r.inner, 3);
  EXPECT_LT(r.aortaMl, 0.8);
}

// Bodies of upper thoracic size (28 x 22 mm, 13 mm tall, 5 mm discs). Where a column's upper
// endplate lies just beyond its search, the search finds the lower endplate from inside; such
// sliver columns cut a body in two (a centroid 8.4 mm off on 1.5 mm slices before).
TEST(SpineLocator, SmallUpperThoracicBodiesAreFoundWhole) {
  for (double mm : {0.8, 1.5, 2.0}) {
    ColumnSpec spec;
    upperThoracicBodies(spec, 6, 13.0);
    spec.sliceMm = mm;
    spec.spacingMm = 0.8;
    std::vector<Vec3> truth;
    const SpineModel m = spine::locateSpine(buildColumn(spec, &truth));
    int inner = 0;
    for (const Vertebra& vt : m.vertebrae) {
      if (!vt.measurable || !vt.bodyCentroidLps) continue;
      for (size_t i = 1; i + 1 < truth.size(); ++i)
        if (std::abs(vt.bodyCentroidLps->z - truth[i].z) < 6.0) {
          EXPECT_LT((*vt.bodyCentroidLps - truth[i]).norm(), 3.0) << vt.label << " at " << mm;
          ++inner;
        }
    }
    EXPECT_EQ(inner, 4) << mm;
  }
}

TEST(SpineLocator, AContrastFilledAortaTouchingTheBodiesIsLeftOut) {
  ColumnSpec spec;
  spec.aortaHu = 400.0;
  expectColumnNotAorta(spec);
}

// Osteoporotic bodies (trabecular bone as dark as muscle, a thin cortex) behind an enhanced
// aorta: the aorta is the brightest tube in view and the dark bodies look like a canal behind
// it; the tracker must follow the column, whose bodies the cortical shell encloses. (Body
// segmentation of bodies this faint in a uniform 40 HU trunk is a known weakness, so the
// tracker is checked on its own.)
TEST(SpineLocator, TheTrackFollowsAnOsteoporoticColumnNotTheEnhancedAorta) {
  ColumnSpec spec = osteoporotic(55.0, 380.0);
  spec.aortaHu = 300.0;
  const spine::detail::ColumnTrack t = trackThrough(spec);
  int onAorta = 0;
  for (size_t i = 0; i < t.body.size(); ++i) {
    // Body centre at x = 0, y = 0; canal centre 24 mm behind; aorta at x = 14, y = -20.
    EXPECT_LT(std::hypot(t.body[i].x, t.body[i].y), 15.0) << "z " << t.body[i].z;
    EXPECT_LT(std::hypot(t.canal[i].x, t.canal[i].y - 24.0), 8.0) << "z " << t.canal[i].z;
    onAorta += std::hypot(t.body[i].x - 14.0, t.body[i].y + 20.0) < 12.0;
  }
  EXPECT_EQ(onAorta, 0);
}

// Bodies as dark as the muscle around them show only their cortical ring above any bone
// threshold. The track must stay on the bodies' axis through their middle, not drift to the
// wall nearest where it started (on the phantoms it lay up to 16 mm behind the axis there, and
// tilted the bodies' axes and endplate planes by up to 30 degrees). A known failure: the track
// lies 8.7 mm off the axis here. Centring it on what the rings enclose passes this test but
// lost fractured patients on two of the three development sets (validation/spine.md, tenth
// pass).
TEST(SpineLocator, DISABLED_TheTrackStaysOnTheAxisOfBodiesAsDarkAsMuscle) {
  ColumnSpec spec = osteoporotic(40.0, 250.0);
  spec.discHu = 60.0;
  const spine::detail::ColumnTrack t = trackThrough(spec);
  double worst = 0.0;
  for (size_t i = 0; i < t.body.size(); ++i)
    worst = std::max(worst, std::hypot(t.body[i].x, t.body[i].y));
  EXPECT_LT(worst, 4.0);
}

// Beside the lowest bodies of an osteoporotic column lie two dense body-like bones with a dark
// hole behind each, mirrored across the midline (the sacral alae beside S1): brighter than the
// column, but a pair, so neither is the column.
TEST(SpineLocator, TheTrackDoesNotStepOntoAMirroredPairBesideTheColumn) {
  ColumnSpec spec = osteoporotic(70.0, 400.0);
  spec.vertebrae = 6;
  spec.twinLateralMm = 34.0;
  spec.twinFrom = 3;
  const spine::detail::ColumnTrack t = trackThrough(spec);
  // The alae lie 34 mm either side of the column's centre (x = 0).
  for (const Vec3& b : t.body) EXPECT_LT(std::abs(b.x), 10.0) << "z " << b.z;
}

// The pairing rule on its own. The sacral alae either side of a weak S1 are a pair; a column
// off the body's midline (liver on one side, lung on the other: the midline 18 mm right of the
// column at T12) is kept although a faint structure lies mirrored across that midline.
TEST(SpineLocator, MirroredPairsAreAlikeStructuresEitherSideOfTheMidline) {
  const std::vector<bool> alae = spine::detail::mirroredPairs(
      {{0.0, 20.0, 60.0}, {-30.0, 32.0, 150.0}, {31.0, 30.0, 140.0}}, 0.0);
  EXPECT_EQ(alae, (std::vector<bool>{false, true, true}));
  const std::vector<bool> offMidline =
      spine::detail::mirroredPairs({{-0.6, 44.0, 310.0}, {-36.6, 38.0, 97.0}}, -18.4);
  EXPECT_FALSE(offMidline[0]);
  // Two maxima inside one body, a few millimetres either side of the midline, are not a pair.
  EXPECT_EQ(spine::detail::mirroredPairs({{-6.0, 20.0, 200.0}, {6.0, 20.0, 190.0}}, 0.0),
            (std::vector<bool>{false, false}));
}

TEST(SpineLocator, LocalAxesFollowAnObliqueColumn) {
  ColumnSpec spec;
  spec.tiltDeg = 20.0;
  const HuVolume v = buildColumn(spec, nullptr);
  const SpineModel m = spine::locateSpine(v);
  const double th = spec.tiltDeg * 3.14159265358979 / 180.0;
  const Vec3 sup{0.0, std::sin(th), std::cos(th)};
  const Vec3 ant{0.0, -std::cos(th), std::sin(th)};
  int checked = 0;
  for (const Vertebra& vt : m.vertebrae) {
    if (!vt.measurable) continue;
    ASSERT_TRUE(vt.axisSuperior && vt.axisAnterior);
    EXPECT_NEAR(vt.axisSuperior->norm(), 1.0, 1e-6);
    EXPECT_NEAR(vt.axisAnterior->norm(), 1.0, 1e-6);
    EXPECT_GT(vt.axisSuperior->dot(sup), std::cos(6.0 * 3.14159265358979 / 180.0)) << vt.label;
    EXPECT_GT(vt.axisAnterior->dot(ant), std::cos(10.0 * 3.14159265358979 / 180.0)) << vt.label;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

// Without anchors the labels of this column are a guess; what must not depend on the grid
// is which vertebrae are found and where.
TEST(SpineLocator, ThinAndThickSlicesFindTheSameVertebrae) {
  ColumnSpec thin;
  thin.spacingMm = 0.8;
  thin.sliceMm = 0.8;
  ColumnSpec thick;
  thick.spacingMm = 0.8;
  thick.sliceMm = 3.0;
  std::vector<Vec3> truth;
  const SpineModel a = spine::locateSpine(buildColumn(thin, &truth));
  const SpineModel b = spine::locateSpine(buildColumn(thick, nullptr));
  int compared = 0;
  for (const Vertebra& va : a.vertebrae) {
    if (!va.measurable || !va.bodyCentroidLps) continue;
    const Vertebra* vb = nullptr;
    for (const Vertebra& v : b.vertebrae)
      if (v.bodyCentroidLps && (*v.bodyCentroidLps - *va.bodyCentroidLps).norm() < 10.0) vb = &v;
    ASSERT_NE(vb, nullptr) << "body at " << va.bodyCentroidLps->z << " mm not found at 3 mm";
    EXPECT_LT((*va.bodyCentroidLps - *vb->bodyCentroidLps).norm(), 2.0);
    EXPECT_LT((va.centroidLps - vb->centroidLps).norm(), 2.0);
    ++compared;
  }
  EXPECT_GE(compared, 3);
}

namespace {
// Length of the body mask along the line through a body's centre, parallel to the z axis.
double maskHeightThrough(const SpineModel& m, const Vec3& centre) {
  const Grid& g = m.bodies.grid();
  const Vec3 c = g.lpsToIndex(centre);
  const int64_t i = std::llround(c.x), j = std::llround(c.y);
  const int64_t k0 = std::llround(c.z);
  const uint8_t label = m.bodies.valueOr(i, j, k0, 0);
  if (label == 0) return 0.0;
  int64_t lo = k0, hi = k0;
  while (m.bodies.valueOr(i, j, lo - 1, 0) == label) --lo;
  while (m.bodies.valueOr(i, j, hi + 1, 0) == label) ++hi;
  return static_cast<double>(hi - lo + 1) * g.spacing.z;
}
}  // namespace

// On 3 mm slices a body 22.5 mm tall keeps its height in the label map (on the slices' own
// grid it was 24 mm tall).
TEST(SpineLocator, BodiesKeepTheirHeightOnThickSlices) {
  ColumnSpec spec;
  spec.vertebrae = 6;
  spec.bodyHeightMm = 22.5;
  spec.spacingMm = 0.8;
  spec.sliceMm = 3.0;
  std::vector<Vec3> truth;
  const SpineModel m = spine::locateSpine(buildColumn(spec, &truth));
  int checked = 0;
  for (size_t i = 1; i + 1 < truth.size(); ++i) {
    const double h = maskHeightThrough(m, truth[i]);
    if (h == 0.0) continue;  // body not segmented (the end bodies of this short column)
    EXPECT_NEAR(h, spec.bodyHeightMm, 1.0) << "body " << i;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

// A bone island just under an endplate, brighter than the endplate's cortex, is not the
// endplate: the body reaches its disc above the island too (the brightest point along the
// axis had made the island the endplate: 16 mm of 24).
TEST(SpineLocator, ABoneIslandUnderTheEndplateIsNotTheEndplate) {
  ColumnSpec spec;
  spec.spacingMm = 0.8;
  spec.sliceMm = 1.0;
  spec.islandHu = 900.0;
  std::vector<Vec3> truth;
  const SpineModel m = spine::locateSpine(buildColumn(spec, &truth));
  const Vec3 middle = truth[static_cast<size_t>(spec.vertebrae / 2)];
  // Through the island (the brightest point under the endplate) and beside it.
  EXPECT_NEAR(maskHeightThrough(m, middle + Vec3{8.0, 0.0, 0.0}), spec.bodyHeightMm, 1.5);
  EXPECT_NEAR(maskHeightThrough(m, middle), spec.bodyHeightMm, 1.5);
}

namespace {
// Bodies wedged by `wedgeDeg` (on 1 mm slices) keep their height within 1.5 mm at the centre
// and 11 mm in front of and behind it.
void expectWedgedBodiesKeepTheirHeight(double wedgeDeg) {
  ColumnSpec spec;
  spec.vertebrae = 6;
  spec.spacingMm = 0.8;
  spec.sliceMm = 1.0;
  spec.wedgeDeg = wedgeDeg;
  std::vector<Vec3> truth;
  const SpineModel m = spine::locateSpine(buildColumn(spec, &truth));
  const double t = std::tan(0.5 * spec.wedgeDeg * 3.14159265358979 / 180.0);
  int checked = 0;
  for (size_t i = 1; i + 1 < truth.size(); ++i) {
    if (maskHeightThrough(m, truth[i]) == 0.0) continue;
    for (double a : {-11.0, 0.0, 11.0}) {
      // Anterior is -y.
      const double h = maskHeightThrough(m, truth[i] + Vec3{0.0, -a, 0.0});
      EXPECT_NEAR(h, spec.bodyHeightMm + 2.0 * a * t, 1.5) << "body " << i << " at " << a << " mm";
    }
    ++checked;
  }
  EXPECT_GE(checked, 3);
}
}  // namespace

// Bodies taller in front than behind (a lordotic column): their endplates are tilted against
// the planes square to the centreline, and each body's endplates are followed to both walls
// (at the planes alone the front would be 2.3 mm short and the back 2.3 mm long).
TEST(SpineLocator, WedgedBodiesKeepTheirHeightAtBothWalls) {
  expectWedgedBodiesKeepTheirHeight(12.0);
}

// A body wedged by 28 degrees: 11 mm from its centre its endplates lie 2.7 mm beyond the planes
// square to the column, further than the search's 1 mm past the plane; the search reaches
// towards the middle of the disc where the disc leaves room (3.5 mm off at a wall before).
TEST(SpineLocator, SeverelyWedgedBodiesKeepTheirHeightAtBothWalls) {
  expectWedgedBodiesKeepTheirHeight(28.0);
}

// A disc that is not seen (here: bone throughout) must not merge two bodies into one: the disc
// chain bridges the gap, every body is found and the labels stay consecutive.
TEST(SpineLocator, AnUnseenDiscDoesNotMergeTwoBodies) {
  ColumnSpec spec;
  spec.vertebrae = 7;
  spec.fusedDisc = 3;
  std::vector<Vec3> truth;
  const HuVolume v = buildColumn(spec, &truth);
  const SpineModel m = spine::locateSpine(v);
  int matched = 0;
  for (size_t i = 1; i + 1 < truth.size(); ++i) {
    double best = 1e9;
    for (const Vertebra& vt : m.vertebrae)
      if (vt.bodyCentroidLps) best = std::min(best, (*vt.bodyCentroidLps - truth[i]).norm());
    EXPECT_LT(best, 4.0) << "body " << i;
    matched += best < 4.0;
  }
  EXPECT_EQ(matched, spec.vertebrae - 2);
  for (size_t i = 1; i < m.vertebrae.size(); ++i) {
    const auto a = columnOrdinal(m.vertebrae[i - 1].label), b = columnOrdinal(m.vertebrae[i].label);
    ASSERT_TRUE(a && b);
    EXPECT_DOUBLE_EQ(*b - *a, 1.0) << m.vertebrae[i - 1].label << " " << m.vertebrae[i].label;
  }
}

TEST(SpineLocator, WithoutAnchorsLabelsAreLowConfidence) {
  const HuVolume v = buildColumn(ColumnSpec{}, nullptr);
  const SpineModel m = spine::locateSpine(v);
  ASSERT_FALSE(m.vertebrae.empty());
  for (const Vertebra& vt : m.vertebrae) {
    EXPECT_TRUE(isValidLabel(vt.label));
    ASSERT_TRUE(vt.labelConfidence);
    EXPECT_LE(*vt.labelConfidence, 0.5);
  }
  EXPECT_FALSE(m.warnings.empty());
}

// The last rib-bearing body anchors the labels (T12); the dim tip of an enhancing organ beside
// the body below it is not a rib, however rib-sized.
TEST(SpineLocator, TheLastRibAnchorsTheLabelsAndAnEnhancingOrganTipIsNoRib) {
  ColumnSpec spec;
  spec.vertebrae = 6;
  spec.ribBodies = 3;
  const SpineModel plain = spine::locateSpine(buildColumn(spec, nullptr));
  spec.organTipHu = 170.0;
  const SpineModel withTip = spine::locateSpine(buildColumn(spec, nullptr));
  for (const SpineModel* m : {&plain, &withTip}) {
    std::vector<std::string> labels;
    for (const Vertebra& vt : m->vertebrae) labels.push_back(vt.label);
    const std::vector<std::string> expected{"T10", "T11", "T12", "L1", "L2", "L3"};
    EXPECT_EQ(labels, expected);
  }
}

TEST(SpineLocator, ThrowsNotApplicableOnSoftTissueOnly) {
  Grid g;
  g.size = {80, 80, 60};
  g.spacing = {2, 2, 2};
  g.origin = {-80, -80, 0};
  HuVolume v(g, -1000);
  for (int64_t k = 0; k < 60; ++k)
    for (int64_t j = 0; j < 80; ++j)
      for (int64_t i = 0; i < 80; ++i)
        if (std::hypot(i - 40.0, j - 40.0) < 35) v.at(i, j, k) = 40;
  EXPECT_THROW(spine::locateSpine(v), NotApplicableError);
}

TEST(SpineLocator, ThrowsNotApplicableOnValuesThatAreNotHounsfieldUnits) {
  // The same column with an MR-like intensity scale: nothing near air or fat.
  HuVolume v = buildColumn(ColumnSpec{}, nullptr);
  for (int16_t& x : v.data()) x = static_cast<int16_t>(std::max(0, x + 1024));
  EXPECT_THROW(spine::locateSpine(v), NotApplicableError);
}

TEST(SpineLocator, ThrowsNotApplicableOnAHead) {
  // A skull: a bony shell around brain.
  Grid g;
  g.size = {90, 100, 70};
  g.spacing = {2, 2, 2};
  g.origin = {-90, -100, 0};
  HuVolume v(g, -1000);
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        const Vec3 p = g.indexToLps({double(i), double(j), double(k)});
        const double r = std::sqrt(std::pow(p.x / 75.0, 2) + std::pow((p.y + 5) / 90.0, 2) +
                                   std::pow((p.z - 40.0) / 80.0, 2));
        if (r < 0.92)
          v.at(i, j, k) = 35;
        else if (r < 1.0)
          v.at(i, j, k) = 1200;
      }
  EXPECT_THROW(spine::locateSpine(v), NotApplicableError);
}

namespace {

std::map<std::string, Vec3> referenceCentroids(const std::string& path,
                                               const std::map<int, std::string>& names) {
  const LoadedStudy ref = io::readNiftiStudy(path);
  std::map<int, std::pair<Vec3, int64_t>> acc;
  const Grid& g = ref.volume.grid();
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        const int v = ref.volume.at(i, j, k);
        if (!names.count(v)) continue;
        acc[v].first += g.indexToLps({double(i), double(j), double(k)});
        ++acc[v].second;
      }
  std::map<std::string, Vec3> out;
  for (const auto& [v, a] : acc) out[names.at(v)] = a.first / static_cast<double>(a.second);
  return out;
}

const Vertebra* findLabel(const SpineModel& m, const std::string& label) {
  for (const Vertebra& v : m.vertebrae)
    if (v.label == label) return &v;
  return nullptr;
}

}  // namespace

TEST(SpineLocatorRealCt, LabelsTheLumbarSpineOfTheAbdomenCt) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/example_ct.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(
      bodies, "totalseg-example/spine_report/totalseg_vertebrae_pp_refined.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(whole, "totalseg-example/spine_report/totalseg.nii.gz");
  const SpineModel m = spine::locateSpine(io::readNiftiStudy(ct).volume);
  // L5 is checked on its own below.
  const auto ref =
      referenceCentroids(bodies, {{19, "T12"}, {20, "L1"}, {21, "L2"}, {22, "L3"}, {23, "L4"}});
  for (const auto& [label, c] : ref) {
    const Vertebra* v = findLabel(m, label);
    ASSERT_NE(v, nullptr) << label << " not found";
    ASSERT_TRUE(v->bodyCentroidLps) << label;
    EXPECT_LT((*v->bodyCentroidLps - c).norm(), 5.0) << label;
  }
  const auto s1 = referenceCentroids(whole, {{26, "S1"}, {27, "L5"}});
  const Vertebra* v = findLabel(m, "S1");
  ASSERT_NE(v, nullptr);
  // Nearer the reference S1 than the reference L5.
  EXPECT_LT((v->centroidLps - s1.at("S1")).norm(), (v->centroidLps - s1.at("L5")).norm());
  const Vertebra* t11 = findLabel(m, "T11");
  if (t11) {
    EXPECT_FALSE(t11->measurable);
  }
}

// The tilted, wedged L5 at the native 3 mm: its outline must not run back towards the
// pedicles.
TEST(SpineLocatorRealCt, PutsL5OfTheAbdomenCtWithin5Mm) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/example_ct.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(
      bodies, "totalseg-example/spine_report/totalseg_vertebrae_pp_refined.nii.gz");
  const SpineModel m = spine::locateSpine(io::readNiftiStudy(ct).volume);
  const auto ref = referenceCentroids(bodies, {{24, "L5"}});
  const Vertebra* v = findLabel(m, "L5");
  ASSERT_NE(v, nullptr);
  ASSERT_TRUE(v->bodyCentroidLps);
  EXPECT_LT((*v->bodyCentroidLps - ref.at("L5")).norm(), 5.0);
}

// The contrast chest crop: the enhanced aorta lies in front of osteoporotic-looking bodies and
// must not capture the track. The reference is a whole-vertebra mask.
TEST(SpineLocatorRealCt, FindsTheT12VertebraInTheContrastChestCrop) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/aorta_report/ct_cropped.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(t12, "totalseg-example/aorta_report/vertebrae_T12.nii.gz");
  const SpineModel m = spine::locateSpine(io::readNiftiStudy(ct).volume);
  const Vec3 ref = referenceCentroids(t12, {{1, "T12"}}).at("T12");
  double nearest = 1e9;
  for (const Vertebra& v : m.vertebrae) nearest = std::min(nearest, (v.centroidLps - ref).norm());
  EXPECT_LT(nearest, 5.0);
}

// Known failure: no rib, lung-base or sacral anchor is usable in this crop (the field of view
// cuts the ribs off behind the canal), so the labels rest on size and are one level high.
// See docs/validation/spine.md.
TEST(SpineLocatorRealCt, DISABLED_LabelsT12InTheContrastChestCrop) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/aorta_report/ct_cropped.nii.gz");
  SPINESCREEN_REQUIRE_TEST_FILE(t12, "totalseg-example/aorta_report/vertebrae_T12.nii.gz");
  const SpineModel m = spine::locateSpine(io::readNiftiStudy(ct).volume);
  const auto ref = referenceCentroids(t12, {{1, "T12"}});
  const Vertebra* v = findLabel(m, "T12");
  ASSERT_NE(v, nullptr);
  EXPECT_LT((v->centroidLps - ref.at("T12")).norm(), 5.0);
  ASSERT_TRUE(v->labelConfidence);
  EXPECT_LT(*v->labelConfidence, 0.9) << "no lower anchor: confidence must admit it";
}

// Without a usable anchor the chest crop's labels must not be delivered as certain.
TEST(SpineLocatorRealCt, ChestCropLabelsAreNotDeliveredAsCertain) {
  SPINESCREEN_REQUIRE_TEST_FILE(ct, "totalseg-example/aorta_report/ct_cropped.nii.gz");
  const SpineModel m = spine::locateSpine(io::readNiftiStudy(ct).volume);
  ASSERT_FALSE(m.vertebrae.empty());
  for (const Vertebra& v : m.vertebrae) {
    ASSERT_TRUE(v.labelConfidence);
    EXPECT_LE(*v.labelConfidence, 0.5) << v.label;
  }
  EXPECT_FALSE(m.warnings.empty());
}

// Osteoporotic bodies (60 HU) and discs brighter than them (100 HU) on thick slices: the
// endplates blur into one bump with the disc, so there is no valley between endplate ridges.
// The missing cortical ring marks each disc.
TEST(DiscFinder, FindsDiscsBrighterThanOsteoporoticBodiesFromTheMissingRing) {
  const double step = 1.0, period = 32.0, discHalf = 4.0;
  const int n = 300;
  std::vector<double> core(n), ring(n), width(n, 40.0);
  std::vector<double> centres;
  for (double c = 40.0; c + 40.0 < n; c += period) centres.push_back(c);
  for (int i = 0; i < n; ++i) {
    double dist = 1e9;
    for (double c : centres) dist = std::min(dist, std::abs(i * step - c));
    // A bump over a 60 HU body: the disc (about 105 HU) and its two blurred endplates 4 mm
    // either side (about 118 HU), so the dip at the disc centre is only about 11 HU; the ring
    // is gone at the disc.
    auto g = [](double x) { return std::exp(-0.5 * x * x / (1.5 * 1.5)); };
    core[i] = 60.0 + 45.0 * std::exp(-0.5 * std::pow(dist / (discHalf + 1.0), 2.0)) +
              25.0 * (g(dist - discHalf) + g(dist + discHalf));
    ring[i] = 230.0 - 120.0 * std::exp(-0.5 * std::pow(dist / discHalf, 2.0));
  }
  const auto discs = spine::detail::findDiscs(core, ring, width, step);
  for (double c : centres) {
    double nearest = 1e9;
    for (const auto& d : discs) nearest = std::min(nearest, std::abs(d.index * step - c));
    EXPECT_LE(nearest, 3.0) << "disc at " << c << " mm missed";
  }
  EXPECT_LE(discs.size(), centres.size() + 1);
}

// The field of view ends 6 mm into the disc below the last body: that body is whole and its
// disc is found, where the line meets the edge of the field of view and its ring is seen whole
// there; where the line ends inside the volume (the column itself ended) it is not.
TEST(DiscFinder, FindsADiscCutByTheEdgeOfTheFieldOfViewWhereTheLineMeetsIt) {
  const double step = 1.0, period = 32.0, discHalf = 4.0;
  std::vector<double> centres;  // disc centres (mm)
  for (double c = 20.0; c < 200.0; c += period) centres.push_back(c);
  // The line ends 6 mm into the last disc (2 mm short of its centre).
  const int n = static_cast<int>(centres.back() - discHalf + 6.0) + 1;
  std::vector<double> core(n), ring(n), width(n, 40.0);
  for (int i = 0; i < n; ++i) {
    double dist = 1e9;
    for (double c : centres) dist = std::min(dist, std::abs(i * step - c));
    const bool disc = dist < discHalf;
    const bool endplate = !disc && dist < discHalf + 1.5;
    core[i] = disc ? 85.0 : (endplate ? 260.0 : 150.0);
    ring[i] = disc ? 100.0 : 300.0;
  }
  spine::detail::EndDiscs ends;
  std::vector<uint8_t> complete(static_cast<size_t>(n), 1);
  ends.ringComplete = &complete;
  auto lastDisc = [&](const spine::detail::EndDiscs& e) {
    const auto discs = spine::detail::findDiscs(core, ring, width, step, e);
    return discs.empty() ? -1.0 : discs.back().index * step;
  };
  // Without the edge: the last disc found is the one before.
  EXPECT_NEAR(lastDisc(ends), centres[centres.size() - 2], 2.0);
  ends.caudal = true;
  const auto discs = spine::detail::findDiscs(core, ring, width, step, ends);
  ASSERT_FALSE(discs.empty());
  EXPECT_GE(discs.back().index * step, centres.back() - discHalf);
  EXPECT_DOUBLE_EQ(discs.back().caudalEdge, n - 1.0);
  // The last body ends at its endplate, about where the disc begins.
  EXPECT_NEAR(discs.back().cranialEdge * step, centres.back() - discHalf, 1.5);
  // A ring cut by the edge is no evidence of a disc.
  std::fill(complete.end() - 8, complete.end(), 0);
  EXPECT_NEAR(lastDisc(ends), centres[centres.size() - 2], 2.0);
}

namespace {
// Core and ring profiles of a column whose discs lie at `discs` (mm); each body has a shallow
// valley of `valleyHu` at its middle (the dark mid-body of osteoporotic bone).
struct Profiles {
  std::vector<double> core, ring, width;
};
Profiles columnProfiles(const std::vector<double>& discs, int n, double valleyHu) {
  Profiles p{std::vector<double>(n), std::vector<double>(n), std::vector<double>(n, 40.0)};
  const double discHalf = 3.0;
  for (int i = 0; i < n; ++i) {
    double dist = 1e9;
    for (double c : discs) dist = std::min(dist, std::abs(i - c));
    const bool disc = dist < discHalf;
    const bool endplate = !disc && dist < discHalf + 1.5;
    double mid = 1e9;  // distance to the nearest mid-body
    for (size_t q = 0; q + 1 < discs.size(); ++q)
      mid = std::min(mid, std::abs(i - 0.5 * (discs[q] + discs[q + 1])));
    p.core[i] =
        disc ? 70.0 : (endplate ? 240.0 : 130.0 - valleyHu * std::exp(-0.5 * mid * mid / 4.0));
    p.ring[i] = disc ? 90.0 : 300.0;
  }
  return p;
}
}  // namespace

// A body crushed to half its height between normal ones: both its discs are found, though
// they lie closer together than the usual floor (0.55 of the body width).
TEST(DiscFinder, FindsBothDiscsOfACrushedBody) {
  const std::vector<double> discs = {20, 52, 84, 101, 133, 165, 197};  // 101: 17 mm after 84
  const Profiles p = columnProfiles(discs, 215, 0.0);
  const auto found = spine::detail::findDiscs(p.core, p.ring, p.width, 1.0);
  for (double c : discs) {
    double nearest = 1e9;
    for (const auto& d : found) nearest = std::min(nearest, std::abs(d.index - c));
    EXPECT_LE(nearest, 2.0) << "disc at " << c << " mm missed";
  }
  EXPECT_EQ(found.size(), discs.size());
}

// A valley inside a body 8 mm from a disc and a little deeper than it (a vascular channel or
// a Schmorl's node between two bright bands, the ring broken there too): the disc stays in the
// chain, whose spacing is regular through it, and the valley is not taken instead.
TEST(DiscFinder, AValleyBesideADiscDoesNotReplaceIt) {
  const std::vector<double> discs = {20, 52, 84, 116, 148, 180};
  Profiles p = columnProfiles(discs, 198, 0.0);
  for (int i = 103; i <= 113; ++i) {
    const int d = std::abs(i - 108);
    p.core[static_cast<size_t>(i)] = d <= 2 ? 60.0 : (d <= 4 ? 250.0 : 130.0);
    if (d <= 2) p.ring[static_cast<size_t>(i)] = 85.0;
  }
  const auto found = spine::detail::findDiscs(p.core, p.ring, p.width, 1.0);
  EXPECT_EQ(found.size(), discs.size());
  for (const auto& d : found) {
    double nearest = 1e9;
    for (double c : discs) nearest = std::min(nearest, std::abs(d.index - c));
    EXPECT_LE(nearest, 2.0) << "disc found at " << d.index << " mm";
  }
}

// Dark mid-body valleys in every body are no discs: a run of half spacings is not a run of
// crushed bodies.
TEST(DiscFinder, DoesNotSplitBodiesAtMidBodyValleys) {
  const std::vector<double> discs = {20, 52, 84, 116, 148, 180};
  const Profiles p = columnProfiles(discs, 198, 60.0);
  const auto found = spine::detail::findDiscs(p.core, p.ring, p.width, 1.0);
  EXPECT_EQ(found.size(), discs.size());
  for (const auto& d : found) {
    double nearest = 1e9;
    for (double c : discs) nearest = std::min(nearest, std::abs(d.index - c));
    EXPECT_LE(nearest, 2.0) << "disc found at " << d.index << " mm";
  }
}
