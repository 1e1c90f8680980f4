// A vertebra as the pipeline knows it; stages fill in their parts.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/geometry.h"

namespace spinescreen {

enum class Morphology { kNormal, kWedge, kBiconcave, kCrush };
const char* toString(Morphology m);

struct Heights {
  double anteriorMm = 0.0;
  double middleMm = 0.0;
  double posteriorMm = 0.0;
};

struct Vertebra {
  // Set by the spine model (or a user's mask).
  std::string label;                      // "T12", "L1", ...
  std::optional<double> labelConfidence;  // 0..1
  Vec3 centroidLps;                       // whole vertebra (body + posterior elements), VerSe
  std::optional<Vec3> bodyCentroidLps;    // the body alone
  bool measurable = true;
  std::string notMeasurableReason;  // why not, when !measurable
  int bodyLabel = 0;                // value of this body in SpineModel::bodies (0: none)
  // Local frame of the body: unit vectors (LPS) along the spine axis towards superior and
  // from the canal towards the front of the body. Absent when unknown.
  std::optional<Vec3> axisSuperior;
  std::optional<Vec3> axisAnterior;

  // Set by morphometry.
  std::optional<Heights> heights;
  // The points where the three heights were measured (inferior, superior endplate), for
  // drawing: anterior, middle, posterior.
  std::vector<std::pair<Vec3, Vec3>> heightSegmentsLps;
  std::optional<double> heightLoss;
  std::optional<int> genantGrade;
  std::optional<Morphology> morphology;
  std::optional<double> fractureProbability;
  std::vector<std::string> notes;

  // Set by density.
  std::optional<double> trabecularHu;
  std::optional<double> trabecularHuMedian;
  std::optional<int> trabecularVoxels;
};

}  // namespace spinescreen
