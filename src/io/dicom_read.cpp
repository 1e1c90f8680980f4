// Reads a chosen DICOM series as HU on a regular LPS grid: pixels with GDCM (any transfer
// syntax GDCM decodes, e.g. JPEG 2000), slices sorted along the normal, spacing from the
// positions; variable spacing, gantry tilt and oblique stacks resampled (ITK, linear).
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmPixelFormat.h>
#include <itkAffineTransform.h>
#include <itkGDCMImageIO.h>
#include <itkImageFileReader.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "core/geometry.h"
#include "core/itk_bridge.h"
#include "io/dicom_series.h"
#include "io/limits.h"

namespace spinescreen::io {

namespace {

std::string fmt(double v, int decimals) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(decimals);
  os << v;
  return os.str();
}

double dsValue(const gdcm::DataSet& ds, uint16_t group, uint16_t element, double fallback) {
  const gdcm::Tag tag(group, element);
  if (!ds.FindDataElement(tag)) return fallback;
  const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
  if (!bv || bv->GetLength() == 0) return fallback;
  const std::string s(bv->GetPointer(), bv->GetLength());
  try {
    const double v = std::stod(s);
    return std::isfinite(v) ? v : fallback;
  } catch (...) {
    return fallback;
  }
}

int16_t toHu(double v) { return static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L)); }

template <class T>
void convertPixels(const char* raw, size_t n, unsigned bitsStored, unsigned bitsAllocated,
                   double slope, double intercept, int16_t* dst) {
  const T* src = reinterpret_cast<const T*>(raw);
  const bool mask = bitsStored > 0 && bitsStored < bitsAllocated && bitsAllocated <= 32;
  const bool integral = slope == 1.0 && intercept == std::floor(intercept);
  if (integral && !mask && sizeof(T) <= 2 && std::abs(intercept) < 65536) {
    // 8/16-bit pixels with an integer intercept: 32-bit arithmetic (vectorises).
    const auto offset = static_cast<int32_t>(intercept);
    for (size_t i = 0; i < n; ++i)
      dst[i] = static_cast<int16_t>(
          std::min(32767, std::max(-32768, static_cast<int32_t>(src[i]) + offset)));
    return;
  }
  if (integral && !mask) {
    const auto offset = static_cast<int64_t>(intercept);
    for (size_t i = 0; i < n; ++i)
      dst[i] = static_cast<int16_t>(
          std::clamp<int64_t>(static_cast<int64_t>(src[i]) + offset, -32768, 32767));
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    // NOLINTNEXTLINE(bugprone-signed-char-misuse): int8 pixels are numbers; sign extension wanted
    int64_t v = static_cast<int64_t>(src[i]);
    if (mask) {
      const uint64_t bits = static_cast<uint64_t>(v) & ((uint64_t{1} << bitsStored) - 1);
      if (std::is_signed<T>::value && (bits >> (bitsStored - 1)) & 1u)
        v = static_cast<int64_t>(bits) - (int64_t{1} << bitsStored);
      else
        v = static_cast<int64_t>(bits);
    }
    dst[i] = integral ? static_cast<int16_t>(
                            std::clamp<int64_t>(v + static_cast<int64_t>(intercept), -32768, 32767))
                      : toHu(static_cast<double>(v) * slope + intercept);
  }
}

// Converts n stored pixels of format pf to HU.
void convertAny(const gdcm::PixelFormat& pf, const char* raw, size_t n, double slope,
                double intercept, int16_t* dst, const std::string& path) {
  const unsigned bs = pf.GetBitsStored(), ba = pf.GetBitsAllocated();
  switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8:
      convertPixels<uint8_t>(raw, n, bs, ba, slope, intercept, dst);
      break;
    case gdcm::PixelFormat::INT8:
      convertPixels<int8_t>(raw, n, bs, ba, slope, intercept, dst);
      break;
    case gdcm::PixelFormat::UINT12:
    case gdcm::PixelFormat::UINT16:
      convertPixels<uint16_t>(raw, n, bs, ba, slope, intercept, dst);
      break;
    case gdcm::PixelFormat::INT12:
    case gdcm::PixelFormat::INT16:
      convertPixels<int16_t>(raw, n, bs, ba, slope, intercept, dst);
      break;
    case gdcm::PixelFormat::UINT32:
      convertPixels<uint32_t>(raw, n, bs, ba, slope, intercept, dst);
      break;
    case gdcm::PixelFormat::INT32:
      convertPixels<int32_t>(raw, n, bs, ba, slope, intercept, dst);
      break;
    default:
      throw InputError("unsupported DICOM pixel type (" + std::string(pf.GetScalarTypeAsString()) +
                       "): " + path);
  }
}

