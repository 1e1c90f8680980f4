// Vertebral bodies built in code with known heights, for the morphometry, density and picture
// tests. A body is a superellipse cylinder (flat-sided like a real body's core) whose upper
// and lower endplates follow a height profile along its depth, placed in the world by a
// local frame (tilt, axial rotation), on a fine grid.
#pragma once

#include <cmath>
#include <functional>

#include "core/image.h"
#include "core/spine_model.h"

namespace spinescreen::testing {

struct BodySpec {
  // Off the voxel centres of the test grids, so no surface falls exactly on a voxel centre.
  Vec3 centre{0.13, -0.07, 0.11};
  // Local frame: superior and anterior unit vectors (lateral = sup x ant).
  Vec3 sup{0, 0, 1};
  Vec3 ant{0, -1, 0};
  double depthMm = 32.0;
  double widthMm = 44.0;
  // Heights at 15%, 50% and 85% of the depth from the anterior wall (piecewise linear
  // between, flat beyond).
  double ha = 26.0, hm = 26.0, hp = 26.0;
  // Optional extras: an anterior osteophyte lip at the upper endplate, a Schmorl pit in the
  // middle of the upper endplate (or `pitLateralMm` to the side), and a biconcave dome: each
  // endplate sinks by up to `domeMm` towards the body's middle, following 1 - u^2 - v^2 with
  // u = (depth fraction - 0.5) / 0.3 and v = lateral offset / (0.4 width), zero beyond (so the
  // walls' heights at 15 and 85 % of the depth keep their values).
  bool osteophyte = false;
  double pitRadiusMm = 0.0, pitLateralMm = 0.0;
  double domeMm = 0.0;
};

inline Vec3 rotateAbout(const Vec3& v, const Vec3& axis, double deg) {
  const double a = deg * M_PI / 180.0;
  const Vec3 k = axis.normalized();
  return v * std::cos(a) + k.cross(v) * std::sin(a) + k * (k.dot(v) * (1 - std::cos(a)));
}

// Height at a fraction f of the depth from the anterior wall.
inline double heightAt(const BodySpec& b, double f) {
  if (f <= 0.15) return b.ha;
  if (f <= 0.50) return b.ha + (b.hm - b.ha) * (f - 0.15) / 0.35;
  if (f <= 0.85) return b.hm + (b.hp - b.hm) * (f - 0.50) / 0.35;
  return b.hp;
}

// Whether a world point lies inside the body.
inline bool insideBody(const BodySpec& b, const Vec3& p) {
  const Vec3 lat = b.sup.cross(b.ant).normalized();
  const Vec3 d = p - b.centre;
  const double x = d.dot(lat), y = d.dot(b.ant), z = d.dot(b.sup);
  const double ax = b.widthMm / 2, ay = b.depthMm / 2;
  const double se = std::pow(std::abs(x / ax), 4) + std::pow(std::abs(y / ay), 4);
  const double f = (ay - y) / b.depthMm;  // fraction of depth from the anterior wall
  if (se <= 1.0) {
    const double u = (f - 0.5) / 0.3, v = x / (0.4 * b.widthMm);
    const double h = heightAt(b, f) / 2 - b.domeMm * std::max(0.0, 1.0 - u * u - v * v);
    bool in = z >= -h && z <= h;
    if (in && b.pitRadiusMm > 0) {
      // Hemispherical pit centred on the upper endplate at mid-depth.
      const Vec3 pit{b.pitLateralMm, 0, h};
      const double r = std::sqrt((x - pit.x) * (x - pit.x) + y * y + (z - pit.z) * (z - pit.z));
      if (r < b.pitRadiusMm) in = false;
    }
    if (in) return true;
  }
  if (b.osteophyte) {
    // A lip in front of the anterior wall at the upper endplate, rising 3 mm above it.
    const double h = b.ha / 2;
    if (std::abs(x) < 14 && y >= ay - 1.0 && y <= ay + 5.0 && z >= h - 5.0 && z <= h + 3.0)
      return true;
  }
  return false;
}

// A grid of `spacing` around the point `centre`, `extentMm` wide on every axis.
inline Grid gridAround(const Vec3& centre, double extentMm, double spacing) {
  Grid g;
  const int64_t n = static_cast<int64_t>(std::ceil(extentMm / spacing));
  g.size = {n, n, n};
  g.spacing = {spacing, spacing, spacing};
  const Vec3 o = centre - Vec3{extentMm / 2, extentMm / 2, extentMm / 2};
  g.origin = {std::floor(o.x), std::floor(o.y), std::floor(o.z)};
  return g;
}

// Paints a body into a label image (value) and, optionally, HU into a volume.
inline void paintBody(const BodySpec& b, LabelImage& labels, int value, HuVolume* ct = nullptr,
                      int16_t hu = 200) {
  const Grid& g = labels.grid();
  const double reach = std::max(b.widthMm, std::max(b.depthMm, 40.0));
  const Vec3 lo = g.lpsToIndex(b.centre - Vec3{reach, reach, reach});
  const Vec3 hi = g.lpsToIndex(b.centre + Vec3{reach, reach, reach});
  for (int64_t k = std::max<int64_t>(0, int64_t(std::min(lo.z, hi.z)));
       k < std::min<int64_t>(g.size[2], int64_t(std::max(lo.z, hi.z)) + 1); ++k)
    for (int64_t j = std::max<int64_t>(0, int64_t(std::min(lo.y, hi.y)));
         j < std::min<int64_t>(g.size[1], int64_t(std::max(lo.y, hi.y)) + 1); ++j)
      for (int64_t i = std::max<int64_t>(0, int64_t(std::min(lo.x, hi.x)));
           i < std::min<int64_t>(g.size[0], int64_t(std::max(lo.x, hi.x)) + 1); ++i)
        if (insideBody(b, g.indexToLps({double(i), double(j), double(k)}))) {
          labels.at(i, j, k) = static_cast<uint8_t>(value);
          if (ct) ct->at(i, j, k) = hu;
        }
}

// A one-body model: label L1 (VerSe 20), no posterior elements, no axes.
inline SpineModel singleBodyModel(const BodySpec& b, double spacing = 0.5) {
  SpineModel m;
  m.bodies = LabelImage(gridAround(b.centre, 72.0, spacing), 0);
  paintBody(b, m.bodies, 20);
  Vertebra v;
  v.label = "L1";
  v.bodyLabel = 20;
  v.centroidLps = b.centre;
  m.vertebrae.push_back(v);
  return m;
}

}  // namespace spinescreen::testing
