#include "morphometry/morphometry.h"

#include <vnl/algo/vnl_symmetric_eigensystem.h>
#include <vnl/vnl_matrix_fixed.h>
#include <vnl/vnl_vector_fixed.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "core/endplate.h"
#include "core/label_boxes.h"
#include "core/labels.h"

namespace spinescreen::morphometry {
namespace {

constexpr double kStepMm = 0.2;  // profile sampling step
// Along a height line, a gap in the body mask of about one voxel is inside the body (the
// basivertebral vein channel at the back, a fracture cleft), not its end: this many voxel
// spacings (the largest) are bridged.
constexpr double kHeightBridgeVoxels = 1.2;
// Vertebral bodies grow taller by a few per cent per level towards the sacrum.
constexpr double kHeightGrowthPerLevel = 1.04;
// A height line must meet the body within this fraction of the centre height of mid-height;
// a severe wedge's front (a third of the back's height) still does.
constexpr double kMidHeightReach = 0.25;
// A body whose back is taller than this fraction of its width may be two bodies merged: one
// body's height is 0.55-0.7 of its width from T1 to L5, two bodies' with their disc over 1.1.
constexpr double kMergedHeightOfWidth = 0.85;
// How many levels away a measured body may serve as the reference for a merged body.
constexpr double kMergedReachLevels = 3.0;
// Measured bodies within that reach from which their median is the reference.
constexpr size_t kMergedColumnBodies = 3;

std::string fmt1(double v) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  s << v;
  return s.str();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Mean of the middle half (the interquartile mean): as robust as the median to a quarter of
// outliers either side, and where the values fall into two groups (lines either side of a
// voxel column's edge on a coarse mask) it weighs them instead of taking one group's value.
double midMean(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size(), cut = n / 4;
  double s = 0.0;
  for (size_t i = cut; i < n - cut; ++i) s += v[i];
  return s / double(n - 2 * cut);
}

// The middle height on the mid-sagittal line, from heights h taken at lateral offsets x (mm)
// across the body's core. A biconcave body's endplates sink towards its middle in a dome, which
// lines spread sideways read short of its depth; a Schmorl pit is a dip a few millimetres
// wide, and the heights through it are outliers. Fits h = h0 + c x^2 by least median of
// squares, then least squares on the points the fit explains. Where the centre lies lower than
// the sides (c > 0) returns h0, at least the lowest height read; otherwise the mean of those
// points. Nothing when too few heights were read.
std::optional<double> middleAcross(const std::vector<std::pair<double, double>>& xh) {
  const size_t n = xh.size();
  if (n < 5) return std::nullopt;
  double bestScore = std::numeric_limits<double>::infinity(), bestH0 = 0.0, bestC = 0.0;
  std::vector<double> res(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const double xi = xh[i].first * xh[i].first, xj = xh[j].first * xh[j].first;
      if (std::abs(xj - xi) < 1.0) continue;
      const double c = (xh[j].second - xh[i].second) / (xj - xi);
      const double h0 = xh[i].second - c * xi;
      for (size_t k = 0; k < n; ++k)
        res[k] = std::abs(xh[k].second - h0 - c * xh[k].first * xh[k].first);
      const double score = median(res);
      if (score < bestScore) {
        bestScore = score;
        bestH0 = h0;
        bestC = c;
      }
    }
  if (!std::isfinite(bestScore)) return std::nullopt;
  // Inliers, then an ordinary least-squares line in x^2 through them.
  const double tol = std::max(0.5, 2.5 * 1.4826 * bestScore);
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, h] : xh) {
    const double u = x * x;
    if (std::abs(h - bestH0 - bestC * u) > tol) continue;
    sw += 1;
    sx += u;
    sy += h;
    sxx += u * u;
    sxy += u * h;
  }
  if (sw < 5) return std::nullopt;
  const double den = sw * sxx - sx * sx;
  if (den <= 1e-9 * std::max(1.0, sxx * sw)) return sy / sw;
  const double c = (sw * sxy - sx * sy) / den;
  if (!(c > 0.0)) return sy / sw;
  // The dome's floor, never below the lowest height read.
  double lowest = std::numeric_limits<double>::infinity();
  for (const auto& p : xh) lowest = std::min(lowest, p.second);
  return std::max((sy - c * sx) / sw, lowest);
}

