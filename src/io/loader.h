// Resolves an `analyze` INPUT (contracts/CLI.md) to one volume and reads it.
#pragma once

#include <string>

#include "core/study.h"

namespace spinescreen::io {

// A .nii/.nii.gz file, a DICOM file (its series, gathered from its folder; or an enhanced
// multi-frame CT), or a folder searched recursively (DICOM: the chosen series; else its one
// NIfTI volume). Throws InputError, UnsafeGeometryError or NotApplicableError.
LoadedStudy loadStudy(const std::string& input);

// What `analyze --list-series INPUT` prints: every candidate series with its key facts and why
// it was or was not chosen (never names or IDs). Throws InputError when INPUT does not exist.
std::string describeInput(const std::string& input);

bool hasNiftiExtension(const std::string& path);

}  // namespace spinescreen::io
