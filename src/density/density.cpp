#include "density/density.h"

#include <itkConnectedComponentImageFilter.h>
#include <itkSignedMaurerDistanceMapImageFilter.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "core/geometry.h"
#include "core/itk_bridge.h"
#include "core/label_boxes.h"

namespace spinescreen::density {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Crop {
  LabelImage mask;  // 0/1 body with a margin
};

Crop cropBody(const LabelImage& labels, int value, const LabelBox& box) {
  const Grid& g = labels.grid();
  const int margin = 2;
  std::array<int64_t, 3> lo;
  Grid cg = g;
  for (int d = 0; d < 3; ++d) {
    lo[d] = box.lo[d] - margin;
    cg.size[d] = box.hi[d] - box.lo[d] + 1 + 2 * margin;
  }
  cg.origin = g.indexToLps({double(lo[0]), double(lo[1]), double(lo[2])});
  Crop c{LabelImage(cg, 0)};
  for (int64_t k = 0; k < cg.size[2]; ++k)
    for (int64_t j = 0; j < cg.size[1]; ++j)
      for (int64_t i = 0; i < cg.size[0]; ++i)
        c.mask.at(i, j, k) = labels.valueOr(i + lo[0], j + lo[1], k + lo[2], 0) == value;
  return c;
}

FloatImage signedDistance(const LabelImage& mask) {
  using Filter =
      itk::SignedMaurerDistanceMapImageFilter<itk::Image<uint8_t, 3>, itk::Image<float, 3>>;
  auto f = Filter::New();
  f->SetInput(toItk(mask));
  f->SetInsideIsPositive(false);
  f->SetUseImageSpacing(true);
  f->SetSquaredDistance(false);
  f->SetBackgroundValue(0);
  f->Update();
  return fromItk<float>(f->GetOutput());
}

// Where the posterior part of the body (the basivertebral vein's entry) begins, as a
// coordinate along the anterior axis: the posterior third of the measured depth by default.
std::optional<double> posteriorLimit(const Vertebra& v, double posteriorFraction) {
  if (!v.axisAnterior || v.heightSegmentsLps.size() != 3) return std::nullopt;
  const Vec3 a = v.axisAnterior->normalized();
  const double a15 = v.heightSegmentsLps[0].first.dot(a);
  const double a85 = v.heightSegmentsLps[2].first.dot(a);
  const double depth = (a15 - a85) / 0.70;
  if (depth <= 0) return std::nullopt;
  const double posteriorWall = a85 - 0.15 * depth;
  return posteriorWall + posteriorFraction * depth;
}

}  // namespace

