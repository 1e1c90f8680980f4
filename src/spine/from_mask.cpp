#include "spine/from_mask.h"

#include <itkBinaryFillholeImageFilter.h>
#include <itkConnectedComponentImageFilter.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkRelabelComponentImageFilter.h>
#include <itkResampleImageFilter.h>
#include <itkSliceBySliceImageFilter.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/itk_bridge.h"
#include "core/labels.h"

namespace spinescreen::spine {
namespace {

using BinItk = itk::Image<uint8_t, 3>;

std::string fmt1(double v) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  s << v;
  return s.str();
}

// World bounding box of a grid (voxel centres, widened by half a voxel).
std::pair<Vec3, Vec3> worldBox(const Grid& g) {
  Vec3 lo{1e30, 1e30, 1e30}, hi{-1e30, -1e30, -1e30};
  for (int c = 0; c < 8; ++c) {
    const Vec3 idx{(c & 1) ? g.size[0] - 0.5 : -0.5, (c & 2) ? g.size[1] - 0.5 : -0.5,
                   (c & 4) ? g.size[2] - 0.5 : -0.5};
    const Vec3 p = g.indexToLps(idx);
    for (int d = 0; d < 3; ++d) {
      lo[d] = std::min(lo[d], p[d]);
      hi[d] = std::max(hi[d], p[d]);
    }
  }
  return {lo, hi};
}

double boxVolume(const std::pair<Vec3, Vec3>& b) {
  double v = 1.0;
  for (int d = 0; d < 3; ++d) v *= std::max(0.0, b.second[d] - b.first[d]);
  return v;
}

// The mask on the CT grid: as is when the grids agree, else resampled (nearest neighbour)
// when both cover the same physical space.
MaskImage onCtGrid(const MaskImage& mask, const Grid& ct, const std::string& what,
                   std::vector<std::string>& warnings) {
  if (mask.empty()) throw InputError(what + " is empty");
  // The same grid up to what NIfTI's float header fields keep (a hundredth of a voxel).
  const double tolerance = 0.01 * std::min({ct.spacing.x, ct.spacing.y, ct.spacing.z});
  if (mask.grid().sameGeometryAs(ct, tolerance)) {
    MaskImage same = mask;
    same.grid() = ct;
    return same;
  }
  const auto mb = worldBox(mask.grid());
  const auto cb = worldBox(ct);
  std::pair<Vec3, Vec3> inter;
  for (int d = 0; d < 3; ++d) {
    inter.first[d] = std::max(mb.first[d], cb.first[d]);
    inter.second[d] = std::min(mb.second[d], cb.second[d]);
  }
  const double overlap = boxVolume(inter) / std::max(1e-9, std::min(boxVolume(mb), boxVolume(cb)));
  if (overlap < 0.5)
    throw InputError(what + " is not in the CT's physical space (only " +
                     std::to_string(static_cast<int>(std::round(overlap * 100))) +
                     "% of it overlaps the CT); it must be a label map of this CT");
  using MaskItk = itk::Image<int16_t, 3>;
  auto in = toItk(mask);
  auto ref = toItk(LabelImage(Grid{ct.size, ct.spacing, ct.origin, ct.direction}));
  auto resample = itk::ResampleImageFilter<MaskItk, MaskItk>::New();
  resample->SetInput(in);
  resample->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<MaskItk, double>::New());
  resample->SetSize(ref->GetLargestPossibleRegion().GetSize());
  resample->SetOutputOrigin(ref->GetOrigin());
  resample->SetOutputSpacing(ref->GetSpacing());
  resample->SetOutputDirection(ref->GetDirection());
  resample->SetDefaultPixelValue(0);
  resample->Update();
  warnings.push_back(what +
                     " is on another grid than the CT: resampled to the CT grid "
                     "(nearest neighbour)");
  return fromItk<int16_t>(resample->GetOutput());
}

std::map<int, size_t> labelCounts(const MaskImage& m) {
  std::map<int, size_t> counts;
  for (int16_t v : m.data())
    if (v != 0) ++counts[v];
  return counts;
}

