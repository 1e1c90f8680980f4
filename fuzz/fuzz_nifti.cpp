// NIfTI reading: header checks and voxel reading must reject any byte string cleanly.
#include <cstdint>

#include "core/errors.h"
#include "fuzz_util.h"
#include "io/nifti.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = spinescreen::fuzz::writeScratch("input.nii", data, size);
  try {
    const auto study = spinescreen::io::readNiftiStudy(path);
    (void)study.volume.data().size();
  } catch (const spinescreen::Error&) {
  }
  return 0;
}
