// Internal: the phantom's analytic anatomy in world millimetres (LPS), built from a
// PhantomSpec, and the primitives it is made of. Shared by the model, truth and renderer.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "phantom/phantom.h"

namespace spinescreen::phantom::detail {

struct Aabb {
  Vec3 lo{1e30, 1e30, 1e30};
  Vec3 hi{-1e30, -1e30, -1e30};
  void add(const Vec3& p, double pad = 0.0) {
    lo = {std::min(lo.x, p.x - pad), std::min(lo.y, p.y - pad), std::min(lo.z, p.z - pad)};
    hi = {std::max(hi.x, p.x + pad), std::max(hi.y, p.y + pad), std::max(hi.z, p.z + pad)};
  }
  void addBox(const Aabb& o) {
    add(o.lo);
    add(o.hi);
  }
  bool containsZ(double z) const { return z >= lo.z && z <= hi.z; }
};

// Orthonormal local frame: lat (toward patient left), ap (toward posterior), ax (cranial).
struct Frame {
  Vec3 origin;
  Vec3 lat{1, 0, 0};
  Vec3 ap{0, 1, 0};
  Vec3 ax{0, 0, 1};
  Vec3 toLocal(const Vec3& p) const {
    const Vec3 d = p - origin;
    return {d.dot(lat), d.dot(ap), d.dot(ax)};
  }
  Vec3 toWorld(const Vec3& l) const { return origin + lat * l.x + ap * l.y + ax * l.z; }
};

// Signed distance to a capsule (negative inside).
struct Capsule {
  Vec3 a, b;
  double r = 1.0;
  double sdf(const Vec3& p) const {
    const Vec3 ab = b - a, ap = p - a;
    const double len2 = ab.dot(ab);
    const double t = len2 > 0 ? std::clamp(ap.dot(ab) / len2, 0.0, 1.0) : 0.0;
    return (ap - ab * t).norm() - r;
  }
  void bound(Aabb& box) const {
    box.add(a, r);
    box.add(b, r);
  }
};

// Signed distance to a rounded box with axes u0,u1,u2 (orthonormal) and half sizes.
struct RoundBox {
  Vec3 c, u0{1, 0, 0}, u1{0, 1, 0}, u2{0, 0, 1};
  Vec3 half{1, 1, 1};
  double round = 0.5;
  double sdf(const Vec3& p) const {
    const Vec3 d = p - c;
    const double qx = std::abs(d.dot(u0)) - (half.x - round);
    const double qy = std::abs(d.dot(u1)) - (half.y - round);
    const double qz = std::abs(d.dot(u2)) - (half.z - round);
    const double ox = std::max(qx, 0.0), oy = std::max(qy, 0.0), oz = std::max(qz, 0.0);
    return std::sqrt(ox * ox + oy * oy + oz * oz) + std::min(std::max(qx, std::max(qy, qz)), 0.0) -
           round;
  }
  void bound(Aabb& box) const {
    for (int sx = -1; sx <= 1; sx += 2)
      for (int sy = -1; sy <= 1; sy += 2)
        for (int sz = -1; sz <= 1; sz += 2)
          box.add(c + u0 * (sx * half.x) + u1 * (sy * half.y) + u2 * (sz * half.z));
  }
};

// A vertebral body in its local frame: a kidney-shaped elliptic cylinder (ellipse minus a
// posterior indent) between two endplate surfaces whose heights follow the intact shape,
// physiological wedging, endplate concavity, fracture deformity and Schmorl's nodes.
struct BodyShape {
  double a = 15, b = 12;           // ellipse semi-axes (lat, ap)
  double ia = 6, ib = 3, iy = 13;  // posterior indent ellipse (semi-axes, centre ap)
  double depth = 24;               // mid-sagittal depth
  double hp = 20, wedge = 0, concavity = 0.7;
  FractureType fracture = FractureType::kNone;
  double loss = 0, superiorShare = 0.65;
  std::vector<SchmorlNode> schmorl;