Vec3 orthogonalised(const Vec3& v, const Vec3& axis) {
  return (v - axis * v.dot(axis)).normalized();
}

// One body cut out of the body label map as a 0/1 float image (with a margin), so that linear
// interpolation gives sub-voxel edges at its 0.5 level.
struct BodyImage {
  FloatImage mask;
  std::vector<Vec3> points;  // voxel centres (LPS) of the body
  Vec3 centroid;
};

BodyImage cutOut(const LabelImage& labels, int value, const LabelBox& box) {
  const Grid& g = labels.grid();
  const int margin = 2;
  std::array<int64_t, 3> lo;
  Grid cg = g;
  for (int d = 0; d < 3; ++d) {
    lo[d] = box.lo[d] - margin;
    cg.size[d] = box.hi[d] - box.lo[d] + 1 + 2 * margin;
  }
  cg.origin = g.indexToLps({double(lo[0]), double(lo[1]), double(lo[2])});
  BodyImage b{FloatImage(cg, 0.0f), {}, {}};
  for (int64_t k = 0; k < cg.size[2]; ++k)
    for (int64_t j = 0; j < cg.size[1]; ++j)
      for (int64_t i = 0; i < cg.size[0]; ++i)
        if (labels.valueOr(i + lo[0], j + lo[1], k + lo[2], 0) == value) {
          b.mask.at(i, j, k) = 1.0f;
          const Vec3 p = cg.indexToLps({double(i), double(j), double(k)});
          b.points.push_back(p);
          b.centroid += p;
        }
  if (!b.points.empty()) b.centroid = b.centroid / double(b.points.size());
  return b;
}

// Principal axes of a point set, largest variance first.
std::array<std::pair<double, Vec3>, 3> principalAxes(const std::vector<Vec3>& pts, const Vec3& c) {
  vnl_matrix_fixed<double, 3, 3> cov(0.0);
  for (const auto& p : pts) {
    const Vec3 d = p - c;
    for (int r = 0; r < 3; ++r)
      for (int s = 0; s < 3; ++s) cov(r, s) += d[r] * d[s];
  }
  cov /= std::max<double>(1.0, static_cast<double>(pts.size()));
  vnl_symmetric_eigensystem<double> eig(cov.as_ref());
  std::array<std::pair<double, Vec3>, 3> out;
  for (int e = 0; e < 3; ++e) {
    // vnl orders eigenvalues ascending.
    const int col = 2 - e;
    out[e] = {eig.get_eigenvalue(col), Vec3{eig.V(0, col), eig.V(1, col), eig.V(2, col)}};
  }
  return out;
}

// Where a line p0 + t*dir enters and leaves the body (0.5 level of the interpolated mask),
// following the inside run that contains t = 0 or, failing that, the nearest one; runs apart
// by at most `bridgeMm` count as one (a vein channel or cleft inside the body).
std::optional<std::pair<double, double>> crossings(const FloatImage& mask, const Vec3& p0,
                                                   const Vec3& dir, double halfLenMm,
                                                   double bridgeMm = 0.0) {
  const int n = static_cast<int>(halfLenMm / kStepMm);
  std::vector<double> v(2 * n + 1);
  for (int i = -n; i <= n; ++i) v[i + n] = sampleLinearLps(mask, p0 + dir * (i * kStepMm), 0.0);
  int start = -1;
  for (int r = 0; r <= n && start < 0; ++r) {
    if (v[n + r] >= 0.5)
      start = n + r;
    else if (v[n - r] >= 0.5)
      start = n - r;
  }
  if (start < 0) return std::nullopt;
  int lo = start, hi = start;
  const int bridge = static_cast<int>(bridgeMm / kStepMm);
  for (bool grew = true; grew;) {
    grew = false;
    while (lo > 0 && v[lo - 1] >= 0.5) --lo;
    while (hi < 2 * n && v[hi + 1] >= 0.5) ++hi;
    for (int g = 2; g <= bridge + 1 && lo - g >= 0; ++g)
      if (v[lo - g] >= 0.5) {
        lo -= g;
        grew = true;
        break;
      }
    for (int g = 2; g <= bridge + 1 && hi + g <= 2 * n; ++g)
      if (v[hi + g] >= 0.5) {
        hi += g;
        grew = true;
        break;
      }
  }
  if (lo == 0 || hi == 2 * n) return std::nullopt;  // runs off the search range
  auto edge = [&](int in, int out) {
    const double a = v[in], b = v[out];
    const double f = (a - 0.5) / std::max(1e-9, a - b);
    return ((in - n) + f * (out - in)) * kStepMm;
  };
  return std::make_pair(edge(lo, lo - 1), edge(hi, hi + 1));
}

