#include "spine/column.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace spinescreen::spine::detail {
namespace {

// Adjacent discs lie at least this fraction of the local body width apart...
constexpr double kMinSpacingOfWidth = 0.55;
// ...unless the body between them is crushed: down to this fraction (a body crushed to half
// its height, with its discs, still spans about 0.45 of its width), once, between pairs of
// normal spacing, and at a cost.
constexpr double kMinCrushedSpacingOfWidth = 0.40;
constexpr double kCrushedCost = 30.0;
// Disc candidates (valleys of the profile) are kept at least this far apart.
constexpr double kDiscCandidateSepMm = 4.0;
// Lowest score a slice must beat to count as column (the threshold is otherwise drawn from the
// scan's own best slices).
constexpr double kMinColumnScore = 20.0;

// Summed-area table of one axial slice, values clamped, for box means.
class SliceSums {
 public:
  SliceSums(const HuVolume& v, int64_t k, double lo, double hi)
      : nx_(v.size()[0]), ny_(v.size()[1]), s_(static_cast<size_t>((nx_ + 1) * (ny_ + 1)), 0.0) {
    for (int64_t j = 0; j < ny_; ++j) {
      double row = 0.0;
      for (int64_t i = 0; i < nx_; ++i) {
        row += std::clamp(static_cast<double>(v.at(i, j, k)), lo, hi);
        s_[idx(i + 1, j + 1)] = s_[idx(i + 1, j)] + row;
      }
    }
  }
  // Mean over the inclusive box, clipped to the slice; `outside` when nothing is inside.
  double mean(int64_t x0, int64_t y0, int64_t x1, int64_t y1, double outside) const {
    x0 = std::max<int64_t>(x0, 0);
    y0 = std::max<int64_t>(y0, 0);
    x1 = std::min<int64_t>(x1, nx_ - 1);
    y1 = std::min<int64_t>(y1, ny_ - 1);
    if (x1 < x0 || y1 < y0) return outside;
    const double sum =
        s_[idx(x1 + 1, y1 + 1)] - s_[idx(x0, y1 + 1)] - s_[idx(x1 + 1, y0)] + s_[idx(x0, y0)];
    return sum / static_cast<double>((x1 - x0 + 1) * (y1 - y0 + 1));
  }

 private:
  size_t idx(int64_t i, int64_t j) const { return static_cast<size_t>(j * (nx_ + 1) + i); }
  int64_t nx_, ny_;
  std::vector<double> s_;
};

struct Candidate {
  int x = 0, y = 0, d = 0;
  double score = 0.0;
  double shell = 0.0;
  double rim = 0.0;      // the shell's share of the score
  bool carried = false;  // carried over from the previous slice, not a local maximum here
};

// Canal content is CSF and cord (about 0..60 HU); bone or air there is wrong.
double canalCost(double hu) {
  double c = std::abs(hu - 30.0);
  if (hu > 60.0) c += 2.0 * (hu - 60.0);
  if (hu < -100.0) c += 3.0 * (-100.0 - hu);
  return c;
}

std::vector<double> movingAverage(const std::vector<double>& v, int half) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    double s = 0.0;
    int n = 0;
    for (int d = -half; d <= half; ++d) {
      const int64_t j = static_cast<int64_t>(i) + d;
      if (j < 0 || j >= static_cast<int64_t>(v.size())) continue;
      s += v[static_cast<size_t>(j)];
      ++n;
    }
    out[i] = s / n;
  }
  return out;
}

}  // namespace

std::vector<bool> mirroredPairs(const std::vector<TrackCandidate>& cands, double midlineXMm) {
  // Twins score alike: the body's midline is only roughly the column's (the liver on one side
  // and lung on the other shift it by 20 mm at T12), and a column must not be dropped for some
  // faint structure mirrored across it. Within 10 mm of the midline two mirrored maxima may lie
  // in the column's own body.
  const double kMinOffMm = 10.0, kTolMm = 8.0, kScoreShare = 0.5;
  std::vector<bool> twin(cands.size(), false);
  for (size_t a = 0; a < cands.size(); ++a)
    for (size_t b = 0; b < cands.size(); ++b) {
      const double da = cands[a].xMm - midlineXMm, db = cands[b].xMm - midlineXMm;
      if (a != b && std::abs(da) > kMinOffMm && da * db < 0.0 && std::abs(da + db) < kTolMm &&
          std::abs(cands[a].yMm - cands[b].yMm) < kTolMm &&
          cands[b].score >= kScoreShare * cands[a].score)
        twin[a] = true;
    }
  return twin;
}