  double yAt(double t) const { return -b + t * depth; }
  double tAt(double y) const { return (y + b) / depth; }
  double intactHeight(double t) const { return hp * (1.0 - wedge * (0.85 - t) / 0.7); }
  double deformity(double t, double x) const {
    switch (fracture) {
      case FractureType::kWedge:
        return loss * hp * std::clamp((0.85 - t) / 0.7, 0.0, 1.2);
      case FractureType::kBiconcave: {
        const double u = (t - 0.5) / 0.42, v = x / (0.8 * a);
        return loss * hp * std::max(0.0, 1.0 - u * u - v * v);
      }
      case FractureType::kCrush:
        return loss * hp * (0.75 + 0.25 * std::clamp((0.85 - t) / 0.7, 0.0, 1.2));
      default:
        return 0.0;
    }
  }
  // Central endplate concavity plus the rounded rim of the endplate (the outer quarter).
  double cup(double x, double y) const {
    const double r2 = (x / a) * (x / a) + (y / b) * (y / b);
    const double rim = std::max(0.0, (r2 - 0.75) / 0.25);
    return concavity * std::max(0.0, 1.0 - r2) + 1.2 * rim * rim;
  }
  double pit(double x, double y, bool superior) const {
    double d = 0;
    for (const auto& n : schmorl) {
      if (n.superior != superior) continue;
      const double dx = x - n.latMm, dy = y - yAt(n.apFraction);
      const double q = 1.0 - (dx * dx + dy * dy) / (n.radiusMm * n.radiusMm);
      if (q > 0) d = std::max(d, n.depthMm * std::sqrt(q));
    }
    return d;
  }
  double top(double x, double y) const {
    const double t = tAt(y);
    return 0.5 * intactHeight(t) - superiorShare * deformity(t, x) - cup(x, y) - pit(x, y, true);
  }
  double bottom(double x, double y) const {
    const double t = tAt(y);
    return -0.5 * intactHeight(t) + (1.0 - superiorShare) * deformity(t, x) + cup(x, y) +
           pit(x, y, false);
  }
  // Approximate distance from (x, y) to the cross-section outline, positive inside.
  double crossDepth(double x, double y) const {
    const double f = (x / a) * (x / a) + (y / b) * (y / b) - 1.0;
    const double gx = 2 * x / (a * a), gy = 2 * y / (b * b);
    const double g = std::sqrt(gx * gx + gy * gy);
    double d = g > 1e-9 ? -f / g : std::min(a, b);
    d = std::min(d, std::min(a, b));
    const double yi = y - iy;
    const double fi = (x / ia) * (x / ia) + (yi / ib) * (yi / ib) - 1.0;
    const double hx = 2 * x / (ia * ia), hy = 2 * yi / (ib * ib);
    const double h = std::sqrt(hx * hx + hy * hy);
    const double di = h > 1e-9 ? fi / h : -std::min(ia, ib);
    return std::min(d, di);
  }
  // Depth of a local point inside the body (positive inside).
  double insideDepth(const Vec3& l) const {
    const double dc = crossDepth(l.x, l.y);
    if (dc <= 0) return dc;
    const double dt = top(l.x, l.y) - l.z;
    const double db = l.z - bottom(l.x, l.y);
    return std::min(dc, std::min(dt, db));
  }
  Heights heights() const {
    Heights h;
    auto at = [&](double t) { return top(0.0, yAt(t)) - bottom(0.0, yAt(t)); };
    h.anteriorMm = at(0.15);
    h.middleMm = at(0.5);
    h.posteriorMm = at(0.85);
    return h;
  }
  // Extents along the local axis at a fraction of the depth on the mid-sagittal plane.
  double topAt(double t) const { return top(0.0, yAt(t)); }
  double bottomAt(double t) const { return bottom(0.0, yAt(t)); }
};

struct VertebraModel {
  std::string label;
  int verse = 0;  // VerSe number, 0 when unlabelled (S2..S5)
  bool sacral = false;
  Frame frame;
  BodyShape body;
  double canalY = 20, canalA = 9, canalB = 7;  // canal ellipse (centre ap, semi-axes)
  double canalZLo = -15, canalZHi = 15;
  bool cord = true;
  std::vector<Capsule> capsules;  // posterior elements, local coordinates
  std::vector<RoundBox> boxes;    // local coordinates
  double trabecularHu = 150, cortexHu = 500, cortexMm = 1.0;
  Aabb worldBox;  // of body and elements
  Aabb localBox;

