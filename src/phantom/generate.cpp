// generate(): places the field of view, rasterises the analytic anatomy slice by slice on
// the output grid (sub-slice sampling across the slice thickness for the slice profile),
// adds correlated noise through the scanner blur, and computes the truth.
#include <algorithm>
#include <cmath>
#include <random>

#include "core/errors.h"
#include "phantom/model.h"
#include "phantom/phantom.h"
#include "phantom/scanner.h"

namespace spinescreen::phantom {
namespace {

using namespace detail;

double lerp(double a, double b, double t) { return a + (b - a) * t; }

struct Plane {
  int nx = 0, ny = 0;
  double ox = 0, oy = 0, sx = 1, sy = 1;
  std::vector<float> v;
  float& at(int i, int j) { return v[static_cast<size_t>(j) * nx + i]; }
};

// Calls f(p, value&) for every pixel of the plane inside a world box at height z.
template <class F>
void forBox(Plane& pl, const Aabb& box, double z, F f) {
  if (!box.containsZ(z)) return;
  const int i0 = std::max(0, static_cast<int>(std::floor((box.lo.x - pl.ox) / pl.sx)));
  const int i1 = std::min(pl.nx - 1, static_cast<int>(std::ceil((box.hi.x - pl.ox) / pl.sx)));
  const int j0 = std::max(0, static_cast<int>(std::floor((box.lo.y - pl.oy) / pl.sy)));
  const int j1 = std::min(pl.ny - 1, static_cast<int>(std::ceil((box.hi.y - pl.oy) / pl.sy)));
  for (int j = j0; j <= j1; ++j) {
    const double y = pl.oy + j * pl.sy;
    for (int i = i0; i <= i1; ++i) f(Vec3{pl.ox + i * pl.sx, y, z}, pl.at(i, j));
  }
}

double ellipsoid(const Vec3& p, const Vec3& c, const Vec3& r) {
  const double x = (p.x - c.x) / r.x, y = (p.y - c.y) / r.y, z = (p.z - c.z) / r.z;
  return x * x + y * y + z * z;
}

class Renderer {
 public:
  Renderer(const Model& m, const PhantomSpec& s) : m_(m), s_(s) {
    seedA_ = s.textureSeed ^ 0xA5A5A5A5ULL;
    seedB_ = s.textureSeed ^ 0x5A5A5A5AULL;
    seedC_ = s.textureSeed ^ 0x12345678ULL;
    seedT_ = s.textureSeed ^ 0x0F0F0F0FULL;
  }

  double texture(const Vec3& p) const {
    return 20.0 * valueNoise(p, 1.3, seedT_) + 10.0 * valueNoise(p, 3.2, seedT_ + 1);
  }

  // Height of the diaphragm's domes at (x, depth dy from the torso centre); the right one is
  // higher.
  double domeAt(double x, double dy) const {
    return m_.domeZ -
           ((std::abs(x) - 55.0) * (std::abs(x) - 55.0) + (dy + 10.0) * (dy + 10.0)) / 220.0 -
           (x > 0 ? 12.0 : 0.0);
  }
  // Floor of the posterior costophrenic recesses at (sx, sy) from the spine centre: a trough
  // beside and behind the vertebral body, lowest at `recessZ`.
  double recessFloor(double sx, double sy) const {
    const double u = (std::abs(sx) - 52.0) / 30.0, v = (sy - 5.0) / 28.0;
    return m_.recessZ + 45.0 * (u * u + v * v);
  }