// Reads one single-frame slice into dst (cols*rows HU values).
void readSliceInto(const std::string& path, int64_t cols, int64_t rows, int16_t* dst) {
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  if (!reader.Read())
    throw InputError("cannot read DICOM pixel data (truncated or corrupt): " + path);
  const gdcm::Image& image = reader.GetImage();
  const unsigned* dims = image.GetDimensions();
  if (static_cast<int64_t>(dims[0]) != cols || static_cast<int64_t>(dims[1]) != rows)
    throw InputError("slice size differs from its series (" + std::to_string(dims[0]) + "x" +
                     std::to_string(dims[1]) + "): " + path);
  const gdcm::PixelFormat pf = image.GetPixelFormat();
  if (pf.GetSamplesPerPixel() != 1) throw InputError("colour DICOM image, not a CT slice: " + path);
  const size_t n = static_cast<size_t>(cols * rows);
  const size_t length = image.GetBufferLength();
  if (length < n * pf.GetPixelSize())
    throw InputError("DICOM pixel data shorter than its image size (truncated): " + path);
  // 16-bit pixels decode straight into the slice and convert in place.
  std::vector<char> scratch;
  char* raw = reinterpret_cast<char*>(dst);
  if (length != n * sizeof(int16_t)) {
    scratch.resize(length);
    raw = scratch.data();
  }
  if (!image.GetBuffer(raw))
    throw InputError(
        "cannot decode DICOM pixel data (truncated, corrupt or unsupported "
        "compression): " +
        path);
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  const double intercept = dsValue(ds, 0x0028, 0x1052, 0.0);
  double slope = dsValue(ds, 0x0028, 0x1053, 1.0);
  if (slope == 0.0) slope = 1.0;
  convertAny(pf, raw, n, slope, intercept, dst, path);
}

// Reads the listed frames of a multi-frame file: (frame index, destination, slope, intercept).
struct FrameTarget {
  int64_t frame;
  int16_t* dst;
  double slope;
  double intercept;
};
void readFramesInto(const std::string& path, int64_t cols, int64_t rows,
                    const std::vector<FrameTarget>& targets) {
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  if (!reader.Read())
    throw InputError("cannot read DICOM pixel data (truncated or corrupt): " + path);
  const gdcm::Image& image = reader.GetImage();
  const unsigned* dims = image.GetDimensions();
  const int64_t frames = image.GetNumberOfDimensions() > 2 ? dims[2] : 1;
  if (static_cast<int64_t>(dims[0]) != cols || static_cast<int64_t>(dims[1]) != rows)
    throw InputError("frame size differs from its header: " + path);
  const gdcm::PixelFormat pf = image.GetPixelFormat();
  if (pf.GetSamplesPerPixel() != 1) throw InputError("colour DICOM image, not CT: " + path);
  const size_t n = static_cast<size_t>(cols * rows);
  const size_t frameBytes = n * pf.GetPixelSize();
  std::vector<char> raw(image.GetBufferLength());
  if (raw.size() < frameBytes * static_cast<size_t>(frames) || !image.GetBuffer(raw.data()))
    throw InputError("cannot decode multi-frame DICOM pixel data (truncated or corrupt): " + path);
  for (const auto& t : targets) {
    if (t.frame < 0 || t.frame >= frames)
      throw InputError("frame " + std::to_string(t.frame) + " missing from " + path);
    convertAny(pf, raw.data() + static_cast<size_t>(t.frame) * frameBytes, n, t.slope, t.intercept,
               t.dst, path);
  }
}

