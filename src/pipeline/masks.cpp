#include "pipeline/masks.h"

#include <array>
#include <cmath>

#include "core/labels.h"

namespace spinescreen::pipeline {

LabelImage verseBodyLabelMap(const SpineModel& model, const Grid& inputGrid) {
  std::array<uint8_t, 256> toVerse{};
  for (const Vertebra& v : model.vertebrae) {
    if (v.bodyLabel <= 0 || v.bodyLabel > 255) continue;
    if (const auto n = verseNumber(v.label))
      toVerse[static_cast<size_t>(v.bodyLabel)] = static_cast<uint8_t>(*n);
  }
  LabelImage out(inputGrid, 0);
  const LabelImage& bodies = model.bodies;
  if (bodies.empty()) return out;
  if (bodies.grid().sameGeometryAs(inputGrid)) {
    for (size_t i = 0; i < out.data().size(); ++i) out.data()[i] = toVerse[bodies.data()[i]];
    return out;
  }
  const Size3& s = inputGrid.size;
  for (int64_t k = 0; k < s[2]; ++k)
    for (int64_t j = 0; j < s[1]; ++j)
      for (int64_t i = 0; i < s[0]; ++i) {
        const Vec3 idx = bodies.grid().lpsToIndex(inputGrid.indexToLps(
            {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)}));
        const int64_t bi = std::llround(idx.x), bj = std::llround(idx.y), bk = std::llround(idx.z);
        if (bodies.grid().contains(bi, bj, bk)) out.at(i, j, k) = toVerse[bodies.at(bi, bj, bk)];
      }
  return out;
}

}  // namespace spinescreen::pipeline
