// Writes small valid seed inputs for the fuzz targets into SEED_DIR/<target>/.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/image.h"
#include "io/dicom_writer.h"
#include "io/nifti.h"

using namespace spinescreen;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds SEED_DIR\n";
    return 2;
  }
  const fs::path root(argv[1]);
  Grid g;
  g.size = {8, 6, 3};
  g.spacing = {0.8, 0.8, 2.5};
  g.origin = {-3, -2, 100};
  HuVolume v(g, -1000);
  for (size_t i = 0; i < v.data().size(); ++i)
    v.data()[i] = static_cast<int16_t>(i * 7 % 1400 - 200);
  fs::create_directories(root / "nifti");
  io::writeNifti(v, (root / "nifti" / "small.nii").string());
  fs::create_directories(root / "dicom_series");
  io::DicomSeriesWriteOptions options;
  options.patientAgeYears = 67;
  const auto files = io::writeDicomSeries(v, options, (root / "dicom_series_tmp").string());
  int n = 0;
  for (const auto& f : files)
    fs::copy_file(f, root / "dicom_series" / ("slice" + std::to_string(n++) + ".dcm"),
                  fs::copy_options::overwrite_existing);
  fs::remove_all(root / "dicom_series_tmp");
  return 0;
}