  // Soft tissue, organs, lungs, air and table at height z.
  void background(Plane& pl, double z) const {
    const TorsoSection sec = m_.torso(z);
    const Vec3 sp = m_.spineAt(z);
    const double A = sec.halfWidth, B = sec.halfDepth;
    const double Af = A - sec.fat, Bf = B - sec.fat;
    const double Am = Af - sec.muscle, Bm = Bf - sec.muscle;
    const bool chest = z > std::min(m_.domeZ - 60.0, m_.recessZ) && z < m_.zT1Top + 35.0;
    const bool neck = z >= m_.zT1Top + 35.0;
    const bool pelvis = z < m_.zS1 - 30.0;
    const double paraW = pelvis ? 80.0 : (z > m_.zT12 ? 48.0 : 58.0);
    const Vec3 heartC{32.0, sec.centreY - 0.3 * B, 0.5 * (m_.zT6 + m_.domeZ) - 10.0};
    const Vec3 heartR{0.36 * s_.thoraxHalfWidthMm, 0.34 * s_.thoraxHalfDepthMm,
                      0.5 * (m_.zT6 - m_.domeZ) + 25.0};
    const double blood =
        s_.contrast ? (s_.aortaLumenHu > 240 ? s_.aortaLumenHu - 30 : 150.0) : 40.0;
    const Vec3 spleenC{0.62 * A, sp.y - 20.0, m_.domeZ - 60.0};
    const Vec3 stomachC{0.35 * A, sec.centreY - 0.3 * B, m_.domeZ - 55.0};
    const Vec3 kidL{62.0, sp.y + 4.0, m_.zL1}, kidR{-62.0, sp.y + 4.0, m_.zL1 - 15.0};
    const Vec3 kidRad{27.0, 24.0, 55.0};
    const Vec3 bladderC{0.0, sec.centreY - 0.45 * B, m_.zAcetabulum + 20.0};
    const double psoasU = std::clamp((m_.zT12 - z) / std::max(1.0, m_.zT12 - m_.zL5), 0.0, 1.0);
    const double psoasV =
        std::clamp((m_.zL5 - z) / std::max(1.0, m_.zL5 - m_.zAcetabulum), 0.0, 1.0);
    const double psoasR = 5.0 + 20.0 * psoasU - 4.0 * psoasV;
    const double psoasX = 22.0 + psoasR + 30.0 * psoasV;
    const double psoasY = sp.y + 3.0 - 35.0 * psoasV;
    const bool psoas = z < m_.zT12 && z > m_.zAcetabulum - 30.0;
    for (int j = 0; j < pl.ny; ++j) {
      const double y = pl.oy + j * pl.sy;
      for (int i = 0; i < pl.nx; ++i) {
        const double x = pl.ox + i * pl.sx;
        const Vec3 p{x, y, z};
        float& out = pl.at(i, j);
        const double dy = y - sec.centreY;
        const double e = (x / A) * (x / A) + (dy / B) * (dy / B);
        if (e > 1.0) {
          const double ty = y - (m_.backY + 10.0);
          if (ty > 0 && ty < 9.0 && std::abs(x) < 230.0)
            out = (ty < 1.5 || ty > 7.5) ? 250.0f : -850.0f;
          else
            out = -1000.0f;
          continue;
        }
        if ((x / Af) * (x / Af) + (dy / Bf) * (dy / Bf) > 1.0) {
          out = static_cast<float>(s_.fatHu);
          continue;
        }
        if ((x / Am) * (x / Am) + (dy / Bm) * (dy / Bm) > 1.0 || neck) {
          out = static_cast<float>(s_.muscleHu);
          if (neck && std::abs(x) < 10 && y < sp.y - 25 && y > sp.y - 45)
            out = -1000.0f;  // trachea
          continue;
        }
        const double sx = x - sp.x, sy = y - sp.y;
        const double ex = (std::abs(sx) - 0.6 * paraW) / (0.62 * paraW), ey = (sy - 42.0) / 34.0;
        if ((sy > -5.0 && std::abs(sx) < 28.0) || ex * ex + ey * ey < 1.0) {
          // paraspinal muscles
          out = static_cast<float>(valueNoise(p, 9.0, seedA_) > 0.55 ? s_.fatHu : s_.muscleHu);
          continue;
        }
        if (chest) {
          const double dome = domeAt(x, dy);
          const double dia = std::min(dome, recessFloor(sx, sy));
          // The recesses lie behind the upper poles of the kidneys.
          const bool kidney =
              z <= dome && (ellipsoid(p, kidL, kidRad) < 1.0 || ellipsoid(p, kidR, kidRad) < 1.0);
          if (z > dia && !kidney) {
            const double he = ellipsoid(p, heartC, heartR);
            if (he < 1.0) {
              out = static_cast<float>(he < 0.6 ? blood : 45.0);
              continue;
            }
            if (he < 1.2) {
              out = static_cast<float>(s_.fatHu + 20.0);
              continue;
            }
            const double r2 = sx * sx + sy * sy;
            if (r2 < 26.0 * 26.0) {
              out = 30.0f;
              continue;
            }
            const double medW = 22.0;
            if (std::abs(x - 0.3 * sx) < medW && y < sp.y - 10.0) {
              out = static_cast<float>(valueNoise(p, 8.0, seedB_) > 0.1 ? s_.fatHu + 30.0 : 35.0);
              if (std::abs(x + 5.0) < 8.0 && y < sp.y - 28.0 && y > sp.y - 45.0 &&
                  z > m_.zT6 - 10.0)
                out = -1000.0f;  // trachea
              continue;
            }
            const double ve = valueNoise(p, 3.0, seedC_);
            out = static_cast<float>(ve > 0.62 ? 20.0 : s_.lungHu + 25.0 * ve);
            continue;
          }
        }
        // Abdomen and pelvis.
        if (psoas) {
          const double px = std::abs(x - sp.x) - psoasX, py = y - psoasY;
          if (px * px + py * py < psoasR * psoasR) {
            out = static_cast<float>(s_.muscleHu);
            continue;
          }
        }
        if (!pelvis) {
          const double dia = domeAt(x, dy);
          for (const Vec3* kc : {&kidL, &kidR}) {
            const double k = ellipsoid(p, *kc, kidRad);
            if (k < 1.0) {
              const bool medial = std::abs(x) < std::abs(kc->x);
              if (k < 0.25 && medial)
                out = static_cast<float>(s_.fatHu + 20.0);
              else if (k > 0.55)
                out = s_.contrast ? 160.0f : 32.0f;
              else
                out = s_.contrast ? 110.0f : 28.0f;
              goto next;
            }
          }
          const double liverBottom = m_.domeZ - 60.0 - 110.0 * std::clamp(-x / 120.0, 0.0, 1.0);
          if (z <= dia && z > liverBottom && x < 40.0 - 0.4 * (m_.domeZ - z) - 0.35 * dy) {
            out = static_cast<float>(s_.liverHu + 6.0 * valueNoise(p, 15.0, seedA_));
            continue;
          }
          if (z <= dia && ellipsoid(p, spleenC, {30, 42, 55}) < 1.0) {
            out = static_cast<float>(s_.liverHu - 8.0);
            continue;
          }
          const double st = ellipsoid(p, stomachC, {45, 35, 45});
          if (z <= dia && st < 1.0) {
            out = static_cast<float>(y < stomachC.y - 12.0 ? -1000.0 : (st > 0.8 ? 45.0 : 15.0));
            continue;
          }
        } else {
          if (ellipsoid(p, bladderC, {45, 35, 38}) < 1.0) {
            out = 8.0f;
            continue;
          }
        }
        {
          // Two lattices at different scales and angles, so the mixture has no grid.
          const Vec3 q{0.8 * p.x + 0.6 * p.y, -0.6 * p.x + 0.8 * p.y, p.z + 0.5 * p.x};
          const double n1 = 0.65 * valueNoise(p, 14.0, seedA_) + 0.45 * valueNoise(q, 8.0, seedC_);
          if (n1 < s_.visceralFat * 1.4 - 0.7) {
            out = static_cast<float>(s_.fatHu);
          } else {
            const double n2 = valueNoise(p, 7.0, seedB_);
            out = (n2 > 0.8 - 0.4 * s_.bowelGas && n1 > 0.2) ? -980.0f
                                                             : static_cast<float>(28.0 + 12.0 * n2);
          }
        }
      next:;
      }
    }
    // Vessels.
    const double wallHu = 40.0;
    for (const auto& c : m_.ivc) {
      Aabb box;
      c.bound(box);
      forBox(pl, box, z, [&](const Vec3& p, float& v) {
        if (c.sdf(p) < 0) v = static_cast<float>(s_.ivcHu);
      });
    }
    for (const auto& c : m_.aorta) {
      Aabb box;
      c.bound(box);
      box.add(box.lo, 1.5);
      box.add(box.hi, 1.5);
      forBox(pl, box, z, [&](const Vec3& p, float& v) {
        const double d = c.sdf(p);
        if (d < -1.5)
          v = static_cast<float>(s_.aortaLumenHu);
        else if (d < 0.0 && v < wallHu + 1.0f)
          v = static_cast<float>(wallHu);
      });
    }
    for (const auto& c : m_.plaques) {
      Aabb box;
      c.bound(box);
      forBox(pl, box, z, [&](const Vec3& p, float& v) {
        if (c.sdf(p) < 0) v = 650.0f;
      });
    }
  }