struct Frame {
  Vec3 sup, ant, lat;
};

Frame bodyFrame(const Vertebra& v, const BodyImage& b, const std::optional<Vec3>& neighbourAxis) {
  const auto axes = principalAxes(b.points, b.centroid);
  Frame f;
  if (v.axisSuperior && v.axisSuperior->norm() > 0.5) {
    f.sup = v.axisSuperior->normalized();
  } else {
    // A start for the endplate fit: the column's direction through the neighbours' bodies,
    // else the body's principal axis closest to the patient's superior direction (a body's
    // height and depth have similar spread, so this is only a start).
    if (neighbourAxis) {
      f.sup = neighbourAxis->normalized();
    } else {
      const Vec3 ref{0, 0, 1};
      int best = 0;
      for (int e = 1; e < 3; ++e)
        if (std::abs(axes[e].second.dot(ref)) > std::abs(axes[best].second.dot(ref))) best = e;
      Vec3 e = axes[best].second;
      if (e.dot(ref) < 0) e = -e;
      f.sup = e.dot(ref) > std::cos(35.0 * M_PI / 180.0) ? e.normalized() : ref;
    }
  }
  if (v.axisAnterior && v.axisAnterior->norm() > 0.5) {
    f.ant = orthogonalised(*v.axisAnterior, f.sup);
  } else {
    // Towards the front: away from the posterior elements when the whole vertebra's centroid
    // is known apart from the body's, else the patient's anterior (-y in LPS); refined by
    // the body's own principal axes when its cross-section is clearly longer one way.
    Vec3 guess{0, -1, 0};
    if (v.bodyCentroidLps && (*v.bodyCentroidLps - v.centroidLps).norm() > 3.0)
      guess = *v.bodyCentroidLps - v.centroidLps;
    guess = orthogonalised(guess, f.sup);
    f.ant = guess;
    // In-plane principal axes (perpendicular to sup).
    std::vector<std::pair<double, Vec3>> inPlane;
    for (const auto& a : axes)
      if (std::abs(a.second.dot(f.sup)) < 0.7) inPlane.push_back(a);
    if (inPlane.size() == 2 && inPlane[0].first > 1.15 * inPlane[1].first) {
      // The longer in-plane axis is the body's width; depth runs along the other.
      Vec3 depth = orthogonalised(inPlane[1].second, f.sup);
      if (depth.dot(guess) < 0) depth = -depth;
      if (depth.dot(guess) > std::cos(40.0 * M_PI / 180.0)) f.ant = depth;
    }
  }
  f.lat = f.sup.cross(f.ant).normalized();
  return f;
}

struct Measured {
  Heights h;
  double widthMm = 0.0;  // side to side through the centre
  std::vector<std::pair<Vec3, Vec3>> segments;
};