MaskConvention recognise(const std::map<int, size_t>& counts) {
  std::set<int> labels;
  for (const auto& [l, n] : counts) labels.insert(l);
  if (labels.empty()) throw InputError("vertebrae mask holds no labels (all voxels are 0)");
  const int maxLabel = *labels.rbegin();
  if (maxLabel > 28 || labels.count(27)) return MaskConvention::kTotalSegmentator;
  if (*labels.begin() <= 24 || labels.count(28)) return MaskConvention::kVerse;
  throw UsageError(
      "cannot tell the mask's label convention from its labels (only 25/26 present); give "
      "--mask-convention totalsegmentator or verse");
}

// VerSe number of a mask value, nullopt for values that are not a reported vertebra
// (TotalSegmentator's sacrum and organs). Throws InputError for values outside the convention.
std::optional<int> verseOf(int value, MaskConvention c) {
  if (c == MaskConvention::kTotalSegmentator) {
    if (value < 0 || value > 117)
      throw InputError("vertebrae mask value " + std::to_string(value) +
                       " is outside the TotalSegmentator `total` label range (1-117)");
    if (value >= 26 && value <= 50) return value == 26 ? 26 : 51 - value;
    return std::nullopt;
  }
  if (value < 0 || value > 28 || value == 27)
    throw InputError("vertebrae mask value " + std::to_string(value) +
                     " is not a VerSe vertebra label (1-26, 28)");
  return value;
}

struct Voxels {
  std::vector<size_t> offsets;
  std::array<int64_t, 3> lo{INT64_MAX, INT64_MAX, INT64_MAX};
  std::array<int64_t, 3> hi{INT64_MIN, INT64_MIN, INT64_MIN};
  Vec3 sum;
};

Vec3 worldOf(const Grid& g, size_t off) {
  const int64_t i = static_cast<int64_t>(off % g.size[0]);
  const int64_t j = static_cast<int64_t>((off / g.size[0]) % g.size[1]);
  const int64_t k = static_cast<int64_t>(off / (g.size[0] * g.size[1]));
  return g.indexToLps({double(i), double(j), double(k)});
}

// Per-label voxel lists (keys: VerSe numbers).
std::map<int, Voxels> collect(const MaskImage& m, MaskConvention c) {
  std::map<int, Voxels> out;
  const Grid& g = m.grid();
  std::map<int, std::optional<int>> cache;
  for (int64_t k = 0; k < g.size[2]; ++k)
    for (int64_t j = 0; j < g.size[1]; ++j)
      for (int64_t i = 0; i < g.size[0]; ++i) {
        const int v = m.at(i, j, k);
        if (v == 0) continue;
        auto it = cache.find(v);
        if (it == cache.end()) it = cache.emplace(v, verseOf(v, c)).first;
        if (!it->second) continue;
        Voxels& vx = out[*it->second];
        vx.offsets.push_back(m.offset(i, j, k));
        const std::array<int64_t, 3> idx{i, j, k};
        for (int d = 0; d < 3; ++d) {
          vx.lo[d] = std::min(vx.lo[d], idx[d]);
          vx.hi[d] = std::max(vx.hi[d], idx[d]);
        }
        vx.sum += g.indexToLps({double(i), double(j), double(k)});
      }
  return out;
}

Vec3 orthogonalised(const Vec3& v, const Vec3& axis) {
  return (v - axis * v.dot(axis)).normalized();
}

// The voxel axis closest to the patient's superior direction.
int sliceAxis(const Grid& g) {
  int best = 2;
  double b = 0.0;
  for (int c = 0; c < 3; ++c) {
    const double z = std::abs(g.direction.column(c).z);
    if (z > b) {
      b = z;
      best = c;
    }
  }
  return best;
}

// Separates the body from the posterior elements of one whole-vertebra label: finds the
// spinal canal as the hole the bony ring encloses in axial slices, cuts at the canal's
// anterior wall (which removes the pedicles) and keeps the largest connected part.
// Where a vertebra's canal lies relative to its centroid, to place the cut in a neighbour
// whose bony ring is not closed in any slice.
struct CanalHint {
  Vec3 offset;  // canal centre minus whole-vertebra centroid
  double edge = 0.0;
  Vec3 ant;
};

