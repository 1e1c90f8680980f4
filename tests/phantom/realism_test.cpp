// The phantom's HU statistics beside real CTs of the development data (skipped without
// SPINESCREEN_TEST_DATA). Both must fall in the same published tissue bands; the figures are
// printed for docs/validation/phantom.md. Nothing here is tuned to the one real case.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "io/nifti.h"
#include "phantom/phantom.h"
#include "support/test_data.h"

using namespace spinescreen;
using namespace spinescreen::phantom;

namespace {

struct HuStats {
  double trabecular = NAN;  // body voxels >= 5 mm from the body surface
  double body = NAN;        // all body voxels
  double rim = NAN;         // body voxels on the body surface (cortex, partial volume)
  double disc = NAN;        // midway between neighbouring body centroids
  double fatMode = NAN, softMode = NAN, lungMode = NAN;
  double noise = NAN;  // robust SD of neighbour differences in soft tissue / sqrt(2)
  int64_t trabecularVoxels = 0;
};

double mode(const std::vector<double>& hist, double lo, double bin, double from, double to) {
  size_t best = 0;
  double bestCount = -1;
  for (size_t i = 0; i < hist.size(); ++i) {
    const double v = lo + (i + 0.5) * bin;
    if (v < from || v > to) continue;
    if (hist[i] > bestCount) bestCount = hist[i], best = i;
  }
  return lo + (best + 0.5) * bin;
}

// labels: per-level body labels (0 = none) on the CT grid.
HuStats measure(const HuVolume& ct, const std::vector<int>& labels) {
  HuStats s;
  const Grid& g = ct.grid();
  const Size3& n = g.size;
  auto lab = [&](int64_t i, int64_t j, int64_t k) {
    return g.contains(i, j, k) ? labels[ct.offset(i, j, k)] : 0;
  };
  const int ri = static_cast<int>(std::ceil(5.0 / g.spacing.x));
  const int rj = static_cast<int>(std::ceil(5.0 / g.spacing.y));
  const int rk = static_cast<int>(std::ceil(5.0 / g.spacing.z));
  double tSum = 0, bSum = 0, rSum = 0;
  int64_t tN = 0, bN = 0, rN = 0;
  std::map<int, std::array<double, 4>> cent;  // x, y, z, count
  const double lo = -1100, bin = 4;
  std::vector<double> hist(static_cast<size_t>((300 - lo) / bin), 0.0);
  for (int64_t k = 0; k < n[2]; ++k)
    for (int64_t j = 0; j < n[1]; ++j)
      for (int64_t i = 0; i < n[0]; ++i) {
        const double v = ct.at(i, j, k);
        if (v >= lo && v < 300) hist[static_cast<size_t>((v - lo) / bin)] += 1;
        const int l = lab(i, j, k);
        if (!l) continue;
        bSum += v, ++bN;
        const Vec3 p = g.indexToLps({double(i), double(j), double(k)});
        auto& c = cent[l];
        c[0] += p.x, c[1] += p.y, c[2] += p.z, c[3] += 1;
        bool surface = false;
        for (int d = 0; d < 6 && !surface; ++d) {
          const int64_t di = d == 0   ? 1
                             : d == 1 ? -1
                                      : 0,
                        dj = d == 2   ? 1
                             : d == 3 ? -1
                                      : 0,
                        dk = d == 4   ? 1
                             : d == 5 ? -1
                                      : 0;
          surface = lab(i + di, j + dj, k + dk) != l;
        }
        if (surface) rSum += v, ++rN;
        bool deep = true;
        for (int dk = -rk; dk <= rk && deep; ++dk)
          for (int dj = -rj; dj <= rj && deep; ++dj)
            for (int di = -ri; di <= ri && deep; ++di) {
              const double d2 = std::pow(di * g.spacing.x, 2) + std::pow(dj * g.spacing.y, 2) +
                                std::pow(dk * g.spacing.z, 2);
              if (d2 <= 25.0 && lab(i + di, j + dj, k + dk) != l) deep = false;
            }
        if (deep) tSum += v, ++tN;
      }
  if (bN) s.body = bSum / bN;
  if (rN) s.rim = rSum / rN;
  if (tN) s.trabecular = tSum / tN;
  s.trabecularVoxels = tN;
  s.fatMode = mode(hist, lo, bin, -200, -40);
  s.softMode = mode(hist, lo, bin, -20, 120);
  s.lungMode = mode(hist, lo, bin, -930, -600);  // above the air outside the body
  // Discs: midpoints of consecutive levels.
  double dSum = 0;
  int64_t dN = 0;
  const double r = std::max(2.5, 0.6 * std::max(g.spacing.x, g.spacing.z));
  for (auto it = cent.begin(); it != cent.end(); ++it) {
    auto nx = std::next(it);
    if (nx == cent.end() || nx->first != it->first + 1) continue;
    const Vec3 a{it->second[0] / it->second[3], it->second[1] / it->second[3],
                 it->second[2] / it->second[3]};
    const Vec3 b{nx->second[0] / nx->second[3], nx->second[1] / nx->second[3],
                 nx->second[2] / nx->second[3]};
    const Vec3 c = g.lpsToIndex((a + b) * 0.5);
    for (int64_t k = std::lround(c.z) - 2; k <= std::lround(c.z) + 2; ++k)
      for (int64_t j = std::lround(c.y) - 4; j <= std::lround(c.y) + 4; ++j)
        for (int64_t i = std::lround(c.x) - 4; i <= std::lround(c.x) + 4; ++i) {
          if (!g.contains(i, j, k)) continue;
          const Vec3 p = g.indexToLps({double(i), double(j), double(k)});
          if ((p - (a + b) * 0.5).norm() > r) continue;
          dSum += ct.at(i, j, k), ++dN;
        }
  }
  if (dN) s.disc = dSum / dN;
  // Noise from horizontal neighbour differences inside soft tissue.
  std::vector<double> diffs;
  for (int64_t k = 0; k < n[2]; k += 2)
    for (int64_t j = 0; j < n[1]; ++j)
      for (int64_t i = 1; i + 1 < n[0]; ++i) {
        const double a = ct.at(i - 1, j, k), b = ct.at(i, j, k), c = ct.at(i + 1, j, k);
        if (std::abs(a - s.softMode) < 60 && std::abs(b - s.softMode) < 60 &&
            std::abs(c - s.softMode) < 60)
          diffs.push_back(std::abs(c - b));
      }
  if (!diffs.empty()) {
    std::nth_element(diffs.begin(), diffs.begin() + diffs.size() / 2, diffs.end());
    s.noise = 1.4826 * diffs[diffs.size() / 2] / std::sqrt(2.0);
  }
  return s;
}

// Block-averages a fine in-plane grid down by an integer factor (as a 3 mm resampled copy).
HuVolume downsample(const HuVolume& in, int f, const LabelImage* labIn, std::vector<int>* labOut) {
  Grid g = in.grid();
  g.size = {in.size()[0] / f, in.size()[1] / f, in.size()[2]};
  g.origin = in.grid().indexToLps({0.5 * (f - 1), 0.5 * (f - 1), 0});
  g.spacing = {g.spacing.x * f, g.spacing.y * f, g.spacing.z};
  HuVolume out(g, 0);
  if (labOut) labOut->assign(static_cast<size_t>(g.voxelCount()), 0);
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        double sum = 0;
        std::map<int, int> votes;
        for (int b = 0; b < f; ++b)
          for (int a = 0; a < f; ++a) {
            sum += in.at(i * f + a, j * f + b, k);
            if (labIn) ++votes[labIn->at(i * f + a, j * f + b, k)];
          }
        out.at(i, j, k) = static_cast<int16_t>(std::lround(sum / (f * f)));
        if (labOut) {
          int best = 0, bestN = -1;
          for (auto [l, c] : votes)
            if (c > bestN) best = l, bestN = c;
          (*labOut)[out.offset(i, j, k)] = best;
        }
      }
  return out;
}