// Least-squares plane u = alpha*x + beta*y + gamma through (x, y, u) points, with one pass
// dropping points more than 2 mm off (a Schmorl's pit, an osteophyte); returns the plane's
// unit normal in (x, y, u) coordinates, or nullopt with too few points.
std::optional<Vec3> fitPlaneNormal(std::vector<Vec3> pts) {
  for (int pass = 0; pass < 2; ++pass) {
    if (pts.size() < 6) return std::nullopt;
    vnl_matrix_fixed<double, 3, 3> m(0.0);
    vnl_vector_fixed<double, 3> r(0.0);
    for (const auto& p : pts) {
      const double row[3] = {p.x, p.y, 1.0};
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) m(i, j) += row[i] * row[j];
        r[i] += row[i] * p.z;
      }
    }
    vnl_symmetric_eigensystem<double> eig(m.as_ref());
    if (eig.get_eigenvalue(0) < 1e-6 * eig.get_eigenvalue(2)) return std::nullopt;
    const vnl_vector<double> sol = eig.solve(r.as_ref());
    const double alpha = sol[0], beta = sol[1], gamma = sol[2];
    if (pass == 0) {
      std::vector<Vec3> kept;
      for (const auto& p : pts)
        if (std::abs(p.z - (alpha * p.x + beta * p.y + gamma)) <= 2.0) kept.push_back(p);
      pts.swap(kept);
      continue;
    }
    return Vec3{-alpha, -beta, 1.0}.normalized();
  }
  return std::nullopt;
}

// Refines the spine axis to the bisector of the two endplates' normals, fitted to the body's
// upper and lower surfaces in its central part (clear of the rim).
void refineAxisFromEndplates(const BodyImage& b, Frame& f) {
  const double reach = 80.0;
  for (int iter = 0; iter < 2; ++iter) {
    const auto wide = crossings(b.mask, b.centroid, f.lat, reach);
    const auto deep = crossings(b.mask, b.centroid, f.ant, reach);
    if (!wide || !deep) return;
    std::vector<Vec3> top, bottom;
    const int n = 7;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const double x = wide->first + (wide->second - wide->first) * (0.25 + 0.5 * i / (n - 1));
        const double y = deep->first + (deep->second - deep->first) * (0.2 + 0.6 * j / (n - 1));
        const auto r = crossings(b.mask, b.centroid + f.lat * x + f.ant * y, f.sup, reach);
        if (!r) continue;
        top.push_back({x, y, r->second});
        bottom.push_back({x, y, r->first});
      }
    const auto nTop = fitPlaneNormal(top), nBottom = fitPlaneNormal(bottom);
    if (!nTop || !nBottom) return;
    const Vec3 local = (*nTop + *nBottom).normalized();
    const Vec3 sup = (f.lat * local.x + f.ant * local.y + f.sup * local.z).normalized();
    if (sup.dot(f.sup) < std::cos(30.0 * M_PI / 180.0)) return;  // implausible: keep
    f.sup = sup;
    f.ant = orthogonalised(f.ant, f.sup);
    f.lat = f.sup.cross(f.ant).normalized();
  }
}

// Moves an edge found on the mask (an endplate, a wall) to the CT's own edge: the 50% crossing
// between the bright bony side (the cortex) and the darker side beyond it (disc, canal, soft
// tissue), searched within `searchMm` of the mask edge. Keeps the mask edge where the CT
// shows no clear edge.
double refineEdgeWithHu(const HuVolume& volume, const Vec3& p0, const Vec3& dir, double tEdge,
                        double outward, double searchMm) {
  const double step = 0.1;
  const int n = static_cast<int>(std::ceil((searchMm + 3.0) / step));
  // Samples from inside (k = -n) to outside (k = +n) of the edge.
  std::vector<double> v(2 * n + 1);
  for (int k = -n; k <= n; ++k) {
    v[k + n] = sampleLinearLps(volume, p0 + dir * (tEdge + outward * k * step), std::nan(""));
    if (std::isnan(v[k + n])) return tEdge;
  }
  const int w = static_cast<int>(std::ceil(searchMm / step));
  int iMax = n - w;
  for (int k = n - w; k <= n + w / 2; ++k)
    if (v[k] > v[iMax]) iMax = k;
  int iMin = iMax;
  for (int k = iMax; k <= std::min(2 * n, iMax + static_cast<int>(6.0 / step)); ++k)
    if (v[k] < v[iMin]) iMin = k;
  if (v[iMax] - v[iMin] < 60.0) return tEdge;  // no clear edge in the CT
  const double half = 0.5 * (v[iMax] + v[iMin]);
  for (int k = iMax; k < iMin; ++k)
    if (v[k] >= half && v[k + 1] < half) {
      const double frac = (v[k] - half) / std::max(1e-9, v[k] - v[k + 1]);
      // A cortex thinner than the slice's blur: half a cortex beyond its ridge.
      const double offset = (endplateOuterEdge(v, iMax, k + frac, step) - n) * step;
      if (std::abs(offset) > searchMm) return tEdge;
      return tEdge + outward * offset;
    }
  return tEdge;
}