  // Spine, discs, ribs and pelvis at height z.
  void bones(Plane& pl, double z) const {
    for (const auto& v : m_.vertebrae) {
      forBox(pl, v.worldBox, z, [&](const Vec3& p, float& out) {
        const Vec3 l = v.frame.toLocal(p);
        if (l.z < v.canalZLo || l.z > v.canalZHi) return;
        const double cx = l.x / v.canalA, cy = (l.y - v.canalY) / v.canalB;
        const double e = cx * cx + cy * cy;
        if (e >= 1.0) return;
        if (e > 0.72)
          out = static_cast<float>(0.6 * s_.fatHu);
        else if (v.cord && e < 0.3)
          out = 35.0f;
        else
          out = 8.0f;
      });
    }
    for (const auto& d : m_.discs) {
      forBox(pl, d.worldBox, z, [&](const Vec3& p, float& out) {
        const Vec3 l = d.frame.toLocal(p);
        if (std::abs(l.z) > d.halfLength) return;
        const double e = (l.x / d.a) * (l.x / d.a) + (l.y / d.b) * (l.y / d.b);
        if (e >= 1.0) return;
        const double yi = l.y - d.iy;
        if ((l.x / d.ia) * (l.x / d.ia) + (yi / d.ib) * (yi / d.ib) < 1.0) return;
        out = static_cast<float>(e < 0.35 ? d.nucleusHu : d.hu);
      });
    }
    for (const auto& v : m_.vertebrae) {
      forBox(pl, v.worldBox, z, [&](const Vec3& p, float& out) {
        const Vec3 l = v.frame.toLocal(p);
        if (l.x < v.localBox.lo.x || l.x > v.localBox.hi.x || l.y < v.localBox.lo.y ||
            l.y > v.localBox.hi.y || l.z < v.localBox.lo.z || l.z > v.localBox.hi.z)
          return;
        const double db = v.body.insideDepth(l);
        if (db > 0) {
          out = static_cast<float>(db < v.cortexMm ? v.cortexHu : v.trabecularHu + texture(p));
          return;
        }
        const double de = v.elementDepth(l);
        if (de > 0)
          out = static_cast<float>(de < 1.1 * v.cortexMm ? 0.95 * v.cortexHu
                                                         : v.trabecularHu + 40.0 + texture(p));
      });
    }
    for (const auto& il : m_.ilia) {
      forBox(pl, il.worldBox, z, [&](const Vec3& p, float& out) {
        const double d = il.insideDepth(p);
        if (d > 0)
          out = static_cast<float>(d < il.cortexMm ? il.cortexHu : il.marrowHu + texture(p));
      });
    }
    for (const auto& b : m_.bones) {
      if (!b.worldBox.containsZ(z)) continue;
      // Each part's own box; the union's depth near a joint needs only the chain neighbours
      // (ribs are chains), the other bones have few parts and use them all.
      const bool chain = b.parts.size() > 8;
      for (size_t k = 0; k < b.parts.size(); ++k) {
        Aabb box;
        b.parts[k].bound(box);
        const size_t lo = chain ? (k > 0 ? k - 1 : 0) : 0;
        const size_t hi = chain ? std::min(b.parts.size(), k + 2) : b.parts.size();
        forBox(pl, box, z, [&](const Vec3& p, float& out) {
          if (b.parts[k].sdf(p) >= 0) return;
          double s = 1e9;
          for (size_t q = lo; q < hi; ++q) s = std::min(s, b.parts[q].sdf(p));
          if (b.cartilage)
            out = static_cast<float>(b.marrowHu);
          else
            out = static_cast<float>(-s < b.cortexMm ? b.cortexHu : b.marrowHu + 0.5 * texture(p));
        });
      }
    }
  }