void print(const char* name, const HuStats& s) {
  std::printf(
      "%-34s trabecular %6.1f (n=%lld)  body %6.1f  rim %6.1f  disc %6.1f  fat %6.1f  soft %5.1f  "
      "lung %7.1f  noise %5.1f\n",
      name, s.trabecular, static_cast<long long>(s.trabecularVoxels), s.body, s.rim, s.disc,
      s.fatMode, s.softMode, s.lungMode, s.noise);
}

// Published tissue bands that real CT and the phantom must both meet.
void expectRealisticTissue(const HuStats& s, bool expectBone) {
  EXPECT_GT(s.fatMode, -135.0);
  EXPECT_LT(s.fatMode, -65.0);
  EXPECT_GT(s.softMode, 15.0);
  EXPECT_LT(s.softMode, 80.0);
  EXPECT_GT(s.noise, 3.0);
  EXPECT_LT(s.noise, 40.0);
  if (!expectBone) return;
  EXPECT_GT(s.trabecular, 40.0);
  EXPECT_LT(s.trabecular, 320.0);
  EXPECT_GT(s.rim, s.trabecular);  // the cortex lifts the surface voxels
  EXPECT_LT(s.disc, s.rim);
  EXPECT_GT(s.disc, 20.0);
  EXPECT_LT(s.disc, 160.0);
}

}  // namespace