std::optional<Measured> measureBody(const BodyImage& b, const Frame& f,
                                    const MorphometryConfig& config, std::string& why,
                                    const HuVolume* volume = nullptr) {
  const double reach = 80.0;
  const Vec3 c = b.centroid;
  const auto vert = crossings(b.mask, c, f.sup, reach);
  const auto wide = crossings(b.mask, c, f.lat, reach);
  if (!vert || !wide) {
    why = "body centre profile failed";
    return std::nullopt;
  }
  const double h0 = vert->second - vert->first;
  const double w0 = wide->second - wide->first;
  const Vec3 mid = c + f.sup * (0.5 * (vert->first + vert->second)) +
                   f.lat * (0.5 * (wide->first + wide->second));
  // A mask edge moves to the CT's own edge (user masks): within three quarters of a voxel.
  const Grid& mg = b.mask.grid();
  const double refineSearch = 0.75 * std::max({mg.spacing.x, mg.spacing.y, mg.spacing.z});
  const bool refine = volume && config.refineEdgesWithHu;
  // Depth at mid-height (clear of endplate osteophytes), median of parallel lines; with a user
  // mask its walls move onto the CT's, so that a mask that keeps or leaves out the posterior
  // cortex's voxel row puts the height lines at the same depth.
  std::vector<double> front, back;
  for (double ds : {-0.15, 0.0, 0.15})
    for (double dl : {-0.1, 0.0, 0.1}) {
      const Vec3 p = mid + f.sup * (ds * h0) + f.lat * (dl * w0);
      auto d = crossings(b.mask, p, f.ant, reach);
      if (!d) continue;
      if (refine) {
        d->first = refineEdgeWithHu(*volume, p, f.ant, d->first, -1.0, refineSearch);
        d->second = refineEdgeWithHu(*volume, p, f.ant, d->second, +1.0, refineSearch);
      }
      back.push_back(d->first);
      front.push_back(d->second);
    }
  if (front.size() < 5) {
    why = "body depth profile failed";
    return std::nullopt;
  }
  const double tA = median(front), tP = median(back);
  const double depth = tA - tP;
  if (depth < 5.0 || h0 < 3.0) {
    why = "body too small (depth " + fmt1(depth) + " mm)";
    return std::nullopt;
  }
  // Heights along the spine axis in the body's core, median over parallel lines, so that a
  // focal pit (Schmorl's node) or a rim osteophyte does not decide.
  const double lateralSpread = std::clamp(0.2 * w0, 1.0, 10.0);
  // (A voxel of the CT: the label map may lie on a finer grid than the image it was drawn on.)
  double voxelMm = std::max({mg.spacing.x, mg.spacing.y, mg.spacing.z});
  if (volume) {
    const Vec3& vs = volume->grid().spacing;
    voxelMm = std::max({voxelMm, vs.x, vs.y, vs.z});
  }
  const double bridgeMm = kHeightBridgeVoxels * voxelMm;
  const double fractions[3] = {config.anteriorFraction, config.middleFraction,
                               config.posteriorFraction};
  // The lines spread over half a voxel of the mask either side of each depth fraction (at
  // least 0.5 mm): on a coarse mask the height near a wall changes by a voxel from one voxel
  // column to the next, and a line exactly on a column boundary would follow one at random.
  const Vec3 antAbs{std::abs(f.ant.x), std::abs(f.ant.y), std::abs(f.ant.z)};
  const double depthVoxelMm =
      antAbs.x * mg.spacing.x + antAbs.y * mg.spacing.y + antAbs.z * mg.spacing.z;
  const double depthSpread = std::max(0.5, 0.5 * depthVoxelMm);
  Measured m;
  double hs[3];
  for (int q = 0; q < 3; ++q) {
    const double a = tA - fractions[q] * depth;
    std::vector<double> heights, lows, highs;
    // The middle height is read at quarter steps across the core, for its dome and for pits.
    const std::vector<double> lateral =
        q == 1 ? std::vector<double>{-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0}
               : std::vector<double>{-1.0, -0.5, 0.0, 0.5, 1.0};
    std::vector<std::pair<double, double>> across;  // (lateral offset, median height there)
    for (double dl : lateral) {
      std::vector<double> here;
      for (double da : {-depthSpread, -0.5 * depthSpread, 0.0, 0.5 * depthSpread, depthSpread}) {
        const Vec3 p = mid + f.ant * (a + da) + f.lat * (dl * lateralSpread);
        auto r = crossings(b.mask, p, f.sup, reach, bridgeMm);
        // A line that misses the body at mid-height and only grazes a rim of mask above or
        // below it (a leak along a wall, a lip at an endplate) is outside the body.
        if (!r || r->first > kMidHeightReach * h0 || r->second < -kMidHeightReach * h0) continue;
        if (refine) {
          r->first = refineEdgeWithHu(*volume, p, f.sup, r->first, -1.0, refineSearch);
          r->second = refineEdgeWithHu(*volume, p, f.sup, r->second, +1.0, refineSearch);
        }
        here.push_back(r->second - r->first);
        heights.push_back(r->second - r->first);
        lows.push_back(r->first);
        highs.push_back(r->second);
      }
      if (here.size() >= 3) across.emplace_back(dl * lateralSpread, median(here));
    }
    if (heights.size() < 8) {
      why = "height profile failed";
      return std::nullopt;
    }
    hs[q] = midMean(heights);
    if (q == 1)
      if (const auto middle = middleAcross(across)) hs[q] = *middle;
    const Vec3 base = mid + f.ant * a;
    const double lo = median(lows), hi = median(highs);
    // Drawn segment centred on the median edges with the measured height.
    const double centre = 0.5 * (lo + hi);
    m.segments.emplace_back(base + f.sup * (centre - hs[q] / 2),
                            base + f.sup * (centre + hs[q] / 2));
  }
  // A body cannot be much taller in its middle than at both walls: such a profile comes
  // from a segmentation that lost part of the body, and grading it would be a wrong answer.
  if (hs[1] > config.maxMiddleOverWallRatio * std::max(hs[0], hs[2])) {
    why = "implausible body shape (middle height " + fmt1(hs[1]) + " mm exceeds both walls' " +
          fmt1(std::max(hs[0], hs[2])) + " mm by more than " +
          std::to_string(static_cast<int>(std::lround((config.maxMiddleOverWallRatio - 1) * 100))) +
          "%): segmentation incomplete?";
    return std::nullopt;
  }
  m.h = {hs[0], hs[1], hs[2]};
  m.widthMm = w0;
  return m;
}

}  // namespace

