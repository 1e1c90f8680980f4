// One exception hierarchy with an error code. Each boundary (CLI, HTTP, Orthanc) translates
// it exactly once; the CLI maps codes to the exit codes in contracts/CLI.md.
#pragma once

#include <stdexcept>
#include <string>

namespace spinescreen {

enum class ErrorCode {
  kInternal = 1,       // a bug
  kUsage = 2,          // bad arguments, unwritable output
  kInputInvalid = 3,   // missing, unreadable, truncated, corrupt, implausible size
  kInputUnsafe = 4,    // readable, but a geometry we cannot make safe (tilt, gaps, 4-D)
  kNotApplicable = 5,  // readable, but not CT, too few slices, no spine in view
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ErrorCode::kUsage, m) {}
};
struct InputError : Error {
  explicit InputError(const std::string& m) : Error(ErrorCode::kInputInvalid, m) {}
};
struct UnsafeGeometryError : Error {
  explicit UnsafeGeometryError(const std::string& m) : Error(ErrorCode::kInputUnsafe, m) {}
};
struct NotApplicableError : Error {
  explicit NotApplicableError(const std::string& m) : Error(ErrorCode::kNotApplicable, m) {}
};

// Process exit code of contracts/CLI.md for an error code.
inline int exitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUsage:
      return 2;
    case ErrorCode::kInputInvalid:
    case ErrorCode::kInputUnsafe:
      return 3;
    case ErrorCode::kNotApplicable:
      return 4;
    case ErrorCode::kInternal:
    default:
      return 1;
  }
}

}  // namespace spinescreen