std::vector<size_t> cutBody(const MaskImage& mask, int value, const Voxels& vx, const Vec3& sup,
                            const std::string& label, std::vector<std::string>& warnings,
                            const CanalHint* hint = nullptr, CanalHint* found = nullptr) {
  const Grid& g = mask.grid();
  std::array<int64_t, 3> lo, hi;
  for (int d = 0; d < 3; ++d) {
    lo[d] = std::max<int64_t>(0, vx.lo[d] - 1);
    hi[d] = std::min<int64_t>(g.size[d] - 1, vx.hi[d] + 1);
  }
  Grid cg = g;
  for (int d = 0; d < 3; ++d) cg.size[d] = hi[d] - lo[d] + 1;
  cg.origin = g.indexToLps({double(lo[0]), double(lo[1]), double(lo[2])});
  LabelImage crop(cg, 0);
  for (int64_t k = 0; k < cg.size[2]; ++k)
    for (int64_t j = 0; j < cg.size[1]; ++j)
      for (int64_t i = 0; i < cg.size[0]; ++i)
        crop.at(i, j, k) = mask.at(i + lo[0], j + lo[1], k + lo[2]) == value ? 1 : 0;

  // Holes in axial slices: the canal.
  using Bin2 = itk::Image<uint8_t, 2>;
  auto fill2 = itk::BinaryFillholeImageFilter<Bin2>::New();
  fill2->SetForegroundValue(1);
  fill2->SetFullyConnected(false);
  auto sbs = itk::SliceBySliceImageFilter<BinItk, BinItk>::New();
  sbs->SetFilter(fill2);
  sbs->SetDimension(static_cast<unsigned>(sliceAxis(g)));
  sbs->SetInput(toItk(crop));
  sbs->Update();
  const LabelImage filled = fromItk<uint8_t>(sbs->GetOutput());
  std::vector<Vec3> hole;
  for (size_t o = 0; o < crop.data().size(); ++o)
    if (filled.data()[o] && !crop.data()[o]) hole.push_back(worldOf(cg, o));

  Vec3 ant = orthogonalised({0.0, -1.0, 0.0}, sup);
  Vec3 canal;
  double edge = 0.0;
  const Vec3 centroid = vx.sum / double(vx.offsets.size());
  auto candidate = [&](LabelImage& out) {
    size_t n = 0;
    Vec3 s;
    for (size_t o = 0; o < crop.data().size(); ++o) {
      out.data()[o] = 0;
      if (!crop.data()[o]) continue;
      const Vec3 p = worldOf(cg, o);
      if ((p - canal).dot(ant) > edge) {
        out.data()[o] = 1;
        s += p;
        ++n;
      }
    }
    return n ? s / double(n) : canal;
  };
  LabelImage cand(cg, 0);
  if (hole.size() >= 3) {
    // Component-wise median of the hole voxels: robust to small holes elsewhere.
    for (int d = 0; d < 3; ++d) {
      std::vector<double> c;
      c.reserve(hole.size());
      for (const auto& p : hole) c.push_back(p[d]);
      std::nth_element(c.begin(), c.begin() + c.size() / 2, c.end());
      canal[d] = c[c.size() / 2];
    }
    for (int iter = 0; iter < 2; ++iter) {
      std::vector<double> t;
      t.reserve(hole.size());
      for (const auto& p : hole) t.push_back((p - canal).dot(ant));
      std::sort(t.begin(), t.end());
      edge = t[std::min(t.size() - 1, static_cast<size_t>(0.9 * t.size()))];
      const Vec3 bc = candidate(cand);
      const Vec3 a = orthogonalised(bc - canal, sup);
      if (a.norm() > 0.5 && a.dot(ant) > 0.5) ant = a;
    }
    if (found) *found = CanalHint{canal - centroid, edge, ant};
  } else if (hint) {
    warnings.push_back("no closed spinal canal in " + label +
                       ": body cut where the neighbours' canal lies");
    canal = centroid + hint->offset;
    edge = hint->edge;
    const Vec3 a = orthogonalised(hint->ant, sup);
    if (a.norm() > 0.5) ant = a;
  } else {
    if (found) return {};
    warnings.push_back("no spinal canal found in " + label +
                       ": body cut from the posterior elements at the vertebra's centroid");
    canal = centroid;
    edge = 0.0;
  }
  candidate(cand);

  // Largest connected part.
  auto cc = itk::ConnectedComponentImageFilter<BinItk, itk::Image<uint32_t, 3>>::New();
  cc->SetInput(toItk(cand));
  auto relabel =
      itk::RelabelComponentImageFilter<itk::Image<uint32_t, 3>, itk::Image<uint32_t, 3>>::New();
  relabel->SetInput(cc->GetOutput());
  relabel->Update();
  const uint32_t* lab = relabel->GetOutput()->GetBufferPointer();
  std::vector<size_t> body;
  for (int64_t k = 0; k < cg.size[2]; ++k)
    for (int64_t j = 0; j < cg.size[1]; ++j)
      for (int64_t i = 0; i < cg.size[0]; ++i)
        if (lab[cand.offset(i, j, k)] == 1)
          body.push_back(mask.offset(i + lo[0], j + lo[1], k + lo[2]));
  return body;
}

}  // namespace