void measureHeights(const HuVolume& volume, SpineModel& model, const MorphometryConfig& config) {
  if (model.bodies.empty()) return;
  const auto boxes = labelBoxes(model.bodies);
  auto& vs = model.vertebrae;
  std::vector<double> width(vs.size(), 0.0);
  // Body centroids for the column direction at each level.
  for (size_t i = 0; i < vs.size(); ++i) {
    Vertebra& v = vs[i];
    if (!v.measurable) continue;
    const auto it = boxes.find(v.bodyLabel);
    if (v.bodyLabel == 0 || it == boxes.end()) {
      v.measurable = false;
      v.notMeasurableReason = "no body segmented";
      continue;
    }
    const BodyImage b = cutOut(model.bodies, v.bodyLabel, it->second);
    if (!v.bodyCentroidLps) v.bodyCentroidLps = b.centroid;
    std::optional<Vec3> neighbourAxis;
    auto centreOf = [&](size_t k) -> std::optional<Vec3> {
      return vs[k].bodyCentroidLps ? vs[k].bodyCentroidLps : std::optional<Vec3>(vs[k].centroidLps);
    };
    if (vs.size() >= 2) {
      const auto up = centreOf(i == 0 ? 0 : i - 1);
      const auto down = centreOf(std::min(vs.size() - 1, i + 1));
      if (up && down && (*up - *down).norm() > 5.0) neighbourAxis = (*up - *down).normalized();
    }
    Frame f = bodyFrame(v, b, neighbourAxis);
    if (!v.axisSuperior) refineAxisFromEndplates(b, f);
    std::string why;
    const auto m = measureBody(b, f, config, why, &volume);
    if (!m) {
      v.measurable = false;
      v.notMeasurableReason = "heights could not be measured: " + why;
      continue;
    }
    v.heights = m->h;
    v.heightSegmentsLps = m->segments;
    width[i] = m->widthMm;
    if (!v.axisSuperior) v.axisSuperior = f.sup;
    if (!v.axisAnterior) v.axisAnterior = f.ant;
  }
  // A body far taller than the column around it was segmented across a disc: two bodies
  // merged, or one with part of its neighbour. The reference is the median of the measured
  // bodies within kMergedReachLevels levels, each scaled by the usual growth of vertebral
  // height per level towards the sacrum: with three or more of them one crushed or one
  // over-segmented neighbour does not decide. With fewer, it is the tallest of them (so that a
  // crushed neighbour does not make a normal body look merged), and the body must also be
  // taller than most of its width, as two bodies with their disc are.
  std::vector<double> hp(vs.size(), 0.0);
  for (size_t i = 0; i < vs.size(); ++i)
    if (vs[i].measurable && vs[i].heights) hp[i] = vs[i].heights->posteriorMm;
  for (size_t i = 0; i < vs.size(); ++i) {
    if (hp[i] <= 0.0) continue;
    const auto a = columnOrdinal(vs[i].label);
    if (!a) continue;
    std::vector<double> near;
    for (size_t j = 0; j < vs.size(); ++j) {
      if (j == i || hp[j] <= 0.0) continue;
      const auto b = columnOrdinal(vs[j].label);
      if (!b || std::abs(*a - *b) > kMergedReachLevels + 1e-9) continue;
      near.push_back(hp[j] * std::pow(kHeightGrowthPerLevel, *a - *b));
    }
    if (near.empty()) continue;
    const bool column = near.size() >= kMergedColumnBodies;
    const double reference = column ? median(near) : *std::max_element(near.begin(), near.end());
    // Two bodies with their disc are taller than wide; a single body is about half as tall
    // as it is wide (a normal body beside a crushed one is also far taller than it).
    if (hp[i] > config.maxPosteriorOverNeighbourRatio * reference &&
        (column || hp[i] > kMergedHeightOfWidth * width[i])) {
      Vertebra& v = vs[i];
      v.measurable = false;
      v.notMeasurableReason = "heights could not be measured: implausible body (posterior height " +
                              fmt1(hp[i]) + " mm against " + fmt1(reference) +
                              " mm around it): segmented across a disc, or two vertebrae merged?";
      v.heights.reset();
      v.heightSegmentsLps.clear();
    }
  }
}

