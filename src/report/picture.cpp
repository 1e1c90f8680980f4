#include "report/picture.h"

#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/errors.h"

namespace spinescreen::report {
namespace {

// 5x7 glyphs, one byte per row, bit 4 = leftmost column.
const std::map<char, std::array<uint8_t, 7>>& font() {
  static const std::map<char, std::array<uint8_t, 7>> f = {
      {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
      {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
      {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
      {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
      {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
      {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
      {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
      {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
      {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
      {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
      {'A', {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}},
      {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
      {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
      {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
      {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
      {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
      {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
      {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
      {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
      {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
      {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
      {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
      {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
      {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
      {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
      {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
      {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
      {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
      {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
      {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
      {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
      {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
      {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
      {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
      {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}},
      {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
      {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
      {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
      {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
      {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
      {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
      {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
      {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
      {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}},
      {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
      {'<', {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}},
      {'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}},
      {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
  };
  return f;
}

const uint8_t kWhite[3] = {255, 255, 255};
const uint8_t kGreen[3] = {60, 220, 60};
const uint8_t kOrange[3] = {255, 170, 0};
const uint8_t kRed[3] = {255, 40, 40};
const uint8_t kCyan[3] = {0, 230, 255};
const uint8_t kGrey[3] = {170, 170, 170};

void setPixel(RgbImage& img, int x, int y, const uint8_t c[3]) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  uint8_t* p = img.at(x, y);
  p[0] = c[0];
  p[1] = c[1];
  p[2] = c[2];
}

void blendPixel(RgbImage& img, int x, int y, const uint8_t c[3], double alpha) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  uint8_t* p = img.at(x, y);
  for (int k = 0; k < 3; ++k)
    p[k] = static_cast<uint8_t>(std::lround(p[k] * (1 - alpha) + c[k] * alpha));
}

void drawLine(RgbImage& img, double x0, double y0, double x1, double y1, const uint8_t c[3],
              int thickness = 2) {
  const double len = std::hypot(x1 - x0, y1 - y0);
  const int steps = std::max(1, static_cast<int>(std::ceil(len * 2)));
  for (int s = 0; s <= steps; ++s) {
    const double t = double(s) / steps;
    const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0)));
    const int y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
    for (int dx = 0; dx < thickness; ++dx)
      for (int dy = 0; dy < thickness; ++dy)
        setPixel(img, x + dx - thickness / 2, y + dy - thickness / 2, c);
  }
}

void fillRect(RgbImage& img, int x0, int y0, int x1, int y1, const uint8_t c[3]) {
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) setPixel(img, x, y, c);
}

std::string fmt0(double v) {
  std::ostringstream s;
  s << std::lround(v);
  return s.str();
}

// A curved planar reformation: one row per arclength step along the centreline, one column
// per step along the local anterior direction.
struct Reformat {
  double pixelMm = 1.0;
  std::vector<Vec3> centre, tangent, anterior;  // per row
  int columns = 0;
  double anteriorReachMm = 55.0;

  // Display position (column, row) of a world point: the nearest row's plane.
  std::pair<double, double> project(const Vec3& p) const {
    size_t best = 0;
    double bestD = 1e30;
    for (size_t r = 0; r < centre.size(); ++r) {
      const double d = (p - centre[r]).norm();
      if (d < bestD) {
        bestD = d;
        best = r;
      }
    }
    const Vec3 d = p - centre[best];
    const double along = d.dot(tangent[best]);  // towards caudal = down the picture
    const double u = d.dot(anterior[best]);
    return {(anteriorReachMm - u) / pixelMm, best + along / pixelMm};
  }
  Vec3 world(double col, double row) const {
    const int r = std::clamp(static_cast<int>(std::lround(row)), 0, int(centre.size()) - 1);
    const double u = anteriorReachMm - col * pixelMm;
    return centre[r] + anterior[r] * u;
  }
};

std::vector<Vec3> columnPath(const SpineModel& model, const HuVolume& volume) {
  std::vector<Vec3> pts = model.centrelineLps;
  if (pts.size() < 2) {
    pts.clear();
    for (const auto& v : model.vertebrae)
      pts.push_back(v.bodyCentroidLps ? *v.bodyCentroidLps : v.centroidLps);
  }
  if (pts.empty()) {
    const Size3& s = volume.size();
    pts.push_back(volume.grid().indexToLps({s[0] / 2.0, s[1] / 2.0, s[2] / 2.0}));
  }
  if (pts.size() == 1) {
    const Vec3 c = pts[0];
    pts = {c + Vec3{0, 0, 40}, c - Vec3{0, 0, 40}};
  }
  // Cranial first.
  if (pts.front().z < pts.back().z) std::reverse(pts.begin(), pts.end());
  // Extend beyond both ends so the end vertebrae are shown whole, along the direction of the
  // last few points (one body's centroid, pulled by a wedge, would tilt the extension).
  const size_t m = std::min<size_t>(pts.size() - 1, 3);
  const Vec3 up = (pts[0] - pts[m]).normalized();
  const Vec3 down = (pts[pts.size() - 1] - pts[pts.size() - 1 - m]).normalized();
  pts.insert(pts.begin(), pts.front() + up * 45.0);
  pts.push_back(pts.back() + down * 45.0);
  return pts;
}

Reformat buildReformat(const std::vector<Vec3>& path, const PictureOptions& o) {
  double total = 0.0;
  for (size_t i = 1; i < path.size(); ++i) total += (path[i] - path[i - 1]).norm();
  Reformat rf;
  rf.pixelMm = std::clamp(total / o.targetHeightPx, 0.25, 1.0);
  rf.anteriorReachMm = o.anteriorReachMm;
  rf.columns = static_cast<int>((o.anteriorReachMm + o.posteriorReachMm) / rf.pixelMm);
  // Points at equal arclength.
  size_t seg = 0;
  double segStart = 0.0;
  for (double s = 0.0; s <= total; s += rf.pixelMm) {
    while (seg + 1 < path.size() - 1 && s > segStart + (path[seg + 1] - path[seg]).norm()) {
      segStart += (path[seg + 1] - path[seg]).norm();
      ++seg;
    }
    const double len = std::max(1e-9, (path[seg + 1] - path[seg]).norm());
    const double t = std::clamp((s - segStart) / len, 0.0, 1.0);
    rf.centre.push_back(path[seg] + (path[seg + 1] - path[seg]) * t);
  }
  // Smooth the centre and tangent over about 30 mm so the picture does not kink at the
  // polyline's corners.
  const int half = std::max(1, static_cast<int>(30.0 / rf.pixelMm));
  const int n = static_cast<int>(rf.centre.size());
  std::vector<Vec3> smooth(n);
  for (int i = 0; i < n; ++i) {
    Vec3 s;
    int c = 0;
    for (int k = std::max(0, i - half); k <= std::min(n - 1, i + half); ++k, ++c) s += rf.centre[k];
    smooth[i] = s / double(c);
  }
  rf.centre = smooth;
  for (int i = 0; i < n; ++i) {
    const Vec3 a = rf.centre[std::min(n - 1, i + half)], b = rf.centre[std::max(0, i - half)];
    Vec3 t = (a - b).normalized();  // cranial -> caudal
    if (t.norm() < 0.5) t = {0, 0, -1};
    rf.tangent.push_back(t);
    Vec3 ant = Vec3{0, -1, 0} - t * Vec3{0, -1, 0}.dot(t);
    rf.anterior.push_back(ant.normalized());
  }
  return rf;
}

const uint8_t* gradeColour(const Vertebra& v) {
  if (!v.measurable || !v.genantGrade) return kGrey;
  if (*v.genantGrade >= 2) return kRed;
  if (*v.genantGrade == 1) return kOrange;
  return kGreen;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

int drawText(RgbImage& img, int x, int y, const std::string& text, const uint8_t rgb[3],
             int scale) {
  const auto& f = font();
  int cx = x;
  for (char ch : text) {
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto it = f.find(c);
    if (it != f.end()) {
      for (int row = 0; row < 7; ++row)
        for (int col = 0; col < 5; ++col)
          if (it->second[row] & (0x10 >> col))
            for (int a = 0; a < scale; ++a)
              for (int b = 0; b < scale; ++b)
                setPixel(img, cx + col * scale + a, y + row * scale + b, rgb);
    }
    cx += 6 * scale;
  }
  return cx - x;
}

RgbImage renderSagittal(const HuVolume& volume, const SpineModel& model,
                        const PatientFindings& patient, const PictureOptions& o) {
  const Reformat rf = buildReformat(columnPath(model, volume), o);
  // Label column on the left; black on the right when the text needs more width.
  const int margin = 220;
  const int header = 40, legendH = 140;
  const int w = std::max(margin + rf.columns, 600);
  const int h = header + static_cast<int>(rf.centre.size()) + legendH;
  RgbImage img(w, h);
  const double lo = o.windowLevelHu - o.windowWidthHu / 2.0;
  const bool bodiesOnGrid = !model.bodies.empty();
  std::map<int, const Vertebra*> byBody;
  for (const auto& v : model.vertebrae)
    if (v.bodyLabel) byBody[v.bodyLabel] = &v;

  // Image in the bone window, with fractured bodies tinted.
  for (int r = 0; r < static_cast<int>(rf.centre.size()); ++r)
    for (int c = 0; c < rf.columns; ++c) {
      const Vec3 p = rf.world(c, r);
      const double hu = sampleLinearLps(volume, p, -1024.0);
      const double g = std::clamp((hu - lo) / o.windowWidthHu, 0.0, 1.0);
      const uint8_t grey = static_cast<uint8_t>(std::lround(g * 255));
      const uint8_t px[3] = {grey, grey, grey};
      setPixel(img, margin + c, header + r, px);
      if (bodiesOnGrid) {
        const Vec3 idx = model.bodies.grid().lpsToIndex(p);
        const int lab =
            model.bodies.valueOr(std::llround(idx.x), std::llround(idx.y), std::llround(idx.z), 0);
        auto it = byBody.find(lab);
        if (it != byBody.end() && it->second->genantGrade && *it->second->genantGrade >= 1)
          blendPixel(img, margin + c, header + r, gradeColour(*it->second), 0.35);
      }
    }
  auto toDisplay = [&](const Vec3& p) {
    const auto cr = rf.project(p);
    return std::make_pair(margin + cr.first, header + cr.second);
  };

  // Per vertebra: label, heights, grade.
  for (const auto& v : model.vertebrae) {
    const Vec3 centre = v.bodyCentroidLps ? *v.bodyCentroidLps : v.centroidLps;
    const auto [cx, cy] = toDisplay(centre);
    if (cy < header || cy >= h - legendH) continue;
    const uint8_t* colour = gradeColour(v);
    std::string text = v.label;
    if (v.measurable && v.genantGrade) {
      text += " G" + std::to_string(*v.genantGrade);
      if (*v.genantGrade >= 1 && v.morphology) text += " " + upper(toString(*v.morphology));
      if (v.heightLoss) text += " " + fmt0(*v.heightLoss * 100) + "%";
    } else if (!v.measurable) {
      text += " N/M";
    }
    drawText(img, 8, static_cast<int>(cy) - 7, text, colour, 2);
    // A tick from the label column to the body.
    drawLine(img, margin - 6, cy, margin + 4, cy, colour, 2);
    for (const auto& seg : v.heightSegmentsLps) {
      const auto [x0, y0] = toDisplay(seg.first);
      const auto [x1, y1] = toDisplay(seg.second);
      drawLine(img, x0, y0, x1, y1, colour, 2);
    }
  }

  // Density ROI: the body core used for trabecular HU (5 mm inside, anterior of the
  // posterior third), drawn as a box on the density level.
  std::string roiText = "DENSITY ROI: NONE";
  if (patient.densityLevel) {
    for (const auto& v : model.vertebrae) {
      if (v.label != *patient.densityLevel || v.heightSegmentsLps.size() != 3) continue;
      const auto a = toDisplay(v.heightSegmentsLps[0].first);
      const auto p = toDisplay(v.heightSegmentsLps[2].first);
      const auto mTop = toDisplay(v.heightSegmentsLps[1].second);
      const auto mBot = toDisplay(v.heightSegmentsLps[1].first);
      const double depthPx = (p.first - a.first) / 0.70;
      const double antWall = a.first - 0.15 * depthPx, postWall = p.first + 0.15 * depthPx;
      const double inset = 5.0 / rf.pixelMm;
      const double x0 = antWall + inset, x1 = postWall - depthPx / 3.0;
      const double yTop = std::min(mTop.second, mBot.second) + inset;
      const double yBot = std::max(mTop.second, mBot.second) - inset;
      if (x1 > x0 && yBot > yTop) {
        drawLine(img, x0, yTop, x1, yTop, kCyan, 1);
        drawLine(img, x0, yBot, x1, yBot, kCyan, 1);
        drawLine(img, x0, yTop, x0, yBot, kCyan, 1);
        drawLine(img, x1, yTop, x1, yBot, kCyan, 1);
      }
      roiText = "DENSITY ROI (" + v.label +
                "): " + (patient.densityHu ? fmt0(*patient.densityHu) + " HU" : std::string("-"));
    }
  }

  // Header and legend.
  fillRect(img, 0, 0, w, header, (const uint8_t[3]){0, 0, 0});
  drawText(img, 8, 6,
           "CURVED SAGITTAL  W" + fmt0(o.windowWidthHu) + " L" + fmt0(o.windowLevelHu) +
               "  ANTERIOR LEFT",
           kWhite, 2);
  const int ly = h - legendH + 8;
  fillRect(img, 0, h - legendH, w, h, (const uint8_t[3]){0, 0, 0});
  int x = 8;
  x += drawText(img, x, ly, "GRADE 0", kGreen, 2) + 18;
  x += drawText(img, x, ly, "GRADE 1", kOrange, 2) + 18;
  drawText(img, x, ly, "GRADE 2-3 FRACTURE", kRed, 2);
  drawText(img, 8, ly + 24, "N/M NOT MEASURED   LINES: HA / HM / HP", kGrey, 2);
  drawText(img, 8, ly + 48, roiText, kCyan, 2);
  std::string verdict = patient.fractureDetected ? "FRACTURE: " : "NO GRADE 2-3 FRACTURE";
  for (size_t i = 0; i < patient.fracturedLevels.size(); ++i)
    verdict += (i ? " " : "") + patient.fracturedLevels[i];
  verdict += patient.referralRecommended ? "   REFERRAL RECOMMENDED" : "   NO REFERRAL";
  drawText(img, 8, ly + 76, verdict, patient.referralRecommended ? kRed : kWhite, 2);
  drawText(img, 8, ly + 108, "NOT FOR DIAGNOSTIC USE WITHOUT REVIEW", kWhite, 2);
  return img;
}

std::vector<uint8_t> encodePng(const RgbImage& img) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    throw Error(ErrorCode::kInternal, "cannot initialise PNG writer");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw Error(ErrorCode::kInternal, "PNG encoding failed");
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t len) {
        auto* v = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(p));
        v->insert(v->end(), data, data + len);
      },
      nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(img.width), static_cast<png_uint_32>(img.height),
               8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < img.height; ++y) png_write_row(png, const_cast<png_bytep>(img.at(0, y)));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

void writeBytes(const std::vector<uint8_t>& bytes, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw UsageError("cannot write " + path);
  const size_t n = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool ok = std::fclose(f) == 0 && n == bytes.size();
  if (!ok) throw UsageError("cannot write " + path);
}

}  // namespace spinescreen::report