// Reads every slice (in the given order) into one buffer, in parallel.
std::vector<int16_t> readSlices(const std::vector<DicomSlice>& slices, int64_t cols, int64_t rows) {
  const size_t sliceVoxels = static_cast<size_t>(cols * rows);
  std::vector<int16_t> buffer(sliceVoxels * slices.size());
  std::atomic<size_t> next{0};
  std::mutex errorMutex;
  std::string error;
  bool failed = false;
  // Work units: a single-frame file, or all wanted frames of one multi-frame file.
  std::vector<std::vector<size_t>> units;
  std::map<std::string, size_t> unitOfFile;
  for (size_t k = 0; k < slices.size(); ++k) {
    if (slices[k].frame < 0) {
      units.push_back({k});
      continue;
    }
    auto it = unitOfFile.find(slices[k].path);
    if (it == unitOfFile.end()) {
      it = unitOfFile.emplace(slices[k].path, units.size()).first;
      units.emplace_back();
    }
    units[it->second].push_back(k);
  }
  auto readUnit = [&](const std::vector<size_t>& unit) {
    const DicomSlice& first = slices[unit.front()];
    if (first.frame < 0) {
      readSliceInto(first.path, cols, rows, buffer.data() + unit.front() * sliceVoxels);
      return;
    }
    std::vector<FrameTarget> targets;
    for (size_t k : unit) {
      double slope = slices[k].rescaleSlope.value_or(1.0);
      if (slope == 0.0) slope = 1.0;
      targets.push_back({slices[k].frame, buffer.data() + k * sliceVoxels, slope,
                         slices[k].rescaleIntercept.value_or(0.0)});
    }
    readFramesInto(first.path, cols, rows, targets);
  };
  auto work = [&] {
    for (size_t u = next++; u < units.size(); u = next++) {
      try {
        readUnit(units[u]);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(errorMutex);
        if (!failed) error = e.what();
        failed = true;
        next = units.size();
      }
    }
  };
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const unsigned workers = std::min<unsigned>({hw, 8u, static_cast<unsigned>(units.size())});
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed) throw InputError(error);
  return buffer;
}

void fillInfo(const SeriesCandidate& c, LoadedStudy& s) {
  const SeriesFacts& f = c.facts;
  StudyInfo& info = s.info;
  info.format = "dicom";
  info.modality = f.modality.empty() ? "CT" : f.modality;
  if (!f.studyInstanceUid.empty()) info.studyInstanceUid = f.studyInstanceUid;
  if (!f.seriesInstanceUid.empty()) info.seriesInstanceUid = f.seriesInstanceUid;
  if (!f.seriesDescription.empty()) info.seriesDescription = f.seriesDescription;
  info.sliceThicknessMm = f.sliceThicknessMm;
  info.contrast = f.contrast;
  info.kvp = f.kvp;
  info.patientAgeYears = f.patientAgeYears;
  info.patientSex = f.patientSex;
  if (!f.manufacturer.empty()) info.manufacturer = f.manufacturer;
  if (!f.kernel.empty()) info.convolutionKernel = f.kernel;
  if (!f.sopClassUid.empty()) info.sopClassUid = f.sopClassUid;
  for (const auto& sl : c.slices)
    if (!sl.sopInstanceUid.empty() &&
        (info.sopInstanceUids.empty() || info.sopInstanceUids.back() != sl.sopInstanceUid))
      info.sopInstanceUids.push_back(sl.sopInstanceUid);
  s.identity = c.identity;
}

// An enhanced (multi-frame) volume: GDCM through ITK knows its per-frame geometry.
LoadedStudy readMultiframe(const SeriesCandidate& c) {
  using FloatItk = itk::Image<float, 3>;
  auto io = itk::GDCMImageIO::New();
  auto reader = itk::ImageFileReader<FloatItk>::New();
  reader->SetImageIO(io);
  reader->SetFileName(c.slices.front().path);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError("cannot read multi-frame DICOM " + c.slices.front().path + ": " +
                     e.GetDescription());
  }
  FloatItk::Pointer img = reader->GetOutput();
  LoadedStudy s;
  s.volume = HuVolume(gridFromItk(img));
  checkPlausibleGrid(s.volume.grid(), c.slices.front().path);
  const float* buf = img->GetBufferPointer();
  auto& out = s.volume.data();
  for (size_t i = 0; i < out.size(); ++i) out[i] = toHu(std::isfinite(buf[i]) ? buf[i] : -1024.0);
  fillInfo(c, s);
  s.info.notes.emplace_back("enhanced multi-frame DICOM read as one volume");
  return s;
}

// The nearest axis-aligned direction (signed permutation) to an orthonormal frame; false when
// two axes would map to the same patient axis.
bool nearestAxisAligned(const Vec3 axes[3], Mat3& out) {
  bool used[3] = {false, false, false};
  for (int a = 0; a < 3; ++a) {
    int best = 0;
    for (int k = 1; k < 3; ++k)
      if (std::abs(axes[a][k]) > std::abs(axes[a][best])) best = k;
    if (used[best]) return false;
    used[best] = true;
    for (int k = 0; k < 3; ++k) out.m[k][a] = (k == best) ? (axes[a][k] < 0 ? -1.0 : 1.0) : 0.0;
  }
  return true;
}