int genantGradeForLoss(double loss) {
  // Rounded to 1e-9 so that a loss computed as 0.19999999999999996 meets its band edge.
  loss = std::round(loss * 1e9) / 1e9;
  if (loss < 0.20) return 0;
  if (loss < 0.25) return 1;
  if (loss <= 0.40) return 2;
  return 3;
}

double fractureProbability(double loss, const std::string& label,
                           std::optional<double> sliceThicknessMm) {
  // Centred on the moderate threshold (25% loss); the transition widens with slice thickness
  // because a thick slice blurs each endplate by about half its thickness.
  const double thick = sliceThicknessMm.value_or(1.0);
  const double scale = 0.025 + 0.008 * std::max(0.0, thick - 1.0);
  double logit = (loss - 0.25) / scale;
  // Prior by level: fractures cluster at the thoracolumbar junction and mid-thoracic spine;
  // L5 and the cervical spine are rarely affected by osteoporotic VCF.
  const auto ord = columnOrdinal(label);
  if (ord) {
    if (*ord >= 17 && *ord <= 19.5)
      logit += 0.3;  // T11..L1
    else if (*ord >= 12 && *ord <= 15)
      logit += 0.15;  // T6..T9
    else if (*ord < 7 || *ord == 23)
      logit -= 0.3;  // cervical, L5
  }
  return 1.0 / (1.0 + std::exp(-logit));
}

