// randomSpec(): every random choice of a phantom case, drawn from a fixed generator
// (std::mt19937_64, whose output sequence the standard fixes) through distributions written
// here, so the same seed gives the same case with any standard library.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <random>

#include "core/errors.h"
#include "phantom/phantom.h"

namespace spinescreen::phantom {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : eng_(seed) {}
  // Uniform in [0, 1) from the top 53 bits.
  double uniform() { return static_cast<double>(eng_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Box-Muller, one value per call.
  double normal(double mean, double sd) {
    double u1 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double u2 = uniform();
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  double clampedNormal(double mean, double sd, double lo, double hi) {
    return std::clamp(normal(mean, sd), lo, hi);
  }
  bool chance(double p) { return uniform() < p; }
  int integer(int lo, int hi) {  // inclusive
    return lo + static_cast<int>(std::floor(uniform() * (hi - lo + 1)));
  }
  // Index drawn with the given weights.
  size_t pick(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double r = uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return weights.size() - 1;
  }
  uint64_t bits() { return eng_(); }

 private:
  std::mt19937_64 eng_;
};

double lerp(double a, double b, double t) { return a + (b - a) * t; }

// Piecewise-linear table lookup on a level coordinate: 0 = T1, 11 = T12, 12..16 = L1..L5,
// negative = cervical (C7 = -1).
double table(const std::vector<std::pair<double, double>>& pts, double x) {
  if (x <= pts.front().first) return pts.front().second;
  if (x >= pts.back().first) return pts.back().second;
  for (size_t i = 1; i < pts.size(); ++i)
    if (x <= pts[i].first) {
      const double t = (x - pts[i - 1].first) / (pts[i].first - pts[i - 1].first);
      return lerp(pts[i - 1].second, pts[i].second, t);
    }
  return pts.back().second;
}

// Published size ranges (body height ~14 mm at T1 to ~27 mm at L4/L5; depth 15 -> 35 mm;
// width 20 -> 50 mm) as tables over the level coordinate.
const std::vector<std::pair<double, double>> kHeight = {
    {-5, 12.5}, {-1, 13.5}, {0, 14.5}, {5, 18.0}, {11, 23.0}, {12, 24.5}, {14, 26.5}, {16, 27.0}};
const std::vector<std::pair<double, double>> kDepth = {{-5, 15.5}, {-1, 16.0}, {0, 16.0}, {5, 23.0},
                                                       {11, 28.0}, {12, 30.0}, {16, 35.0}};
const std::vector<std::pair<double, double>> kWidth = {{-5, 19.0}, {-1, 24.0}, {0, 25.0}, {5, 30.0},
                                                       {11, 40.0}, {12, 42.0}, {16, 50.0}};
const std::vector<std::pair<double, double>> kDisc = {{-5, 4.5},  {-1, 4.5},  {0, 3.8},
                                                      {7, 5.0},   {11, 6.5},  {12, 8.5},
                                                      {14, 10.5}, {15, 11.0}, {16, 10.0}};

struct LevelName {
  std::string label;
  double levelCoord;  // for the size tables
};

}  // namespace

std::string toString(FovKind kind) {
  switch (kind) {
    case FovKind::kChest:
      return "chest";
    case FovKind::kAbdomen:
      return "abdomen";
    case FovKind::kAbdomenPelvis:
      return "abdomen-pelvis";
    case FovKind::kChestAbdomenPelvis:
      return "cap";
    case FovKind::kThoracolumbar:
      return "thoracolumbar";
  }
  return "abdomen-pelvis";
}

std::optional<FovKind> fovKindFromString(const std::string& name) {
  if (name == "chest") return FovKind::kChest;
  if (name == "abdomen") return FovKind::kAbdomen;
  if (name == "abdomen-pelvis") return FovKind::kAbdomenPelvis;
  if (name == "cap") return FovKind::kChestAbdomenPelvis;
  if (name == "thoracolumbar") return FovKind::kThoracolumbar;
  return std::nullopt;
}

std::string toString(FractureType type) {
  switch (type) {
    case FractureType::kNone:
      return "none";
    case FractureType::kWedge:
      return "wedge";
    case FractureType::kBiconcave:
      return "biconcave";
    case FractureType::kCrush:
      return "crush";
  }
  return "none";
}

void setSliceSpacing(PhantomSpec& spec, double sliceMm) {
  if (!(sliceMm >= 0.3 && sliceMm <= 10.0))
    throw UsageError("slice spacing must be between 0.3 and 10 mm");
  spec.sliceSpacingMm = sliceMm;
  spec.sliceThicknessMm = sliceMm;
}

void setFov(PhantomSpec& spec, FovKind kind) {
  spec.fov = kind;
  if (kind == FovKind::kThoracolumbar) {
    spec.fovWidthMm = std::min(spec.fovWidthMm, 180.0 + 80.0 * spec.fovTopJitter);
    spec.matrix = static_cast<int>(std::lround(spec.fovWidthMm / 0.7));
  }
}

void setMatrix(PhantomSpec& spec, int matrix) {
  if (matrix < kMinMatrix || matrix > kMaxMatrix)
    throw UsageError("--matrix must be between " + std::to_string(kMinMatrix) + " and " +
                     std::to_string(kMaxMatrix) + " voxels");
  spec.matrix = matrix;
}

void makeSmall(PhantomSpec& spec) {
  setMatrix(spec, kSmallMatrix);
  if (spec.sliceSpacingMm < kSmallMinSliceMm) setSliceSpacing(spec, kSmallMinSliceMm);
}

PhantomSpec randomSpec(uint64_t seed, int caseIndex) {
  Rng rng(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(caseIndex) + 0x51ED2701ULL)));
  PhantomSpec s;
  char id[32];
  std::snprintf(id, sizeof id, "phantom_%04d", caseIndex);
  s.caseId = id;
  s.seed = seed;
  s.caseIndex = caseIndex;

