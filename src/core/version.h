#pragma once

namespace spinescreen {
inline constexpr const char* kToolName = "spinescreen";
inline constexpr const char* kVersion = "0.1.0";
}  // namespace spinescreen