  void labels(LabelImage* whole, LabelImage* bodies, int k, const Plane& geom, double z) const {
    Plane pl = geom;
    pl.v.assign(pl.v.size(), 0.0f);
    Plane pb = pl;
    for (const auto& v : m_.vertebrae) {
      if (v.verse == 0) continue;
      forBox(pl, v.worldBox, z, [&](const Vec3& p, float& out) {
        const Vec3 l = v.frame.toLocal(p);
        if (v.wholeDepth(l) > 0) out = static_cast<float>(v.verse);
      });
      forBox(pb, v.worldBox, z, [&](const Vec3& p, float& out) {
        if (v.body.insideDepth(v.frame.toLocal(p)) > 0) out = static_cast<float>(v.verse);
      });
    }
    const size_t off = static_cast<size_t>(k) * pl.v.size();
    for (size_t i = 0; i < pl.v.size(); ++i) {
      if (whole) whole->data()[off + i] = static_cast<uint8_t>(pl.v[i]);
      if (bodies) bodies->data()[off + i] = static_cast<uint8_t>(pb.v[i]);
    }
  }

 private:
  const Model& m_;
  const PhantomSpec& s_;
  uint64_t seedA_, seedB_, seedC_, seedT_;
};

// The Genant rule's own-height loss: how a vertebra looks against its own posterior height.
double ownLoss(const Heights& h) {
  return 1.0 - std::min(h.anteriorMm, h.middleMm) / std::max(1e-6, h.posteriorMm);
}

}  // namespace

void gradeByRule(std::vector<VertebraTruth>& vs) {
  for (size_t i = 0; i < vs.size(); ++i) {
    if (!vs[i].heights) continue;
    const Heights& h = *vs[i].heights;
    double sum = 0;
    int count = 0;
    for (int d : {-1, 1}) {
      const long j = static_cast<long>(i) + d;
      if (j < 0 || j >= static_cast<long>(vs.size()) || !vs[static_cast<size_t>(j)].heights)
        continue;
      const Heights& hn = *vs[static_cast<size_t>(j)].heights;
      if (ownLoss(hn) >= 0.20) continue;  // a fractured neighbour is no reference
      sum += hn.posteriorMm;
      ++count;
    }
    const double neighbourHp = count ? sum / count : 0.0;
    const double ref = count ? std::max(h.posteriorMm, neighbourHp) : h.posteriorMm;
    const double loss = 1.0 - std::min(h.anteriorMm, h.middleMm) / ref;
    const int grade = loss < 0.20 ? 0 : (loss < 0.25 ? 1 : (loss <= 0.40 ? 2 : 3));
    vs[i].genantGrade = grade;
    if (grade == 0)
      vs[i].morphology = "normal";
    else if (count && h.posteriorMm < 0.85 * neighbourHp)
      vs[i].morphology = "crush";
    else if (h.middleMm < h.anteriorMm - 0.05 * ref)
      vs[i].morphology = "biconcave";
    else
      vs[i].morphology = "wedge";
  }
}

Phantom generate(const PhantomSpec& spec, const GenerateOptions& options) {
  if (!(spec.sliceSpacingMm > 0.2 && spec.sliceSpacingMm <= 10.0))
    throw UsageError("phantom spec: slice spacing must be in (0.2, 10] mm");
  if (spec.sliceThicknessMm < spec.sliceSpacingMm - 1e-6)
    throw UsageError("phantom spec: slice thickness must be at least the spacing");
  if (spec.matrix < 32 || spec.matrix > 1024 || !(spec.fovWidthMm >= 50 && spec.fovWidthMm <= 600))
    throw UsageError("phantom spec: implausible in-plane field of view");
  const Model m = buildModel(spec);

  // Field of view along z.
  auto zOf = [&](const std::string& l) {
    const int k = m.indexOf(l);
    if (k < 0) throw UsageError("phantom spec lacks " + l);
    return m.vertebrae[static_cast<size_t>(k)].frame.origin.z;
  };
  double top = 0, bottom = 0;
  const double jt = spec.fovTopJitter, jb = spec.fovBottomJitter;
  const double pelvisBottom = m.zAcetabulum - 50.0 - 40.0 * jb;
  switch (spec.fov) {
    case FovKind::kChest:
      top = lerp(zOf("C6"), zOf("T1"), jt);
      bottom = lerp(zOf("L1"), zOf("L2"), jb);
      break;
    case FovKind::kAbdomen:
      top = lerp(zOf("T9"), zOf("T11"), jt);
      bottom = lerp(zOf("L4"), zOf("S1"), jb);
      break;
    case FovKind::kAbdomenPelvis:
      top = lerp(zOf("T9"), zOf("T11"), jt);
      bottom = pelvisBottom;
      break;
    case FovKind::kChestAbdomenPelvis:
      top = lerp(zOf("C6"), zOf("T1"), jt);
      bottom = pelvisBottom;
      break;
    case FovKind::kThoracolumbar:
      if (jb < 0.2) {  // a mid-thoracic window: no rib end, no sacrum in view
        top = lerp(zOf("T5"), zOf("T7"), jt);
        bottom = lerp(zOf("T10"), zOf("T11"), 5.0 * jb);
      } else {
        top = lerp(zOf("T7"), zOf("T10"), jt);
        bottom = lerp(zOf("L3"), zOf("L5"), (jb - 0.2) / 0.8);
      }
      break;
  }
  const double dz = spec.sliceSpacingMm;
  const int nz = static_cast<int>(std::floor((top - bottom) / dz)) + 1;
  const int nxy = spec.matrix;
  const double sxy = spec.fovWidthMm / nxy;
  if (static_cast<double>(nz) * nxy * nxy > 2.5e8)
    throw UsageError("phantom spec: volume too large (use thicker slices or a smaller matrix)");

  // In-plane placement.
  const double zMid = 0.5 * (top + bottom);
  double cx, cy;
  if (spec.fov == FovKind::kThoracolumbar) {
    const Vec3 sp = m.spineAt(zMid);
    cx = sp.x + std::clamp(spec.centreOffsetXMm, -20.0, 20.0);
    cy = sp.y + 15.0 + std::clamp(spec.centreOffsetYMm, -20.0, 20.0);
  } else {
    const TorsoSection sec = m.torso(zMid);
    cx = spec.centreOffsetXMm;
    cy = sec.centreY + spec.centreOffsetYMm;
    // Keep the back in view unless the offset asks otherwise.
    if (!spec.spineAtPosteriorEdge) cy = std::max(cy, m.backY + 5.0 - 0.5 * spec.fovWidthMm);
  }
  Grid g;
  g.size = {nxy, nxy, nz};
  g.spacing = {sxy, sxy, dz};
  g.origin = {cx - 0.5 * spec.fovWidthMm + 0.5 * sxy, cy - 0.5 * spec.fovWidthMm + 0.5 * sxy,
              bottom};
  if (spec.fov != FovKind::kThoracolumbar && spec.spineAtPosteriorEdge) {
    // Posterior edge close behind the canal: the spinous processes are cut.
    const double yEdge = m.spineAt(zMid).y + 75.0 + spec.centreOffsetYMm;
    g.origin.y = yEdge - (nxy - 0.5) * sxy;
  }

  Phantom out;
  out.spec = spec;
  out.grid = g;
  if (options.render) out.ct = HuVolume(g, 0);
  if (options.render && options.masks) {
    out.vertebrae = LabelImage(g, 0);
    out.bodies = LabelImage(g, 0);
  }

  Renderer r(m, spec);
  Plane pl;
  pl.nx = pl.ny = nxy;
  pl.ox = g.origin.x;
  pl.oy = g.origin.y;
  pl.sx = pl.sy = sxy;
  pl.v.assign(static_cast<size_t>(nxy) * nxy, 0.0f);
  Plane bg = pl, sub = pl;
  std::vector<float> acc(pl.v.size());
  const int nSub = std::max(1, static_cast<int>(std::ceil(spec.sliceThicknessMm / 0.7 - 1e-9)));
  const SliceBlur blur(nxy, nxy, sxy, sxy, spec.psfFwhmMm);
  const double noiseSd = spec.noiseHu / std::sqrt(blur.noiseGain());
  for (int k = 0; k < (options.render ? nz : 0); ++k) {
    const double zc = bottom + k * dz;
    r.background(bg, zc);
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int sIdx = 0; sIdx < nSub; ++sIdx) {
      const double zs = zc + spec.sliceThicknessMm * ((sIdx + 0.5) / nSub - 0.5);
      sub.v = bg.v;
      r.bones(sub, zs);
      for (size_t i = 0; i < acc.size(); ++i) acc[i] += sub.v[i];
    }
    // Dark beam-hardening streak along the line joining the femoral heads, fading away from
    // their centres in z.
    const double headDz = std::abs(zc - m.femoralHeadL.z);
    if (spec.hipStreakHu > 0.0 && headDz < 25.0) {
      const double amp = spec.hipStreakHu * std::exp(-headDz * headDz / (2.0 * 12.0 * 12.0));
      const Vec3 a = m.femoralHeadR, b = m.femoralHeadL;
      for (int j = 0; j < nxy; ++j)
        for (int i = 0; i < nxy; ++i) {
          const double x = g.origin.x + i * sxy, y = g.origin.y + j * sxy;
          if (x < a.x || x > b.x) continue;
          const double t = (x - a.x) / (b.x - a.x);
          const double d = y - (a.y + t * (b.y - a.y));
          const double along = std::sin(M_PI * t);  // strongest midway between the heads
          acc[static_cast<size_t>(j) * nxy + i] -=
              static_cast<float>(nSub * amp * along * std::exp(-d * d / (2.0 * 4.0 * 4.0)));
        }
    }
    std::mt19937_64 eng(spec.noiseSeed ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(k + 1)));
    auto unit = [&] {
      return (static_cast<double>(eng() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    };
    for (size_t i = 0; i < acc.size(); i += 2) {
      const double r1 = std::sqrt(-2.0 * std::log(unit())), a = 2.0 * M_PI * unit();
      acc[i] = acc[i] / nSub + static_cast<float>(noiseSd * r1 * std::cos(a));
      if (i + 1 < acc.size())
        acc[i + 1] = acc[i + 1] / nSub + static_cast<float>(noiseSd * r1 * std::sin(a));
    }
    blur.apply(acc);
    int16_t* dst = out.ct.data().data() + static_cast<size_t>(k) * acc.size();
    for (size_t i = 0; i < acc.size(); ++i)
      dst[i] = static_cast<int16_t>(std::lround(std::clamp(acc[i], -1024.0f, 3071.0f)));
    if (options.masks && !out.vertebrae.empty()) r.labels(&out.vertebrae, &out.bodies, k, pl, zc);
  }

  // Truth.
  PhantomTruth& t = out.truth;
  t.caseId = spec.caseId;
  t.spacingMm = g.spacing;
  const Vec3 lo = g.indexToLps({-0.5, -0.5, -0.5});
  const Vec3 hi = g.indexToLps({nxy - 0.5, nxy - 0.5, nz - 0.5});
  auto inView = [&](const Vec3& p, double margin) {
    return p.x >= lo.x + margin && p.x <= hi.x - margin && p.y >= lo.y + margin &&
           p.y <= hi.y - margin && p.z >= lo.z + margin && p.z <= hi.z - margin;
  };
  const double step = 1.25;  // centroids to well under 0.1 mm; HU mean over >= 1000 points
  std::vector<bool> present(m.vertebrae.size(), false);
  for (size_t vi = 0; vi < m.vertebrae.size(); ++vi) {
    const VertebraModel& v = m.vertebrae[vi];
    if (v.verse == 0) continue;
    present[vi] = inView(v.frame.origin, 0.0);
    const bool thoracicOrBelow = v.label[0] != 'C';
    if (!present[vi] || !thoracicOrBelow) continue;
    VertebraTruth vt;
    vt.label = v.label;
    vt.verseNumber = v.verse;
    double cw[3] = {0, 0, 0}, cb[3] = {0, 0, 0};
    double nw = 0, nb = 0, huSum = 0, huN = 0;
    const Aabb& lb = v.localBox;
    for (double lz = lb.lo.z; lz <= lb.hi.z; lz += step)
      for (double ly = lb.lo.y; ly <= lb.hi.y; ly += step)
        for (double lx = lb.lo.x; lx <= lb.hi.x; lx += step) {
          const Vec3 l{lx, ly, lz};
          const double db = v.body.insideDepth(l);
          if (db > 0) {
            cb[0] += lx, cb[1] += ly, cb[2] += lz, nb += 1;
            if (db >= 5.0) {
              huSum += v.trabecularHu + r.texture(v.frame.toWorld(l));
              huN += 1;
            }
          }
          if (db > 0 || v.elementDepth(l) > 0) cw[0] += lx, cw[1] += ly, cw[2] += lz, nw += 1;
        }
    vt.centroidLps = v.frame.toWorld({cw[0] / nw, cw[1] / nw, cw[2] / nw});
    vt.bodyCentroidLps = v.frame.toWorld({cb[0] / nb, cb[1] / nb, cb[2] / nb});
    bool whole = true;
    for (int sx = -1; sx <= 1; sx += 2)
      for (int sy = -1; sy <= 1; sy += 2)
        for (int sz = -1; sz <= 1; sz += 2)
          if (!inView(v.frame.toWorld({sx * v.body.a, sy * v.body.b, sz * 0.5 * v.body.hp}), 1.0))
            whole = false;
    if (whole && !v.sacral) {
      vt.heights = v.body.heights();
      if (huN > 0) vt.trabecularHu = huSum / huN;
    }
    vt.fracture = v.body.fracture;
    t.vertebrae.push_back(vt);
  }
  gradeByRule(t.vertebrae);
  int maxGrade = -1;
  for (const auto& vt : t.vertebrae) {
    if (vt.genantGrade) maxGrade = std::max(maxGrade, *vt.genantGrade);
    if (vt.label == "L1") t.l1TrabecularHu = vt.trabecularHu;
  }
  if (maxGrade >= 0) {
    t.maxGrade = maxGrade;
    t.anyFracture = maxGrade >= 2;
  }
  // Anchors: the first rib (on T1), the last rib with the vertebra below it, the sacrum.
  bool anchor = false;
  int lastRib = -1;
  for (size_t i = 0; i < spec.column.size(); ++i)
    if (spec.column[i].ribLength > 0) lastRib = static_cast<int>(i);
  const int iT1 = m.indexOf("T1"), iS1 = m.indexOf("S1");
  if (iT1 >= 0 && present[static_cast<size_t>(iT1)]) anchor = true;
  if (iS1 >= 0 && present[static_cast<size_t>(iS1)]) anchor = true;
  if (lastRib >= 0 && present[static_cast<size_t>(lastRib)] &&
      present[static_cast<size_t>(lastRib) + 1])
    anchor = true;
  t.labelAnchor = anchor;
  std::string notes = "synthetic phantom; fov " + toString(spec.fov) + "; slice " +
                      std::to_string(spec.sliceSpacingMm).substr(0, 4) + " mm";
  if (!spec.variant.empty()) notes += "; variant: " + spec.variant;
  for (const auto& vs : spec.column)
    if (vs.fracture != FractureType::kNone)
      notes += "; " + vs.label + " " + toString(vs.fracture) + " deformity";
  if (spec.contrast) notes += "; contrast";
  t.notes = notes;
  return out;
}

}  // namespace spinescreen::phantom
