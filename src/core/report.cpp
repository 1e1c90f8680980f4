#include "core/report.h"

namespace spinescreen {

const char* toString(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kNotApplicable:
      return "not_applicable";
    case Status::kFailed:
      return "failed";
  }
  return "failed";
}

const char* toString(DensityCategory c) {
  switch (c) {
    case DensityCategory::kNormal:
      return "normal";
    case DensityCategory::kLow:
      return "low";
    case DensityCategory::kOsteoporosisLikely:
      return "osteoporosis_likely";
    case DensityCategory::kIndeterminate:
      return "indeterminate";
  }
  return "indeterminate";
}

}  // namespace spinescreen
