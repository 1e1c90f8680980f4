// Writes a synthetic uncompressed CT series for the ingestion benchmark:
//   ingest_make_series OUTDIR [COLUMNS ROWS SLICES]
// A body-like ellipse of soft tissue with a spine-like bone column and noise, 0.8 mm pixels,
// 1 mm slices, written by io::writeDicomSeries (CT Image Storage, explicit VR little endian).
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "core/errors.h"
#include "io/dicom_writer.h"

using namespace spinescreen;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 5) {
    std::cerr << "usage: ingest_make_series OUTDIR [COLUMNS ROWS SLICES]\n";
    return 2;
  }
  const std::string out = argv[1];
  const int64_t nx = argc == 5 ? std::atoll(argv[2]) : 512;
  const int64_t ny = argc == 5 ? std::atoll(argv[3]) : 512;
  const int64_t nz = argc == 5 ? std::atoll(argv[4]) : 400;
  if (nx < 8 || ny < 8 || nz < 2 || nx > 4096 || ny > 4096 || nz > 4096) {
    std::cerr << "implausible size\n";
    return 2;
  }
  Grid g;
  g.size = {nx, ny, nz};
  g.spacing = {0.8, 0.8, 1.0};
  g.origin = {-0.4 * nx, -0.4 * ny, -1.0 * nz};
  HuVolume v(g, -1000);
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 12.0);
  const double cx = nx / 2.0, cy = ny / 2.0;
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const double ex = (i - cx) / (0.42 * nx), ey = (j - cy) / (0.32 * ny);
        double hu = -1000;
        if (ex * ex + ey * ey < 1.0) hu = 40;
        if (std::hypot(i - cx, j - (cy + 0.12 * ny)) < 0.05 * nx) hu = (k % 30 < 25) ? 250 : 80;
        v.at(i, j, k) = static_cast<int16_t>(std::lround(hu + noise(rng)));
      }
  io::DicomSeriesWriteOptions o;
  o.seriesDescription = "ingestion benchmark";
  o.kvp = 120;
  try {
    io::writeDicomSeries(v, o, out);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
