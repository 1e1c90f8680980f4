// Builds the phantom's analytic anatomy from a spec: the column's centre line (sagittal
// curvature, scoliosis, kinks at wedge fractures), one local frame per vertebra, bodies,
// posterior elements, discs, sacrum, ribs, sternum, pelvis and the great vessels.
#include "phantom/model.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/labels.h"

namespace spinescreen::phantom::detail {
namespace {

constexpr double kDeg = M_PI / 180.0;

double lerp(double a, double b, double t) { return a + (b - a) * t; }

uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double hashUnit(uint64_t seed, uint64_t k) {
  return static_cast<double>(mix(seed ^ mix(k)) >> 11) * (1.0 / 9007199254740992.0);
}

BodyShape makeBody(double hp, double depth, double width, double indentFraction) {
  BodyShape b;
  b.hp = hp;
  b.depth = depth;
  b.a = 0.5 * width;
  b.b = depth / (2.0 - 0.6 * indentFraction);
  b.ib = std::max(0.3, indentFraction * b.b);
  b.ia = 0.4 * b.a;
  b.iy = b.b + 0.4 * b.ib;
  return b;
}

// Piecewise-linear interpolation over (key, value) pairs sorted by key.
double interp(const std::vector<std::pair<double, double>>& pts, double x) {
  if (x <= pts.front().first) return pts.front().second;
  if (x >= pts.back().first) return pts.back().second;
  for (size_t i = 1; i < pts.size(); ++i)
    if (x <= pts[i].first) {
      const double t = (x - pts[i - 1].first) / (pts[i].first - pts[i - 1].first);
      return lerp(pts[i - 1].second, pts[i].second, t);
    }
  return pts.back().second;
}

void finishBox(VertebraModel& v) {
  Aabb local;
  const BodyShape& b = v.body;
  const double hmax = 0.5 * b.hp * (1.0 + std::abs(b.wedge)) + 2.0;
  local.add({-b.a, -b.b, -hmax});
  local.add({b.a, b.iy, hmax});
  for (const auto& c : v.capsules) c.bound(local);
  for (const auto& x : v.boxes) x.bound(local);
  v.localBox = local;
  Aabb world;
  for (int sx = 0; sx < 2; ++sx)
    for (int sy = 0; sy < 2; ++sy)
      for (int sz = 0; sz < 2; ++sz)
        world.add(v.frame.toWorld({sx ? local.hi.x : local.lo.x, sy ? local.hi.y : local.lo.y,
                                   sz ? local.hi.z : local.lo.z}),
                  0.5);
  v.worldBox = world;
}

RoundBox boxAlong(const Vec3& from, const Vec3& to, const Vec3& side, double halfSide,
                  double halfThird, double round) {
  RoundBox r;
  r.c = (from + to) * 0.5;
  r.u0 = (to - from).normalized();
  r.u1 = (side - r.u0 * side.dot(r.u0)).normalized();
  r.u2 = r.u0.cross(r.u1);
  r.half = {0.5 * (to - from).norm() + round, halfSide, halfThird};
  r.round = round;
  return r;
}

// Posterior elements of a mobile vertebra, in its local frame.
void addPosteriorElements(VertebraModel& v, char region, int number, double discAbove,
                          double discBelow, bool sacralised, double scale) {
  const BodyShape& b = v.body;
  const double yPost = b.b - 0.6 * b.ib;
  const double hp = b.hp;
  double cw, ch, rp, spLen, spDeg, spHalfH, tpLen, tpR, lamT;
  if (region == 'C') {
    cw = 11.5, ch = 6.5, rp = 2.8, spLen = number == 7 ? 32 : 20, spDeg = number == 7 ? 30 : 20,
    spHalfH = 4.5, tpLen = 10, tpR = 3.0, lamT = 2.2;
  } else if (region == 'T') {
    cw = 8.0, ch = 7.5, rp = 3.2 + 0.12 * number, lamT = 2.6;
    spLen = 36 + number * 0.5;
    spDeg = number <= 4 ? 45 : (number <= 9 ? 60 : 35);
    spHalfH = 3.0 + 0.15 * number;
    tpLen = number <= 10 ? 22 : (number == 11 ? 12 : 8);
    tpR = 4.0;
  } else {
    cw = 11.0, ch = 8.0, rp = 5.0 + 0.3 * number, lamT = 3.2;
    spLen = 30, spDeg = 5, spHalfH = 8.0;
    const double tl[] = {0, 14, 19, 25, 22, 18, 16};
    tpLen = tl[std::clamp(number, 0, 6)];
    tpR = 3.2;
  }
  cw *= scale, ch *= scale, rp *= scale, spLen *= scale, spHalfH *= scale, tpLen *= scale;
  v.canalA = cw;
  v.canalB = ch;
  v.canalY = yPost + ch + 0.6;
  v.cord = region != 'L';
  const double px = cw + rp - 0.8;
  const double pz = 0.12 * hp;
  const double yJunction = v.canalY + 0.35 * ch;
  for (int s = -1; s <= 1; s += 2) {
    // Pedicle.
    v.capsules.push_back({{s * px, yPost - 3.0, pz}, {s * px, yJunction, pz}, rp});
    // Lamina: a plate from the pedicle to the midline behind the canal.
    const Vec3 from{s * px, yJunction, -0.05 * hp};
    const Vec3 to{0.0, v.canalY + ch + lamT, -0.08 * hp};
    v.boxes.push_back(boxAlong(from, to, {0, 0, 1}, 0.42 * hp, lamT, 1.2));
    // Transverse process.
    Vec3 tip;
    if (region == 'T')
      tip = {s * (px + tpLen), yJunction + 0.55 * tpLen, pz + 1.0};
    else if (region == 'L')
      tip = {s * (px + rp + tpLen), yJunction - 2.0, pz - 1.0};
    else
      tip = {s * (px + tpLen), yPost - 2.0, 0.0};
    if (sacralised) tip = {s * (px + rp + tpLen + 8.0), yJunction - 4.0, -0.5 * hp - discBelow};
    v.capsules.push_back({{s * px, yJunction, pz}, tip, sacralised ? 8.0 : tpR});
    // Articular processes: superior (lateral) and inferior (medial in the lumbar spine).
    const double fx = px + (region == 'L' ? 1.5 : 0.5);
    const double fy = yJunction + 0.2 * ch;
    const double fr = (region == 'L' ? 4.2 : 3.2) * scale;
    v.capsules.push_back(
        {{s * fx, fy, 0.15 * hp}, {s * fx, fy + 1.0, 0.5 * hp + 0.45 * discAbove}, fr});
    const double ix = region == 'L' ? fx - 2.0 * fr - 1.2 : fx;
    const double iy = region == 'L' ? fy + 2.0 : fy + fr * 2.0 + 1.0;
    v.capsules.push_back(
        {{s * ix, iy, -0.1 * hp}, {s * ix, iy + 1.0, -0.5 * hp - 0.45 * discBelow}, fr});
  }
  // Spinous process, sloping caudally.
  const Vec3 base{0.0, v.canalY + ch + lamT - 0.5, -0.08 * hp};
  const Vec3 dir{0.0, std::cos(spDeg * kDeg), -std::sin(spDeg * kDeg)};
  v.boxes.push_back(boxAlong(base, base + dir * spLen, {1, 0, 0}, 2.8 * scale, spHalfH, 1.5));
  v.canalZLo = -0.5 * hp - 0.5 * discBelow - 0.6;
  v.canalZHi = 0.5 * hp + 0.5 * discAbove + 0.6;
}

}  // namespace

double valueNoise(const Vec3& p, double scaleMm, uint64_t seed) {
  const double x = p.x / scaleMm, y = p.y / scaleMm, z = p.z / scaleMm;
  const double fx = std::floor(x), fy = std::floor(y), fz = std::floor(z);
  const int64_t ix = static_cast<int64_t>(fx), iy = static_cast<int64_t>(fy),
                iz = static_cast<int64_t>(fz);
  double tx = x - fx, ty = y - fy, tz = z - fz;
  tx = tx * tx * (3 - 2 * tx), ty = ty * ty * (3 - 2 * ty), tz = tz * tz * (3 - 2 * tz);
  auto h = [&](int64_t a, int64_t b, int64_t c) {
    uint64_t k = seed ^ (static_cast<uint64_t>(a) * 0x9E3779B97F4A7C15ULL) ^
                 (static_cast<uint64_t>(b) * 0xC2B2AE3D27D4EB4FULL) ^
                 (static_cast<uint64_t>(c) * 0x165667B19E3779F9ULL);
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ULL;
    k ^= k >> 33;
    return static_cast<double>(k >> 11) * (2.0 / 9007199254740992.0) - 1.0;
  };
  const double c00 = lerp(h(ix, iy, iz), h(ix + 1, iy, iz), tx);
  const double c10 = lerp(h(ix, iy + 1, iz), h(ix + 1, iy + 1, iz), tx);
  const double c01 = lerp(h(ix, iy, iz + 1), h(ix + 1, iy, iz + 1), tx);
  const double c11 = lerp(h(ix, iy + 1, iz + 1), h(ix + 1, iy + 1, iz + 1), tx);
  return lerp(lerp(c00, c10, ty), lerp(c01, c11, ty), tz);
}

double IliumModel::insideDepth(const Vec3& p) const {
  if (p.z > zCrest || p.z < zLow) return -1.0;
  const double u = (zCrest - p.z) / (zCrest - zLow);
  const double X = side * p.x;
  const double cx = centre.x + 8.0 * u, cy = centre.y + 6.0 * u;
  const double dx = X - cx, dy = p.y - cy;
  const double r = std::sqrt(dx * dx + dy * dy);
  const double R = radius * (1.0 - 0.22 * u);
  const double phi = std::atan2(dy, dx) / kDeg;
  const double lo = lerp(phiMinDeg, phiMinDeg + 35.0, u * u);
  const double hi = lerp(phiMaxDeg, phiMaxDeg - 25.0, u);
  const double th = thickness * (1.0 + 0.6 * u) + (u < 0.08 ? 3.0 : 0.0);
  const double radial = 0.5 * th - std::abs(r - R);
  const double angular = std::min(phi - lo, hi - phi) * kDeg * r;
  const double vertical = zCrest - p.z + 1.0;
  return std::min(std::min(radial, angular), vertical);
}

Vec3 Model::spineAt(double z) const {
  // The line runs cranial to caudal with z decreasing (the sacrum is capped below 90 deg).
  if (line.empty()) return {};
  if (z >= line.front().z) return line.front();
  for (size_t i = 1; i < line.size(); ++i)
    if (line[i].z <= z) {
      const double t = (line[i - 1].z - z) / std::max(1e-9, line[i - 1].z - line[i].z);
      return line[i - 1] + (line[i] - line[i - 1]) * t;
    }
  return line.back();
}

TorsoSection Model::torso(double z) const {
  const PhantomSpec& s = *spec;
  const double thW = s.thoraxHalfWidthMm, thD = s.thoraxHalfDepthMm;
  const double abW = s.abdomenHalfWidthMm, abD = s.abdomenHalfDepthMm;
  const double peW = s.pelvisHalfWidthMm;
  const double f = s.subcutaneousFatMm;
  // Keys from caudal to cranial (increasing z).
  const std::vector<std::pair<double, double>> w = {
      {zBottom, 0.95 * peW},     {zS1 - 60, peW}, {zL5, 0.5 * (abW + peW)}, {zL3, abW},
      {zT10, 0.5 * (abW + thW)}, {zT6, thW},      {zT1Top, 0.85 * thW},     {zT1Top + 25, 62},
      {zTop + 100, 58}};
  const std::vector<std::pair<double, double>> d = {
      {zBottom, 0.85 * abD},     {zS1 - 60, 0.9 * abD},
      {zL5, 0.95 * abD},         {zL3, abD},
      {zT10, 0.5 * (abD + thD)}, {zT6, thD},
      {zT1Top, 0.8 * thD},       {zT1Top + 25, 58},
      {zTop + 100, 55}};
  const std::vector<std::pair<double, double>> fat = {
      {zBottom, 1.2 * f}, {zL5, 1.1 * f},        {zL3, f}, {zT10, 0.8 * f}, {zT6, 0.6 * f},
      {zT1Top, 0.6 * f},  {zT1Top + 25, 0.4 * f}};
  const std::vector<std::pair<double, double>> mus = {{zBottom, 30}, {zS1 - 40, 26},  {zL5, 12},
                                                      {zL3, 10},     {zT10, 12},      {zT6, 14},
                                                      {zT1Top, 16},  {zTop + 100, 14}};
  TorsoSection t;
  t.halfWidth = interp(w, z);
  t.halfDepth = interp(d, z);
  t.fat = interp(fat, z);
  t.muscle = interp(mus, z);
  // The back is behind the posterior elements (and the gluteal mass below the sacrum).
  const std::vector<std::pair<double, double>> post = {{zBottom, 60}, {zS1 - 40, 55}, {zS1, 62},
                                                       {zL3, 78},     {zT10, 72},     {zT1Top, 70}};
  const double back = std::min(backY, spineAt(std::max(z, zS1 - 60.0)).y + interp(post, z) + t.fat);
  const double trunkY = back - t.halfDepth;
  const double neckY = spineAt(z).y + 8.0;
  const double blend = std::clamp((z - zT1Top) / 25.0, 0.0, 1.0);
  t.centreY = lerp(trunkY, neckY, blend);
  return t;
}

Model buildModel(const PhantomSpec& spec) {
  if (spec.column.size() < 10) throw UsageError("phantom spec: the column needs C3 to L5");
  Model m;
  m.spec = &spec;
  const uint64_t seed = spec.textureSeed;

  // Bodies of the mobile column, then the sacral segments.
  const VertebraSpec& last = spec.column.back();
  const double lastScale = last.depthMm / 35.0;
  for (const auto& vs : spec.column) {
    if (vs.heightMm <= 3 || vs.depthMm <= 5 || vs.widthMm <= 5)
      throw UsageError("phantom spec: implausible vertebra size at " + vs.label);
    VertebraModel v;
    v.label = vs.label;
    v.verse = verseNumber(vs.label).value_or(0);
    const char region = vs.label[0];
    v.body = makeBody(vs.heightMm, vs.depthMm, vs.widthMm,
                      region == 'L' ? 0.35 : (region == 'T' ? 0.2 : 0.25));
    v.body.wedge = vs.physiologicWedge;
    v.body.concavity = vs.endplateConcavityMm;
    v.body.fracture = vs.fracture;
    v.body.loss = vs.fractureLoss;
    v.body.superiorShare = vs.fractureSuperiorShare;
    v.body.schmorl = vs.schmorl;
    v.trabecularHu = vs.trabecularHu;
    v.cortexHu = vs.cortexHu;
    v.cortexMm = vs.cortexMm;
    m.vertebrae.push_back(v);
  }
  const size_t nMobile = m.vertebrae.size();
  const double sacralH[] = {29, 23, 18, 14, 10};
  const double sacralD[] = {0.95, 0.8, 0.68, 0.55, 0.45};
  const double sacralW[] = {0.95, 0.75, 0.6, 0.45, 0.35};
  for (int k = 0; k < 5; ++k) {
    VertebraModel v;
    v.label = "S" + std::to_string(k + 1);
    v.verse = k == 0 ? 26 : 0;
    v.sacral = true;
    v.body =
        makeBody(sacralH[k] * lastScale, last.depthMm * sacralD[k], last.widthMm * sacralW[k], 0.3);
    v.body.concavity = k == 0 ? 0.6 : 0.0;
    v.trabecularHu = spec.sacrumTrabecularHu;
    v.cortexHu = std::max(280.0, last.cortexHu - 20.0);
    v.cortexMm = last.cortexMm;
    m.vertebrae.push_back(v);
  }
  const size_t n = m.vertebrae.size();

  // Stack along the arc length using the posterior extents of each body.
  auto topExt = [](const BodyShape& b) {
    return 0.5 * b.intactHeight(0.9) - b.superiorShare * b.deformity(0.9, 0.0);
  };
  auto botExt = [](const BodyShape& b) {
    return 0.5 * b.intactHeight(0.9) - (1.0 - b.superiorShare) * b.deformity(0.9, 0.0);
  };
  std::vector<double> sPos(n, 0.0), gapBelow(n, 2.0);
  for (size_t i = 0; i < nMobile; ++i) gapBelow[i] = spec.column[i].discBelowMm;
  for (size_t i = 1; i < n; ++i)
    sPos[i] = sPos[i - 1] + botExt(m.vertebrae[i - 1].body) + gapBelow[i - 1] +
              topExt(m.vertebrae[i].body);

  // Sagittal tangent angle (deg, + = descending toward posterior) at landmarks.
  auto idx = [&](const std::string& l) { return m.indexOf(l); };
  const int iT1 = idx("T1");
  int iL1 = idx("L1");
  const int iS1 = static_cast<int>(nMobile);
  if (iT1 < 0 || iL1 < 0) throw UsageError("phantom spec: the column needs T1 and L1");
  const double thetaS1 = spec.sacralSlopeDeg;
  const double thetaTL = thetaS1 - spec.lumbarLordosisDeg;
  const double thetaT1 = thetaTL + spec.thoracicKyphosisDeg;
  const double thetaC3 = thetaT1 - spec.cervicalLordosisDeg;
  const double sTL = 0.5 * (sPos[static_cast<size_t>(iL1) - 1] + sPos[static_cast<size_t>(iL1)]);
  const double sLS = 0.5 * (sPos[static_cast<size_t>(iS1) - 1] + sPos[static_cast<size_t>(iS1)]);
  std::vector<std::pair<double, double>> theta = {{sPos[0], thetaC3},
                                                  {sPos[static_cast<size_t>(iT1)], thetaT1},
                                                  {sTL, thetaTL},
                                                  {sLS, thetaS1},
                                                  {sPos[n - 1], std::min(85.0, thetaS1 + 45.0)}};
  // Local kyphosis at wedge-shaped fractures.
  struct Kink {
    double s, halfWidth, deg;
  };
  std::vector<Kink> kinks;
  for (size_t i = 0; i < nMobile; ++i) {
    const BodyShape& b = m.vertebrae[i].body;
    if (b.fracture == FractureType::kNone) continue;
    const double dA = b.deformity(0.15, 0.0), dP = b.deformity(0.85, 0.0);
    const double alpha = std::atan((dA - dP) / (0.7 * b.depth)) / kDeg;
    kinks.push_back({sPos[i], 0.5 * b.hp, -alpha});
  }
  auto thetaAt = [&](double s) {
    double t = interp(theta, s);
    for (const auto& k : kinks)
      t += k.deg * std::clamp((s - k.s + k.halfWidth) / (2 * k.halfWidth), 0.0, 1.0);
    return t;
  };
  // Fractional column index at an arc length (for the scoliosis profile).
  auto indexAt = [&](double s) {
    if (s <= sPos[0]) return 0.0;
    for (size_t i = 1; i < n; ++i)
      if (s <= sPos[i]) return (i - 1) + (s - sPos[i - 1]) / (sPos[i] - sPos[i - 1]);
    return static_cast<double>(n - 1);
  };
  auto bump = [&](double s) {
    const double u = (indexAt(s) - spec.scoliosisApex) / std::max(1.0, spec.scoliosisSpan);
    if (std::abs(u) >= 1.0) return 0.0;
    const double c = std::cos(0.5 * M_PI * u);
    return c * c;
  };

  // Integrate the centre line.
  const double ds = 0.5;
  const double sStart = sPos[0] - 40.0, sEnd = sPos[n - 1] + 30.0;
  std::vector<Vec3> pts;
  std::vector<double> sv;
  double y = 0, z = 0;
  for (double s = sStart; s <= sEnd; s += ds) {
    const double x = spec.scoliosisMm * bump(s);
    pts.push_back({x, y, z});
    sv.push_back(s);
    const double th = thetaAt(s + 0.5 * ds) * kDeg;
    y += std::sin(th) * ds;
    z -= std::cos(th) * ds;
  }
  // Stand the column up: the patient lies straight on the table, so T1 and S1 share the
  // same anterior-posterior position (a balanced spine) and the curves swing around that.
  {
    auto at = [&](double s) {
      const size_t i = static_cast<size_t>(std::clamp((s - sStart) / ds, 0.0, pts.size() - 1.0));
      return pts[i];
    };
    const Vec3 d = at(sPos[static_cast<size_t>(iS1)]) - at(sPos[static_cast<size_t>(iT1)]);
    const double phi = std::atan2(d.y, -d.z);
    const double c = std::cos(phi), sn = std::sin(phi);
    for (auto& p : pts) {
      const double yy = p.y * c + p.z * sn, zz = -p.y * sn + p.z * c;
      p.y = yy;
      p.z = zz;
    }
  }
  auto lineAt = [&](double s) {
    const double f = (s - sStart) / ds;
    const size_t i = static_cast<size_t>(std::clamp(f, 0.0, static_cast<double>(pts.size() - 2)));
    const double t = std::clamp(f - i, 0.0, 1.0);
    return pts[i] + (pts[i + 1] - pts[i]) * t;
  };
  m.line = pts;

  // Frames.
  for (size_t i = 0; i < n; ++i) {
    VertebraModel& v = m.vertebrae[i];
    const Vec3 c = lineAt(sPos[i]);
    const Vec3 down = (lineAt(sPos[i] + 2.0) - lineAt(sPos[i] - 2.0)).normalized();
    Frame f;
    f.origin = c;
    f.ax = -down;
    f.ap = (Vec3{0, 1, 0} - f.ax * f.ax.y).normalized();
    f.lat = f.ap.cross(f.ax);
    const double rot = v.sacral ? 0.0 : spec.scoliosisRotationDeg * bump(sPos[i]) * kDeg;
    if (rot != 0.0) {
      const Vec3 ap = f.ap * std::cos(rot) + f.lat * std::sin(rot);
      const Vec3 lat = f.lat * std::cos(rot) - f.ap * std::sin(rot);
      f.ap = ap;
      f.lat = lat;
    }
    v.frame = f;
  }

  // Posterior elements.
  const double scale = spec.column[static_cast<size_t>(iL1)].depthMm / 30.0;
  for (size_t i = 0; i < n; ++i) {
    VertebraModel& v = m.vertebrae[i];
    const double discAbove = i > 0 ? gapBelow[i - 1] : 5.0;
    const double discBelow = gapBelow[i];
    if (!v.sacral) {
      const VertebraSpec& vs = spec.column[i];
      const char region = vs.label[0];
      const int number = std::stoi(vs.label.substr(1));
      addPosteriorElements(v, region, number, discAbove, discBelow, vs.sacralised,
                           std::clamp(scale, 0.85, 1.15));
      if (vs.osteophyteMm > 0.0) {
        const BodyShape& b = v.body;
        for (int side = -1; side <= 1; side += 2)
          for (int end = -1; end <= 1; end += 2) {
            const double phi = side * 35.0 * kDeg;
            const Vec3 radial{std::sin(phi), -std::cos(phi), 0.0};
            const Vec3 rim{b.a * std::sin(phi) * 0.97, -b.b * std::cos(phi) * 0.97,
                           end * (0.5 * b.intactHeight(0.1) - 1.0)};
            const Vec3 tip =
                rim + radial * (0.7 * vs.osteophyteMm) + Vec3{0, 0, end * 0.7 * vs.osteophyteMm};
            v.capsules.push_back({rim, tip, 1.8});
          }
      }
    } else {
      const int k = static_cast<int>(i - nMobile);
      const BodyShape& b = v.body;
      const double yPost = b.b - 0.6 * b.ib;
      v.canalA = (11.0 - 1.5 * k) * scale;
      v.canalB = std::max(2.5, (5.5 - 0.8 * k) * scale);
      v.canalY = yPost + v.canalB + 0.6;
      v.cord = false;
      v.canalZLo = -0.5 * b.hp - 0.5 * discBelow - 0.6;
      v.canalZHi = 0.5 * b.hp + 0.5 * discAbove + 0.6;
      const double alaW[] = {24, 17, 11, 6, 3};
      for (int s = -1; s <= 1; s += 2) {
        RoundBox ala;
        ala.c = {s * (b.a + 0.5 * alaW[k] * scale - 2.0), 0.35 * b.b + 2.0, 0.0};
        ala.half = {0.5 * alaW[k] * scale + 4.0, 0.95 * b.b + 2.0, 0.5 * b.hp + 0.5 * discBelow};
        ala.round = 4.0;
        v.boxes.push_back(ala);
        // Fused laminae behind the sacral canal.
        const Vec3 from{s * (v.canalA + 2.0), v.canalY, 0.0};
        const Vec3 to{0.0, v.canalY + v.canalB + 2.5, 0.0};
        v.boxes.push_back(boxAlong(from, to, {0, 0, 1}, 0.45 * b.hp + 1.0, 2.5, 1.0));
      }
      if (k < 3) {  // median sacral crest
        const Vec3 base{0.0, v.canalY + v.canalB + 3.5, 0.0};
        v.boxes.push_back(
            boxAlong(base, base + Vec3{0, 10.0, -3.0}, {1, 0, 0}, 2.5, 0.3 * b.hp, 1.2));
      }
    }
    finishBox(v);
  }

  // Discs (bone bridges between the fused sacral segments).
  for (size_t i = 0; i + 1 < n; ++i) {
    const VertebraModel &u = m.vertebrae[i], &w = m.vertebrae[i + 1];
    DiscModel d;
    d.frame.origin = (u.frame.origin + w.frame.origin) * 0.5;
    d.frame.ax = (u.frame.ax + w.frame.ax).normalized();
    d.frame.ap = (u.frame.ap + w.frame.ap);
    d.frame.ap = (d.frame.ap - d.frame.ax * d.frame.ap.dot(d.frame.ax)).normalized();
    d.frame.lat = d.frame.ap.cross(d.frame.ax);
    d.a = 0.5 * (u.body.a + w.body.a) * 0.98;
    d.b = 0.5 * (u.body.b + w.body.b) * 0.98;
    d.ia = 0.5 * (u.body.ia + w.body.ia);
    d.ib = 0.5 * (u.body.ib + w.body.ib);
    d.iy = 0.5 * (u.body.iy + w.body.iy);
    d.halfLength = 0.5 * (w.frame.origin - u.frame.origin).norm();
    const bool fused = u.sacral && w.sacral;
    const double deg = hashUnit(seed, 1000 + i);
    d.hu = fused ? 0.6 * u.trabecularHu + 0.3 * u.cortexHu : 92.0 + 14.0 * (deg - 0.5);
    d.nucleusHu = fused ? d.hu : d.hu - 14.0;
    for (int sx = -1; sx <= 1; sx += 2)
      for (int sy = -1; sy <= 1; sy += 2)
        for (int sz = -1; sz <= 1; sz += 2)
          d.worldBox.add(d.frame.toWorld({sx * d.a, sy * std::max(d.b, d.iy), sz * d.halfLength}),
                         1.0);
    m.discs.push_back(d);
  }

  // Landmarks.
  auto zOf = [&](const std::string& l) {
    const int k = idx(l);
    return k >= 0 ? m.vertebrae[static_cast<size_t>(k)].frame.origin.z : 0.0;
  };
  m.zTop = m.vertebrae[0].frame.origin.z + 20.0;
  m.zC6 = zOf("C6");
  m.zT1Top = zOf("T1") + 0.5 * m.vertebrae[static_cast<size_t>(iT1)].body.hp;
  m.zT6 = zOf("T6");
  m.zT10 = zOf("T10");
  m.zT12 = zOf(idx("T12") >= 0 ? "T12" : "T11");
  m.zL1 = zOf("L1");
  m.zL3 = zOf("L3");
  m.zL5 = zOf(spec.column.back().label);
  const VertebraModel& s1 = m.vertebrae[static_cast<size_t>(iS1)];
  m.zS1 = s1.frame.origin.z;
  const double pelvisScale = std::clamp(spec.pelvisHalfWidthMm / 170.0, 0.85, 1.2);
  m.zAcetabulum = m.zS1 - 95.0 * pelvisScale;
  m.zBottom = m.zS1 - 230.0 * pelvisScale;
  m.domeZ = m.zT10 + 8.0;
  {
    int last = -1;
    for (size_t i = 0; i < m.vertebrae.size(); ++i)
      if (m.vertebrae[i].label[0] == 'T') last = static_cast<int>(i);
    const double zLast = m.vertebrae[static_cast<size_t>(last)].frame.origin.z;
    const double zNext = m.vertebrae[static_cast<size_t>(last) + 1].frame.origin.z;
    m.recessZ = zLast - spec.lungRecessLevel * (zLast - zNext);
  }

  // The back lies on the table: its skin is behind the most posterior element.
  double maxY = -1e9;
  for (size_t i = static_cast<size_t>(iT1); i < n; ++i)
    maxY = std::max(maxY, m.vertebrae[i].worldBox.hi.y);
  m.backY = maxY + 10.0 + spec.subcutaneousFatMm;

  // Ribs, on each rib-bearing vertebra.
  int ribNumber = 0;
  const double drops[] = {0, 14, 28, 40, 48, 55, 60, 62, 62, 60, 55, 40, 30, 25};
  for (size_t i = 0; i < nMobile; ++i) {
    const VertebraSpec& vs = spec.column[i];
    if (vs.ribLength <= 0.0) continue;
    ++ribNumber;
    const VertebraModel& v = m.vertebrae[i];
    const BodyShape& b = v.body;
    const double yPost = b.b - 0.6 * b.ib;
    const int k = std::min(ribNumber, 13);
    for (int s = -1; s <= 1; s += 2) {
      CapsuleBone rib;
      rib.marrowHu = 90.0 + 0.5 * v.trabecularHu;
      rib.cortexHu = 0.9 * v.cortexHu;
      rib.cortexMm = 1.0;
      const double r =
          (k == 1 ? 4.0 : 4.6) * std::clamp(scale, 0.9, 1.1) * (vs.ribLength < 0.3 ? 0.8 : 1.0);
      const Vec3 head = v.frame.toWorld({s * 0.78 * b.a, yPost - 0.2 * b.depth, 0.3 * b.hp});
      // Tubercle: tip of the transverse process (a thoracic one, or near it).
      const Vec3 tub =
          v.frame.toWorld({s * (v.canalA + 22.0), v.canalY + 0.35 * v.canalB + 12.0, 0.15 * b.hp});
      rib.parts.push_back({head, tub, r * 0.85});
      const TorsoSection sec = m.torso(tub.z);
      const double wallIn = sec.fat + sec.muscle + 3.0;
      const double widthFactor = std::min(1.0, 0.6 + 0.08 * (k - 1));
      const double ath = (sec.halfWidth - wallIn) * widthFactor;
      const double yAnt = sec.centreY - sec.halfDepth + wallIn;
      const double phi0 = std::asin(std::clamp(std::abs(tub.x) / ath, 0.05, 0.9));
      const double bth = (tub.y - yAnt) / (1.0 + std::cos(phi0));
      const double yc = tub.y - bth * std::cos(phi0);
      const double drop = drops[k] * std::clamp(scale, 0.85, 1.15);
      const double phiBony = phi0 + vs.ribLength * (0.8 * M_PI - phi0);
      double phiEnd = phiBony;
      if (vs.ribLength >= 0.99) {
        if (k <= 7)
          phiEnd = M_PI - std::asin(std::min(0.5, 16.0 / ath));
        else if (k <= 10)
          phiEnd = 0.92 * M_PI;
      }
      auto at = [&](double phi) {
        const double u = std::max(0.0, (phi - phi0) / (M_PI - phi0));
        return Vec3{s * ath * std::sin(phi) + (1.0 - u) * (tub.x - s * ath * std::sin(phi0)),
                    yc + bth * std::cos(phi), tub.z - drop * std::pow(u, 1.3)};
      };
      const int segs = 14;
      Vec3 prev = tub;
      for (int j = 1; j <= segs; ++j) {
        const Vec3 p = at(phi0 + (phiBony - phi0) * j / segs);
        rib.parts.push_back({prev, p, r});
        prev = p;
      }
      for (const auto& c : rib.parts) c.bound(rib.worldBox);
      m.bones.push_back(rib);
      if (phiEnd > phiBony + 1e-3) {
        CapsuleBone cart;
        cart.cartilage = true;
        cart.marrowHu = 110.0;
        const int cs = 6;
        for (int j = 1; j <= cs; ++j) {
          Vec3 p = at(phiBony + (phiEnd - phiBony) * j / cs);
          if (k > 7) p.z += 6.0 * j;  // false ribs' cartilage climbs to the rib above
          cart.parts.push_back({prev, p, r * 0.9});
          prev = p;
        }
        for (const auto& c : cart.parts) c.bound(cart.worldBox);
        m.bones.push_back(cart);
      }
    }
  }

  // Sternum.
  if (idx("T9") >= 0) {
    CapsuleBone st;
    const VertebraModel& t1 = m.vertebrae[static_cast<size_t>(iT1)];
    st.marrowHu = 80.0 + 0.5 * t1.trabecularHu;
    st.cortexHu = 0.85 * t1.cortexHu;
    st.cortexMm = 1.0;
    auto front = [&](double zz) {
      const TorsoSection sec = m.torso(zz);
      return sec.centreY - sec.halfDepth + sec.fat + 9.0;
    };
    const double zA = zOf("T2") + 5.0, zB = zOf("T4"), zC = zOf("T9");
    for (double xo : {-14.0, 0.0, 14.0})
      st.parts.push_back({{xo, front(zA), zA}, {0.6 * xo, front(zB), zB}, 6.5});
    for (double xo : {-7.0, 7.0})
      st.parts.push_back({{xo, front(zB), zB - 3.0}, {xo, front(zC), zC}, 6.0});
    st.parts.push_back({{0, front(zC), zC}, {0, front(zC - 25), zC - 25}, 4.0});
    for (const auto& c : st.parts) c.bound(st.worldBox);
    m.bones.push_back(st);
  }

  // Pelvis: iliac wings, iliac bodies, acetabula, pubic and ischial rami, femora.
  {
    const double ps = pelvisScale;
    const Vec3 s1c = s1.frame.origin;
    const double boneHu = 60.0 + 0.8 * spec.sacrumTrabecularHu;
    const double cortex = std::max(300.0, s1.cortexHu);
    auto front = [&](double zz) {
      const TorsoSection sec = m.torso(zz);
      return sec.centreY - sec.halfDepth + sec.fat + sec.muscle;
    };
    for (int s = -1; s <= 1; s += 2) {
      IliumModel il;
      il.side = s;
      const int iL4 = idx("L4"), iL5 = nMobile - 1;
      il.zCrest = 0.5 * (m.vertebrae[static_cast<size_t>(iL4)].frame.origin.z +
                         m.vertebrae[static_cast<size_t>(iL5)].frame.origin.z);
      il.zLow = m.zS1 - 45.0 * ps;
      il.centre = {40.0 * ps, s1c.y - 40.0 * ps, 0};
      il.radius = 81.0 * ps;
      il.marrowHu = boneHu;
      il.cortexHu = cortex;
      il.worldBox.add({s * 10.0, s1c.y - 140.0 * ps, il.zLow});
      il.worldBox.add({s * 140.0 * ps, s1c.y + 60.0 * ps, il.zCrest});
      m.ilia.push_back(il);

      const Vec3 head{s * 88.0 * ps, std::max(s1c.y - 70.0 * ps, front(m.zAcetabulum) + 35.0),
                      m.zAcetabulum};
      if (s > 0)
        m.femoralHeadL = head;
      else
        m.femoralHeadR = head;
      const double hr = 23.0 * ps;
      CapsuleBone body;
      body.marrowHu = boneHu;
      body.cortexHu = cortex;
      body.cortexMm = 1.3;
      // Iliac body from the SI region to the acetabulum, and the acetabular cup.
      body.parts.push_back({{s * 62.0 * ps, s1c.y + 5.0 * ps, il.zLow + 12.0},
                            head + Vec3{s * 4.0, 5.0, hr * 0.6},
                            13.0 * ps});
      body.parts.push_back(
          {head + Vec3{-s * 4.0, 0.0, 4.0}, head + Vec3{-s * 4.0, 0.0, 4.0}, hr + 6.0});
      const double yPub = std::max(s1c.y - 120.0 * ps, front(m.zAcetabulum - 20.0) + 12.0);
      const Vec3 sym{s * 7.0, yPub, m.zAcetabulum - 22.0 * ps};
      const Vec3 tuber{s * 58.0 * ps, head.y + 25.0 * ps, m.zAcetabulum - 60.0 * ps};
      body.parts.push_back({head + Vec3{-s * 15.0, -12.0, -4.0}, sym, 8.0 * ps});
      body.parts.push_back({sym, sym + Vec3{s * 10.0, 8.0, -30.0 * ps}, 7.5 * ps});
      body.parts.push_back({sym + Vec3{s * 10.0, 8.0, -30.0 * ps}, tuber, 7.5 * ps});
      body.parts.push_back({head + Vec3{-s * 6.0, 12.0, -8.0}, tuber, 11.0 * ps});
      for (const auto& c : body.parts) c.bound(body.worldBox);
      m.bones.push_back(body);
      // Hip joint space, then the femur.
      CapsuleBone joint;
      joint.cartilage = true;
      joint.marrowHu = 25.0;
      joint.parts.push_back({head, head, hr + 1.8});
      joint.parts[0].bound(joint.worldBox);
      m.bones.push_back(joint);
      CapsuleBone femur;
      femur.marrowHu = boneHu - 20.0;
      femur.cortexHu = cortex + 100.0;
      femur.cortexMm = 1.5;
      const Vec3 troch{s * 128.0 * ps, head.y + 8.0, head.z - 22.0 * ps};
      femur.parts.push_back({head, head, hr});
      femur.parts.push_back({head, troch, 14.0 * ps});
      femur.parts.push_back({troch, troch + Vec3{s * 6.0, 4.0, -260.0}, 13.0 * ps});
      for (const auto& c : femur.parts) c.bound(femur.worldBox);
      m.bones.push_back(femur);
    }
  }

  // Aorta (anterior-left of the column) and IVC (anterior-right).
  {
    const int iT4 = idx("T4");
    const int iBif = idx("L4");
    auto alongBody = [&](size_t i, double latF, double latMm, double apMm) {
      const VertebraModel& v = m.vertebrae[i];
      return v.frame.toWorld({latF * v.body.a + latMm, -v.body.b - apMm, 0.0});
    };
    const double r = spec.aortaRadiusMm;
    std::vector<Vec3> path;
    if (iT4 >= 0) {
      const VertebraModel& t4 = m.vertebrae[static_cast<size_t>(iT4)];
      const Vec3 d4 = alongBody(static_cast<size_t>(iT4), 0.7, r * 0.6, -0.2 * r);
      const double zArch = t4.frame.origin.z + 28.0;
      const Vec3 root{-8.0, t4.frame.origin.y - t4.body.b - 75.0, zOf("T7")};
      path.push_back(root);
      path.push_back({-10.0, root.y + 8.0, zArch - 10.0});
      path.push_back({4.0, d4.y - 30.0, zArch});
      path.push_back({d4.x, d4.y - 6.0, zArch - 8.0});
      for (int i = iT4; i <= iBif; ++i) {
        const double f = std::clamp((i - iT4) / 10.0, 0.0, 1.0);
        path.push_back(alongBody(static_cast<size_t>(i), lerp(0.7, 0.25, f), lerp(0.6 * r, 4.0, f),
                                 lerp(-0.2 * r, r + 2.0, f)));
      }
    }
    for (size_t i = 1; i < path.size(); ++i) m.aorta.push_back({path[i - 1], path[i], r});
    if (!path.empty()) {
      const Vec3 bif = path.back();
      for (int s = -1; s <= 1; s += 2) {
        const Vec3 a{s * 35.0, bif.y + 5.0, m.zS1 + 10.0};
        const Vec3 b{s * 70.0, s1.frame.origin.y - 55.0, m.zAcetabulum + 25.0};
        m.aorta.push_back({bif, a, 0.55 * r});
        m.aorta.push_back({a, b, 0.5 * r});
      }
      // Calcified plaques on the wall of the descending and abdominal aorta.
      for (int k = 0; k < spec.aortaPlaques; ++k) {
        const double u = hashUnit(seed, 77 + k);
        const size_t seg = 3 + static_cast<size_t>(u * std::max<size_t>(1, path.size() - 4));
        if (seg + 1 >= path.size()) continue;
        const Vec3 c = path[seg] + (path[seg + 1] - path[seg]) * hashUnit(seed, 177 + k);
        const double ang = 2 * M_PI * hashUnit(seed, 277 + k);
        const Vec3 off{std::cos(ang) * (r - 0.5), std::sin(ang) * (r - 0.5), 0.0};
        const double len = 2.0 + 6.0 * hashUnit(seed, 377 + k);
        m.plaques.push_back(
            {c + off, c + off + Vec3{0, 0, len}, 1.0 + 1.2 * hashUnit(seed, 477 + k)});
      }
    }
    const int iT11 = idx("T11");
    std::vector<Vec3> vp;
    if (iT11 >= 0)
      for (int i = iT11 - 2; i <= iBif; ++i)
        vp.push_back(alongBody(static_cast<size_t>(i), -0.45, -14.0, 12.0));
    for (size_t i = 1; i < vp.size(); ++i) m.ivc.push_back({vp[i - 1], vp[i], 11.0});
    if (!vp.empty())
      for (int s = -1; s <= 1; s += 2)
        m.ivc.push_back(
            {vp.back(), {s * 70.0, s1.frame.origin.y - 45.0, m.zAcetabulum + 20.0}, 7.0});
  }
  return m;
}

}  // namespace spinescreen::phantom::detail