  // Patient.
  s.patientSex = rng.chance(0.55) ? "F" : "M";
  s.patientAgeYears = std::floor(rng.uniform(50.0, 90.0));
  const double scale = (s.patientSex == "F" ? 0.94 : 1.03) * rng.uniform(0.94, 1.06);

  // Transitional pattern (~13% of cases).
  int thoracic = 12, lumbar = 5;
  bool ribs11 = false, lumbarRib = false, sacralised = false;
  const double v = rng.uniform();
  if (v < 0.03) {
    ribs11 = true;
    s.variant = "11 rib pairs (T12 without ribs)";
  } else if (v < 0.06) {
    lumbarRib = true;
    s.variant = "lumbar rib on L1 (13th rib pair, short)";
  } else if (v < 0.08) {
    thoracic = 13;
    s.variant = "13 thoracic vertebrae (T13)";
  } else if (v < 0.11) {
    lumbar = 6;
    s.variant = "lumbarised S1 (L6)";
  } else if (v < 0.13) {
    sacralised = true;
    s.variant = "sacralised L5";
  }

  // Levels.
  std::vector<LevelName> levels;
  for (int c = 3; c <= 7; ++c) levels.push_back({"C" + std::to_string(c), c - 8.0});
  for (int t = 1; t <= thoracic; ++t)
    levels.push_back({"T" + std::to_string(t), (t - 1) * (11.0 / (thoracic - 1))});
  for (int l = 1; l <= lumbar; ++l)
    levels.push_back({"L" + std::to_string(l), 12.0 + (l - 1) * (4.0 / (lumbar - 1))});

  // Bone density: fracture cases are more often osteoporotic.
  const bool fractureCase = rng.chance(0.58);
  double l1Hu;
  if (fractureCase)
    l1Hu = rng.clampedNormal(100.0, 32.0, 45.0, 230.0);
  else
    l1Hu = rng.chance(0.4) ? rng.clampedNormal(140.0, 30.0, 50.0, 260.0)
                           : rng.clampedNormal(180.0, 38.0, 60.0, 280.0);

