// Resolves an `analyze` INPUT (contracts/CLI.md) to one volume and reads it.
#pragma once

#include <string>

#include "core/study.h"

namespace spinescreen::io {

// A .nii/.nii.gz file, a DICOM file (its series, gathered from its folder; or an enhanced
// multi-frame CT), or a folder searched recursively (DICOM: the chosen series; else its one
// NIfTI volume). Throws InputError, UnsafeGeometryError or NotApplicableError.
LoadedStudy loadStudy(const std::string& input);

bool hasNiftiExtension(const std::string& path);

}  // namespace spinescreen::io
