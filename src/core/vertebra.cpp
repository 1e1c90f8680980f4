#include "core/vertebra.h"

namespace spinescreen {

const char* toString(Morphology m) {
  switch (m) {
    case Morphology::kNormal:
      return "normal";
    case Morphology::kWedge:
      return "wedge";
    case Morphology::kBiconcave:
      return "biconcave";
    case Morphology::kCrush:
      return "crush";
  }
  return "normal";
}

}  // namespace spinescreen
