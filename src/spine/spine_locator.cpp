#include "spine/spine_locator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "core/endplate.h"
#include "core/errors.h"
#include "core/geometry.h"
#include "core/labels.h"
#include "spine/column.h"
#include "spine/itk_steps.h"

namespace spinescreen::spine {
namespace {

using detail::Centreline;
using detail::DiscFind;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNaN;
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + m, v.end());
  return v[m];
}

// Linear interpolation of a per-sample curve at a fractional index.
Vec3 at(const std::vector<Vec3>& v, double s) {
  s = std::clamp(s, 0.0, static_cast<double>(v.size() - 1));
  const size_t i = static_cast<size_t>(std::floor(s));
  const size_t j = std::min(v.size() - 1, i + 1);
  const double f = s - static_cast<double>(i);
  return v[i] * (1.0 - f) + v[j] * f;
}

// Sampling along the axis up to which a 1 mm endplate cortex keeps its full contrast (mm).
constexpr double kRidgeRefMm = 3.0;
// The body label maps are written on the input grid with each axis divided until its spacing
// is at most this: the endplates are found to a fraction of a millimetre along every column,
// and a 3 or 5 mm slice would round a body's heights to whole slices (a biconcave middle
// 4 mm low on 5 mm slices was measured as high as the walls).
constexpr double kBodyGridMm = 1.0;
// Half-width of an endplate's bright band along the axis (cortex and subchondral bone).
constexpr double kEndplateBandMm = 1.5;
// How far a body's outline may reach beyond its middle half's towards the endplates (rims).
constexpr double kRimFlareMm = 4.0;
// A column of a body is at least this share of the distance between its endplate planes (a
// crushed body's planes, at its discs, come down with it).
constexpr double kMinColumnShare = 0.35;
// Endplates are sought in columns at least this far inside the body's outline.
constexpr double kWallMarginMm = 3.0;

// One vertebra candidate along the centreline, in centreline index units.
struct Segment {
  double bodyTop = 0.0, bodyBottom = 0.0;  // endplates (cranial, caudal)
  double slabTop = 0.0, slabBottom = 0.0;  // mid-disc planes, or the line ends
  bool cutTop = false, cutBottom = false;  // no disc found on that side
  double spacingMm = kNaN;                 // disc-to-disc distance when both discs exist
  int span = 1;  // levels it covers: 2 when a disc inside it was missed (two bodies merged)
  // Results.
  bool haveBody = false;
  Vec3 bodyCentroid, centroid, axisSup, axisAnt;
  int64_t bodyVoxels = 0;
  double cortexHu = kNaN, thresholdHu = kNaN, widthMm = kNaN;
  int ribs = 0;      // sides with a rib articulating (0..ribSides)
  int ribSides = 2;  // sides where the rib planes are in the field of view (0..2)
  bool sacralLeft = false, sacralRight = false;
  bool pelvis = false;  // iliac bone in contact beside it
  int lung = -1;        // lung beside and behind the body: 1 yes, 0 no, -1 not in view
  std::string notMeasurable;
};

// Samples a ray from `c` along unit `dir`; values every `step` mm up to `len` mm.
void sampleRay(const HuVolume& v, const Vec3& c, const Vec3& dir, double step, int n,
               std::vector<double>& out) {
  out.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    out[static_cast<size_t>(i)] = sampleLinearLps(v, c + dir * (i * step), -1024.0);
}

// A structure abutting the body from outside: a plateau at least this long beyond the cortical
// ridge, lower than the ridge by at least this share of the ridge's contrast to soft tissue.
constexpr double kAbuttingPlateauMm = 4.0;
constexpr double kAbuttingStep = 0.15;

// Outer cortical edge along a ray (mm), or NaN. `tc`: cortex crossing level; `tstop`: level
// the ray must stay under for `gapMm` after the cortex; `tissue`: level outside.
double rayEdge(const std::vector<double>& h, double step, double tc, double tstop, double tissue,
               double gapMm) {
  const int n = static_cast<int>(h.size());
  const int gap = std::max(2, static_cast<int>(std::lround(gapMm / step)));
  std::vector<double> s(h);
  for (int i = 1; i + 1 < n; ++i) s[static_cast<size_t>(i)] = (h[i - 1] + h[i] + h[i + 1]) / 3.0;
  bool crossed = false;
  int stop = -1;
  for (int i = 0; i < n; ++i) {
    if (s[static_cast<size_t>(i)] >= tc) crossed = true;
    if (!crossed) continue;
    bool below = true;
    for (int j = i; j < std::min(n, i + gap); ++j)
      if (s[static_cast<size_t>(j)] >= tstop) {
        below = false;
        break;
      }
    if (below && i + gap <= n) {
      stop = i;
      break;
    }
  }
  // The cortical ring seen against something bright that abuts the body from outside (an
  // enhanced aorta, a rib head): a ridge after which the ray stays above the threshold but
  // clearly below the ridge for a few millimetres. The body ends midway down that step.
  {
    const int plateau = static_cast<int>(std::lround(kAbuttingPlateauMm / step));
    const int within = static_cast<int>(std::lround(2.5 / step));
    const int end = stop < 0 ? n : stop;
    for (int i = 1; i + 1 < end; ++i) {
      const double pk = s[static_cast<size_t>(i)];
      // (A cortical ridge: three quarters of the cortex's contrast, where tc is half of it.)
      if (pk < tissue + 1.5 * (tc - tissue) || pk < s[static_cast<size_t>(i) - 1] ||
          pk < s[static_cast<size_t>(i) + 1])
        continue;
      const double low = pk - kAbuttingStep * (pk - tissue);
      // The step down, within a few millimetres of the ridge.
      int j = i + 1;
      while (j < std::min(end, i + within) && s[static_cast<size_t>(j)] > low) ++j;
      if (j >= std::min(end, i + within) || j + plateau > n) continue;
      // Then a plateau that stays above the threshold (else the usual rule ends the body
      // here) and below the ridge.
      bool flat = true;
      for (int k = j; k < j + plateau && flat; ++k)
        flat = s[static_cast<size_t>(k)] >= tstop &&
               s[static_cast<size_t>(k)] <= pk - 0.5 * kAbuttingStep * (pk - tissue);
      // Nothing as bright further out, to where the ray leaves bone: a ridge inside the body
      // (dense trabeculae) has the cortex still to come.
      for (int k = j + plateau; k < end && flat; ++k)
        flat = s[static_cast<size_t>(k)] <= pk - 0.5 * kAbuttingStep * (pk - tissue);
      if (!flat) continue;
      double plateauLevel = 0.0;
      for (int k = j; k < j + plateau; ++k) plateauLevel += s[static_cast<size_t>(k)];
      plateauLevel /= plateau;
      const double mid = 0.5 * (pk + plateauLevel);
      for (int k = i; k < j; ++k)
        if (s[static_cast<size_t>(k)] >= mid && s[static_cast<size_t>(k) + 1] < mid)
          return (k + (s[static_cast<size_t>(k)] - mid) /
                          (s[static_cast<size_t>(k)] - s[static_cast<size_t>(k) + 1])) *
                 step;
      return j * step;
    }
  }
  if (stop < 0) return kNaN;
  // Last ridge before the stop, then its half-maximum crossing outward.
  int peak = stop;
  const int back = static_cast<int>(std::lround(6.0 / step));
  for (int i = std::max(0, stop - back); i <= stop; ++i)
    if (s[static_cast<size_t>(i)] > s[static_cast<size_t>(peak)]) peak = i;
  const double half = tissue + 0.5 * (s[static_cast<size_t>(peak)] - tissue);
  for (int i = peak; i + 1 < n; ++i)
    if (s[static_cast<size_t>(i)] >= half && s[static_cast<size_t>(i) + 1] < half)
      return (i + (s[static_cast<size_t>(i)] - half) /
                      (s[static_cast<size_t>(i)] - s[static_cast<size_t>(i) + 1])) *
             step;
  return stop * step;
}

constexpr int kRays = 72;
constexpr double kRayStep = 0.5;
constexpr double kRayLen = 45.0;