  for (const auto& lv : levels) {
    VertebraSpec vs;
    vs.label = lv.label;
    const double x = lv.levelCoord;
    const double jitter = rng.uniform(0.97, 1.03);
    vs.heightMm = table(kHeight, x) * scale * jitter;
    vs.depthMm = table(kDepth, x) * scale * rng.uniform(0.97, 1.03);
    vs.widthMm = table(kWidth, x) * scale * rng.uniform(0.97, 1.03);
    vs.discBelowMm = table(kDisc, x + 0.5) * scale * rng.uniform(0.85, 1.15);
    vs.endplateConcavityMm = rng.uniform(0.4, 1.0) * (x < 0 ? 0.5 : 1.0);
    const bool isC = lv.label[0] == 'C', isT = lv.label[0] == 'T';
    // Physiological shape: mild mid-thoracic wedging, 5-12% at T11-L1, L5 taller anteriorly.
    if (isC)
      vs.physiologicWedge = 0.0;
    else if (x >= 10.0 && x <= 12.0)
      vs.physiologicWedge = rng.uniform(0.05, 0.12);
    else if (x >= 4.0 && x <= 8.0)
      vs.physiologicWedge = rng.uniform(0.03, 0.09);
    else if (isT)
      vs.physiologicWedge = rng.uniform(0.0, 0.05);
    else if (x >= 15.5)
      vs.physiologicWedge = rng.uniform(-0.15, -0.05);
    else
      vs.physiologicWedge = rng.uniform(-0.04, 0.03);
    // Density: thoracic a little denser than lumbar; cervical denser still.
    double hu = l1Hu;
    if (isC)
      hu += 45.0;
    else if (isT)
      hu += 8.0 + 1.5 * (11.0 - x);
    else
      hu -= 3.0 * (x - 12.0);
    vs.trabecularHu = std::max(40.0, hu + rng.normal(0.0, 6.0));
    vs.cortexHu = std::clamp(300.0 + 1.6 * vs.trabecularHu + rng.normal(0.0, 40.0), 300.0, 800.0);
    vs.cortexMm = std::clamp(0.7 + 0.004 * vs.trabecularHu + rng.normal(0.0, 0.1), 0.6, 1.5);
    // Ribs.
    if (isT) {
      const int t = std::stoi(lv.label.substr(1));
      if (t <= 10)
        vs.ribLength = 1.0;
      else if (t == thoracic)
        vs.ribLength = rng.uniform(0.28, 0.45);
      else
        vs.ribLength = rng.uniform(0.5, 0.65);
      if (ribs11 && t == 12) vs.ribLength = 0.0;
      if (ribs11 && t == 11) vs.ribLength = rng.uniform(0.28, 0.45);
    }
    if (lumbarRib && lv.label == "L1") vs.ribLength = rng.uniform(0.1, 0.18);
    if (sacralised && lv.label == "L5") vs.sacralised = true;
    s.column.push_back(vs);
  }
  s.sacrumTrabecularHu = std::max(40.0, l1Hu - 10.0 + rng.normal(0.0, 8.0));

  auto indexOf = [&](const std::string& label) -> int {
    for (size_t i = 0; i < s.column.size(); ++i)
      if (s.column[i].label == label) return static_cast<int>(i);
    return -1;
  };

  // Schmorl's nodes (mimics), in about a quarter of cases.
  if (rng.chance(0.25)) {
    const int n = rng.integer(1, 3);
    for (int k = 0; k < n; ++k) {
      const int lo = indexOf("T8"), hi = indexOf("L4");
      VertebraSpec& vs = s.column[static_cast<size_t>(rng.integer(lo, hi))];
      SchmorlNode node;
      node.superior = rng.chance(0.6);
      node.latMm = rng.uniform(-0.3, 0.3) * vs.widthMm;
      node.apFraction = rng.uniform(0.3, 0.7);
      node.radiusMm = rng.uniform(3.0, 5.0);
      node.depthMm = rng.uniform(1.5, 3.5);
      vs.schmorl.push_back(node);
    }
  }