double obliquityDeg(const Vec3 axes[3]) {
  double worst = 0.0;
  for (int a = 0; a < 3; ++a) {
    double m = 0.0;
    for (int k = 0; k < 3; ++k) m = std::max(m, std::abs(axes[a][k]));
    worst = std::max(worst, std::acos(std::min(1.0, m)) * 180.0 / kPi);
  }
  return worst;
}

}  // namespace

LoadedStudy readDicomSeries(const SeriesCandidate& c) {
  if (c.slices.empty()) throw InputError("empty DICOM series");
  if (c.enhancedMultiframe && c.slices.size() == 1) return readMultiframe(c);
  const SeriesFacts& f = c.facts;
  const std::string where = "DICOM series in " + c.slices.front().path;
  const int64_t cols = f.columns, rows = f.rows;
  if (cols <= 0 || rows <= 0) throw InputError("DICOM series has no image size: " + where);
  if (!f.rowDirection || !f.columnDirection)
    throw UnsafeGeometryError("DICOM series lacks ImageOrientationPatient: " + where);
  if (!f.pixelSpacingRow || !f.pixelSpacingColumn || *f.pixelSpacingRow <= 0 ||
      *f.pixelSpacingColumn <= 0)
    throw UnsafeGeometryError("DICOM series lacks a valid PixelSpacing: " + where);
  const Vec3 r = f.rowDirection->normalized(), cdir = f.columnDirection->normalized();
  if (r.norm() < 0.5 || cdir.norm() < 0.5 || std::abs(r.dot(cdir)) > 1e-3)
    throw UnsafeGeometryError("DICOM ImageOrientationPatient is not two orthogonal unit vectors: " +
                              where);
  const Vec3 n = r.cross(cdir).normalized();
  const double dx = *f.pixelSpacingColumn, dy = *f.pixelSpacingRow;
  const size_t count = c.slices.size();
  if (count < 2) throw NotApplicableError("a single-slice DICOM series; a volume is needed");
  for (const auto& s : c.slices)
    if (!s.position) throw UnsafeGeometryError("a slice lacks ImagePositionPatient: " + s.path);
  checkPlausibleSize({cols, rows, static_cast<int64_t>(count)}, where);

  // Positions along the stack: duplicates, collinearity, gaps.
  const Vec3 p0 = *c.slices.front().position;
  for (size_t k = 1; k < count; ++k) {
    const double gap = (*c.slices[k].position - *c.slices[k - 1].position).dot(n);
    if (gap < 0.01)
      throw UnsafeGeometryError(
          "duplicated slice positions (two slices at " + fmt(c.slices[k].position->dot(n), 2) +
          " mm along the normal): several phases or reconstructions mixed in one series");
  }
  const Vec3 span = *c.slices.back().position - p0;
  const Vec3 v = span.normalized();
  const double cosTilt = std::clamp(v.dot(n), -1.0, 1.0);
  const double tiltDeg = std::acos(cosTilt) * 180.0 / kPi;
  std::vector<double> t(count);
  double worstResidual = 0.0;
  for (size_t k = 0; k < count; ++k) {
    const Vec3 d = *c.slices[k].position - p0;
    t[k] = d.dot(v);
    worstResidual = std::max(worstResidual, (d - v * t[k]).norm());
  }
  std::vector<double> gaps(count - 1);
  for (size_t k = 1; k < count; ++k) gaps[k - 1] = t[k] - t[k - 1];
  std::vector<double> sorted = gaps;
  std::sort(sorted.begin(), sorted.end());
  const double medianGap = sorted[sorted.size() / 2];
  const double tol = std::max(0.1, 0.02 * medianGap);
  if (worstResidual > std::max(0.5, 0.25 * medianGap))
    throw UnsafeGeometryError("slice positions do not lie on one line (off by " +
                              fmt(worstResidual, 1) + " mm): " + where);
  if (tiltDeg > 45.0)
    throw UnsafeGeometryError("slices advance " + fmt(tiltDeg, 1) +
                              " deg away from their normal; too sheared to correct");

  std::vector<std::string> notes;
  bool uniform = true;
  for (double g : gaps)
    if (std::abs(g - medianGap) > tol) uniform = false;
  double step = (t.back() - t.front()) / static_cast<double>(count - 1);
  if (!uniform) {
    // Missing slices: isolated gaps that are multiples of an otherwise regular spacing.
    size_t big = 0, regular = 0;
    size_t firstBig = 0;
    for (size_t k = 0; k < gaps.size(); ++k) {
      if (gaps[k] > 1.5 * medianGap) {
        if (big++ == 0) firstBig = k;
      } else if (std::abs(gaps[k] - medianGap) <= tol) {
        ++regular;
      }
    }
    if (big > 0 && big + regular == gaps.size()) {
      const long missing = std::lround(gaps[firstBig] / medianGap) - 1;
      throw UnsafeGeometryError("missing slices: a gap of " + fmt(gaps[firstBig] * cosTilt, 2) +
                                " mm between slices " + std::to_string(firstBig + 1) + " and " +
                                std::to_string(firstBig + 2) + " where the spacing is " +
                                fmt(medianGap * cosTilt, 2) + " mm (about " +
                                std::to_string(std::max(1L, missing)) + " slice(s) missing" +
                                (big > 1 ? ", " + std::to_string(big) + " gaps in all" : "") + ")");
    }
    if (sorted.back() > 3.0 * medianGap || sorted.back() * cosTilt > 10.0)
      throw UnsafeGeometryError("slice spacing varies from " + fmt(sorted.front() * cosTilt, 2) +
                                " to " + fmt(sorted.back() * cosTilt, 2) +
                                " mm; too irregular to resample safely");
    step = medianGap;
    notes.push_back("non-uniform slice spacing (" + fmt(sorted.front() * cosTilt, 2) + " to " +
                    fmt(sorted.back() * cosTilt, 2) + " mm) resampled linearly to " +
                    fmt(step * cosTilt, 2) + " mm");
  }

  std::vector<int16_t> stack = readSlices(c.slices, cols, rows);
  const size_t sliceVoxels = static_cast<size_t>(cols * rows);
  size_t outSlices = count;
  if (!uniform) {
    // Linear interpolation along the stack onto positions 0, step, 2*step, ...
    outSlices = static_cast<size_t>(std::floor((t.back() - t.front()) / step + 1e-6)) + 1;
    checkPlausibleSize({cols, rows, static_cast<int64_t>(outSlices)}, where);
    std::vector<int16_t> regular(sliceVoxels * outSlices);
    size_t seg = 0;
    for (size_t k = 0; k < outSlices; ++k) {
      const double tk = t.front() + step * static_cast<double>(k);
      while (seg + 2 < count && t[seg + 1] < tk) ++seg;
      const double w = std::clamp((tk - t[seg]) / (t[seg + 1] - t[seg]), 0.0, 1.0);
      const int16_t* a = stack.data() + seg * sliceVoxels;
      const int16_t* b = a + sliceVoxels;
      int16_t* o = regular.data() + k * sliceVoxels;
      for (size_t i = 0; i < sliceVoxels; ++i) o[i] = toHu(a[i] * (1.0 - w) + b[i] * w);
    }
    stack.swap(regular);
  }

  // The stack is now regular along v with `step`; spacing along the normal is step*cos(tilt).
  const double dn = step * cosTilt;
  const Vec3 axes[3] = {r, cdir, n};
  const double oblique = obliquityDeg(axes);
  const double shearMm = (t.back() - t.front()) * std::sqrt(std::max(0.0, 1.0 - cosTilt * cosTilt));
  const bool tilted = shearMm > 0.5 * std::min(dx, dy);
  const bool needsAxial = oblique > 1.0;

  LoadedStudy study;
  fillInfo(c, study);
  if (!tilted && !needsAxial) {
    Grid g;
    g.size = {cols, rows, static_cast<int64_t>(outSlices)};
    g.spacing = {dx, dy, dn};
    g.origin = p0;
    for (int a = 0; a < 3; ++a)
      for (int k = 0; k < 3; ++k) g.direction.m[k][a] = axes[a][k];
    checkPlausibleGrid(g, where);
    study.volume.grid() = g;  // adopt the slice buffer without a copy
    study.volume.data().swap(stack);
    study.info.notes.insert(study.info.notes.end(), notes.begin(), notes.end());
    return study;
  }

  // Resample onto an axis-aligned grid. The input is declared on the orthonormal frame
  // (r, c, n); its true voxel positions are sheared by the tilt: P = Q + ((Q - p0).n) s with
  // s = v / cos(tilt) - n. The resampler maps output points P to declared points Q.
  using ShortItk = itk::Image<int16_t, 3>;
  using FloatItk = itk::Image<float, 3>;
  auto in = ShortItk::New();
  {
    ShortItk::RegionType region;
    ShortItk::SizeType size;
    size[0] = static_cast<itk::SizeValueType>(cols);
    size[1] = static_cast<itk::SizeValueType>(rows);
    size[2] = static_cast<itk::SizeValueType>(outSlices);
    region.SetSize(size);
    in->SetRegions(region);
    ShortItk::SpacingType sp;
    sp[0] = dx;
    sp[1] = dy;
    sp[2] = dn;
    in->SetSpacing(sp);
    ShortItk::PointType origin;
    ShortItk::DirectionType dir;
    for (int k = 0; k < 3; ++k) {
      origin[k] = p0[k];
      for (int a = 0; a < 3; ++a) dir(k, a) = axes[a][k];
    }
    in->SetOrigin(origin);
    in->SetDirection(dir);
    in->Allocate();
    std::copy(stack.begin(), stack.end(), in->GetBufferPointer());
    std::vector<int16_t>().swap(stack);
  }
  const Vec3 s = tilted ? v / cosTilt - n : Vec3{};
  using Transform = itk::AffineTransform<double, 3>;
  auto transform = Transform::New();
  {
    Transform::MatrixType m;
    Transform::OutputVectorType offset;
    const double nDotP0 = n.dot(p0);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) m(i, j) = (i == j ? 1.0 : 0.0) - s[i] * n[j];
      offset[i] = s[i] * nDotP0;
    }
    transform->SetMatrix(m);
    transform->SetOffset(offset);
  }

  Mat3 outDir;
  if (!nearestAxisAligned(axes, outDir))
    throw UnsafeGeometryError("slice orientation is too oblique to map onto patient axes: " +
                              where);
  const double spacing[3] = {dx, dy, dn};
  // Bounding box of the true corners in the output frame.
  double lo[3] = {1e300, 1e300, 1e300}, hi[3] = {-1e300, -1e300, -1e300};
  for (int corner = 0; corner < 8; ++corner) {
    const double i = (corner & 1) ? static_cast<double>(cols - 1) : 0.0;
    const double j = (corner & 2) ? static_cast<double>(rows - 1) : 0.0;
    const double k = (corner & 4) ? static_cast<double>(outSlices - 1) : 0.0;
    const Vec3 p = p0 + r * (i * dx) + cdir * (j * dy) + v * (k * step);
    for (int a = 0; a < 3; ++a) {
      const double u = outDir.column(a).dot(p);
      lo[a] = std::min(lo[a], u);
      hi[a] = std::max(hi[a], u);
    }
  }
  Grid g;
  g.direction = outDir;
  Vec3 origin{};
  for (int a = 0; a < 3; ++a) {
    g.spacing[a] = spacing[a];
    g.size[a] = static_cast<int64_t>(std::floor((hi[a] - lo[a]) / spacing[a] + 1e-6)) + 1;
    origin += outDir.column(a) * lo[a];
  }
  g.origin = origin;
  checkPlausibleGrid(g, where);

  using Resample = itk::ResampleImageFilter<ShortItk, FloatItk, double>;
  auto resample = Resample::New();
  resample->SetInput(in);
  resample->SetTransform(transform);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<ShortItk, double>::New());
  resample->SetDefaultPixelValue(-1024.0f);
  {
    FloatItk::SizeType size;
    FloatItk::SpacingType sp;
    FloatItk::PointType o;
    FloatItk::DirectionType dir;
    for (int a = 0; a < 3; ++a) {
      size[a] = static_cast<itk::SizeValueType>(g.size[a]);
      sp[a] = g.spacing[a];
      o[a] = g.origin[a];
      for (int k = 0; k < 3; ++k) dir(k, a) = g.direction.m[k][a];
    }
    resample->SetSize(size);
    resample->SetOutputSpacing(sp);
    resample->SetOutputOrigin(o);
    resample->SetOutputDirection(dir);
  }
  try {
    resample->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(std::string("resampling failed: ") + e.GetDescription());
  }
  study.volume = HuVolume(g);
  const float* buf = resample->GetOutput()->GetBufferPointer();
  auto& out = study.volume.data();
  for (size_t i = 0; i < out.size(); ++i) out[i] = toHu(buf[i]);
  if (tilted)
    notes.push_back("gantry tilt " + fmt(tiltDeg, 1) +
                    " deg corrected: resampled linearly to an axis-aligned grid");
  else
    notes.push_back("oblique slice orientation (" + fmt(oblique, 1) +
                    " deg) resampled linearly to an axis-aligned grid");
  study.info.notes.insert(study.info.notes.end(), notes.begin(), notes.end());
  return study;
}

}  // namespace spinescreen::io