MaskConvention parseMaskConvention(const std::string& name) {
  if (name == "auto") return MaskConvention::kAuto;
  if (name == "totalsegmentator") return MaskConvention::kTotalSegmentator;
  if (name == "verse") return MaskConvention::kVerse;
  throw UsageError("unknown mask convention '" + name +
                   "' (expected totalsegmentator, verse or auto)");
}

const char* toString(MaskConvention c) {
  switch (c) {
    case MaskConvention::kTotalSegmentator:
      return "totalsegmentator";
    case MaskConvention::kVerse:
      return "verse";
    case MaskConvention::kAuto:
      return "auto";
  }
  return "auto";
}

SpineModel modelFromMask(const HuVolume& ct, const MaskImage& vertebrae, MaskConvention convention,
                         const MaskImage* bodies, const MaskModelConfig& config) {
  SpineModel model;
  const Grid& g = ct.grid();
  const MaskImage mask = onCtGrid(vertebrae, g, "vertebrae mask", model.warnings);
  const auto counts = labelCounts(mask);
  if (counts.empty())
    throw InputError("vertebrae mask holds no labels inside the CT's field of view");
  if (convention == MaskConvention::kAuto) {
    convention = recognise(counts);
    model.warnings.push_back(std::string("vertebrae mask convention recognised as ") +
                             toString(convention));
  }
  model.source = std::string("mask:") + toString(convention);
  std::map<int, Voxels> labels = collect(mask, convention);
  if (labels.empty())
    throw InputError(std::string("vertebrae mask holds no vertebra labels of the ") +
                     toString(convention) + " convention");
  if (convention == MaskConvention::kTotalSegmentator) {
    size_t other = 0;
    for (const auto& [v, n] : counts)
      if (v < 25 || v > 50) ++other;
    if (other)
      model.warnings.push_back("vertebrae mask: " + std::to_string(other) +
                               " non-vertebra labels ignored");
  }

  std::optional<MaskImage> bodyMask;
  std::map<int, Voxels> bodyLabels;
  if (bodies) {
    bodyMask = onCtGrid(*bodies, g, "body mask", model.warnings);
    bodyLabels = collect(*bodyMask, MaskConvention::kVerse);
    if (bodyLabels.empty()) throw InputError("body mask holds no labels");
  }

  // Cranial to caudal.
  std::vector<int> order;
  order.reserve(labels.size());
  for (const auto& [n, vx] : labels) order.push_back(n);
  std::sort(order.begin(), order.end(), [](int a, int b) {
    return *columnOrdinal(*labelFromVerseNumber(a)) < *columnOrdinal(*labelFromVerseNumber(b));
  });
  std::vector<Vec3> centroids;
  centroids.reserve(order.size());
  for (int n : order) centroids.push_back(labels[n].sum / double(labels[n].offsets.size()));

  // Inverse map from VerSe number to mask value, for the body cut.
  auto maskValue = [&](int verse) {
    if (convention == MaskConvention::kVerse) return verse;
    return verse == 26 ? 26 : 51 - verse;
  };

  model.bodies = LabelImage(g, 0);
  model.vertebraeMask = LabelImage(g, 0);
  for (const auto& [n, vx] : labels)
    for (size_t o : vx.offsets) model.vertebraeMask.data()[o] = static_cast<uint8_t>(n);
  const double voxelMl = g.spacing.x * g.spacing.y * g.spacing.z / 1000.0;
  const size_t count = order.size();
  std::vector<Vec3> sups(count, Vec3{0, 0, 1});
  std::vector<std::vector<size_t>> bodyVoxels(count);
  std::vector<std::optional<CanalHint>> hints(count);
  std::vector<bool> needsCut(count, false);
  for (size_t idx = 0; idx < count; ++idx) {
    const int n = order[idx];
    // Spine direction from the neighbours' centroids (cranial minus caudal).
    if (count >= 2) {
      const Vec3& up = centroids[idx == 0 ? 0 : idx - 1];
      const Vec3& down = centroids[std::min(count - 1, idx + 1)];
      if ((up - down).norm() > 1.0) sups[idx] = (up - down).normalized();
    }
    if (n == 26) continue;
    const std::string label = *labelFromVerseNumber(n);
    if (bodyMask) {
      auto it = bodyLabels.find(n);
      if (it != bodyLabels.end()) {
        bodyVoxels[idx] = it->second.offsets;
        continue;
      }
      model.warnings.push_back("body mask has no body for " + label +
                               ": cut from the vertebra mask instead");
    }
    needsCut[idx] = true;
    CanalHint found;
    std::vector<std::string> quiet;
    bodyVoxels[idx] =
        cutBody(mask, maskValue(n), labels[n], sups[idx], label, quiet, nullptr, &found);
    if (!bodyVoxels[idx].empty()) hints[idx] = found;
  }
  // Vertebrae whose ring is open in every slice: cut where the nearest neighbour's canal is.
  for (size_t idx = 0; idx < count; ++idx) {
    if (!needsCut[idx] || !bodyVoxels[idx].empty()) continue;
    const CanalHint* hint = nullptr;
    for (size_t d = 1; d < count && !hint; ++d) {
      if (idx >= d && hints[idx - d])
        hint = &*hints[idx - d];
      else if (idx + d < count && hints[idx + d])
        hint = &*hints[idx + d];
    }
    const int n = order[idx];
    bodyVoxels[idx] = cutBody(mask, maskValue(n), labels[n], sups[idx], *labelFromVerseNumber(n),
                              model.warnings, hint);
  }

  for (size_t idx = 0; idx < count; ++idx) {
    const int n = order[idx];
    const Voxels& vx = labels[n];
    Vertebra v;
    v.label = *labelFromVerseNumber(n);
    v.centroidLps = centroids[idx];
    bool edge = false;
    for (int d = 0; d < 3; ++d)
      if (vx.lo[d] == 0 || vx.hi[d] == g.size[d] - 1) edge = true;
    const std::vector<size_t>& body = bodyVoxels[idx];
    if (!body.empty()) {
      Vec3 s;
      for (size_t o : body) {
        model.bodies.data()[o] = static_cast<uint8_t>(n);
        s += worldOf(g, o);
      }
      v.bodyCentroidLps = s / double(body.size());
      v.bodyLabel = n;
    }
    const double bodyMl = body.size() * voxelMl;
    if (n == 26) {
      v.measurable = false;
      v.notMeasurableReason = "sacral segment: not graded";
    } else if (edge) {
      v.measurable = false;
      v.notMeasurableReason = "cut by the field of view";
    } else if (bodyMl < config.minBodyVolumeMl) {
      v.measurable = false;
      v.notMeasurableReason = "body too small to measure (" + fmt1(bodyMl) + " ml)";
    }
    model.vertebrae.push_back(std::move(v));
  }
  for (const auto& v : model.vertebrae)
    if (v.bodyCentroidLps) model.centrelineLps.push_back(*v.bodyCentroidLps);
  if (model.centrelineLps.size() < 2) model.centrelineLps.clear();
  return model;
}

}  // namespace spinescreen::spine