ColumnTrack trackColumn(const HuVolume& work) {
  const Grid& g = work.grid();
  const double sp = g.spacing.x;
  const int nx = static_cast<int>(g.size[0]), ny = static_cast<int>(g.size[1]),
            nz = static_cast<int>(g.size[2]);
  auto vox = [&](double mm) { return std::max(1, static_cast<int>(std::lround(mm / sp))); };
  const int bodyHalf = vox(7.0);   // body box 14 mm
  const int canalHalf = vox(3.0);  // canal box 6 mm
  const int latOff0 = vox(26.0), latOff1 = vox(32.0);
  const int postOff0 = vox(8.0), postOff1 = vox(12.0);
  std::vector<int> canalOffsets;
  for (double mm = 16.0; mm <= 34.0; mm += 3.0) canalOffsets.push_back(vox(mm));
  const double midlineTolMm = 25.0;
  // Body evidence: a mean HU above soft tissue, rewarded only up to dense trabecular bone (a
  // contrast-filled vessel is brighter than an osteoporotic body), plus a cortical shell
  // brighter than the interior around it.
  const double kBodyGate = 20.0, kBodyCap = 150.0;
  const double kShellWeight = 1.0, kShellRef = 30.0;
  const int kPre = 12;          // candidates per slice rescored with the shell
  const double kCarryMm = 4.0;  // a carried candidate needs no local maximum this near
  // Cortical shell: along rays every 30 degrees, the brightest value 6..30 mm out; the
  // lower quartile over the rays, so a shell must enclose the point, not lie on one side of
  // it.
  auto shellHu = [&](int k, int x, int y) {
    std::vector<double> peaks;
    for (int a = 0; a < 12; ++a) {
      const double ang = a * M_PI / 6.0;
      double peak = -1000.0;
      for (double r = 6.0; r <= 30.0; r += sp) {
        const int i = x + static_cast<int>(std::lround(r * std::cos(ang) / sp));
        const int j = y + static_cast<int>(std::lround(r * std::sin(ang) / sp));
        if (i < 0 || j < 0 || i >= nx || j >= ny) break;
        peak = std::max(peak, static_cast<double>(work.at(i, j, k)));
      }
      peaks.push_back(peak);
    }
    std::sort(peaks.begin(), peaks.end());
    return peaks[3];
  };

  // Canal at (x, yc) with bone behind it. Where the field of view cuts the canal or the
  // arch off, the term is neutral.
  auto canalTerm = [&](const SliceSums& sums, int x, int yc) {
    if (yc - canalHalf >= ny) return 0.0;
    const double canal =
        sums.mean(x - canalHalf, yc - canalHalf, x + canalHalf, yc + canalHalf, -1000.0);
    const double post = yc + postOff0 >= ny ? 100.0
                                            : sums.mean(x - vox(4.0), yc + postOff0, x + vox(4.0),
                                                        yc + postOff1, -1000.0);
    // Pedicles or laminae on both sides of the canal (narrow thoracic or wide lumbar canal).
    double walls = -1000.0;
    for (double inner : {6.0, 10.0}) {
      const double wallL = sums.mean(x - vox(inner + 6.0), yc - canalHalf, x - vox(inner),
                                     yc + canalHalf + vox(4.0), 100.0);
      const double wallR = sums.mean(x + vox(inner), yc - canalHalf, x + vox(inner + 6.0),
                                     yc + canalHalf + vox(4.0), 100.0);
      walls = std::max(walls, std::min(wallL, wallR));
    }
    return -canalCost(canal) + 0.4 * std::clamp(post, -200.0, 400.0) +
           0.4 * std::clamp(walls - canal, -200.0, 300.0);
  };
  const int kCand = 6;
  std::vector<std::vector<Candidate>> cands(static_cast<size_t>(nz));
  std::vector<double> score(static_cast<size_t>(nx * ny));
  for (int k = 0; k < nz; ++k) {
    const SliceSums sums(work, k, -1000.0, 500.0);
    // Midline of the body in this slice: mean x of non-air voxels.
    double sx = 0.0;
    int64_t n = 0;
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i)
        if (work.at(i, j, k) > -300) {
          sx += i;
          ++n;
        }
    if (n < 50) continue;
    const double xc = sx / static_cast<double>(n);
    // Posterior limit of the body (or of the field of view) in each column.
    std::vector<int> backJ(static_cast<size_t>(nx), -1);
    for (int i = 0; i < nx; ++i)
      for (int j = ny - 1; j >= 0; --j)
        if (work.at(i, j, k) > -300) {
          backJ[static_cast<size_t>(i)] = j;
          break;
        }
    std::fill(score.begin(), score.end(), -1e9);
    for (int y = bodyHalf; y < ny - bodyHalf; ++y) {
      for (int x = bodyHalf; x < nx - bodyHalf; ++x) {
        const double body =
            sums.mean(x - bodyHalf, y - bodyHalf, x + bodyHalf, y + bodyHalf, -1000.0);
        if (body < kBodyGate) continue;
        double best = -1e9;
        for (int d : canalOffsets) best = std::max(best, canalTerm(sums, x, y + d));
        if (best < -1e8) continue;
        const double left = sums.mean(x + latOff0, y - vox(3.0), x + latOff1, y + vox(3.0), 0.0);
        const double right = sums.mean(x - latOff1, y - vox(3.0), x - latOff0, y + vox(3.0), 0.0);
        const double lateral = std::max(0.0, std::min(left, right) - 100.0);
        // A centred body is symmetric about the box centre.
        const double symL =
            sums.mean(x - vox(18.0), y - vox(3.0), x - vox(12.0), y + vox(3.0), 0.0);
        const double symR =
            sums.mean(x + vox(12.0), y - vox(3.0), x + vox(18.0), y + vox(3.0), 0.0);
        const double asym = std::abs(symL - symR);
        const double offMid = std::max(0.0, std::abs(x - xc) * sp - midlineTolMm);
        // The column is the hindmost such structure: the heart, aorta and kidneys lie in
        // front of it.
        int back = -1;
        for (int dx = -vox(6.0); dx <= vox(6.0); ++dx)
          if (x + dx >= 0 && x + dx < nx) back = std::max(back, backJ[static_cast<size_t>(x) + dx]);
        const double behindMm = std::max(0, back - y) * sp;
        const double deepCost = std::min(120.0, 2.0 * std::max(0.0, behindMm - 45.0));
        score[static_cast<size_t>(y) * nx + x] =
            std::min(body, kBodyCap) - 1.5 * std::max(0.0, body - 330.0) + best - 0.5 * lateral -
            0.5 * asym - 6.0 * offMid - deepCost;
      }
    }
    // Local maxima, best first, kept apart.
    std::vector<Candidate> all;
    for (int y = 1; y < ny - 1; ++y)
      for (int x = 1; x < nx - 1; ++x) {
        const double s = score[static_cast<size_t>(y) * nx + x];
        if (s < -1e8) continue;
        bool isMax = true;
        for (int dy = -1; dy <= 1 && isMax; ++dy)
          for (int dx = -1; dx <= 1; ++dx)
            if ((dx || dy) && score[(static_cast<size_t>(y) + dy) * nx + x + dx] > s) {
              isMax = false;
              break;
            }
        if (isMax) all.push_back({x, y, 0, s});
      }
    std::sort(all.begin(), all.end(),
              [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    // The best few, kept apart, then rescored with the cortical shell around them.
    std::vector<Candidate> pre;
    for (const Candidate& c : all) {
      bool far = true;
      for (const Candidate& o : pre)
        if (std::hypot(c.x - o.x, c.y - o.y) * sp < 10.0) far = false;
      if (!far) continue;
      pre.push_back(c);
      if (static_cast<int>(pre.size()) >= kPre) break;
    }
    // Shell contrast: the shell against the interior, so a bright vessel lumen, whose rays
    // stay bright, earns nothing.
    auto addShell = [&](Candidate& c) {
      c.shell = shellHu(k, c.x, c.y) -
                sums.mean(c.x - bodyHalf, c.y - bodyHalf, c.x + bodyHalf, c.y + bodyHalf, -1000.0);
      c.rim = kShellWeight * std::clamp(c.shell - kShellRef, -100.0, 300.0);
      c.score += c.rim;
    };
    for (Candidate& c : pre) addShell(c);
    // The previous slice's candidates carried over where this slice has none near them, scored
    // here: a column whose local maximum wanders or vanishes in a disc or a low-contrast
    // (osteoporotic) body can then be followed straight through instead of paying for a jump.
    if (k > 0) {
      for (const Candidate& p : cands[static_cast<size_t>(k) - 1]) {
        bool near = false;
        for (const Candidate& o : pre)
          if (std::hypot(p.x - o.x, p.y - o.y) * sp < kCarryMm) near = true;
        const double s = score[static_cast<size_t>(p.y) * nx + p.x];
        if (near || s < -1e8) continue;
        Candidate c{p.x, p.y, 0, s};
        addShell(c);
        c.carried = true;
        pre.push_back(c);
      }
    }
    std::sort(pre.begin(), pre.end(),
              [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    auto& out = cands[static_cast<size_t>(k)];
    int nLocal = 0, nCarried = 0;
    for (const Candidate& c : pre) {
      // Recover the canal offset of this candidate.
      Candidate cc = c;
      double best = -1e9;
      for (int d : canalOffsets) {
        const double s = canalTerm(sums, c.x, c.y + d);
        if (s > best) {
          best = s;
          cc.d = d;
        }
      }
      // The best few local maxima, and every carried candidate (at most as many again).
      int& n = c.carried ? nCarried : nLocal;
      if (n >= kCand) continue;
      ++n;
      out.push_back(cc);
    }
    // A body-like structure with a twin mirrored across the body's midline is one of a pair
    // (sacral alae, kidneys, psoas), not the column, which is single.
    {
      std::vector<TrackCandidate> mm;
      for (const Candidate& c : out) mm.push_back({c.x * sp, c.y * sp, c.score});
      const std::vector<bool> twin = mirroredPairs(mm, xc * sp);
      size_t kept = 0;
      for (size_t a = 0; a < out.size(); ++a)
        if (!twin[a]) out[kept++] = out[a];
      out.resize(kept);
    }
  }

  // Dynamic programming over slices: before the column, in it (one candidate per slice,
  // smooth), after it. One contiguous run.
  // Score a slice must beat to count as column: from the scan's own best slices (without the
  // shell term, which the sacrum and thin-cortex bodies earn little of).
  double tau = 120.0;
  {
    std::vector<double> bests;
    for (const auto& ck : cands)
      if (!ck.empty()) {
        double b = -1e9;
        for (const Candidate& c : ck) b = std::max(b, c.score - c.rim);
        bests.push_back(b);
      }
    if (!bests.empty()) {
      std::sort(bests.begin(), bests.end());
      // The floor lets a scan whose column scores low throughout (bodies as dark as muscle,
      // 40 HU) keep its dimmest levels: at a floor of 40 the track of such a scan ended at
      // T12 and lost the lumbar spine (validation/spine.md, sixth pass).
      tau = std::clamp(0.3 * bests[bests.size() * 3 / 4], kMinColumnScore, 150.0);
      if (std::getenv("SPINESCREEN_SPINE_DEBUG"))
        std::fprintf(stderr, "column threshold %.1f (75th percentile of slice bests %.1f)\n", tau,
                     bests[bests.size() * 3 / 4]);
    }
  }
  const double movePerMm = 15.0;   // cost per mm of in-plane shift between slices
  const double enterCost = 150.0;  // entering or leaving the column
  const double kNeg = -1e18;
  std::vector<std::vector<double>> in(static_cast<size_t>(nz));
  std::vector<std::vector<int>> from(static_cast<size_t>(nz));  // -1: came from "before"
  std::vector<double> before(static_cast<size_t>(nz), 0.0);
  double bestAfter = kNeg;
  int bestEndSlice = -1, bestEndCand = -1;
  for (int k = 0; k < nz; ++k) {
    const auto& ck = cands[static_cast<size_t>(k)];
    in[static_cast<size_t>(k)].assign(ck.size(), kNeg);
    from[static_cast<size_t>(k)].assign(ck.size(), -2);
    for (size_t c = 0; c < ck.size(); ++c) {
      const double unary = ck[c].score - tau;
      double best = -enterCost;  // start here
      int arg = -1;
      if (k > 0) {
        const auto& cp = cands[static_cast<size_t>(k - 1)];
        for (size_t p = 0; p < cp.size(); ++p) {
          const double prev = in[static_cast<size_t>(k - 1)][p];
          if (prev <= kNeg / 2) continue;
          const double dist = std::hypot(ck[c].x - cp[p].x, ck[c].y - cp[p].y) * sp;
          const double v = prev - movePerMm * std::max(0.0, dist - 1.0);
          if (v > best) {
            best = v;
            arg = static_cast<int>(p);
          }
        }
      }
      in[static_cast<size_t>(k)][c] = best + unary;
      from[static_cast<size_t>(k)][c] = arg;
      const double ending = in[static_cast<size_t>(k)][c] - enterCost;
      if (ending > bestAfter) {
        bestAfter = ending;
        bestEndSlice = k;
        bestEndCand = static_cast<int>(c);
      }
    }
  }
  if (std::getenv("SPINESCREEN_SPINE_DEBUG")) {
    for (int kk = 0; kk < nz; ++kk) {
      std::fprintf(stderr, "slice %d z %.1f:", kk, g.indexToLps({0, 0, double(kk)}).z);
      for (const auto& c : cands[static_cast<size_t>(kk)]) {
        const Vec3 p = g.indexToLps({double(c.x), double(c.y), double(kk)});
        std::fprintf(stderr, " (%.0f,%.0f d%d %.0f r%.0f)", p.x, p.y, c.d, c.score, c.shell);
      }
      std::fprintf(stderr, "\n");
    }
  }
  ColumnTrack t;
  if (bestEndSlice < 0 || bestAfter <= 0.0) return t;
  std::vector<Candidate> path;
  int k = bestEndSlice, c = bestEndCand;
  while (c >= 0) {
    path.push_back(cands[static_cast<size_t>(k)][static_cast<size_t>(c)]);
    const int p = from[static_cast<size_t>(k)][static_cast<size_t>(c)];
    if (p < 0) break;
    c = p;
    --k;
  }
  std::reverse(path.begin(), path.end());
  t.firstSlice = k;
  t.lastSlice = bestEndSlice;
  double sum = 0.0;
  for (size_t i = 0; i < path.size(); ++i) {
    const int kk = t.firstSlice + static_cast<int>(i);
    const Candidate& p = path[i];
    t.body.push_back(g.indexToLps(
        {static_cast<double>(p.x), static_cast<double>(p.y), static_cast<double>(kk)}));
    t.canal.push_back(g.indexToLps(
        {static_cast<double>(p.x), static_cast<double>(p.y + p.d), static_cast<double>(kk)}));
    t.score.push_back(p.score);
    sum += p.score;
  }
  t.meanScore = sum / static_cast<double>(path.size());
  // Refine each body centre: centroid of bone-like voxels in a disc in front of the canal,
  // then a robust smoothing along the column.
  {
    std::vector<double> core;
    for (size_t i = 0; i < path.size(); ++i) {
      const int kk = t.firstSlice + static_cast<int>(i);
      const SliceSums sums(work, kk, -1000.0, 1000.0);
      core.push_back(sums.mean(path[i].x - vox(4.0), path[i].y - vox(4.0), path[i].x + vox(4.0),
                               path[i].y + vox(4.0), 0.0));
    }
    std::vector<double> sortedCore(core);
    std::sort(sortedCore.begin(), sortedCore.end());
    const double trab = sortedCore[sortedCore.size() / 2];
    // Between soft tissue and trabecular bone; never as high as cortex (the box may sit on it).
    const double thr = 40.0 + 0.5 * std::clamp(trab - 40.0, 40.0, 300.0);
    const double radius = 20.0;
    for (size_t i = 0; i < path.size(); ++i) {
      const int kk = t.firstSlice + static_cast<int>(i);
      Vec3 b = t.body[i];
      const Vec3 cn = t.canal[i];
      // Back limit: the canal's front when the canal is seen, else a body depth behind.
      const Vec3 ci = g.lpsToIndex(cn);
      const double canalHu = sampleLinear(work, ci, 1000.0);
      const bool canalSeen = canalHu < 80.0;
      for (int it = 0; it < 4; ++it) {
        const double backLimit = canalSeen ? cn.y - 6.0 : b.y + 16.0;
        const Vec3 bi = g.lpsToIndex(b);
        double sx = 0, sy = 0;
        int64_t cnt = 0;
        const int rv = vox(radius);
        for (int jj = static_cast<int>(bi.y) - rv; jj <= static_cast<int>(bi.y) + rv; ++jj)
          for (int ii = static_cast<int>(bi.x) - rv; ii <= static_cast<int>(bi.x) + rv; ++ii) {
            if (ii < 0 || jj < 0 || ii >= nx || jj >= ny) continue;
            const Vec3 p = g.indexToLps({double(ii), double(jj), double(kk)});
            if ((p - b).norm() > radius || p.y > backLimit) continue;
            if (work.at(ii, jj, kk) < thr) continue;
            sx += p.x;
            sy += p.y;
            ++cnt;
          }
        if (cnt < 10) break;
        b.x = sx / static_cast<double>(cnt);
        b.y = sy / static_cast<double>(cnt);
      }
      t.body[i] = b;
    }
    auto robust = [&](auto get, auto set) {
      std::vector<double> v;
      for (size_t i = 0; i < t.body.size(); ++i) v.push_back(get(i));
      std::vector<double> med(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        std::vector<double> w;
        for (int d = -6; d <= 6; ++d) {
          const int64_t j = static_cast<int64_t>(i) + d;
          if (j >= 0 && j < static_cast<int64_t>(v.size())) w.push_back(v[static_cast<size_t>(j)]);
        }
        std::nth_element(w.begin(), w.begin() + w.size() / 2, w.end());
        med[i] = w[w.size() / 2];
      }
      med = movingAverage(med, 3);
      for (size_t i = 0; i < v.size(); ++i) set(i, med[i]);
    };
    robust([&](size_t i) { return t.body[i].x; }, [&](size_t i, double v) { t.body[i].x = v; });
    robust([&](size_t i) { return t.body[i].y; }, [&](size_t i, double v) { t.body[i].y = v; });
    robust([&](size_t i) { return t.canal[i].x; }, [&](size_t i, double v) { t.canal[i].x = v; });
    robust([&](size_t i) { return t.canal[i].y; }, [&](size_t i, double v) { t.canal[i].y = v; });
  }
  if (std::getenv("SPINESCREEN_SPINE_DEBUG"))
    for (size_t i = 0; i < t.body.size(); ++i)
      std::fprintf(stderr, "path z %.1f body (%.1f %.1f) canal y %.1f score %.0f\n", t.body[i].z,
                   t.body[i].x, t.body[i].y, t.canal[i].y, t.score[i]);
  return t;
}

Centreline buildCentreline(const ColumnTrack& track, double stepMm) {
  Centreline line;
  line.stepMm = stepMm;
  const size_t n = track.body.size();
  if (n < 2) return line;
  // Smooth the per-slice positions (cranial first).
  std::vector<double> bx, by, bz, cx, cy;
  for (size_t i = n; i-- > 0;) {
    bx.push_back(track.body[i].x);
    by.push_back(track.body[i].y);
    bz.push_back(track.body[i].z);
    cx.push_back(track.canal[i].x);
    cy.push_back(track.canal[i].y);
  }
  const int half = 4;
  bx = movingAverage(bx, half);
  by = movingAverage(by, half);
  cx = movingAverage(cx, half);
  cy = movingAverage(cy, half);
  // Resample by arc length.
  std::vector<double> arc(n, 0.0);
  for (size_t i = 1; i < n; ++i)
    arc[i] =
        arc[i - 1] + std::sqrt(std::pow(bx[i] - bx[i - 1], 2) + std::pow(by[i] - by[i - 1], 2) +
                               std::pow(bz[i] - bz[i - 1], 2));
  size_t seg = 0;
  for (double s = 0.0; s <= arc.back(); s += stepMm) {
    while (seg + 1 < n - 1 && arc[seg + 1] < s) ++seg;
    const double len = arc[seg + 1] - arc[seg];
    const double f = len > 0 ? std::clamp((s - arc[seg]) / len, 0.0, 1.0) : 0.0;
    auto lerp = [&](const std::vector<double>& v) { return v[seg] + f * (v[seg + 1] - v[seg]); };
    line.point.push_back({lerp(bx), lerp(by), lerp(bz)});
    line.canal.push_back({lerp(cx), lerp(cy), lerp(bz)});
  }
  const size_t m = line.point.size();
  const int w = std::max(1, static_cast<int>(std::lround(12.0 / stepMm)));
  for (size_t i = 0; i < m; ++i) {
    const size_t a = i >= static_cast<size_t>(w) ? i - w : 0;
    const size_t b = std::min(m - 1, i + w);
    Vec3 t = (line.point[b] - line.point[a]).normalized();
    if (t.norm() == 0.0) t = {0, 0, -1};
    line.tangent.push_back(t);
    // Canal -> body direction, averaged over about 30 mm of column.
    Vec3 ant{};
    const size_t wa = static_cast<size_t>(std::lround(15.0 / stepMm));
    for (size_t j = i >= wa ? i - wa : 0; j <= std::min(m - 1, i + wa); ++j)
      ant += (line.point[j] - line.canal[j]).normalized();
    ant = ant - t * ant.dot(t);
    if (ant.norm() < 1e-6) ant = Vec3{0, -1, 0} - t * Vec3{0, -1, 0}.dot(t);
    line.anterior.push_back(ant.normalized());
  }
  return line;
}

std::vector<double> bodyProfile(const HuVolume& volume, const Centreline& line) {
  std::vector<double> prof(line.point.size(), 0.0);
  std::vector<double> vals;
  for (size_t i = 0; i < line.point.size(); ++i) {
    const Vec3 t = line.tangent[i], a = line.anterior[i];
    const Vec3 l = t.cross(a);
    vals.clear();
    for (double u = -6.0; u <= 6.01; u += 3.0)
      for (double v = -6.0; v <= 6.01; v += 3.0) {
        const double hu = sampleLinearLps(volume, line.point[i] + l * u + a * v, -2000.0);
        if (hu > -1999.0) vals.push_back(hu);
      }
    if (vals.empty()) {
      prof[i] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    std::nth_element(vals.begin(), vals.begin() + vals.size() / 2, vals.end());
    prof[i] = vals[vals.size() / 2];
  }
  return prof;
}

std::vector<double> ringProfile(const HuVolume& volume, const Centreline& line,
                                std::vector<double>* widthMm, std::vector<uint8_t>* complete) {
  if (complete) complete->assign(line.point.size(), 1);
  const size_t n = line.point.size();
  std::vector<double> prof(n, std::numeric_limits<double>::quiet_NaN());
  std::vector<double> width(n, std::numeric_limits<double>::quiet_NaN());
  // Lateral reach on both sides: where the value falls to half-way between the rim and soft
  // tissue after the rim.
  for (size_t i = 0; i < n; ++i) {
    const Vec3 l = line.tangent[i].cross(line.anterior[i]);
    double w = 0.0;
    bool ok = true;
    for (int side = -1; side <= 1; side += 2) {
      // The value must stay under the half-way level for 3 mm: a single dark sample is noise
      // inside the body, not its edge.
      double mx = -2000.0, edge = -1.0;
      double ray[40];
      for (int r = 4; r < 40; ++r)
        ray[r] = sampleLinearLps(volume, line.point[i] + l * (side * double(r)), -2000.0);
      for (int r = 4; r < 38; ++r) {
        mx = std::max(mx, ray[r]);
        const double half = 0.5 * (mx + 40.0);
        if (mx > 100.0 && ray[r] < half && ray[r + 1] < half && ray[r + 2] < half) {
          edge = r;
          break;
        }
      }
      if (edge < 0) ok = false;
      w += edge;
    }
    if (ok) width[i] = w;
  }
  // Rim: for each anterior and anterolateral ray, the brightest value out to just past the
  // body's own radius (a contrast-filled aorta lies beyond it); a low quantile over rays keeps
  // one-sided bright neighbours out.
  std::vector<double> maxima, local;
  const int half = static_cast<int>(std::lround(20.0 / line.stepMm));
  for (size_t i = 0; i < n; ++i) {
    local.clear();
    for (size_t j = i >= static_cast<size_t>(half) ? i - half : 0; j <= std::min(n - 1, i + half);
         ++j)
      if (!std::isnan(width[j])) local.push_back(width[j]);
    double w = 36.0;
    if (local.size() >= 3) {
      std::nth_element(local.begin(), local.begin() + local.size() / 2, local.end());
      w = local[local.size() / 2];
    }
    const double rMax = std::clamp(0.5 * w + 3.0, 14.0, 30.0);
    const Vec3 t = line.tangent[i], a = line.anterior[i];
    const Vec3 l = t.cross(a);
    maxima.clear();
    for (int deg = -60; deg <= 60; deg += 10) {
      const double th = deg * 3.14159265358979 / 180.0;
      const Vec3 dir = a * std::cos(th) + l * std::sin(th);
      double mx = -2000.0;
      for (double r = 6.0; r <= rMax; r += 1.0) {
        const double v = sampleLinearLps(volume, line.point[i] + dir * r, -2000.0);
        if (v <= -1999.0 && complete) (*complete)[i] = 0;
        mx = std::max(mx, v);
      }
      if (mx > -1999.0) maxima.push_back(mx);
    }
    if (maxima.empty()) continue;
    const size_t q = maxima.size() * 3 / 10;
    std::nth_element(maxima.begin(), maxima.begin() + q, maxima.end());
    prof[i] = maxima[q];
  }
  if (widthMm) *widthMm = width;
  return prof;
}

std::vector<DiscFind> findDiscs(const std::vector<double>& rawProfile,
                                const std::vector<double>& rawRing,
                                const std::vector<double>& widthMm, double stepMm,
                                const EndDiscs& ends) {
  const int n = static_cast<int>(rawProfile.size());
  std::vector<double> p(rawProfile);
  for (double& v : p)
    if (std::isnan(v)) v = -1000.0;
  // Light smoothing (about 1 mm).
  {
    std::vector<double> q(p);
    for (int i = 1; i + 1 < n; ++i) q[i] = 0.25 * p[i - 1] + 0.5 * p[i] + 0.25 * p[i + 1];
    p = q;
  }
  const int near = std::max(1, static_cast<int>(std::lround(1.5 / stepMm)));
  const int far = std::max(near + 1, static_cast<int>(std::lround(9.0 / stepMm)));
  std::vector<double> ring(rawRing);
  for (double& v : ring)
    if (std::isnan(v)) v = -1000.0;
  const int rNear = std::max(1, static_cast<int>(std::lround(1.5 / stepMm)));
  const int rFar = std::max(rNear + 1, static_cast<int>(std::lround(14.0 / stepMm)));
  // Local body width (median over +-25 mm) bounds the disc spacing from below.
  std::vector<double> localWidth(static_cast<size_t>(n), 40.0);
  {
    const int w = static_cast<int>(std::lround(25.0 / stepMm));
    std::vector<double> buf;
    for (int i = 0; i < n; ++i) {
      buf.clear();
      for (int j = std::max(0, i - w); j <= std::min(n - 1, i + w); ++j)
        if (j < static_cast<int>(widthMm.size()) && !std::isnan(widthMm[static_cast<size_t>(j)]))
          buf.push_back(widthMm[static_cast<size_t>(j)]);
      if (buf.size() >= 5) {
        std::nth_element(buf.begin(), buf.begin() + buf.size() / 2, buf.end());
        localWidth[static_cast<size_t>(i)] = std::clamp(buf[buf.size() / 2], 20.0, 70.0);
      }
    }
  }
  // Valley depth between the two endplate ridges.
  std::vector<double> depth(static_cast<size_t>(n), 0.0);
  std::vector<int> upPeak(static_cast<size_t>(n), 0), downPeak(static_cast<size_t>(n), 0);
  const int wide = std::max(far, static_cast<int>(std::lround(15.0 / stepMm)));
  std::vector<double> buf;
  // Median of the profile within `wide` samples of each one: the bone around a candidate.
  std::vector<double> around(static_cast<size_t>(n), 0.0);
  for (int i = 0; i < n; ++i) {
    buf.clear();
    for (int j = std::max(0, i - wide); j <= std::min(n - 1, i + wide); ++j) buf.push_back(p[j]);
    std::nth_element(buf.begin(), buf.begin() + buf.size() / 2, buf.end());
    around[static_cast<size_t>(i)] = buf[buf.size() / 2];
  }
  // A disc near either end of the line is sought with the ridges that are in view: the last
  // body before the edge of the field of view is measurable when its endplate is.
  for (int i = near + 1; i + near + 1 < n; ++i) {
    // Endplate ridges sit within about a fifth of the body width of the disc centre (thin
    // thoracic discs, thicker lumbar ones); further out a mid-body valley would find them.
    const int farHere = std::min(
        {std::clamp(
             static_cast<int>(std::lround(0.2 * localWidth[static_cast<size_t>(i)] / stepMm)),
             near + 1, far),
         i, n - 1 - i});
    double mu = -1e9, md = -1e9;
    int au = i, ad = i;
    for (int d = near; d <= farHere; ++d) {
      if (p[i - d] > mu) {
        mu = p[i - d];
        au = i - d;
      }
      if (p[i + d] > md) {
        md = p[i + d];
        ad = i + d;
      }
    }
    double ru = -1e9, rd = -1e9;
    for (int d = rNear; d <= rFar; ++d) {
      if (i - d >= 0) ru = std::max(ru, ring[i - d]);
      if (i + d < n) rd = std::max(rd, ring[i + d]);
    }
    const double ringDrop = std::min(ru, rd) - ring[i];
    // The ridges must stand out from the bone around them (endplates, not denser trabeculae).
    const double prominence = std::max(mu, md) - around[static_cast<size_t>(i)];
    // A disc is a valley between two endplate ridges where the cortical ring is missing. In
    // osteoporotic bone the disc is brighter than the bodies, and thick slices blur its
    // endplates into one bump with it: there the missing ring alone marks the disc.
    double valley = std::min(mu, md) - p[i];
    if (p[i] > around[static_cast<size_t>(i)]) valley = std::max(valley, 0.5 * ringDrop);
    depth[static_cast<size_t>(i)] = std::min({valley, ringDrop, 2.0 * prominence});
    upPeak[static_cast<size_t>(i)] = au;
    downPeak[static_cast<size_t>(i)] = ad;
  }
  // A disc cut by the edge of the field of view at the caudal end of the line: one endplate
  // ridge, then at least `ends.minMm` of disc-dark samples without the cortical ring up to the
  // end. The body above it is whole.
  std::vector<uint8_t> endDisc(static_cast<size_t>(n), 0);
  if (ends.caudal) {
    const int plateau =
        std::max(2, static_cast<int>(std::lround(std::max(3.0, ends.minMm) / stepMm)));
    for (int k = plateau; k <= 2 * far && n - 1 - k - far >= 0; ++k) {
      const int i = n - 1 - k;
      bool whole = true;
      for (int j = i; ends.ringComplete && j < i + plateau; ++j)
        whole = whole && (*ends.ringComplete)[static_cast<size_t>(j)];
      if (!whole) continue;
      const double pMax = *std::max_element(p.begin() + i, p.end());
      const double rMax = *std::max_element(ring.begin() + i, ring.end());
      const auto ridgeAt = std::max_element(p.begin() + (i - far), p.begin() + (i - near + 1));
      double ringRidge = -1e9;
      for (int d = rNear; d <= rFar && i - d >= 0; ++d)
        ringRidge = std::max(ringRidge, ring[i - d]);
      const double ringDrop = ringRidge - rMax;
      // Brighter than the bone around it (osteoporosis): the missing ring alone, as above.
      double valley = *ridgeAt - pMax;
      if (p[i] > around[static_cast<size_t>(i)]) valley = std::max(valley, 0.5 * ringDrop);
      const double d = std::min(valley, ringDrop);
      if (d > depth[static_cast<size_t>(i)]) {
        depth[static_cast<size_t>(i)] = d;
        endDisc[static_cast<size_t>(i)] = 1;
        upPeak[static_cast<size_t>(i)] = static_cast<int>(ridgeAt - p.begin());
        downPeak[static_cast<size_t>(i)] = n - 1;
      }
    }
    // The disc's centre is unseen; the middle of the run of deepest samples stands for it (the
    // first one would sit on the endplate and shorten the spacing to the disc before).
    int first = -1, last = -1;
    double deepest = -1e9;
    for (int i = 0; i < n; ++i)
      if (endDisc[static_cast<size_t>(i)]) deepest = std::max(deepest, depth[i]);
    for (int i = 0; i < n; ++i)
      if (endDisc[static_cast<size_t>(i)] && depth[i] == deepest) {
        if (first < 0) first = i;
        last = i;
      }
    for (int i = first; first >= 0 && i <= last; ++i)
      if (endDisc[static_cast<size_t>(i)] && i != (first + last) / 2)
        depth[static_cast<size_t>(i)] = std::min(depth[i], deepest - 1.0);
  }
  // Candidates: local maxima of depth, kept 4 mm apart. Two valleys closer than a disc spacing
  // both stay candidates and the chain below chooses by regularity: kept 8 mm apart, a
  // mid-body valley a hair deeper than the disc beside it replaced the disc (the real chest
  // crop's T11/T12 disc, 8 mm from a valley inside T11).
  std::vector<double> sorted(depth);
  std::sort(sorted.begin(), sorted.end());
  const double p90 = sorted.empty() ? 0.0 : sorted[static_cast<size_t>(0.9 * (sorted.size() - 1))];
  const double minDepth = std::max(20.0, 0.25 * p90);
  const int sep = std::max(1, static_cast<int>(std::lround(kDiscCandidateSepMm / stepMm)));
  std::vector<int> peaks;
  for (int i = near + 1; i + near + 1 < n; ++i) {
    const double d = depth[static_cast<size_t>(i)];
    if (d < minDepth) continue;
    bool isMax = true;
    for (int j = std::max(0, i - sep); j <= std::min(n - 1, i + sep); ++j)
      if (depth[static_cast<size_t>(j)] > d || (depth[static_cast<size_t>(j)] == d && j < i)) {
        isMax = false;
        break;
      }
    if (isMax) peaks.push_back(i);
  }
  // Choose a subset with plausible and regular spacing: DP over (previous, current).
  const int m = static_cast<int>(peaks.size());
  const double maxSp = 55.0;
  auto gap = [&](int a, int b) { return (peaks[b] - peaks[a]) * stepMm; };
  const double kNeg = -1e18;
  // best[b][a]: best score of a chain ending with discs a < b.
  std::vector<std::vector<double>> best(static_cast<size_t>(m), std::vector<double>(m, kNeg));
  std::vector<std::vector<int>> prev(static_cast<size_t>(m), std::vector<int>(m, -1));
  auto gain = [&](int i) { return depth[static_cast<size_t>(peaks[i])] - minDepth * 0.5; };
  double bestAll = kNeg;
  int bestA = -1, bestB = -1;
  std::vector<double> single(static_cast<size_t>(m));
  // unit[b][a]: disc-to-disc distance per level of the pair (a, b); a pair may span several
  // levels when discs in between were not seen (contrast vessel, streaks), at a cost.
  std::vector<std::vector<double>> unit(static_cast<size_t>(m), std::vector<double>(m, 0.0));
  std::vector<std::vector<int>> levels(static_cast<size_t>(m), std::vector<int>(m, 1));
  std::vector<std::vector<bool>> isShort(static_cast<size_t>(m), std::vector<bool>(m, false));
  const double missCost = 40.0;
  for (int b = 0; b < m; ++b) {
    single[b] = gain(b);
    if (single[b] > bestAll) {
      bestAll = single[b];
      bestA = -1;
      bestB = b;
    }
    for (int a = 0; a < b; ++a) {
      const double g = gap(a, b);
      const double width = localWidth[static_cast<size_t>((peaks[a] + peaks[b]) / 2)];
      const double minSp = std::max(12.0, kMinSpacingOfWidth * width);
      // Closer than that, a pair may hold one crushed body, between two of normal spacing.
      const bool shortPair = g < minSp;
      if (g < std::max(12.0, kMinCrushedSpacingOfWidth * width) || g > 3.0 * maxSp) continue;
      double s = g <= maxSp && !shortPair ? single[a] + gain(b) : kNeg;
      int arg = -1, argK = 1;
      for (int z = 0; z < a; ++z) {
        if (best[a][z] <= kNeg / 2) continue;
        if (shortPair && isShort[a][z]) continue;  // two short bodies running: a split body
        const double prevUnit = unit[a][z];
        // One level, or as many as the previous spacing suggests (a disc not seen between).
        const int kFit = std::max(1, static_cast<int>(std::lround(g / prevUnit)));
        for (int k : {1, kFit}) {
          if (k > 3 || g / k > maxSp || (g / k < minSp && !(shortPair && k == 1))) continue;
          const double ratio = std::log((g / k) / prevUnit);
          const double v = best[a][z] + gain(b) - 150.0 * std::max(0.0, std::abs(ratio) - 0.15) -
                           missCost * (k - 1) - (shortPair ? kCrushedCost : 0.0);
          if (v > s) {
            s = v;
            arg = z;
            argK = k;
          }
        }
      }
      if (s <= kNeg / 2) continue;
      best[b][a] = s;
      prev[b][a] = arg;
      levels[b][a] = argK;
      isShort[b][a] = shortPair;
      // A crushed body's pair keeps the spacing before it for the next comparison: the body
      // after it is compared with its normal neighbours.
      unit[b][a] = shortPair ? unit[a][arg] : g / argK;
      if (s > bestAll) {
        bestAll = s;
        bestA = a;
        bestB = b;
      }
    }
  }
  std::vector<int> chain;
  if (bestB >= 0) {
    int b = bestB, a = bestA;
    chain.push_back(b);
    while (a >= 0) {
      chain.push_back(a);
      const int z = prev[b][a];
      b = a;
      a = z;
    }
    std::reverse(chain.begin(), chain.end());
  }
  if (std::getenv("SPINESCREEN_SPINE_DEBUG")) {
    for (int i = 0; i < n; ++i)
      std::fprintf(stderr, "prof %d %.0f ring %.0f width %.0f depth %.0f%s\n", i, p[i], ring[i],
                   localWidth[static_cast<size_t>(i)], depth[static_cast<size_t>(i)],
                   std::find(peaks.begin(), peaks.end(), i) != peaks.end() ? " PEAK" : "");
  }
  std::vector<DiscFind> out;
  for (size_t q = 0; q < chain.size(); ++q) {
    const int ci = chain[q];
    const int i = peaks[ci];
    if (q > 0) {
      // Levels whose disc was not seen: evenly spaced between their neighbours.
      const int k = levels[ci][chain[q - 1]];
      const int i0 = peaks[chain[q - 1]];
      for (int j = 1; j < k; ++j) {
        DiscFind v;
        v.index = i0 + (i - i0) * j / k;
        v.strength = 0.0;
        v.cranialEdge = v.index - 2.5 / stepMm;
        v.caudalEdge = v.index + 2.5 / stepMm;
        out.push_back(v);
      }
    }
    DiscFind d;
    d.index = i;
    d.strength = depth[static_cast<size_t>(i)];
    // Endplate edges: half-way between the valley and each ridge, searched from the ridge.
    const double v = p[i];
    const int up = upPeak[static_cast<size_t>(i)], dn = downPeak[static_cast<size_t>(i)];
    double half = 0.5 * (v + p[up]);
    d.cranialEdge = up;
    for (int j = up; j < i; ++j)
      if (p[j] >= half && p[j + 1] < half) {
        d.cranialEdge = j + (p[j] - half) / (p[j] - p[j + 1]);
        break;
      }
    half = 0.5 * (v + p[dn]);
    d.caudalEdge = dn;
    for (int j = dn; j > i; --j)
      if (p[j] >= half && p[j - 1] < half) {
        d.caudalEdge = j - (p[j] - half) / (p[j] - p[j - 1]);
        break;
      }
    // A disc cut by the end of the line has no body beyond it.
    if (endDisc[static_cast<size_t>(i)]) d.caudalEdge = n - 1;
    out.push_back(d);
  }
  return out;
}

}  // namespace spinescreen::spine::detail
