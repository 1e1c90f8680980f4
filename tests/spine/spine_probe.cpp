// Development probe for the spine stage: runs locateSpine on a NIfTI CT, prints the
// vertebrae, compares them with a reference label map and writes a sagittal PNG overlay.
//   spine_probe CT.nii.gz [--ref MAP.nii.gz --map 19:T12,20:L1,...] [--png OUT.png]
#include <png.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "io/nifti.h"
#include "spine/spine_locator.h"

using namespace spinescreen;

namespace {

void writePng(const std::string& path, int w, int h, const std::vector<uint8_t>& rgb) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < h; ++y)
    png_write_row(png, const_cast<png_bytep>(&rgb[static_cast<size_t>(y * w * 3)]));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: spine_probe CT.nii.gz [--ref MAP --map v:LABEL,...] [--png OUT]\n";
    return 2;
  }
  std::string refPath, mapSpec, pngPath;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--ref") refPath = argv[i + 1];
    if (a == "--map") mapSpec = argv[i + 1];
    if (a == "--png") pngPath = argv[i + 1];
  }
  LoadedStudy study = io::readNiftiStudy(argv[1]);
  if (const char* up = std::getenv("PROBE_UPSAMPLE")) {
    // Timing: the same anatomy on a finer grid (e.g. 0.8 mm, 512 x 512 x 400).
    const double sp = std::atof(up);
    const Grid& g0 = study.volume.grid();
    Grid g;
    g.spacing = {sp, sp, sp};
    g.direction = g0.direction;
    g.origin = g0.origin;
    const Vec3 ext = g0.extentMm();
    g.size = {std::min<int64_t>(512, static_cast<int64_t>(ext.x / sp)),
              std::min<int64_t>(512, static_cast<int64_t>(ext.y / sp)),
              std::min<int64_t>(400, static_cast<int64_t>(ext.z / sp))};
    HuVolume fine(g, -1024);
    for (int64_t k = 0; k < g.size[2]; ++k)
      for (int64_t j = 0; j < g.size[1]; ++j)
        for (int64_t i = 0; i < g.size[0]; ++i)
          fine.at(i, j, k) = static_cast<int16_t>(sampleLinearLps(
              study.volume, g.indexToLps({double(i), double(j), double(k)}), -1024));
    study.volume = std::move(fine);
    std::cout << "upsampled to " << g.size[0] << "x" << g.size[1] << "x" << g.size[2] << "\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  SpineModel m;
  try {
    m = spine::locateSpine(study.volume);
  } catch (const Error& e) {
    std::cout << "error " << static_cast<int>(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "time_ms " << ms << "\n";
  for (const auto& w : m.warnings) std::cout << "warning: " << w << "\n";
  std::map<std::string, Vec3> refCentroid;
  if (!refPath.empty()) {
    const LoadedStudy ref = io::readNiftiStudy(refPath);
    std::map<int, std::string> names;
    std::stringstream ss(mapSpec);
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto c = item.find(':');
      names[std::stoi(item.substr(0, c))] = item.substr(c + 1);
    }
    std::map<int, std::pair<Vec3, int64_t>> acc;
    const Grid& rg = ref.volume.grid();
    for (int64_t k = 0; k < rg.size[2]; ++k)
      for (int64_t j = 0; j < rg.size[1]; ++j)
        for (int64_t i = 0; i < rg.size[0]; ++i) {
          const int v = ref.volume.at(i, j, k);
          if (!names.count(v)) continue;
          auto& a = acc[v];
          a.first += rg.indexToLps({double(i), double(j), double(k)});
          ++a.second;
        }
    for (auto& [v, a] : acc) refCentroid[names[v]] = a.first / static_cast<double>(a.second);
  }
  for (const auto& v : m.vertebrae) {
    std::printf("%-4s conf %.2f meas %d body %d  c (%.1f %.1f %.1f)", v.label.c_str(),
                v.labelConfidence.value_or(-1), v.measurable ? 1 : 0, v.bodyLabel, v.centroidLps.x,
                v.centroidLps.y, v.centroidLps.z);
    if (v.bodyCentroidLps)
      std::printf(" b (%.1f %.1f %.1f)", v.bodyCentroidLps->x, v.bodyCentroidLps->y,
                  v.bodyCentroidLps->z);
    if (v.axisSuperior)
      std::printf(" sup (%.2f %.2f %.2f) ant (%.2f %.2f %.2f)", v.axisSuperior->x,
                  v.axisSuperior->y, v.axisSuperior->z, v.axisAnterior->x, v.axisAnterior->y,
                  v.axisAnterior->z);
    auto it = refCentroid.find(v.label);
    if (it != refCentroid.end() && v.bodyCentroidLps)
      std::printf("  ref-body-err %.1f mm", (*v.bodyCentroidLps - it->second).norm());
    if (it != refCentroid.end())
      std::printf("  ref-centroid-err %.1f mm", (v.centroidLps - it->second).norm());
    if (!v.measurable) std::printf("  [%s]", v.notMeasurableReason.c_str());
    std::printf("\n");
  }
  for (auto& [name, c] : refCentroid) {
    bool found = false;
    for (const auto& v : m.vertebrae) found |= v.label == name;
    std::printf("ref %s (%.1f %.1f %.1f)%s\n", name.c_str(), c.x, c.y, c.z,
                found ? "" : " not reported");
  }
  if (!pngPath.empty()) {
    // Sagittal (and coronal) slices through the mean centreline, on an LPS grid of 1 mm.
    double mx = 0, my = 0;
    for (const auto& p : m.centrelineLps) {
      mx += p.x;
      my += p.y;
    }
    mx /= std::max<size_t>(1, m.centrelineLps.size());
    my /= std::max<size_t>(1, m.centrelineLps.size());
    const Grid& g = study.volume.grid();
    double zlo = 1e9, zhi = -1e9, ylo = 1e9, yhi = -1e9;
    for (int c = 0; c < 8; ++c) {
      const Vec3 p = g.indexToLps({(c & 1) ? g.size[0] - 1.0 : 0, (c & 2) ? g.size[1] - 1.0 : 0,
                                   (c & 4) ? g.size[2] - 1.0 : 0});
      zlo = std::min(zlo, p.z);
      zhi = std::max(zhi, p.z);
      ylo = std::min(ylo, p.y);
      yhi = std::max(yhi, p.y);
    }
    double zoom = 1.0;
    if (const char* zc = std::getenv("PROBE_CENTER")) {
      // Zoomed 100 mm panes around a point: x,y,z.
      double cx = 0, cy = 0, cz = 0;
      std::sscanf(zc, "%lf,%lf,%lf", &cx, &cy, &cz);
      zoom = 3.0;
      mx = cx;
      my = cy;
      ylo = cy - 50.0 / 1.0;
      yhi = ylo + 100.0 * zoom;
      zhi = cz + 50.0;
      zlo = zhi - 100.0 * zoom;
    }
    const int W = static_cast<int>(yhi - ylo) + 1, H = static_cast<int>(zhi - zlo) + 1;
    const int W2 = W * 2 + 10;
    std::vector<uint8_t> rgb(static_cast<size_t>(W2 * H * 3), 0);
    const uint8_t colors[8][3] = {{255, 0, 0},   {0, 255, 0},   {0, 0, 255},   {255, 255, 0},
                                  {255, 0, 255}, {0, 255, 255}, {255, 128, 0}, {128, 0, 255}};
    for (int pane = 0; pane < 2; ++pane)
      for (int r = 0; r < H; ++r)
        for (int col = 0; col < W; ++col) {
          Vec3 p;
          const char* axialZ = std::getenv("PROBE_AXIAL_Z");
          if (pane == 0)
            p = {mx, ylo + col / zoom, zhi - r / zoom};
          else if (!axialZ)
            p = {mx - W / 2.0 / zoom + col / zoom, my, zhi - r / zoom};
          else
            p = {mx - W / 2.0 / zoom + col / zoom, ylo + r / zoom, std::atof(axialZ)};
          const Vec3 idx = g.lpsToIndex(p);
          const double hu = sampleLinear(study.volume, idx, -1024);
          const double gv = std::clamp((hu + 200.0) / 1000.0 * 255.0, 0.0, 255.0);
          double c3[3] = {gv, gv, gv};
          const int64_t ii = std::lround(idx.x), jj = std::lround(idx.y), kk = std::lround(idx.z);
          const Vec3 bx = m.bodies.grid().lpsToIndex(p);
          const int64_t bi = std::lround(bx.x), bj = std::lround(bx.y), bk = std::lround(bx.z);
          if (g.contains(ii, jj, kk) && m.bodies.grid().contains(bi, bj, bk)) {
            int lab = m.bodies.at(bi, bj, bk);
            int wl = m.vertebraeMask.empty() ? 0 : m.vertebraeMask.at(bi, bj, bk);
            if (lab || wl) {
              const auto* cl = colors[(lab ? lab : wl) % 8];
              const double a = lab ? 0.4 : 0.15;
              for (int q = 0; q < 3; ++q) c3[q] = c3[q] * (1 - a) + cl[q] * a;
            }
          }
          const size_t o = static_cast<size_t>((r * W2 + col + pane * (W + 10)) * 3);
          for (int q = 0; q < 3; ++q) rgb[o + q] = static_cast<uint8_t>(c3[q]);
        }
    for (const auto& p : m.centrelineLps) {
      const int col = static_cast<int>((p.y - ylo) * zoom),
                r = static_cast<int>((zhi - p.z) * zoom);
      if (col >= 0 && col < W && r >= 0 && r < H)
        rgb[static_cast<size_t>((r * W2 + col) * 3 + 2)] = 255;
    }
    writePng(pngPath, W2, H, rgb);
  }
  return 0;
}