  // Depth inside the whole vertebra (positive inside), local coordinates.
  double elementDepth(const Vec3& l) const {
    double s = 1e9;
    for (const auto& c : capsules) s = std::min(s, c.sdf(l));
    for (const auto& bx : boxes) s = std::min(s, bx.sdf(l));
    return -s;
  }
  double wholeDepth(const Vec3& l) const { return std::max(body.insideDepth(l), elementDepth(l)); }
};

// A disc between two bodies: an elliptic cylinder in the mean frame of its neighbours.
struct DiscModel {
  Frame frame;
  double a = 15, b = 12, ia = 6, ib = 3, iy = 13;
  double halfLength = 10;
  double hu = 90, nucleusHu = 80;
  Aabb worldBox;
};

// A bone made of capsules in world coordinates (ribs, pelvis pieces, femora).
struct CapsuleBone {
  std::vector<Capsule> parts;
  double marrowHu = 200, cortexHu = 500, cortexMm = 1.0;
  bool cartilage = false;  // costal cartilage (no cortex)
  Aabb worldBox;
};

// Iliac wing: an arc of a thick shell in axial planes between crest and acetabulum.
struct IliumModel {
  double side = 1;  // +1 left, -1 right
  double zCrest = 0, zLow = -100;
  Vec3 centre;  // arc centre at the crest
  double radius = 80, thickness = 7;
  double phiMinDeg = -22, phiMaxDeg = 79;
  double marrowHu = 200, cortexHu = 500, cortexMm = 1.2;
  Aabb worldBox;
  double insideDepth(const Vec3& p) const;
};

struct TorsoSection {
  double halfWidth, halfDepth, centreY, fat, muscle;
};

struct Model {
  const PhantomSpec* spec = nullptr;
  std::vector<VertebraModel> vertebrae;  // C3 .. L, then S1 .. S5
  std::vector<DiscModel> discs;
  std::vector<CapsuleBone> bones;  // ribs, cartilage, sternum, pelvis, femora
  std::vector<IliumModel> ilia;
  std::vector<Capsule> aorta, ivc;
  std::vector<Capsule> plaques;
  // Centre line sampled along the column (cranial to caudal).
  std::vector<Vec3> line;
  double backY = 0;  // skin of the back (the table side)
  // Landmark heights (z, mm).
  double zTop = 0, zC6 = 0, zT1Top = 0, zT6 = 0, zT10 = 0, zT12 = 0, zL1 = 0, zL3 = 0, zL5 = 0,
         zS1 = 0, zAcetabulum = 0, zBottom = 0;
  double domeZ = 0;
  double recessZ = 0;  // lowest point of the posterior costophrenic recesses
  Vec3 femoralHeadL, femoralHeadR;

  int indexOf(const std::string& label) const {
    for (size_t i = 0; i < vertebrae.size(); ++i)
      if (vertebrae[i].label == label) return static_cast<int>(i);
    return -1;
  }
  // Spine centre line (x, y) at height z (body centres interpolated).
  Vec3 spineAt(double z) const;
  TorsoSection torso(double z) const;
};

Model buildModel(const PhantomSpec& spec);

// Smooth value noise in [-1, 1] at a world point (scale in mm).
double valueNoise(const Vec3& p, double scaleMm, uint64_t seed);

}  // namespace spinescreen::phantom::detail
