// Internal steps of the spine stage, exposed for tests: column tracking on the working
// copy, the centreline, and the disc profile.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace spinescreen::spine::detail {

// The column as tracked in the axial slices of the working (LPS, isotropic) volume.
struct ColumnTrack {
  int firstSlice = 0;  // lowest slice index (caudal) of the run
  int lastSlice = -1;  // highest slice index (cranial)
  // Per slice of the run (index k - firstSlice): body centre and canal centre (LPS mm).
  std::vector<Vec3> body;
  std::vector<Vec3> canal;
  std::vector<double> score;
  double meanScore = 0.0;
};

// A column candidate in one axial slice: in-plane position (mm, any common origin) and score.
struct TrackCandidate {
  double xMm = 0.0, yMm = 0.0, score = 0.0;
};
// Marks the candidates that have a twin mirrored across the body's midline (x = `midlineXMm`),
// at a similar depth and with at least half their score: one of a pair (sacral alae, kidneys),
// which the single column is not.
std::vector<bool> mirroredPairs(const std::vector<TrackCandidate>& cands, double midlineXMm);

// Finds the single best run of slices showing a vertebral column (body in front of a dark
// canal with bone behind it). Returns an empty track (lastSlice < firstSlice) when none.
ColumnTrack trackColumn(const HuVolume& work);

// A smooth curve sampled every `stepMm` from cranial to caudal, with unit tangents pointing
// caudally and unit anterior vectors (canal -> body, orthogonal to the tangent).
struct Centreline {
  double stepMm = 1.0;
  std::vector<Vec3> point;
  std::vector<Vec3> tangent;
  std::vector<Vec3> anterior;
  std::vector<Vec3> canal;  // canal centre near each point
};

Centreline buildCentreline(const ColumnTrack& track, double stepMm = 1.0);

// Median HU over a grid of parallel profiles through the body core along the centreline.
std::vector<double> bodyProfile(const HuVolume& volume, const Centreline& line);
// Cortical ring strength along the centreline: median over anterior and lateral rays of the
// brightest value within the body's rim. High through a body, low at a disc.
// `widthMm` (optional) receives the body's left-right width at each sample; `complete`
// (optional) 1 where every ray lay inside the field of view, 0 where some left it (the ring
// there is read low whatever the anatomy).
std::vector<double> ringProfile(const HuVolume& volume, const Centreline& line,
                                std::vector<double>* widthMm = nullptr,
                                std::vector<uint8_t>* complete = nullptr);

// Disc candidates along the profile: positions (index into the centreline) and strengths.
struct DiscFind {
  int index = 0;             // disc centre
  double strength = 0.0;     // depth of the valley between the two endplate ridges (HU)
  double cranialEdge = 0.0;  // inferior endplate of the vertebra above (index units)
  double caudalEdge = 0.0;   // superior endplate of the vertebra below
};
// A disc cut by the caudal end of the line: sought only when the line meets the edge of the
// field of view there (where the column itself ends, bone gives way to soft tissue, which is no
// disc), and counted when at least `minMm` of the disc is in view (3 mm, or the slice
// thickness when thicker: one thick slice blurs the endplate into the edge).
struct EndDiscs {
  bool caudal = false;
  double minMm = 3.0;
  // From ringProfile: the disc's ring must be seen whole over those `minMm`.
  const std::vector<uint8_t>* ringComplete = nullptr;
};
// `widthMm`: body width along the line; discs are at least about half a width apart.
std::vector<DiscFind> findDiscs(const std::vector<double>& profile, const std::vector<double>& ring,
                                const std::vector<double>& widthMm, double stepMm,
                                const EndDiscs& ends = {});

}  // namespace spinescreen::spine::detail