namespace {

// The real abdomen CT with its reference body labels (VerSe numbering), voxel by voxel.
struct RealAbdomen {
  LoadedStudy ct;
  std::vector<int> labels;
};
RealAbdomen loadRealAbdomen(const std::string& ctPath, const std::string& bodyMaskPath) {
  RealAbdomen r{io::readNiftiStudy(ctPath), {}};
  const LoadedStudy mask = io::readNiftiStudy(bodyMaskPath);
  r.labels.assign(mask.volume.data().begin(), mask.volume.data().end());
  return r;
}

}  // namespace

#define SPINESCREEN_REQUIRE_REAL_ABDOMEN(name)                                   \
  SPINESCREEN_REQUIRE_TEST_FILE(name##Ct, "totalseg-example/example_ct.nii.gz"); \
  SPINESCREEN_REQUIRE_TEST_FILE(                                                 \
      name##Mask, "totalseg-example/spine_report/totalseg_vertebrae_pp_refined.nii.gz")

TEST(PhantomRealism, AbdomenPelvisHuStatisticsMatchTheRealThreeMillimetreCt) {
  SPINESCREEN_REQUIRE_REAL_ABDOMEN(real);
  const RealAbdomen abdomen = loadRealAbdomen(realCt, realMask);
  const LoadedStudy& real = abdomen.ct;
  const HuStats r = measure(real.volume, abdomen.labels);
  print("real example_ct (3 mm)", r);
  expectRealisticTissue(r, true);

  for (int idx : {1, 2, 3}) {
    PhantomSpec s = randomSpec(2026, idx);
    setFov(s, FovKind::kAbdomenPelvis);
    setSliceSpacing(s, 3.0);
    s.matrix = static_cast<int>(std::lround(s.fovWidthMm / 0.75));
    s.matrix -= s.matrix % 4;
    const Phantom p = generate(s);
    std::vector<int> labels;
    const HuVolume ct = downsample(p.ct, 4, &p.bodies, &labels);
    const HuStats ph = measure(ct, labels);
    char name[64];
    std::snprintf(name, sizeof name, "phantom %s (L1 truth %.0f HU)", s.caseId.c_str(),
                  p.truth.l1TrabecularHu.value_or(NAN));
    print(name, ph);
    expectRealisticTissue(ph, true);
  }
}

TEST(PhantomRealism, ChestHuStatisticsMatchTheRealContrastChestCrop) {
  SPINESCREEN_REQUIRE_TEST_FILE(ctPath, "totalseg-example/aorta_report/ct_cropped.nii.gz");
  const LoadedStudy real = io::readNiftiStudy(ctPath);
  const HuStats r = measure(real.volume, std::vector<int>(real.volume.data().size(), 0));
  print("real chest crop (1.5 mm)", r);
  expectRealisticTissue(r, false);
  EXPECT_LT(r.lungMode, -750.0);
  for (int idx : {4, 5}) {
    PhantomSpec s = randomSpec(2026, idx);
    setFov(s, FovKind::kChest);
    setSliceSpacing(s, 1.5);
    s.matrix = static_cast<int>(std::lround(s.fovWidthMm / 0.75));
    s.matrix -= s.matrix % 2;
    GenerateOptions o;
    o.masks = false;
    const Phantom p = generate(s, o);
    const HuVolume ct = downsample(p.ct, 2, nullptr, nullptr);
    const HuStats ph = measure(ct, std::vector<int>(ct.data().size(), 0));
    print(("phantom " + s.caseId + " chest").c_str(), ph);
    expectRealisticTissue(ph, false);
    EXPECT_LT(ph.lungMode, -750.0);
  }
}

namespace {

// Share of lung-dark voxels (< -400 HU) beside and behind a body, on its more aerated side:
// 25-60 mm to either side of the body's centre in each slice, from 10 mm in front of it to 25
// mm behind it. NaN when the label is absent.
double lungBeside(const HuVolume& ct, const std::vector<int>& labels, int label) {
  const Grid& g = ct.grid();
  const Size3& n = g.size;
  double best = NAN;
  std::array<int64_t, 2> hit{0, 0}, all{0, 0};
  for (int64_t k = 0; k < n[2]; ++k) {
    double sx = 0, sy = 0;
    int64_t cnt = 0;
    for (int64_t j = 0; j < n[1]; ++j)
      for (int64_t i = 0; i < n[0]; ++i)
        if (labels[ct.offset(i, j, k)] == label) {
          const Vec3 p = g.indexToLps({double(i), double(j), double(k)});
          sx += p.x, sy += p.y, ++cnt;
        }
    if (cnt == 0) continue;
    const double cx = sx / cnt, cy = sy / cnt;
    for (int64_t j = 0; j < n[1]; ++j)
      for (int64_t i = 0; i < n[0]; ++i) {
        const Vec3 p = g.indexToLps({double(i), double(j), double(k)});
        const double dx = p.x - cx, dy = p.y - cy;
        if (std::abs(dx) < 25.0 || std::abs(dx) > 60.0 || dy < -10.0 || dy > 25.0) continue;
        const size_t side = dx > 0 ? 1 : 0;
        ++all[side];
        if (ct.at(i, j, k) < -400) ++hit[side];
      }
  }
  for (size_t side = 0; side < 2; ++side)
    if (all[side] > 0) {
      const double s = static_cast<double>(hit[side]) / static_cast<double>(all[side]);
      best = std::isnan(best) ? s : std::max(best, s);
    }
  return best;
}

}  // namespace

// In inspiration the posterior costophrenic recesses reach beside the last thoracic vertebra:
// lung lies beside T12 of the real abdomen CT (and of the real chest crop), never beside L2.
// The phantom's recesses reach T11 in every case, T12 in some, and never L2.
TEST(PhantomRealism, LungReachesBesideTheLastThoracicBodiesAsInTheRealAbdomenCt) {
  SPINESCREEN_REQUIRE_REAL_ABDOMEN(real);
  const RealAbdomen abdomen = loadRealAbdomen(realCt, realMask);
  const double realT12 = lungBeside(abdomen.ct.volume, abdomen.labels, 19);
  const double realL2 = lungBeside(abdomen.ct.volume, abdomen.labels, 21);
  std::printf("real example_ct: lung beside T12 %.2f, L2 %.2f\n", realT12, realL2);
  EXPECT_GT(realT12, 0.15);
  EXPECT_LT(realL2, 0.02);

  int t12WithLung = 0;
  for (int idx : {6, 7, 8, 9, 10, 11}) {
    PhantomSpec s = randomSpec(2026, idx);
    setFov(s, FovKind::kThoracolumbar);
    setSliceSpacing(s, 3.0);
    setMatrix(s, 256);
    const Phantom p = generate(s);
    const std::vector<int> labels(p.bodies.data().begin(), p.bodies.data().end());
    const int last = s.variant.find("T13") != std::string::npos ? 28 : 19;
    const double t11 = lungBeside(p.ct, labels, last == 28 ? 19 : 18);
    const double t12 = lungBeside(p.ct, labels, last);
    const double l2 = lungBeside(p.ct, labels, 21);
    std::printf(
        "phantom %s (recess level %.2f): lung beside the last two thoracic bodies %.2f "
        "%.2f, L2 %.2f\n",
        s.caseId.c_str(), s.lungRecessLevel, t11, t12, l2);
    EXPECT_GT(t11, 0.15) << s.caseId;
    EXPECT_LT(l2, 0.02) << s.caseId;
    if (t12 > 0.15) ++t12WithLung;
  }
  EXPECT_GE(t12WithLung, 1);
}
