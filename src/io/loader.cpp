#include "io/loader.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <vector>

#include "core/errors.h"
#include "io/dicom_series.h"
#include "io/nifti.h"

namespace spinescreen::io {
namespace fs = std::filesystem;

bool hasNiftiExtension(const std::string& path) {
  auto endsWith = [&](const std::string& s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return endsWith(".nii") || endsWith(".nii.gz");
}

namespace {

LoadedStudy loadFolderNifti(const std::string& input, std::vector<std::string> niftis) {
  if (niftis.empty())
    throw InputError("folder holds no DICOM series and no NIfTI volume: " + input);
  if (niftis.size() > 1) {
    std::sort(niftis.begin(), niftis.end());
    std::string names;
    for (const auto& n : niftis) names += (names.empty() ? "" : ", ") + n;
    throw InputError("folder holds several NIfTI volumes and no DICOM; name one: " + names);
  }
  return readNiftiStudy(niftis.front());
}

}  // namespace

LoadedStudy loadStudy(const std::string& input) {
  std::error_code ec;
  if (!fs::exists(input, ec)) throw InputError("input does not exist: " + input);
  if (fs::is_regular_file(input, ec)) {
    if (hasNiftiExtension(input)) return readNiftiStudy(input);
    LoadedStudy s = loadDicom(input);
    s.info.path = input;
    return s;
  }
  if (fs::is_directory(input, ec)) {
    Discovery d = discoverSeries(input);
    LoadedStudy s;
    if (d.series.empty() && d.unreadableDicom.empty()) {
      s = loadFolderNifti(input, d.niftiFiles);
    } else {
      if (!d.unreadableDicom.empty())
        throw InputError(std::to_string(d.unreadableDicom.size()) +
                         " DICOM file(s) cannot be read (truncated or corrupt), e.g. " +
                         d.unreadableDicom.front());
      const size_t chosen = chooseSeries(d);
      s = readDicomSeries(d.series[chosen]);
      if (d.series.size() > 1)
        s.info.notes.push_back("series chosen among " + std::to_string(d.series.size()) + ": " +
                               d.series[chosen].reason);
    }
    s.info.path = input;
    return s;
  }
  throw InputError("input is neither a file nor a folder: " + input);
}

std::string describeInput(const std::string& input) {
  std::error_code ec;
  if (!fs::exists(input, ec)) throw InputError("input does not exist: " + input);
  if (fs::is_regular_file(input, ec) && hasNiftiExtension(input))
    return "NIfTI volume (no series to choose): " + input + "\n";
  Discovery d = discoverSeries(input);
  std::ostringstream os;
  std::string verdict;
  if (d.series.empty() && d.unreadableDicom.empty()) {
    os << describeDiscovery(d);
    if (d.niftiFiles.size() == 1)
      os << "no DICOM; the NIfTI volume would be analysed: " << d.niftiFiles.front() << '\n';
    else if (d.niftiFiles.empty())
      os << "no DICOM series and no NIfTI volume\n";
    else
      os << "no DICOM and several NIfTI volumes: name one\n";
    return os.str();
  }
  try {
    chooseSeries(d);
  } catch (const Error& e) {
    verdict = std::string("no series qualifies: ") + e.what() + "\n";
  }
  os << describeDiscovery(d) << verdict;
  for (const auto& p : d.unreadableDicom) os << "  unreadable DICOM file: " << p << '\n';
  return os.str();
}

}  // namespace spinescreen::io