void gradeVertebrae(std::vector<Vertebra>& vertebrae) { gradeVertebrae(vertebrae, {}); }

void gradeVertebrae(std::vector<Vertebra>& vs, const GradingConfig& config) {
  const size_t n = vs.size();
  auto measured = [&](size_t i) { return vs[i].measurable && vs[i].heights.has_value(); };
  auto adjacent = [&](size_t i, size_t j) {
    const auto a = columnOrdinal(vs[i].label), b = columnOrdinal(vs[j].label);
    return a && b && std::abs(*a - *b) <= 1.0 + 1e-9;
  };
  std::vector<int> grade(n, 0);
  std::vector<double> loss(n, 0.0), neighbourHp(n, 0.0);
  std::vector<bool> hasNeighbour(n, false);
  // Neighbour references depend on which neighbours are fractured: iterate to a fixed point
  // (starting from each body's own posterior height).
  for (int iter = 0; iter < 8; ++iter) {
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (!measured(i)) continue;
      const Heights& h = *vs[i].heights;
      double sum = 0.0;
      int count = 0;
      for (size_t j : {i - 1, i + 1}) {
        if (j >= n || !measured(j) || !adjacent(i, j) || (iter > 0 && grade[j] >= 2)) continue;
        sum += vs[j].heights->posteriorMm;
        ++count;
      }
      hasNeighbour[i] = count > 0;
      neighbourHp[i] = count ? sum / count : 0.0;
      const double ref = std::max(h.posteriorMm, iter == 0 ? 0.0 : neighbourHp[i]);
      const double l = ref > 0 ? 1.0 - std::min(h.anteriorMm, h.middleMm) / ref : 0.0;
      const int g = genantGradeForLoss(l);
      if (g != grade[i] || l != loss[i]) changed = true;
      grade[i] = g;
      loss[i] = l;
    }
    if (!changed && iter > 0) break;
  }
  for (size_t i = 0; i < n; ++i) {
    Vertebra& v = vs[i];
    if (!measured(i)) continue;
    const Heights& h = *v.heights;
    v.heightLoss = std::max(0.0, loss[i]);
    v.genantGrade = grade[i];
    const double ref = std::max(h.posteriorMm, hasNeighbour[i] ? neighbourHp[i] : 0.0);
    if (grade[i] == 0) {
      v.morphology = Morphology::kNormal;
    } else if (hasNeighbour[i] && h.posteriorMm < 0.8 * neighbourHp[i]) {
      v.morphology = Morphology::kCrush;
    } else if (h.middleMm < h.anteriorMm - 0.05 * ref) {
      v.morphology = Morphology::kBiconcave;
    } else {
      v.morphology = Morphology::kWedge;
    }
    v.fractureProbability = fractureProbability(*v.heightLoss, v.label, config.sliceThicknessMm);
    if (grade[i] == 1 && config.sliceThicknessMm && *config.sliceThicknessMm >= 2.5)
      v.notes.push_back("grade 1 uncertain at " + fmt1(*config.sliceThicknessMm) + " mm slices");
  }
}

}  // namespace spinescreen::morphometry
