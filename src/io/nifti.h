// NIfTI-1 volumes (.nii, .nii.gz), read as HU in LPS through ITK.
#pragma once

#include <string>

#include "core/image.h"
#include "core/study.h"

namespace spinescreen::io {

// Reads a 3-D NIfTI CT volume. Throws InputError for unreadable, truncated or implausible
// files, UnsafeGeometryError for 4-D and higher.
LoadedStudy readNiftiStudy(const std::string& path);

// Writes an image as NIfTI (compressed when the name ends in .gz).
void writeNifti(const HuVolume& volume, const std::string& path);
void writeNifti(const LabelImage& labels, const std::string& path);
void writeNifti(const FloatImage& image, const std::string& path);

}  // namespace spinescreen::io