// Segments one body on the input grid by casting rays in planes normal to its axis, cut at
// the endplate planes and at the posterior wall; writes `label` into bodies (and the whole
// vertebra into `whole` when given).
// With `axisOverride`, the body's axis (and both endplate normals) and centre are given;
// with `dryRun`, nothing is written and `halves` receives the upper-half minus lower-half
// centroid of the body.
void segmentVertebraOnce(const HuVolume& vol, const Centreline& line, Segment& sg, uint8_t label,
                         LabelImage& bodies, LabelImage* whole, const Vec3* axisOverride,
                         const Vec3* centreOverride, bool dryRun, Vec3* halves) {
  const double sMid = 0.5 * (sg.bodyTop + sg.bodyBottom);
  Vec3 c = centreOverride ? *centreOverride : at(line.point, sMid);
  const Vec3 axisSup = axisOverride ? *axisOverride : (at(line.tangent, sMid) * -1.0).normalized();
  Vec3 ant = at(line.anterior, sMid);
  ant = (ant - axisSup * ant.dot(axisSup)).normalized();
  const Vec3 lat = axisSup.cross(ant);
  // Endplate planes follow the column's curvature at each endplate (wedged L5, kyphosis).
  const Vec3 pSup = at(line.point, sg.bodyTop);
  const Vec3 nSup = (at(line.tangent, sg.bodyTop) * -1.0).normalized();
  const Vec3 pInf = at(line.point, sg.bodyBottom);
  const Vec3 nInf = (at(line.tangent, sg.bodyBottom) * -1.0).normalized();
  const double hMax = (pSup - c).dot(axisSup), hMin = (pInf - c).dot(axisSup);
  if (hMax - hMin < 4.0) {
    sg.notMeasurable = "body too thin to measure";
    return;
  }
  const int nR = static_cast<int>(kRayLen / kRayStep) + 1;
  std::vector<Vec3> dirs(kRays);
  for (int a = 0; a < kRays; ++a) {
    const double th = 2.0 * kPi * a / kRays;  // 0 = anterior, pi/2 = +lat
    dirs[static_cast<size_t>(a)] = ant * std::cos(th) + lat * std::sin(th);
  }
  std::vector<double> ray;
  // Levels from the mid-body: cortex (median ray maximum), tissue outside, trabecular core.
  std::vector<double> maxima, outside;
  for (double h : {0.25 * hMin, 0.0, 0.25 * hMax}) {
    for (int a = 0; a < kRays; a += 2) {
      sampleRay(vol, c + axisSup * h, dirs[static_cast<size_t>(a)], kRayStep, nR, ray);
      double mx = -1e9;
      for (int i = static_cast<int>(2.0 / kRayStep); i < static_cast<int>(30.0 / kRayStep); ++i)
        mx = std::max(mx, ray[static_cast<size_t>(i)]);
      maxima.push_back(mx);
      for (int i = static_cast<int>(36.0 / kRayStep); i < nR; ++i)
        outside.push_back(ray[static_cast<size_t>(i)]);
    }
  }
  const double cortex = median(maxima);
  const double tissue = std::clamp(median(outside), -100.0, 80.0);
  if (!(cortex > tissue + 60.0)) {
    sg.notMeasurable = "no cortical bone found around the body";
    return;
  }
  const double tc = tissue + 0.5 * (cortex - tissue);
  sg.cortexHu = cortex;
  sg.thresholdHu = tc;

  // Two passes: the second from the centre of the first outline.
  const int nPlanes = static_cast<int>(std::floor(hMax - hMin)) + 3;
  std::vector<std::array<double, kRays>> R(static_cast<size_t>(nPlanes));
  double dPost = kNaN;
  for (int pass = 0; pass < 3; ++pass) {
    Vec3 shift{};
    int shiftN = 0;
    for (int pl = 0; pl < nPlanes; ++pl) {
      const double h = hMin - 1.0 + pl;
      const Vec3 pc = c + axisSup * h;
      auto& r = R[static_cast<size_t>(pl)];
      for (int a = 0; a < kRays; ++a) {
        sampleRay(vol, pc, dirs[static_cast<size_t>(a)], kRayStep, nR, ray);
        r[static_cast<size_t>(a)] = rayEdge(ray, kRayStep, tc, tc, tissue, 6.0);
      }
      if (pass < 2 && h > 0.5 * hMin && h < 0.5 * hMax) {
        Vec3 m{};
        int n = 0;
        for (int a = 0; a < kRays; ++a)
          if (!std::isnan(r[static_cast<size_t>(a)])) {
            m += dirs[static_cast<size_t>(a)] * (r[static_cast<size_t>(a)] * 0.5);
            ++n;
          }
        if (n > kRays / 2) {
          shift += m / n;
          ++shiftN;
        }
      }
    }
    if (pass < 2 && shiftN > 0) {
      Vec3 s = shift / shiftN;
      s = s - axisSup * s.dot(axisSup);
      if (s.norm() > 12.0) s = s.normalized() * 12.0;
      c += s;
    }
  }
  // Axis check: the centre of each middle plane's outline should not drift along the axis.
  Vec3 slope{};
  {
    double sh = 0, shh = 0;
    Vec3 sm{}, shm{};
    int np = 0;
    for (int pl = 0; pl < nPlanes; ++pl) {
      const double h = hMin - 1.0 + pl;
      if (h < 0.6 * hMin || h > 0.6 * hMax) continue;
      const auto& r = R[static_cast<size_t>(pl)];
      Vec3 num{};
      double den = 0.0;
      for (int a = 0; a < kRays; ++a) {
        const double v = r[static_cast<size_t>(a)];
        if (std::isnan(v)) continue;
        num += dirs[static_cast<size_t>(a)] * (2.0 / 3.0 * v * v * v);
        den += v * v;
      }
      if (den <= 0.0) continue;
      const Vec3 m = num / den;
      sh += h;
      shh += h * h;
      sm += m;
      shm += m * h;
      ++np;
    }
    if (np >= 4) {
      const double varH = shh / np - (sh / np) * (sh / np);
      if (varH > 1.0) slope = (shm / np - sm / np * (sh / np)) / varH;
    }
  }
  // Posterior wall: median reach of the rays pointing backwards in the middle planes.
  {
    std::vector<double> back;
    for (int pl = 0; pl < nPlanes; ++pl) {
      const double h = hMin - 1.0 + pl;
      if (h < 0.6 * hMin || h > 0.6 * hMax) continue;
      for (int a = kRays / 2 - 3; a <= kRays / 2 + 3; ++a)
        back.push_back(R[static_cast<size_t>(pl)][static_cast<size_t>(a)]);
    }
    dPost = median(back);
    // The body is about as deep behind its centre as in front of it: where the backward
    // rays ran on into the pedicles or arch, cap them by the forward reach.
    std::vector<double> front;
    for (int pl = 0; pl < nPlanes; ++pl) {
      const double h = hMin - 1.0 + pl;
      if (h < 0.6 * hMin || h > 0.6 * hMax) continue;
      for (int a = -3; a <= 3; ++a)
        front.push_back(R[static_cast<size_t>(pl)][static_cast<size_t>((a + kRays) % kRays)]);
    }
    const double frontReach = median(front);
    if (!std::isnan(frontReach) && !std::isnan(dPost)) dPost = std::min(dPost, 1.3 * frontReach);
    // Nor can the body reach into the canal found by the tracker.
    const double toCanal = (c - at(line.canal, sMid)).dot(ant);
    if (!std::isnan(dPost) && toCanal > 16.0) dPost = std::min(dPost, toCanal - 8.0);
    if (std::getenv("SPINESCREEN_SPINE_DEBUG"))
      std::fprintf(stderr, "front %.1f toCanal %.1f dPost %.1f\n", frontReach, toCanal, dPost);
  }
  if (std::isnan(dPost) || dPost < 6.0) {
    sg.notMeasurable = "no vertebral body of plausible depth";
    return;
  }
  // Clean each plane: fill gaps, cut at the posterior wall, mirror-symmetry cap (one-sided
  // bulges are aorta or osteophytes), cap outliers, circular median.
  std::vector<double> widths;
  for (auto& r : R) {
    std::array<double, kRays> q = r;
    const double med = median(std::vector<double>(q.begin(), q.end()));
    if (std::isnan(med)) {
      q.fill(0.0);
      r = q;
      continue;
    }
    for (int a = 0; a < kRays; ++a) {
      double& v = q[static_cast<size_t>(a)];
      if (std::isnan(v)) v = med;
      const double back = -dirs[static_cast<size_t>(a)].dot(ant);
      if (back > 0.05) v = std::min(v, (dPost + 0.5) / back);
      v = std::min(v, 1.7 * med);
    }
    std::array<double, kRays> m = q;
    for (int a = 0; a < kRays; ++a) {
      const int mirror = (kRays - a) % kRays;
      m[static_cast<size_t>(a)] =
          std::min(q[static_cast<size_t>(a)], q[static_cast<size_t>(mirror)] + 3.0);
    }
    for (int a = 0; a < kRays; ++a) {
      std::vector<double> w;
      for (int d = -2; d <= 2; ++d) w.push_back(m[static_cast<size_t>((a + d + kRays) % kRays)]);
      r[static_cast<size_t>(a)] = median(w);
    }
    widths.push_back(r[kRays / 4] + r[3 * kRays / 4]);
  }
  sg.widthMm = median(widths);
  // Across planes: a single plane whose reach dips (a vessel or a nutrient channel at the wall,
  // noise) would punch a hole through the body's wall; a median over five neighbouring planes
  // removes it.
  {
    const std::vector<std::array<double, kRays>> R0 = R;
    for (int pl = 0; pl < nPlanes; ++pl)
      for (int a = 0; a < kRays; ++a) {
        std::vector<double> w;
        for (int d = -2; d <= 2; ++d) {
          const int q = pl + d;
          if (q < 0 || q >= nPlanes) continue;
          w.push_back(R0[static_cast<size_t>(q)][static_cast<size_t>(a)]);
        }
        R[static_cast<size_t>(pl)][static_cast<size_t>(a)] = median(w);
      }
  }
  // Towards the endplates a plane square to the axis runs into the disc wherever the endplate
  // is tilted against it (a lordotic or wedged body), and partial volume rounds the corners:
  // where both endplates of a column were found on the CT, the outline there is at least the
  // middle half's (elsewhere the planes end the body, and the ring keeps it out of the disc).
  std::array<double, kRays> env{};
  for (int a = 0; a < kRays; ++a) {
    std::vector<double> w;
    for (int pl = 0; pl < nPlanes; ++pl) {
      const double h = hMin - 1.0 + pl;
      if (h >= 0.5 * hMin && h <= 0.5 * hMax)
        w.push_back(R[static_cast<size_t>(pl)][static_cast<size_t>(a)]);
    }
    env[static_cast<size_t>(a)] = w.empty() ? 0.0 : median(w);
  }
  // Nor does the outline towards the endplates reach much beyond the middle half's: the rims
  // flare by a few millimetres, while a vessel or bone abutting one end of the body (an
  // enhanced arch or branch vessel in front of an upper thoracic body) would carry the outline
  // into it.
  for (auto& r : R)
    for (int a = 0; a < kRays; ++a)
      if (env[static_cast<size_t>(a)] > 0.0)
        r[static_cast<size_t>(a)] =
            std::min(r[static_cast<size_t>(a)], env[static_cast<size_t>(a)] + kRimFlareMm);

  // Endplates column by column: along the axis, each column of the body ends at the outer edge
  // of its endplate cortex. A wedged, biconcave or crushed body departs from the two planes
  // found at the disc centres by up to a centimetre; keep the plane where the CT shows no
  // clear endplate.
  const double mapStep = 1.0;
  const double mapU = 40.0, mapV0 = -dPost - 2.0, mapV1 = 40.0;
  const int mapNu = static_cast<int>(2.0 * mapU / mapStep) + 1;
  const int mapNv = static_cast<int>((mapV1 - mapV0) / mapStep) + 1;
  std::vector<double> topMap, botMap;
  auto planeHeight = [&](const Vec3& pp, const Vec3& nn, double u, double v) {
    const double den = axisSup.dot(nn);
    return std::abs(den) < 1e-3 ? 0.0 : (pp - c - ant * v - lat * u).dot(nn) / den;
  };
  // (A dry run only estimates the axis: the planes are enough.)
  const bool columnEndplates = !dryRun;
  if (columnEndplates) {
    topMap.assign(static_cast<size_t>(mapNu) * mapNv, kNaN);
    botMap.assign(static_cast<size_t>(mapNu) * mapNv, kNaN);
    const auto& midR = R[static_cast<size_t>(nPlanes / 2)];
    const Vec3 slabTopP = at(line.point, sg.slabTop), slabBotP = at(line.point, sg.slabBottom);
    const Vec3 slabTopN = (at(line.tangent, sg.slabTop) * -1.0).normalized();
    const Vec3 slabBotN = (at(line.tangent, sg.slabBottom) * -1.0).normalized();
    // The endplate ridge along the axis is blurred by the slice: over a thick slice a 1 mm
    // cortex stands out by a fraction of its in-plane contrast.
    const Vec3& spc = vol.grid().spacing;
    const double az = std::abs(axisSup.z);
    const double alongMm = spc.z * az + std::max(spc.x, spc.y) * (1.0 - az);
    const double minStep =
        0.3 * (cortex - tissue) * std::min(1.0, kRidgeRefMm / std::max(alongMm, 1e-3));
    const double hStep = 0.5;
    std::vector<double> f;
    for (int iu = 0; iu < mapNu; ++iu)
      for (int iv = 0; iv < mapNv; ++iv) {
        const double u = -mapU + iu * mapStep, v = mapV0 + iv * mapStep;
        const double rr = std::hypot(u, v);
        double th = std::atan2(u, v);
        if (th < 0) th += 2.0 * kPi;
        const int a = static_cast<int>(std::lround(th / (2.0 * kPi) * kRays)) % kRays;
        if (rr > midR[static_cast<size_t>(a)] - kWallMarginMm) continue;
        const Vec3 base = c + ant * v + lat * u;
        for (int side = 0; side < 2; ++side) {
          const double hp =
              side == 0 ? planeHeight(pSup, nSup, u, v) : planeHeight(pInf, nInf, u, v);
          // Search from the plane inward by up to 12 mm and outward by 1 mm, or towards the
          // middle of the disc where the disc leaves room (an endplate tilted against the
          // plane, as a wedged body's is, lies beyond it at one wall); the profile runs outward
          // (towards the disc).
          const double dir = side == 0 ? 1.0 : -1.0;
          double outward = 1.0;
          if (!(side == 0 ? sg.cutTop : sg.cutBottom)) {
            const double mid = side == 0 ? planeHeight(slabTopP, slabTopN, u, v)
                                         : planeHeight(slabBotP, slabBotN, u, v);
            outward = std::clamp(dir * (mid - hp) - 1.0, 1.0, 6.0);
          }
          const double hFrom = hp - dir * 12.0, hTo = hp + dir * (outward + 3.0);
          const int n = static_cast<int>(std::abs(hTo - hFrom) / hStep) + 1;
          f.assign(static_cast<size_t>(n), 0.0);
          for (int i = 0; i < n; ++i)
            f[static_cast<size_t>(i)] =
                sampleLinearLps(vol, base + axisSup * (hFrom + dir * i * hStep), -1024.0);
          std::vector<double> sm(f);
          for (int i = 1; i + 1 < n; ++i)
            sm[static_cast<size_t>(i)] =
                (f[static_cast<size_t>(i - 1)] + f[static_cast<size_t>(i)] +
                 f[static_cast<size_t>(i) + 1]) /
                3.0;
          // Ridge: the outermost bright band, no further out than the search's outer limit, that
          // stands out from the disc beyond it: the first bone met coming from the disc (a
          // bone island or dense trabeculae deeper inside are not the endplate); then the
          // brightest point of that band.
          const int iLast = static_cast<int>((12.0 + outward) / hStep);
          const int discReach = static_cast<int>(5.0 / hStep);
          auto discBeyond = [&](int i) {
            double d = 1e9;
            for (int j = i; j < std::min(n, i + discReach); ++j)
              d = std::min(d, sm[static_cast<size_t>(j)]);
            return d;
          };
          int ir = -1;
          for (int i = std::min(iLast, n - 2); i >= 1 && ir < 0; --i)
            if (sm[static_cast<size_t>(i)] >= sm[static_cast<size_t>(i) - 1] &&
                sm[static_cast<size_t>(i)] >= sm[static_cast<size_t>(i) + 1] &&
                sm[static_cast<size_t>(i)] - discBeyond(i) > minStep)
              ir = i;
          if (ir < 0) continue;
          {
            const int band = static_cast<int>(kEndplateBandMm / hStep);
            const int top = ir;
            for (int i = std::max(0, top - band); i <= std::min({n - 1, top + band, iLast}); ++i)
              if (sm[static_cast<size_t>(i)] > sm[static_cast<size_t>(ir)]) ir = i;
          }
          const double disc = discBeyond(ir);
          if (!(sm[static_cast<size_t>(ir)] - disc > minStep)) continue;
          const double half = 0.5 * (sm[static_cast<size_t>(ir)] + disc);
          double edge = kNaN;
          for (int i = ir; i + 1 < n; ++i)
            if (sm[static_cast<size_t>(i)] >= half && sm[static_cast<size_t>(i) + 1] < half) {
              edge = i + (sm[static_cast<size_t>(i)] - half) /
                             (sm[static_cast<size_t>(i)] - sm[static_cast<size_t>(i) + 1]);
              break;
            }
          if (std::isnan(edge)) continue;
          // Inside the plane, beyond the edge, only disc: a second bright band further out is
          // the real endplate, and the inner ridge was dense bone.
          bool clear = true;
          for (int i = static_cast<int>(edge) + 2; i <= static_cast<int>(12.0 / hStep) && i < n;
               ++i)
            if (sm[static_cast<size_t>(i)] >= half) clear = false;
          if (!clear) continue;
          // A cortex thinner than the slice's blur: half a cortex beyond its ridge.
          edge = endplateOuterEdge(sm, ir, edge, hStep);
          const double h = hFrom + dir * edge * hStep;
          (side == 0 ? topMap : botMap)[static_cast<size_t>(iu) * mapNv + iv] = h;
        }
      }
    // A column cannot be a sliver: where the two endplates found lie closer than a fraction of
    // the planes' distance, one of them is the other endplate seen from inside (the true one
    // lay beyond the search, on a body tilted against its planes). The one further from its
    // plane is dropped.
    for (int iu = 0; iu < mapNu; ++iu)
      for (int iv = 0; iv < mapNv; ++iv) {
        double& top = topMap[static_cast<size_t>(iu) * mapNv + iv];
        double& bot = botMap[static_cast<size_t>(iu) * mapNv + iv];
        if (std::isnan(top) || std::isnan(bot)) continue;
        const double u = -mapU + iu * mapStep, v = mapV0 + iv * mapStep;
        const double pt = planeHeight(pSup, nSup, u, v), pb = planeHeight(pInf, nInf, u, v);
        if (top - bot >= kMinColumnShare * (pt - pb)) continue;
        (std::abs(top - pt) > std::abs(bot - pb) ? top : bot) = kNaN;
      }
    // A 5 x 5 median keeps single columns (noise, a vessel channel) from punching holes.
    for (auto* mp : {&topMap, &botMap}) {
      std::vector<double> out(mp->size(), kNaN);
      for (int iu = 0; iu < mapNu; ++iu)
        for (int iv = 0; iv < mapNv; ++iv) {
          std::vector<double> w;
          for (int du = -2; du <= 2; ++du)
            for (int dv = -2; dv <= 2; ++dv) {
              const int ju = iu + du, jv = iv + dv;
              if (ju < 0 || ju >= mapNu || jv < 0 || jv >= mapNv) continue;
              const double x = (*mp)[static_cast<size_t>(ju) * mapNv + jv];
              if (!std::isnan(x)) w.push_back(x);
            }
          if (w.size() >= 6) out[static_cast<size_t>(iu) * mapNv + iv] = median(w);
        }
      *mp = out;
    }
    // Next to the walls a column runs along the wall's cortex and its endplate is not clear:
    // the maps are carried out to the outline from the columns inside, a millimetre a pass.
    for (auto* mp : {&topMap, &botMap})
      for (int pass = 0; pass < static_cast<int>(kWallMarginMm / mapStep) + 1; ++pass) {
        std::vector<double> out = *mp;
        for (int iu = 0; iu < mapNu; ++iu)
          for (int iv = 0; iv < mapNv; ++iv) {
            if (!std::isnan((*mp)[static_cast<size_t>(iu) * mapNv + iv])) continue;
            const double u = -mapU + iu * mapStep, v = mapV0 + iv * mapStep;
            double th = std::atan2(u, v);
            if (th < 0) th += 2.0 * kPi;
            const int a = static_cast<int>(std::lround(th / (2.0 * kPi) * kRays)) % kRays;
            if (std::hypot(u, v) > midR[static_cast<size_t>(a)] + 1.0) continue;
            double sum = 0.0;
            int cnt = 0;
            for (const auto& [du, dv] : {std::pair{-1, 0}, {1, 0}, {0, -1}, {0, 1}}) {
              const int ju = iu + du, jv = iv + dv;
              if (ju < 0 || ju >= mapNu || jv < 0 || jv >= mapNv) continue;
              const double x = (*mp)[static_cast<size_t>(ju) * mapNv + jv];
              if (std::isnan(x)) continue;
              sum += x;
              ++cnt;
            }
            if (cnt > 0) out[static_cast<size_t>(iu) * mapNv + iv] = sum / cnt;
          }
        *mp = out;
      }
  }
  // The endplate found on the CT for the column at (u, v), or NaN.
  auto mapAt = [&](int side, double u, double v) {
    if (!columnEndplates) return kNaN;
    const int iu = static_cast<int>(std::lround((u + mapU) / mapStep));
    const int iv = static_cast<int>(std::lround((v - mapV0) / mapStep));
    if (iu < 0 || iu >= mapNu || iv < 0 || iv >= mapNv) return kNaN;
    return (side == 0 ? topMap : botMap)[static_cast<size_t>(iu) * mapNv + iv];
  };
  // The superior (side 0) or inferior limit of the body at (u, v).
  auto limitAt = [&](int side, double u, double v) {
    const double h = mapAt(side, u, v);
    if (!std::isnan(h)) return h;
    return side == 0 ? planeHeight(pSup, nSup, u, v) : planeHeight(pInf, nInf, u, v);
  };

  // Rasterise on the label map's grid (a dry run on the input grid) inside the oriented box.
  const Grid& g = dryRun ? vol.grid() : bodies.grid();
  // The label map's grid divides every input voxel into equal parts (locateSpine makes it so):
  // the input voxel holding one of its voxels is found by division.
  Size3 parts{1, 1, 1};
  for (int d = 0; d < 3; ++d)
    parts[d] = std::max<int64_t>(1, std::llround(vol.grid().spacing[d] / g.spacing[d]));
  if (!g.sameGeometryAs(subdividedGrid(vol.grid(), parts)))
    throw Error(ErrorCode::kInternal, "body label map is not a subdivision of the input grid");
  auto huAt = [&](int64_t i, int64_t j, int64_t k) {
    return static_cast<double>(vol.at(i / parts[0], j / parts[1], k / parts[2]));
  };
  double rMax = 0.0;
  for (const auto& r : R)
    for (double v : r) rMax = std::max(rMax, v);
  const double postReach = whole ? dPost + 75.0 : dPost + 1.0;
  // Posterior elements are thin and partial-volumed: a lower level than the body cortex.
  const double tPost = tissue + 0.35 * (cortex - tissue);
  const double latReach = whole ? std::max(rMax, 45.0) : rMax;
  const Vec3 sTopP = at(line.point, sg.slabTop), sBotP = at(line.point, sg.slabBottom);
  const Vec3 nTop = (at(line.tangent, sg.slabTop) * -1.0).normalized();
  const Vec3 nBot = (at(line.tangent, sg.slabBottom) * -1.0).normalized();
  const double hLo = whole ? std::min(hMin, (sBotP - c).dot(axisSup)) - 2.0 : hMin - 1.0;
  const double hHi = whole ? std::max(hMax, (sTopP - c).dot(axisSup)) + 2.0 : hMax + 1.0;
  Vec3 lo{1e18, 1e18, 1e18}, hi{-1e18, -1e18, -1e18};
  for (int k = 0; k < 8; ++k) {
    const Vec3 p = c + axisSup * ((k & 1) ? hHi : hLo) + lat * ((k & 2) ? latReach : -latReach) +
                   ant * ((k & 4) ? rMax + 1.0 : -postReach);
    const Vec3 idx = g.lpsToIndex(p);
    for (int d = 0; d < 3; ++d) {
      lo[d] = std::min(lo[d], idx[d]);
      hi[d] = std::max(hi[d], idx[d]);
    }
  }
  int64_t i0[3], i1[3];
  for (int d = 0; d < 3; ++d) {
    i0[d] = std::max<int64_t>(0, static_cast<int64_t>(std::floor(lo[d])));
    i1[d] = std::min<int64_t>(g.size[d] - 1, static_cast<int64_t>(std::ceil(hi[d])));
  }
  Vec3 sumBody{}, sumWhole{}, sumUp{}, sumLow{};
  int64_t nBody = 0, nWhole = 0, nUp = 0, nLow = 0;
  // A dry run only needs centroids: every other voxel on fine grids.
  int64_t stride[3];
  for (int d = 0; d < 3; ++d) stride[d] = (dryRun && g.spacing[d] < 1.2) ? 2 : 1;
  for (int64_t k = i0[2]; k <= i1[2]; k += stride[2])
    for (int64_t j = i0[1]; j <= i1[1]; j += stride[1])
      for (int64_t i = i0[0]; i <= i1[0]; i += stride[0]) {
        const Vec3 p =
            g.indexToLps({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        const Vec3 q = p - c;
        const double h = q.dot(axisSup);
        const double v = q.dot(ant), u = q.dot(lat);
        bool inBody = false;
        // (No ray reaches beyond rMax: the endplate maps are only looked up inside it.)
        if (std::abs(u) <= rMax && std::abs(v) <= rMax && h <= limitAt(0, u, v) &&
            h >= limitAt(1, u, v)) {
          const double rr = std::hypot(u, v);
          double th = std::atan2(u, v);
          if (th < 0) th += 2.0 * kPi;
          const double fa = th / (2.0 * kPi) * kRays;
          const int a0 = static_cast<int>(std::floor(fa)) % kRays;
          const int a1 = (a0 + 1) % kRays;
          const double fr = fa - std::floor(fa);
          const int pl =
              std::clamp(static_cast<int>(std::lround(h - (hMin - 1.0))), 0, nPlanes - 1);
          const auto& r = R[static_cast<size_t>(pl)];
          double lim = r[static_cast<size_t>(a0)] * (1 - fr) + r[static_cast<size_t>(a1)] * fr;
          if (rr > lim && !std::isnan(mapAt(0, u, v)) && !std::isnan(mapAt(1, u, v)))
            lim = std::max(
                lim, env[static_cast<size_t>(a0)] * (1 - fr) + env[static_cast<size_t>(a1)] * fr);
          inBody = rr <= lim;
        }
        if (inBody) {
          if (!dryRun) bodies.at(i, j, k) = label;
          sumBody += p;
          ++nBody;
          if (h >= 0.0) {
            sumUp += p;
            ++nUp;
          } else {
            sumLow += p;
            ++nLow;
          }
        }
        if (whole && !dryRun) {
          bool inWhole = inBody;
          // Arches and spinous processes slope caudally behind their body: follow them with
          // a slab that drops by about a third of the distance behind the posterior wall.
          const Vec3 ps = p + axisSup * (0.3 * std::max(0.0, -(v + dPost)));
          if (!inWhole && (ps - sTopP).dot(nTop) <= 0.0 && (ps - sBotP).dot(nBot) >= 0.0 &&
              v <= -dPost + 1.0 && v >= -postReach && std::abs(u) <= 45.0 && huAt(i, j, k) >= tPost)
            inWhole = true;
          if (inWhole) {
            whole->at(i, j, k) = label;
            sumWhole += p;
            ++nWhole;
          }
        }
      }
  if (nBody < 20) {
    sg.notMeasurable = "body outline not found";
    return;
  }
  if (std::getenv("SPINESCREEN_SPINE_DEBUG")) {
    sampleRay(vol, c, dirs[0], 1.0, 40, ray);
    std::fprintf(stderr, "anterior ray:");
    for (double v : ray) std::fprintf(stderr, " %.0f", v);
    std::fprintf(stderr, "\n");
    const auto& mid = R[static_cast<size_t>(nPlanes / 2)];
    std::fprintf(stderr, "mid-plane reach:");
    for (int a = 0; a < kRays; a += 6)
      std::fprintf(stderr, " %d:%.1f", a * 5, mid[static_cast<size_t>(a)]);
    std::fprintf(stderr, " tissue %.0f cortex %.0f\n", tissue, cortex);
  }
  if (std::getenv("SPINESCREEN_SPINE_DEBUG"))
    std::fprintf(stderr,
                 "segment body %.1f..%.1f slab %.1f..%.1f top z %.1f bottom z %.1f c z %.1f "
                 "centroid z %.1f tc %.0f dPost %.1f\n",
                 sg.bodyTop, sg.bodyBottom, sg.slabTop, sg.slabBottom, pSup.z, pInf.z, c.z,
                 sumBody.z / std::max<int64_t>(1, nBody), tc, dPost);
  if (halves) *halves = (axisSup + slope) * 10.0;
  sg.haveBody = true;
  sg.bodyVoxels = nBody;
  sg.bodyCentroid = sumBody / static_cast<double>(nBody);
  sg.centroid = nWhole > 0 ? sumWhole / static_cast<double>(nWhole) : sg.bodyCentroid;
  sg.axisSup = axisSup;
  sg.axisAnt = ant;
}

// Segments a body twice: first along the centreline, then along the axis through the centres
// of its upper and lower halves (the centreline tangent is smoothed over neighbours).
void segmentVertebra(const HuVolume& vol, const Centreline& line, Segment& sg, uint8_t label,
                     LabelImage& bodies, LabelImage* whole) {
  const double sMid = 0.5 * (sg.bodyTop + sg.bodyBottom);
  const Vec3 tangentUp = (at(line.tangent, sMid) * -1.0).normalized();
  bool have = false;
  Vec3 axis = tangentUp, centre;
  for (int it = 0; it < 3; ++it) {
    Vec3 halves;
    Segment probe = sg;
    segmentVertebraOnce(vol, line, probe, label, bodies, nullptr, have ? &axis : nullptr,
                        have ? &centre : nullptr, true, &halves);
    if (!probe.haveBody || halves.norm() < 3.0) break;
    const Vec3 next = halves.normalized();
    // Real bodies are waisted and carry pedicles: trust the drift only within 10 degrees of
    // the centreline.
    if (next.dot(tangentUp) < std::cos(10.0 * kPi / 180.0)) break;
    const bool settled = have && next.dot(axis) > std::cos(1.0 * kPi / 180.0);
    axis = next;
    centre = probe.bodyCentroid;
    have = true;
    if (settled) break;
  }
  segmentVertebraOnce(vol, line, sg, label, bodies, whole, have ? &axis : nullptr,
                      have ? &centre : nullptr, false, nullptr);
}

// Extends both ends of the line along their tangents by up to `mm`, inside the grid.
void extendLine(Centreline& line, const Grid& grid, double mm) {
  if (line.point.size() < 2) return;
  auto inside = [&](const Vec3& p) {
    const Vec3 i = grid.lpsToIndex(p);
    return grid.contains(std::lround(i.x), std::lround(i.y), std::lround(i.z));
  };
  const int steps = static_cast<int>(mm / line.stepMm);
  Centreline head;
  for (int k = steps; k >= 1; --k) {
    const Vec3 d = line.tangent.front() * (-k * line.stepMm);
    if (!inside(line.point.front() + d)) continue;
    head.point.push_back(line.point.front() + d);
    head.canal.push_back(line.canal.front() + d);
    head.tangent.push_back(line.tangent.front());
    head.anterior.push_back(line.anterior.front());
  }
  line.point.insert(line.point.begin(), head.point.begin(), head.point.end());
  line.canal.insert(line.canal.begin(), head.canal.begin(), head.canal.end());
  line.tangent.insert(line.tangent.begin(), head.tangent.begin(), head.tangent.end());
  line.anterior.insert(line.anterior.begin(), head.anterior.begin(), head.anterior.end());
  const Vec3 p0 = line.point.back(), c0 = line.canal.back(), t0 = line.tangent.back(),
             a0 = line.anterior.back();
  for (int k = 1; k <= steps; ++k) {
    const Vec3 d = t0 * (k * line.stepMm);
    if (!inside(p0 + d)) break;
    line.point.push_back(p0 + d);
    line.canal.push_back(c0 + d);
    line.tangent.push_back(t0);
    line.anterior.push_back(a0);
  }
}

// Expected disc-to-disc distance by ordinal (C1=0 .. S1=24), relative units (adult means).
double expectedSpacing(int ordinal) {
  static const double kSp[25] = {15, 15, 15, 15,   16, 16, 17,              // C1..C7
                                 18, 19, 20, 20.5, 21, 22, 23, 24, 25, 26,  // T1..T10
                                 28, 30,                                    // T11, T12
                                 32, 34, 35, 35,   33,                      // L1..L5
                                 33};
  return kSp[std::clamp(ordinal, 0, 24)];
}

// First segment of the caudal run of segments with iliac contact (segs.size() when none). The
// run need not reach the last segment: the lower sacral segments lie below the ilia.
size_t caudalPelvisRun(const std::vector<Segment>& segs) {
  size_t end = segs.size();
  while (end > 0 && !segs[end - 1].pelvis) --end;
  if (end == 0) return segs.size();
  size_t from = end;
  while (from > 0 && segs[from - 1].pelvis) --from;
  return from;
}

// Ribs seen the way a reader counts them: in parasagittal planes a few centimetres beside the
// column, each rib's posterior arc is a small oval bone section, one per rib-bearing level;
// transverse processes end closer to the midline, and the kidneys, liver, scapula and pelvis
// are large sections there. Sets each segment's `ribs` to the number of sides where a section
// in the inner plane continues in the outer one, and `ribSides` to the sides whose rib zone
// is in the field of view.
void detectRibs(const HuVolume& volume, const Centreline& line, std::vector<Segment>& segs,
                double boneHu) {
  const int ns = static_cast<int>(line.point.size());
  const double vMin = -25.0, vMax = 60.0;  // posterior offset from the body centre (mm)
  const int nv = static_cast<int>(vMax - vMin) + 1;
  const double offsets[] = {50.0, 60.0};  // mm beside the centreline
  // Thresholds for bone sections; the highest one also separates a rib from an enhancing
  // kidney it touches, and every section must reach it somewhere.
  const double levels[] = {std::max(110.0, 0.6 * boneHu), std::max(120.0, 0.85 * boneHu),
                           std::max(200.0, 1.2 * boneHu)};
  const bool debug = std::getenv("SPINESCREEN_SPINE_DEBUG") != nullptr;
  // found[q][side]: a rib assigned to segment q.
  std::vector<std::array<bool, 2>> found(segs.size(), {false, false});
  // Share of the inner plane's rib zone (0..50 mm behind the body centre) inside the field of
  // view, per segment and side.
  std::vector<std::array<int64_t, 2>> inView(segs.size(), {0, 0}),
      planeSamples(segs.size(), {0, 0});
  std::vector<float> img(static_cast<size_t>(ns) * nv);
  std::vector<int> lab(img.size());
  std::vector<int> stack;
  for (int side = 0; side < 2; ++side) {
    // Section centres (line index) per plane.
    std::array<std::vector<double>, 2> sections;
    for (size_t k = 0; k < 2; ++k) {
      const double off = offsets[k];
      for (int i = 0; i < ns; ++i) {
        const Vec3 t = line.tangent[static_cast<size_t>(i)].normalized();
        const Vec3 an = line.anterior[static_cast<size_t>(i)].normalized();
        Vec3 lx = t.cross(an).normalized();
        if ((lx.x > 0.0) != (side == 1)) lx = lx * -1.0;
        const Vec3 base = line.point[static_cast<size_t>(i)] + lx * off;
        if (k == 0)
          for (size_t q = 0; q < segs.size(); ++q)
            if (i >= segs[q].slabTop && i < segs[q].slabBottom)
              for (double v = 0.0; v <= 50.0; v += 5.0) {
                ++planeSamples[q][static_cast<size_t>(side)];
                if (!std::isnan(sampleLinearLps(volume, base - an * v, kNaN)))
                  ++inView[q][static_cast<size_t>(side)];
              }
        for (int v = 0; v < nv; ++v) {
          // A thin slab (maximum over +-3 mm laterally) keeps an obliquely cut rib whole.
          double mx = -1024.0;
          for (double d = -3.0; d <= 3.01; d += 1.5)
            mx = std::max(mx, sampleLinearLps(volume, base + lx * d - an * (vMin + v), -1024.0));
          img[static_cast<size_t>(i) * nv + v] = static_cast<float>(mx);
        }
      }
      for (double level : levels) {
        std::fill(lab.begin(), lab.end(), 0);
        int next = 0;
        for (int start = 0; start < static_cast<int>(img.size()); ++start) {
          if (lab[static_cast<size_t>(start)] || img[static_cast<size_t>(start)] < level) continue;
          lab[static_cast<size_t>(start)] = ++next;
          stack.assign(1, start);
          int area = 0, iMin = ns, iMax = -1;
          double iSum = 0.0;
          float peak = -1024.0f;
          while (!stack.empty()) {
            const int o = stack.back();
            stack.pop_back();
            const int i = o / nv, v = o % nv;
            ++area;
            iSum += i;
            peak = std::max(peak, img[static_cast<size_t>(o)]);
            iMin = std::min(iMin, i);
            iMax = std::max(iMax, i);
            const int nb[4][2] = {{i - 1, v}, {i + 1, v}, {i, v - 1}, {i, v + 1}};
            for (const auto& q : nb) {
              if (q[0] < 0 || q[0] >= ns || q[1] < 0 || q[1] >= nv) continue;
              const int oo = q[0] * nv + q[1];
              if (lab[static_cast<size_t>(oo)] || img[static_cast<size_t>(oo)] < level) continue;
              lab[static_cast<size_t>(oo)] = next;
              stack.push_back(oo);
            }
          }
          const double areaMm2 = area * line.stepMm;
          const double hMm = (iMax - iMin + 1) * line.stepMm;
          // A rib: under about 2 cm head to foot (a cross-section, or an upper rib running
          // forward in the plane); organs, the pelvis and the scapula are taller.
          if (areaMm2 < 25.0 || areaMm2 > 600.0 || hMm > 20.0 || iMin == 0 || iMax == ns - 1)
            continue;
          // A rib's cortex is brighter than an enhancing organ's edge (a kidney's upper pole in
          // contrast phases, cut at its tip, is a small section too).
          if (peak < levels[2]) continue;
          const double sc = iSum / area;
          bool seen = false;
          for (double o : sections[k]) seen = seen || std::abs(o - sc) * line.stepMm < 3.0;
          if (!seen) sections[k].push_back(sc);
          if (debug)
            std::fprintf(stderr,
                         "rib section side %d off %.0f level %.0f s %.0f area %.0f peak %.0f\n",
                         side, off, level, sc, areaMm2, peak);
        }
      }
    }
    // A rib runs out and down: a section in the inner plane continued at most a few
    // millimetres higher or 14 mm lower in the outer one. It belongs to the vertebra whose slab
    // holds its inner section, corrected for the descent from the tubercle.
    for (double sa : sections[0]) {
      bool chained = false;
      for (double sb : sections[1]) {
        const double d = (sb - sa) * line.stepMm;
        chained = chained || (d >= -4.0 && d <= 14.0);
      }
      if (!chained) continue;
      const double sRib = sa - (offsets[0] - 30.0) * 0.2 / line.stepMm;
      for (size_t q = 0; q < segs.size(); ++q)
        if (sRib >= segs[q].slabTop && sRib < segs[q].slabBottom)
          found[q][static_cast<size_t>(side)] = true;
    }
  }
  // Beside the pelvis (the caudal run of segments touching it, and the one above), lateral
  // bone sections are the iliac crests.
  size_t pelvisFrom = caudalPelvisRun(segs);
  if (pelvisFrom < segs.size() && pelvisFrom > 0) --pelvisFrom;
  for (size_t q = 0; q < segs.size(); ++q) {
    segs[q].ribs = 0;
    segs[q].ribSides = 0;
    for (size_t sd = 0; sd < 2; ++sd) {
      // A side counts only when most of its plane is in view: a field of view that cuts the
      // ribs off says nothing about them.
      if (inView[q][sd] < 0.9 * static_cast<double>(planeSamples[q][sd])) continue;
      ++segs[q].ribSides;
      if (q < pelvisFrom && found[q][sd]) ++segs[q].ribs;
    }
  }
}

// Share of samples meeting `pred` on each side of a segment's body, on a grid of lateral
// distances `r` and anterior offsets `v` ({first, last, step}, mm) in each plane every 2 mm
// along it. Samples outside the field of view (`outside` NaN) are not counted.
struct SideShares {
  double left = 0.0, right = 0.0;
  int64_t seenLeft = 0, seenRight = 0, perSide = 0;
};
template <class Pred>
SideShares shareBeside(const HuVolume& work, const Centreline& line, const Segment& sg,
                       std::array<double, 3> r, std::array<double, 3> v, double outside,
                       Pred pred) {
  SideShares out;
  int64_t hitL = 0, hitR = 0;
  for (double si = sg.bodyTop; si <= sg.bodyBottom; si += 2.0 / line.stepMm) {
    const Vec3 c = at(line.point, si);
    const Vec3 t = at(line.tangent, si).normalized();
    const Vec3 an = at(line.anterior, si).normalized();
    const Vec3 lx = t.cross(an).normalized();
    for (double rr = r[0]; rr <= r[1]; rr += r[2])
      for (double vv = v[0]; vv <= v[1]; vv += v[2]) {
        ++out.perSide;
        const double hl = sampleLinearLps(work, c + lx * rr + an * vv, outside);
        const double hr = sampleLinearLps(work, c - lx * rr + an * vv, outside);
        if (!std::isnan(hl)) {
          ++out.seenLeft;
          hitL += pred(hl) ? 1 : 0;
        }
        if (!std::isnan(hr)) {
          ++out.seenRight;
          hitR += pred(hr) ? 1 : 0;
        }
      }
  }
  out.left = out.seenLeft ? static_cast<double>(hitL) / static_cast<double>(out.seenLeft) : 0.0;
  out.right = out.seenRight ? static_cast<double>(hitR) / static_cast<double>(out.seenRight) : 0.0;
  return out;
}

// Share of air-dark samples beside and behind a body that marks lung.
constexpr double kLungShare = 0.15;
// A segment longer than this many times its neighbours' median holds two vertebrae.
constexpr double kMergedSpacingRatio = 1.6;
// Ordinals: S1, and the last sacral segment a placement may put a segment at (S5): the line
// runs on through the sacrum, whose fusion lines may be found as discs.
constexpr int kS1Ordinal = 24;
constexpr int kLastSacralOrdinal = 28;
// Share of adults whose T12 bears no ribs (11 pairs), and of those whose L1 bears a short
// pair (a lumbar rib): each a few per cent.
constexpr double kRibVariantShare = 0.04;
// Bodies of plausible width a column must show.
constexpr int kMinPlausibleBodies = 3;
// Iliac contact counts up to this far behind the column axis (mm); further back lie the
// posterior elements.
constexpr double kContactBehindMm = 12.0;

// Marks iliac contact, lung and sacral alae per segment from the bone and air around it.
void scoreAnchors(const HuVolume& work, const Centreline& line, std::vector<Segment>& segs,
                  double boneHu) {
  const Grid& g = work.grid();
  const double sp = g.spacing.x;
  const int64_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  // Column axis per slice: between body centre and canal.
  std::vector<int> nearest(static_cast<size_t>(nz), -1);
  std::vector<Vec3> axis(static_cast<size_t>(nz));
  for (size_t i = 0; i < line.point.size(); ++i) {
    const Vec3 idx = g.lpsToIndex(line.point[i]);
    const int64_t k = std::lround(idx.z);
    if (k < 0 || k >= nz) continue;
    if (nearest[static_cast<size_t>(k)] < 0 ||
        std::abs(g.lpsToIndex(line.point[static_cast<size_t>(nearest[static_cast<size_t>(k)])]).z -
                 static_cast<double>(k)) > std::abs(idx.z - static_cast<double>(k))) {
      nearest[static_cast<size_t>(k)] = static_cast<int>(i);
      axis[static_cast<size_t>(k)] = line.point[i] + (line.canal[i] - line.point[i]) * 0.5;
    }
  }
  const double r0 = 30.0;
  // Bone components outside the column.
  LabelImage mask(g, 0);
  for (int64_t k = 0; k < nz; ++k) {
    if (nearest[static_cast<size_t>(k)] < 0) continue;
    const Vec3 a = axis[static_cast<size_t>(k)];
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        if (work.at(i, j, k) < boneHu) continue;
        const Vec3 p =
            g.indexToLps({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        const double dx = p.x - a.x, dy = p.y - a.y;
        const double r = std::hypot(dx, dy);
        if (r <= r0 || std::abs(dx) > 120.0 || dy < -40.0) continue;
        mask.at(i, j, k) = 1;
      }
  }
  int count = 0;
  const std::vector<int32_t> cc = detail::connectedComponents(mask, count);
  struct Comp {
    double rmin = 1e9, rmax = 0.0;
    int64_t n = 0;
  };
  std::vector<Comp> comps(static_cast<size_t>(count) + 1);
  std::vector<double> rOf(cc.size(), 0.0);
  for (int64_t k = 0; k < nz; ++k) {
    if (nearest[static_cast<size_t>(k)] < 0) continue;
    const Vec3 a = axis[static_cast<size_t>(k)];
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const size_t o = mask.offset(i, j, k);
        const int32_t l = cc[o];
        if (!l) continue;
        const Vec3 p =
            g.indexToLps({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        const double r = std::hypot(p.x - a.x, p.y - a.y);
        rOf[o] = r;
        Comp& cp = comps[static_cast<size_t>(l)];
        cp.rmin = std::min(cp.rmin, r);
        cp.rmax = std::max(cp.rmax, r);
        ++cp.n;
      }
  }
  // Pelvic contact per segment and side: the medial ends of large components reaching the
  // column.
  std::vector<std::array<int64_t, 2>> pelvicContact(segs.size(), {0, 0});
  auto segmentOf = [&](double s) {
    for (size_t q = 0; q < segs.size(); ++q)
      if (s >= segs[q].slabTop && s <= segs[q].slabBottom) return static_cast<int>(q);
    return -1;
  };
  auto isPelvic = [&](const Comp& cp) {
    const double len = cp.rmax - cp.rmin;
    const double vol = static_cast<double>(cp.n) * sp * sp * sp;
    return cp.rmin <= r0 + 8.0 && len >= 25.0 && (vol >= 40000.0 || vol / len > 400.0);
  };
  for (int64_t k = 0; k < nz; ++k) {
    if (nearest[static_cast<size_t>(k)] < 0) continue;
    const Vec3 a = axis[static_cast<size_t>(k)];
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const size_t o = mask.offset(i, j, k);
        const int32_t l = cc[o];
        if (!l) continue;
        const Comp& cp = comps[static_cast<size_t>(l)];
        if (rOf[o] > cp.rmin + 6.0 || !isPelvic(cp)) continue;
        const Vec3 p =
            g.indexToLps({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        // Sacro-iliac contact is behind the body's centre (vessels and heart lie in front) and
        // beside the canal, not behind it, where the chain of laminae, facets and rib necks
        // lies.
        if (p.y > line.point[static_cast<size_t>(nearest[static_cast<size_t>(k)])].y &&
            p.y - a.y <= kContactBehindMm) {
          const int q = segmentOf(nearest[static_cast<size_t>(k)]);
          if (q >= 0) ++pelvicContact[static_cast<size_t>(q)][p.x > a.x ? 1 : 0];
        }
      }
  }
  if (std::getenv("SPINESCREEN_SPINE_DEBUG"))
    for (size_t q = 0; q < segs.size(); ++q)
      std::fprintf(stderr, "anchors seg %zu pelvic %lld/%lld\n", q,
                   static_cast<long long>(pelvicContact[q][0]),
                   static_cast<long long>(pelvicContact[q][1]));
  for (size_t q = 0; q < segs.size(); ++q) {
    // Sacral alae: bone straight beside the body (at its depth) on both sides, over most of
    // the segment, joined to a large lateral (iliac) mass. Lumbar bodies have psoas there,
    // transverse processes and ribs leave further back.
    // The line may run straight on in front of a tilted sacrum: try a few depths and keep
    // the best.
    const Segment& sg = segs[q];
    double fl = 0.0, fr = 0.0;
    for (double depth = -12.0; depth <= 4.0; depth += 4.0) {
      const SideShares b =
          shareBeside(work, line, sg, {26.0, 44.0, 3.0}, {depth - 4.0, depth + 4.0, 4.0}, -1024.0,
                      [&](double h) { return h >= boneHu; });
      if (std::min(b.left, b.right) > std::min(fl, fr)) {
        fl = b.left;
        fr = b.right;
      }
    }
    // Lung beside and behind the body (the posterior recesses reach down to T12 or L1): the
    // segment is thoracic, and bone masses touching it are ribs, never the ilium. Unobserved
    // when the field of view leaves out most of the region.
    const SideShares lung = shareBeside(work, line, sg, {25.0, 60.0, 5.0}, {-25.0, 10.0, 5.0}, kNaN,
                                        [](double h) { return h < -400.0; });
    const double lungL = lung.left, lungR = lung.right;
    segs[q].lung = lung.seenLeft + lung.seenRight < lung.perSide / 2
                       ? -1
                       : (std::max(lungL, lungR) >= kLungShare ? 1 : 0);
    const bool lungBeside = segs[q].lung == 1;
    const int64_t minContact = static_cast<int64_t>(std::ceil(40.0 / (sp * sp)));
    // The ilia meet the sacrum on both sides; contact on one side only is a kidney, a bowel
    // loop or a crus beside a lumbar body.
    const bool pelvis = !lungBeside && pelvicContact[q][0] + pelvicContact[q][1] >= minContact &&
                        4 * std::min(pelvicContact[q][0], pelvicContact[q][1]) >= minContact;
    segs[q].pelvis = pelvis;
    if (std::getenv("SPINESCREEN_SPINE_DEBUG"))
      std::fprintf(stderr, "ala seg %zu left %.2f right %.2f lung %.2f %.2f pelvis %d\n", q, fl, fr,
                   lungL, lungR, pelvis ? 1 : 0);
    // Both sides, one clearly: the centreline may sit off the sacral midline.
    const bool both = std::min(fl, fr) >= 0.25 && std::max(fl, fr) >= 0.4;
    segs[q].sacralLeft = pelvis && both;
    segs[q].sacralRight = pelvis && both;
  }
}

}  // namespace

namespace {
// Stage timing on stderr when SPINESCREEN_SPINE_DEBUG is set.
class DebugClock {
 public:
  DebugClock() : on_(std::getenv("SPINESCREEN_SPINE_DEBUG") != nullptr), t_(now()) {}
  void lap(const char* what) {
    if (!on_) return;
    const double t = now();
    std::fprintf(stderr, "time %s %.0f ms\n", what, t - t_);
    t_ = t;
  }

 private:
  static double now() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  bool on_;
  double t_;
};
}  // namespace

SpineModel locateSpine(const HuVolume& volume, const SpineConfig& config) {
  DebugClock clock;
  if (volume.empty()) throw InputError("empty volume");
  const Grid& g = volume.grid();
  for (int d = 0; d < 3; ++d)
    if (!(g.spacing[d] > 0.0)) throw InputError("voxel spacing must be positive");
  {
    // CT of a body holds fat, lung or air below -150 HU; MR and PET values do not go there.
    const auto& d = volume.data();
    const size_t step = std::max<size_t>(1, d.size() / 200000);
    size_t low = 0, n = 0;
    for (size_t i = 0; i < d.size(); i += step, ++n)
      if (d[i] < -150) ++low;
    if (n > 0 && low * 500 < n)
      throw NotApplicableError(
          "no spine in view: values do not look like CT (nothing below -150 HU)");
  }
  const double workSp = config.workingSpacingMm > 0.0 ? config.workingSpacingMm : 2.0;
  const HuVolume work = detail::resampleIsotropicLps(volume, workSp);
  clock.lap("resample");
  if (work.size()[2] * workSp < 20.0)
    throw NotApplicableError("no spine in view: the volume covers under 20 mm head to foot");

  const detail::ColumnTrack track = detail::trackColumn(work);
  clock.lap("track");
  const double runMm = (track.lastSlice - track.firstSlice + 1) * workSp;
  if (track.lastSlice < track.firstSlice || runMm < 30.0) {
    std::ostringstream m;
    m << "no spine in view: no vertebral column (body in front of a spinal canal) found";
    if (track.lastSlice >= track.firstSlice)
      m << " over more than " << static_cast<int>(runMm) << " mm";
    throw NotApplicableError(m.str());
  }
  Centreline line = detail::buildCentreline(track, 1.0);
  // The tracker loses the column where the canal flattens (sacrum) or leaves the view: carry
  // the line straight on for a few centimetres so the end discs and the sacrum can be seen.
  extendLine(line, volume.grid(), 30.0);
  const std::vector<double> profile = detail::bodyProfile(volume, line);
  std::vector<double> widthMm;
  std::vector<uint8_t> ringComplete;
  const std::vector<double> ring = detail::ringProfile(volume, line, &widthMm, &ringComplete);
  detail::EndDiscs ends;
  ends.minMm = std::max({g.spacing.x, g.spacing.y, g.spacing.z});
  ends.ringComplete = &ringComplete;
  if (line.point.size() >= 2) {
    // An end of the line meets the field of view's edge when a few millimetres further on lies
    // outside the volume.
    auto outside = [&](const Vec3& p, const Vec3& dir) {
      return std::isnan(sampleLinearLps(volume, p + dir.normalized() * 4.0, kNaN));
    };
    // Only at the caudal end: there the last body is a lumbar one, tall enough to be measured
    // next to the edge. At the cranial end the first bodies are mostly thin thoracic ones cut
    // close to their endplate, and measuring them gave false grade 2 (200 phantoms of seed
    // 20271201: five patients more flagged falsely, none more found; validation/spine.md).
    ends.caudal = outside(line.point.back(), line.tangent.back());
  }
  const std::vector<DiscFind> discs = detail::findDiscs(profile, ring, widthMm, line.stepMm, ends);
  const double last = static_cast<double>(line.point.size() - 1);
  clock.lap("profiles and discs");

  if (std::getenv("SPINESCREEN_SPINE_DEBUG")) {
    std::fprintf(stderr, "line %zu samples, z %.1f .. %.1f; discs:", line.point.size(),
                 line.point.front().z, line.point.back().z);
    for (const DiscFind& d : discs)
      std::fprintf(stderr, " %d(z %.0f, %.0f)", d.index, line.point[static_cast<size_t>(d.index)].z,
                   d.strength);
    std::fprintf(stderr, "\n");
  }
  SpineModel model;
  model.centrelineLps = line.point;
  if (discs.empty())
    throw NotApplicableError("no spine in view: no intervertebral disc found along the column");

  // Segments between discs; partial segments at both ends.
  std::vector<Segment> segs;
  {
    Segment top;
    top.slabTop = 0.0;
    top.bodyTop = 0.0;
    top.bodyBottom = discs.front().cranialEdge;
    top.slabBottom = discs.front().index;
    top.cutTop = true;
    if ((top.bodyBottom - top.bodyTop) * line.stepMm >= 6.0) segs.push_back(top);
    for (size_t i = 0; i + 1 < discs.size(); ++i) {
      Segment s;
      s.bodyTop = discs[i].caudalEdge;
      s.bodyBottom = discs[i + 1].cranialEdge;
      s.slabTop = discs[i].index;
      s.slabBottom = discs[i + 1].index;
      s.spacingMm = (discs[i + 1].index - discs[i].index) * line.stepMm;
      segs.push_back(s);
    }
    Segment bot;
    bot.bodyTop = discs.back().caudalEdge;
    bot.slabTop = discs.back().index;
    bot.slabBottom = last;
    bot.bodyBottom = last;
    bot.cutBottom = true;
    if ((bot.bodyBottom - bot.bodyTop) * line.stepMm >= 6.0) segs.push_back(bot);
  }
  // A long caudal remainder is the sacrum: keep one vertebra-length of it as the candidate S1.
  if (!segs.empty() && segs.back().cutBottom && segs.size() >= 2) {
    Segment& b = segs.back();
    const double prevSp =
        std::isnan(segs[segs.size() - 2].spacingMm) ? 30.0 : segs[segs.size() - 2].spacingMm;
    const double maxLen = 0.9 * prevSp / line.stepMm;
    if (b.bodyBottom - b.bodyTop > maxLen) {
      b.bodyBottom = b.bodyTop + maxLen;
      b.slabBottom = std::min(b.slabBottom, b.bodyBottom + 3.0 / line.stepMm);
    }
  }
  if (segs.size() > 250) throw Error(ErrorCode::kInternal, "too many vertebra candidates");
  const Grid bodyGrid = subdividedGrid(g, kBodyGridMm);
  model.bodies = LabelImage(bodyGrid, 0);
  if (config.wholeVertebraMask) model.vertebraeMask = LabelImage(bodyGrid, 0);
  for (size_t i = 0; i < segs.size(); ++i)
    segmentVertebra(volume, line, segs[i], static_cast<uint8_t>(i + 1), model.bodies,
                    config.wholeVertebraMask ? &model.vertebraeMask : nullptr);

  clock.lap("bodies");
  int plausible = 0;
  for (const Segment& s : segs)
    if (s.haveBody && s.widthMm >= 18.0 && s.widthMm <= 90.0) ++plausible;
  // A column shows at least three bodies (a body is graded against its neighbours); one or
  // two body-sized structures (the skull base, a bowel loop) are not a spine.
  if (plausible < kMinPlausibleBodies)
    throw NotApplicableError(plausible == 0
                                 ? "no spine in view: no vertebral body of plausible size found"
                                 : "no spine in view: only " + std::to_string(plausible) +
                                       " vertebral bod" + (plausible == 1 ? "y" : "ies") +
                                       " of plausible size found (a column shows at least " +
                                       std::to_string(kMinPlausibleBodies) + ")");

  // Anchors.
  std::vector<double> tcs;
  for (const Segment& s : segs)
    if (!std::isnan(s.thresholdHu)) tcs.push_back(s.thresholdHu);
  const double boneHu = std::max(120.0, 0.8 * (tcs.empty() ? 200.0 : median(tcs)));
  if (std::getenv("SPINESCREEN_SPINE_DEBUG")) std::fprintf(stderr, "boneHu %.0f\n", boneHu);
  scoreAnchors(work, line, segs, boneHu);
  detectRibs(volume, line, segs, boneHu);
  if (std::getenv("SPINESCREEN_SPINE_DEBUG"))
    for (size_t q = 0; q < segs.size(); ++q) {
      const Vec3 c = at(line.point, 0.5 * (segs[q].bodyTop + segs[q].bodyBottom));
      std::vector<double> core;
      for (int i = static_cast<int>(std::ceil(segs[q].bodyTop));
           i <= static_cast<int>(segs[q].bodyBottom) && i < static_cast<int>(profile.size()); ++i)
        core.push_back(profile[static_cast<size_t>(i)]);
      std::fprintf(
          stderr,
          "segment %zu ribs %d at %.1f %.1f %.1f pelvis %d sacral %d cortex %.0f core %.0f "
          "width %.0f seen %d lung %d\n",
          q, segs[q].ribs, c.x, c.y, c.z, segs[q].pelvis ? 1 : 0, segs[q].sacralLeft ? 1 : 0,
          segs[q].cortexHu, median(core), segs[q].widthMm, segs[q].ribSides, segs[q].lung);
    }
  clock.lap("anchors");

  // Labelling: score every placement of the sequence on the standard column.
  const int n = static_cast<int>(segs.size());
  // A segment about twice as long as its neighbours holds two vertebrae whose disc was missed
  // (thin upper thoracic discs, thick slices): it covers two levels, so the labels on one side
  // of it do not shift. Adjacent levels differ in size by a few per cent.
  for (int i = 0; i < n; ++i) {
    Segment& s = segs[static_cast<size_t>(i)];
    if (std::isnan(s.spacingMm)) continue;
    std::vector<double> near;
    for (int j = std::max(0, i - 2); j <= std::min(n - 1, i + 2); ++j)
      if (j != i && !std::isnan(segs[static_cast<size_t>(j)].spacingMm))
        near.push_back(segs[static_cast<size_t>(j)].spacingMm);
    if (near.size() >= 2 && s.spacingMm > kMergedSpacingRatio * median(near)) s.span = 2;
  }
  // Ordinal offset of each segment from the first one.
  std::vector<int> offset(static_cast<size_t>(n), 0);
  for (int i = 1; i < n; ++i)
    offset[static_cast<size_t>(i)] =
        offset[static_cast<size_t>(i) - 1] + segs[static_cast<size_t>(i) - 1].span;
  // The level a segment is labelled and scored as when the first one is at `o0`: a merged
  // segment as its caudal level (its ribs and contacts are seen there as much as at the
  // cranial one).
  auto levelOf = [&](int o0, int i) {
    return o0 + offset[static_cast<size_t>(i)] + segs[static_cast<size_t>(i)].span - 1;
  };
  struct Placement {
    int first;
    double score;
  };
  std::vector<Placement> places;
  for (int o0 = -2; levelOf(o0, n - 1) <= kLastSacralOrdinal; ++o0) {
    if (levelOf(o0, n - 1) < 0) continue;
    double sc = 0.0;
    // Terms kept apart for the debug listing: size, ribs, pelvis, lung, sacrum.
    std::array<double, 5> term{};
    // Size: fit one scale for the whole sequence.
    std::vector<double> logr;
    for (int i = 0; i < n; ++i) {
      const Segment& s = segs[static_cast<size_t>(i)];
      const int o = o0 + offset[static_cast<size_t>(i)];
      // Below S1 the segments are the sacrum's, split at its fusion lines: no vertebral size.
      if (o < 0 || o > kS1Ordinal || std::isnan(s.spacingMm)) continue;
      double expected = 0.0;
      for (int k = 0; k < s.span; ++k) expected += expectedSpacing(o + k);
      logr.push_back(std::log(s.spacingMm / expected));
    }
    double meanLog = 0.0;
    for (double v : logr) meanLog += v;
    if (!logr.empty()) meanLog /= static_cast<double>(logr.size());
    for (double v : logr) sc -= 0.5 * std::pow((v - meanLog) / 0.12, 2.0) * 0.5;
    // Adult vertebrae differ in size by about a tenth between patients.
    if (!logr.empty()) sc -= 0.5 * std::pow(meanLog / 0.10, 2.0);
    term[0] = sc;
    for (int i = 0; i < n; ++i) {
      const Segment& s = segs[static_cast<size_t>(i)];
      const int o = levelOf(o0, i);
      if (o < 0) {
        term[0] -= 3.0;
        continue;
      }
      // Log-likelihood of what was observed given the label. Rib detection per side: sure on
      // T2-T11, less on T12 (11 rib pairs are common) and T1 (the short first rib runs into
      // the clavicle), rare elsewhere (lumbar ribs, transverse processes); less sure on a
      // segment cut by the field of view.
      // Detection rates of the rib, pelvis and alae detectors per level, measured on the 200
      // development phantoms of seed 20271201 (bench/anchor_rates.py): ribs on 0.37 of the
      // sides at T1, 0.59-0.69 at T2-T3, 0.84-0.93 at T4-T12, a few hundredths at L1 (lumbar
      // ribs) and below; iliac contact at 0.68 of L5 and 0.92 of S1; both alae at 0.44 of S1.
      // Both sides together, because a level either bears ribs or not: T12 lacks them in
      // patients with 11 rib pairs, and L1 bears a short pair in those with a lumbar rib
      // (each a few per cent of adults), so a rib-free T12 or a rib-bearing L1 is rare but
      // not as rare as two independent misses or false finds would make it. `pRib` is the
      // rate per side on the usual anatomy, `pVariant` on the variant one.
      const double pFalse = 0.03;
      double pRib = pFalse, pVariant = pFalse, variant = 0.0;
      if (o == 7) pRib = 0.4;
      if (o == 8 || o == 9) pRib = 0.65;
      if (o >= 10 && o <= 18) pRib = 0.9;
      if (o == 18 || o == 19) variant = kRibVariantShare;
      if (o == 19) pVariant = 0.5;  // a short lumbar rib, found on a side half the time
      if (s.cutTop || s.cutBottom) {
        pRib = pFalse + (pRib - pFalse) * 0.7;
        pVariant = pFalse + (pVariant - pFalse) * 0.7;
      }
      auto sides = [&](double p) {
        return std::pow(p, s.ribs) * std::pow(1.0 - p, s.ribSides - s.ribs);
      };
      term[1] += std::log((1.0 - variant) * sides(pRib) + variant * sides(pVariant));
      // Iliac contact: S1 nearly always, L5 mostly (high crests), L4 sometimes; above that
      // only by mistake (enhanced kidneys, low ribs).
      double pPelvis = 0.04;
      if (o == 22) pPelvis = 0.12;
      if (o == 23) pPelvis = 0.7;
      if (o >= 24) pPelvis = 0.92;
      term[2] += s.pelvis ? std::log(pPelvis) : std::log(1.0 - pPelvis);
      // Lung beside the body: thoracic levels; the posterior recesses reach T12, seldom L1.
      if (s.lung >= 0) {
        double pLung = 0.02;
        if (o == 6) pLung = 0.5;
        if (o >= 7 && o <= 17) pLung = 0.9;
        if (o == 18) pLung = 0.5;
        if (o == 19) pLung = 0.15;
        term[3] += s.lung == 1 ? std::log(pLung) : std::log(1.0 - pLung);
      }
      // Sacral alae on both sides: S1 (the alae are often missed when the line runs in front
      // of a steep sacrum); seldom a sacralised L5; otherwise a false find.
      const bool sacral = s.sacralLeft && s.sacralRight;
      double pSacral = 0.005;
      if (o == 24) pSacral = 0.44;
      if (o == 23) pSacral = 0.04;
      if (o > 24) pSacral = 0.5;
      term[4] += sacral ? std::log(pSacral) : std::log(1.0 - pSacral);
    }
    sc = term[0] + term[1] + term[2] + term[3] + term[4];
    if (std::getenv("SPINESCREEN_SPINE_DEBUG"))
      std::fprintf(
          stderr,
          "place first %d score %.2f size %.2f ribs %.2f pelvis %.2f lung %.2f sacrum %.2f\n", o0,
          sc, term[0], term[1], term[2], term[3], term[4]);
    places.push_back({o0, sc});
  }
  if (places.empty())
    throw NotApplicableError("no spine in view: too many segments for one column");
  std::sort(places.begin(), places.end(),
            [](const Placement& a, const Placement& b) { return a.score > b.score; });
  double z = 0.0;
  for (const Placement& p : places) z += std::exp(p.score - places.front().score);
  // Never certain: anchors can be misread even when they agree.
  double confidence = std::min(0.95, 1.0 / z);
  const int o0 = places.front().first;

  // Anchors and their agreement.
  int lastRib = -1, sacrum = -1;
  for (int i = 0; i < n; ++i) {
    if (segs[static_cast<size_t>(i)].ribs > 0) lastRib = i;
    if (sacrum < 0 && segs[static_cast<size_t>(i)].sacralLeft &&
        segs[static_cast<size_t>(i)].sacralRight)
      sacrum = i;
  }
  // The last rib-bearing vertebra is known only when the one below it is seen rib-free on both
  // sides: with one side out of view, a rib missed on the other makes any level the last.
  const bool ribAnchor =
      lastRib >= 0 && lastRib + 1 < n && segs[static_cast<size_t>(lastRib) + 1].ribSides == 2;
  const bool sacralAnchor = sacrum >= 0;
  if (!ribAnchor && !sacralAnchor) {
    model.warnings.emplace_back(
        "no labelling anchor in view (no last rib above a rib-free vertebra, no sacrum): labels "
        "rest on vertebral size only");
    confidence = std::min(confidence, 0.3);
  } else if (!sacralAnchor || !ribAnchor) {
    confidence = std::min(confidence, 0.75);
  }
  {
    // Iliac bone beside a segment with rib-free segments below it, away from the caudal run
    // that the pelvis really touches, means the anchors cannot be trusted (the line may follow
    // a vessel, or bone masses were misread).
    const int pelvisFrom = static_cast<int>(caudalPelvisRun(segs));
    int stray = 0;
    for (int i = 0; i + 1 < pelvisFrom; ++i)
      if (segs[static_cast<size_t>(i)].pelvis) ++stray;
    if (stray >= 2) {
      model.warnings.emplace_back(
          "labelling anchors disagree: iliac contact found beside segments far above the pelvis; "
          "labels are uncertain");
      confidence = std::min(confidence, 0.3);
    }
  }
  if (ribAnchor && sacralAnchor) {
    const int lumbar = sacrum - lastRib - 1;
    if (lumbar != 5) {
      std::ostringstream m;
      m << "transitional anatomy: " << lumbar
        << " rib-free segments between the last rib-bearing vertebra and the sacrum (5 expected)";
      model.warnings.push_back(m.str());
      confidence = std::min(confidence, 0.5);
    }
  }

  for (int i = 0; i < n; ++i) {
    Segment& s = segs[static_cast<size_t>(i)];
    const int o = levelOf(o0, i);
    const auto label = labelFromOrdinal(o);
    if (!label) continue;
    Vertebra v;
    v.label = *label;
    v.labelConfidence = confidence;
    v.bodyLabel = s.haveBody ? i + 1 : 0;
    if (s.haveBody) {
      v.centroidLps = s.centroid;
      v.bodyCentroidLps = s.bodyCentroid;
      v.axisSuperior = s.axisSup;
      v.axisAnterior = s.axisAnt;
    } else {
      v.centroidLps = at(line.point, 0.5 * (s.bodyTop + s.bodyBottom));
    }
    if (o == 24) {
      v.measurable = false;
      v.notMeasurableReason = "sacrum: no inferior disc";
    } else if (s.cutTop || s.cutBottom) {
      v.measurable = false;
      v.notMeasurableReason = "cut by the field of view";
    } else if (s.span > 1) {
      v.measurable = false;
      v.notMeasurableReason = "two vertebrae merged (the disc between them was not found)";
    } else if (!s.haveBody) {
      v.measurable = false;
      v.notMeasurableReason = s.notMeasurable.empty() ? "body not segmented" : s.notMeasurable;
    }
    model.vertebrae.push_back(v);
  }
  return model;
}

}  // namespace spinescreen::spine
