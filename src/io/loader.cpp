#include "io/loader.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/errors.h"
#include "io/nifti.h"

namespace spinescreen::io {
namespace fs = std::filesystem;

bool hasNiftiExtension(const std::string& path) {
  auto endsWith = [&](const std::string& s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return endsWith(".nii") || endsWith(".nii.gz");
}

LoadedStudy loadStudy(const std::string& input) {
  std::error_code ec;
  if (!fs::exists(input, ec)) throw InputError("input does not exist: " + input);
  if (fs::is_regular_file(input, ec)) {
    if (hasNiftiExtension(input)) return readNiftiStudy(input);
    throw InputError("not a NIfTI file and DICOM input is not supported yet: " + input);
  }
  if (fs::is_directory(input, ec)) {
    std::vector<std::string> niftis;
    for (auto it = fs::recursive_directory_iterator(
             input, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->is_regular_file(ec) && hasNiftiExtension(it->path().string()))
        niftis.push_back(it->path().string());
    }
    if (niftis.empty()) throw InputError("folder holds no DICOM series and no NIfTI volume: " + input);
    if (niftis.size() > 1) {
      std::sort(niftis.begin(), niftis.end());
      std::string names;
      for (const auto& n : niftis) names += (names.empty() ? "" : ", ") + n;
      throw InputError("folder holds several NIfTI volumes and no DICOM; name one: " + names);
    }
    LoadedStudy s = readNiftiStudy(niftis.front());
    s.info.path = input;
    return s;
  }
  throw InputError("input is neither a file nor a folder: " + input);
}

}  // namespace spinescreen::io