void measureTrabecularHu(const HuVolume& volume, SpineModel& model, const DensityConfig& config) {
  if (model.bodies.empty()) return;
  const bool sameGrid = model.bodies.grid().sameGeometryAs(volume.grid());
  const auto boxes = labelBoxes(model.bodies);
  for (Vertebra& v : model.vertebrae) {
    if (!v.measurable || v.bodyLabel == 0) continue;
    const auto box = boxes.find(v.bodyLabel);
    if (box == boxes.end()) continue;
    const Crop c = cropBody(model.bodies, v.bodyLabel, box->second);
    const FloatImage dist = signedDistance(c.mask);
    const Grid& cg = c.mask.grid();
    const double halfVoxel = 0.5 * std::min({cg.spacing.x, cg.spacing.y, cg.spacing.z});
    const auto postLimit = posteriorLimit(v, config.posteriorExcludedFraction);
    const Vec3 ant = v.axisAnterior ? v.axisAnterior->normalized() : Vec3{};
    const double voxelMl = cg.spacing.x * cg.spacing.y * cg.spacing.z / 1000.0;
    const size_t minVoxels = std::max<size_t>(8, static_cast<size_t>(0.3 / voxelMl));

    std::vector<double> hu;
    std::vector<size_t> at;  // crop offset of each value
    for (double depth : {config.interiorDepthMm, config.thinBodyInteriorDepthMm}) {
      hu.clear();
      at.clear();
      for (int64_t k = 0; k < cg.size[2]; ++k)
        for (int64_t j = 0; j < cg.size[1]; ++j)
          for (int64_t i = 0; i < cg.size[0]; ++i) {
            if (!c.mask.at(i, j, k) ||
                dist.at(i, j, k) > -(depth - config.surfaceOffsetVoxels * 2 * halfVoxel))
              continue;
            const Vec3 p = cg.indexToLps({double(i), double(j), double(k)});
            if (postLimit && p.dot(ant) < *postLimit) continue;
            double value;
            if (sameGrid) {
              const Vec3 idx = volume.grid().lpsToIndex(p);
              value = volume.at(std::llround(idx.x), std::llround(idx.y), std::llround(idx.z));
            } else {
              value = sampleLinearLps(volume, p, std::nan(""));
              if (std::isnan(value)) continue;
            }
            hu.push_back(value);
            at.push_back(c.mask.offset(i, j, k));
          }
      if (hu.size() >= minVoxels) {
        if (depth != config.interiorDepthMm)
          v.notes.push_back("density ROI at " + std::to_string(static_cast<int>(depth)) +
                            " mm from the surface (body too thin for " +
                            std::to_string(static_cast<int>(config.interiorDepthMm)) + " mm)");
        break;
      }
    }
    if (hu.size() < minVoxels) {
      v.notes.emplace_back("trabecular HU not measured: body interior too small");
      continue;
    }
    // Cement out. Then focal bright lesions (a bone island, a small sclerotic focus): voxels
    // beyond `outlierRobustSd` robust SDs above the median that join into a compact cluster
    // of at least `lesionMinDiameterMm` (equivalent sphere) are left out; scattered bright
    // voxels are trabecular texture and noise, and stay. Low values are kept (fatty marrow
    // is real); the basivertebral vein is left out by position.
    std::vector<double> kept;
    std::vector<size_t> keptAt;
    for (size_t n = 0; n < hu.size(); ++n)
      if (hu[n] <= config.cementMinHu) {
        kept.push_back(hu[n]);
        keptAt.push_back(at[n]);
      }
    if (kept.size() < minVoxels) {
      v.notes.emplace_back("trabecular HU not measured: body interior is dense (cement?)");
      continue;
    }
    const double med = median(kept);
    std::vector<double> dev;
    dev.reserve(kept.size());
    for (double x : kept) dev.push_back(std::abs(x - med));
    const double sd = std::max(1.0, 1.4826 * median(dev));
    // Outlier voxels on the crop grid, then their 26-connected clusters.
    LabelImage bright(cg, 0);
    for (size_t n = 0; n < kept.size(); ++n)
      if (kept[n] - med > config.outlierRobustSd * sd) bright.data()[keptAt[n]] = 1;
    auto components =
        itk::ConnectedComponentImageFilter<itk::Image<uint8_t, 3>, itk::Image<uint32_t, 3>>::New();
    components->SetInput(toItk(bright));
    components->SetFullyConnected(true);
    components->Update();
    const uint32_t* clusterOf = components->GetOutput()->GetBufferPointer();
    std::vector<size_t> clusterSize(components->GetObjectCount() + 1, 0);
    for (size_t o = 0; o < bright.data().size(); ++o) ++clusterSize[clusterOf[o]];
    // At least three voxels (on coarse grids a lone bright voxel is noise) and the volume of
    // the smallest lesion.
    const double sphereMl = kPi / 6.0 * std::pow(config.lesionMinDiameterMm, 3) / 1000.0;
    auto isLesion = [&](uint32_t cluster) {
      return cluster > 0 && clusterSize[cluster] >= 3 &&
             static_cast<double>(clusterSize[cluster]) * voxelMl >= sphereMl;
    };
    int lesions = 0;
    for (uint32_t l = 1; l < clusterSize.size(); ++l)
      if (isLesion(l)) ++lesions;
    std::vector<double> roi;
    for (size_t n = 0; n < kept.size(); ++n)
      if (!isLesion(clusterOf[keptAt[n]])) roi.push_back(kept[n]);
    if (lesions > 0)
      v.notes.push_back("trabecular HU: " + std::to_string(lesions) +
                        " focal bright lesion(s) left out of the ROI");
    double sum = 0.0;
    for (double x : roi) sum += x;
    v.trabecularHu = sum / roi.size();
    v.trabecularHuMedian = median(roi);
    v.trabecularVoxels = static_cast<int>(roi.size());
  }
}

DensitySummary summariseDensity(const std::vector<Vertebra>& vertebrae,
                                const DensityConfig& config) {
  DensitySummary s;
  auto find = [&](const std::string& label) -> const Vertebra* {
    for (const auto& v : vertebrae)
      if (v.label == label) return &v;
    return nullptr;
  };
  auto usable = [](const Vertebra* v) {
    return v && v->measurable && v->trabecularHu && !(v->genantGrade && *v->genantGrade >= 2);
  };
  if (const Vertebra* l1 = find("L1"); l1 && l1->measurable && l1->trabecularHu)
    s.l1TrabecularHu = l1->trabecularHu;
  for (const char* level : {"L1", "T12", "L2"}) {
    const Vertebra* v = find(level);
    if (usable(v)) {
      s.densityHu = v->trabecularHu;
      s.densityLevel = level;
      break;
    }
  }
  if (!s.densityHu) {
    s.category = DensityCategory::kIndeterminate;
  } else if (*s.densityHu <= config.osteoporosisLikelyMaxHu) {
    s.category = DensityCategory::kOsteoporosisLikely;
    s.categoryCutoffHu = config.osteoporosisLikelyMaxHu;
  } else if (*s.densityHu <= config.lowMaxHu) {
    s.category = DensityCategory::kLow;
    s.categoryCutoffHu = config.lowMaxHu;
  } else {
    s.category = DensityCategory::kNormal;
  }
  return s;
}

}  // namespace spinescreen::density