  // Fractures: T4-L5, thoracolumbar junction most often.
  if (fractureCase) {
    std::vector<int> candidates;
    std::vector<double> weights;
    for (size_t i = 0; i < s.column.size(); ++i) {
      const std::string& lab = s.column[i].label;
      if (lab[0] == 'C') continue;
      if (lab[0] == 'T' && std::stoi(lab.substr(1)) < 4) continue;
      candidates.push_back(static_cast<int>(i));
      const bool junction =
          lab == "T11" || lab == "T12" || lab == "T13" || lab == "L1" || lab == "L2";
      const bool midThoracic = lab == "T6" || lab == "T7" || lab == "T8" || lab == "T9";
      weights.push_back(junction ? 3.0 : (midThoracic ? 2.0 : 1.0));
    }
    const double nDraw = rng.uniform();
    const int count = nDraw < 0.6 ? 1 : (nDraw < 0.9 ? 2 : 3);
    const bool consecutive = count > 1 && rng.chance(0.45);
    std::vector<int> chosen;
    const int first = candidates[rng.pick(weights)];
    chosen.push_back(first);
    for (int k = 1; k < count; ++k) {
      int idx;
      if (consecutive) {
        idx = first + k;
        if (idx >= static_cast<int>(s.column.size())) idx = first - k;
      } else {
        idx = candidates[rng.pick(weights)];
      }
      if (std::find(chosen.begin(), chosen.end(), idx) == chosen.end()) chosen.push_back(idx);
    }
    for (int idx : chosen) {
      VertebraSpec& vs = s.column[static_cast<size_t>(idx)];
      const double t = rng.uniform();
      vs.fracture = t < 0.55 ? FractureType::kWedge
                             : (t < 0.85 ? FractureType::kBiconcave : FractureType::kCrush);
      const double g = rng.uniform();
      // Intended Genant band (the truth grade is computed from the heights by the rule).
      double loss = g < 0.3 ? rng.uniform(0.21, 0.24)
                            : (g < 0.7 ? rng.uniform(0.27, 0.38) : rng.uniform(0.43, 0.58));
      // The intact shape already lowers Ha (physiological wedge) and Hm (concavity).
      if (vs.fracture == FractureType::kWedge) loss -= std::max(0.0, vs.physiologicWedge);
      if (vs.fracture == FractureType::kBiconcave)
        loss -= 2.0 * vs.endplateConcavityMm / vs.heightMm;
      vs.fractureLoss = std::max(0.05, loss);
      vs.fractureSuperiorShare = vs.fracture == FractureType::kBiconcave ? rng.uniform(0.45, 0.55)
                                                                         : rng.uniform(0.55, 0.8);
      // Fractured bodies have fewer normal-looking nodes.
      vs.schmorl.clear();
    }
  }

  // Curvature.
  s.cervicalLordosisDeg = rng.uniform(10.0, 35.0);
  // Cobb-like angles of a supine patient (lordosis flattens lying down).
  s.thoracicKyphosisDeg = rng.uniform(20.0, 42.0) + 0.2 * (s.patientAgeYears - 50.0);
  s.lumbarLordosisDeg = rng.uniform(28.0, 50.0);
  s.sacralSlopeDeg = rng.uniform(25.0, 40.0);
  if (rng.chance(0.15)) {
    s.scoliosisMm = (rng.chance(0.5) ? 1.0 : -1.0) * rng.uniform(5.0, 20.0);
    s.scoliosisApex = rng.uniform(indexOf("T6"), indexOf("L2"));
    s.scoliosisSpan = rng.uniform(4.0, 8.0);
    s.scoliosisRotationDeg = 0.8 * s.scoliosisMm;
  }

  // Habitus.
  s.thoraxHalfWidthMm = rng.uniform(135.0, 170.0) * scale;
  s.thoraxHalfDepthMm = rng.uniform(95.0, 122.0) * scale;
  s.subcutaneousFatMm = rng.uniform(8.0, 38.0);
  s.abdomenHalfWidthMm = rng.uniform(135.0, 170.0) * scale + 0.6 * s.subcutaneousFatMm;
  s.abdomenHalfDepthMm = rng.uniform(95.0, 125.0) * scale + 0.6 * s.subcutaneousFatMm;
  s.pelvisHalfWidthMm = rng.uniform(150.0, 180.0) * scale + 0.5 * s.subcutaneousFatMm;
  s.visceralFat = rng.uniform(0.15, 0.7);
  s.fatHu = rng.uniform(-115.0, -85.0);
  s.muscleHu = rng.uniform(25.0, 55.0);  // elderly muscle is often fat-infiltrated
  s.lungHu = rng.uniform(-880.0, -800.0);
  s.bowelGas = rng.uniform(0.1, 0.6);

  // Contrast phase.
  const double phase = rng.uniform();
  if (phase < 0.45) {
    s.contrast = false;
    s.aortaLumenHu = rng.uniform(30.0, 50.0);
    s.ivcHu = rng.uniform(30.0, 45.0);
    s.liverHu = rng.uniform(50.0, 65.0);
  } else if (phase < 0.6) {
    s.contrast = true;  // arterial
    s.aortaLumenHu = rng.uniform(250.0, 350.0);
    s.ivcHu = rng.uniform(50.0, 90.0);
    s.liverHu = rng.uniform(65.0, 80.0);
  } else {
    s.contrast = true;  // portal venous
    s.aortaLumenHu = rng.uniform(150.0, 210.0);
    s.ivcHu = rng.uniform(110.0, 160.0);
    s.liverHu = rng.uniform(95.0, 125.0);
  }
  s.aortaRadiusMm = rng.uniform(10.0, 14.0) * scale + 0.03 * (s.patientAgeYears - 50.0);
  s.aortaPlaques = rng.chance(0.5) ? rng.integer(1, 8) : 0;

  // Acquisition.
  const size_t kind = rng.pick({0.2, 0.15, 0.28, 0.22, 0.15});
  const FovKind kinds[] = {FovKind::kChest, FovKind::kAbdomen, FovKind::kAbdomenPelvis,
                           FovKind::kChestAbdomenPelvis, FovKind::kThoracolumbar};
  s.fovTopJitter = rng.uniform();
  s.fovBottomJitter = rng.uniform();
  s.fovWidthMm = std::max(rng.uniform(320.0, 450.0), 2.0 * s.abdomenHalfWidthMm + 10.0);
  s.fovWidthMm = std::min(s.fovWidthMm, 450.0);
  s.matrix = 512;
  const double edge = rng.uniform();
  if (edge < 0.06) {  // posterior elements near the posterior edge
    s.centreOffsetYMm = -rng.uniform(20.0, 45.0);
    s.spineAtPosteriorEdge = true;
  } else if (edge < 0.12) {  // a reconstruction centred off the spine
    s.centreOffsetXMm = (rng.chance(0.5) ? 1.0 : -1.0) * rng.uniform(0.25, 0.35) * s.fovWidthMm;
  } else {
    s.centreOffsetXMm = rng.uniform(-15.0, 15.0);
    s.centreOffsetYMm = rng.uniform(-10.0, 20.0);
  }
  setFov(s, kinds[kind]);
  const double spacings[] = {0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 5.0};
  size_t si = rng.pick({0.1, 0.1, 0.05, 0.1, 0.15, 0.1, 0.25, 0.15});
  s.sliceSpacingMm = spacings[si];
  // Keep volumes to a sane size: long fields of view are not reconstructed at thin slices.
  const double extents[] = {330.0, 300.0, 480.0, 720.0, 260.0};
  while (extents[kind] / s.sliceSpacingMm > 420.0 && si + 1 < std::size(spacings))
    s.sliceSpacingMm = spacings[++si];
  s.sliceThicknessMm = s.sliceSpacingMm;
  if (rng.chance(0.2)) s.sliceThicknessMm = std::min(5.0, s.sliceSpacingMm * 1.25);
  s.psfFwhmMm = rng.uniform(0.7, 1.2);
  // Image noise (SD in uniform tissue), higher for thin slices.
  s.noiseHu = std::clamp(rng.uniform(14.0, 34.0) * std::sqrt(3.0 / s.sliceThicknessMm), 8.0, 50.0);
  const double kvps[] = {100.0, 120.0, 140.0};
  s.kvp = kvps[rng.pick({0.15, 0.7, 0.15})];
  s.textureSeed = rng.bits();
  s.noiseSeed = rng.bits();
  // Degenerative spurs at the anterolateral endplate rims (a mimic for disc detection).
  if (s.patientAgeYears > 60.0 && rng.chance(0.35)) {
    for (auto& vs : s.column) {
      const bool lowerColumn = vs.label[0] == 'L' || vs.label == "T9" || vs.label == "T10" ||
                               vs.label == "T11" || vs.label == "T12" || vs.label == "T13";
      if (lowerColumn && rng.chance(0.5)) vs.osteophyteMm = rng.uniform(2.0, 6.0);
    }
  }
  if (rng.chance(0.5)) s.hipStreakHu = rng.uniform(25.0, 70.0);
  // In inspiration the posterior recesses reach the last thoracic vertebra, often its lower
  // half, sometimes the first lumbar one. Drawn last, so the rest of a case does not depend on
  // it.
  s.lungRecessLevel = rng.uniform(-0.4, 1.0);
  return s;
}

}  // namespace spinescreen::phantom
