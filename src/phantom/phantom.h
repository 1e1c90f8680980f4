// Synthetic CT phantoms of the trunk with known truth: a spine with curvature, vertebral
// bodies, discs, posterior elements, ribs, sternum, sacrum and pelvis inside a body with
// lungs, organs, vessels and fat, rendered in HU on an LPS grid with scanner blur and noise.
// Every random choice lives in PhantomSpec, so a case can be rebuilt exactly from its spec;
// randomSpec() draws one from a seed with a fixed generator and hand-written distributions.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/image.h"

namespace spinescreen::phantom {

enum class FovKind { kChest, kAbdomen, kAbdomenPelvis, kChestAbdomenPelvis, kThoracolumbar };
std::string toString(FovKind kind);
// "chest", "abdomen", "abdomen-pelvis", "cap", "thoracolumbar"; nullopt otherwise.
std::optional<FovKind> fovKindFromString(const std::string& name);

enum class FractureType { kNone, kWedge, kBiconcave, kCrush };
std::string toString(FractureType type);

// A focal endplate pit (mimic): a spherical-cap depression of one endplate.
struct SchmorlNode {
  bool superior = true;     // upper (true) or lower endplate
  double latMm = 0.0;       // lateral offset of its centre from the mid-sagittal plane
  double apFraction = 0.5;  // position along the body's depth, 0 = anterior wall
  double radiusMm = 4.0;
  double depthMm = 2.5;
};

// One mobile vertebra (C3 .. last lumbar), as intact anatomy plus any deformity.
struct VertebraSpec {
  std::string label;              // "C3".."C7", "T1".."T13", "L1".."L6"
  double heightMm = 20.0;         // intact posterior body height (at 85% of the depth)
  double depthMm = 25.0;          // body depth in the mid-sagittal plane
  double widthMm = 35.0;          // body width
  double discBelowMm = 6.0;       // disc thickness below, on the column centre line
  double physiologicWedge = 0.0;  // intact Ha/Hp = 1 - physiologicWedge
  double endplateConcavityMm = 0.7;
  FractureType fracture = FractureType::kNone;
  double fractureLoss = 0.0;  // fraction of Hp lost at the deepest point of the deformity
  double fractureSuperiorShare = 0.65;
  std::vector<SchmorlNode> schmorl;
  double trabecularHu = 150.0;  // mean trabecular HU of the body
  double cortexHu = 500.0;
  double cortexMm = 1.0;
  double ribLength = 0.0;     // 0 = no rib; 1 = full rib; < 0.35 a stump
  bool sacralised = false;    // large transverse processes fused with the sacrum
  double osteophyteMm = 0.0;  // anterolateral endplate spurs of this length (0 = none)
};

struct PhantomSpec {
  std::string caseId = "phantom_0000";
  uint64_t seed = 0;
  int caseIndex = 0;
  std::string variant;  // "" or a description of a transitional pattern

  std::vector<VertebraSpec> column;  // cranial to caudal, C3 .. last lumbar
  double sacrumTrabecularHu = 150.0;

  // Sagittal curvature (degrees) and scoliosis.
  double cervicalLordosisDeg = 25.0;
  double thoracicKyphosisDeg = 40.0;
  double lumbarLordosisDeg = 50.0;
  double sacralSlopeDeg = 38.0;
  double scoliosisMm = 0.0;           // signed peak lateral shift (+ = to the left)
  double scoliosisApex = 14.0;        // apex position, column index (0 = C3)
  double scoliosisSpan = 8.0;         // half-length in vertebrae
  double scoliosisRotationDeg = 0.0;  // axial rotation at the apex

  // Body habitus and soft tissue.
  double thoraxHalfWidthMm = 160.0;
  double thoraxHalfDepthMm = 115.0;
  double abdomenHalfWidthMm = 165.0;
  double abdomenHalfDepthMm = 120.0;
  double pelvisHalfWidthMm = 180.0;
  double subcutaneousFatMm = 20.0;
  double visceralFat = 0.4;  // 0..1
  double fatHu = -100.0;
  double muscleHu = 50.0;
  double liverHu = 60.0;
  double lungHu = -850.0;
  // Lowest point of the posterior costophrenic recesses, beside the column: below the centre
  // of the last thoracic vertebra by this fraction of the distance to the next one (negative:
  // above it).
  double lungRecessLevel = 0.3;
  double bowelGas = 0.3;  // 0..1

  // Vessels.
  bool contrast = false;
  double aortaLumenHu = 40.0;
  double aortaRadiusMm = 12.0;
  int aortaPlaques = 0;
  double ivcHu = 40.0;

  // Acquisition.
  FovKind fov = FovKind::kAbdomenPelvis;
  double fovTopJitter = 0.5;  // 0..1, where the top/bottom fall inside their ranges
  double fovBottomJitter = 0.5;
  double fovWidthMm = 380.0;     // in-plane field of view (square)
  int matrix = 512;              // in-plane voxels per side
  double centreOffsetXMm = 0.0;  // in-plane FOV centre relative to the body centre
  double centreOffsetYMm = 0.0;
  // Posterior edge of the field of view 75 + centreOffsetYMm mm behind the column's centre
  // line (centreOffsetYMm < 0 cuts the spinous processes).
  bool spineAtPosteriorEdge = false;
  double sliceSpacingMm = 3.0;
  double sliceThicknessMm = 3.0;
  double psfFwhmMm = 1.0;
  double noiseHu = 15.0;
  double kvp = 120.0;
  // Beam-hardening streak between the femoral heads (dark band, HU at its centre; 0 = none).
  double hipStreakHu = 0.0;
  double patientAgeYears = 70.0;
  std::string patientSex = "F";
  uint64_t textureSeed = 1;
  uint64_t noiseSeed = 2;
};

// Draws a complete case from (seed, caseIndex) deterministically.
PhantomSpec randomSpec(uint64_t seed, int caseIndex);
// Re-renders the same anatomy with another slice spacing (thickness = spacing).
void setSliceSpacing(PhantomSpec& spec, double sliceMm);
// Same anatomy with another field of view kind (keeps the spec's jitter values).
void setFov(PhantomSpec& spec, FovKind kind);
// Same anatomy and physical field of view on another in-plane matrix (voxels per side), so the
// in-plane voxels are fovWidthMm / matrix. Throws UsageError outside [kMinMatrix, kMaxMatrix].
constexpr int kMinMatrix = 64;
constexpr int kMaxMatrix = 1024;
void setMatrix(PhantomSpec& spec, int matrix);
// The `--small` preset: a 128 matrix (about 3 mm in-plane voxels) and no slices thinner than
// 3 mm, for cohort and throughput runs where the number of cases matters more than detail.
constexpr int kSmallMatrix = 128;
constexpr double kSmallMinSliceMm = 3.0;
void makeSmall(PhantomSpec& spec);

struct Heights {
  double anteriorMm = 0.0;
  double middleMm = 0.0;
  double posteriorMm = 0.0;
};

struct VertebraTruth {
  std::string label;
  int verseNumber = 0;
  Vec3 centroidLps;  // whole vertebra (body + posterior elements)
  std::optional<Vec3> bodyCentroidLps;
  std::optional<Heights> heights;  // null when the body is not wholly in view
  std::optional<int> genantGrade;
  std::optional<std::string> morphology;  // normal | wedge | biconcave | crush
  std::optional<double> trabecularHu;     // mean HU of the body interior >= 5 mm from its surface
  FractureType fracture = FractureType::kNone;  // what was modelled (for notes and tests)
};

struct PhantomTruth {
  std::string caseId;
  bool labelAnchor = true;
  Vec3 spacingMm;
  std::vector<VertebraTruth> vertebrae;  // in view, cranial to caudal
  std::optional<bool> anyFracture;
  std::optional<int> maxGrade;
  std::optional<double> l1TrabecularHu;
  std::string notes;
};

struct Phantom {
  PhantomSpec spec;
  Grid grid;             // the CT grid (also when not rendered)
  HuVolume ct;           // HU, LPS
  LabelImage vertebrae;  // whole vertebrae, VerSe numbering, on the CT grid (when requested)
  LabelImage bodies;     // vertebral bodies only, VerSe numbering
  PhantomTruth truth;
};

struct GenerateOptions {
  bool masks = true;
  bool render = true;  // false: truth and grid only (fast; the images stay empty)
};

// Renders a case. Throws UsageError for a spec that cannot be rendered.
Phantom generate(const PhantomSpec& spec, const GenerateOptions& options = {});

// The project's Genant rule (CLINICAL.md) applied to the heights of a cranial-to-caudal
// sequence: fills genantGrade and morphology of every vertebra that has heights.
void gradeByRule(std::vector<VertebraTruth>& vs);

// truth.json text (contracts/truth.schema.json).
std::string truthJson(const PhantomTruth& truth);

struct WriteOptions {
  bool masks = false;
  bool dicom = false;
};
// Writes DIR/truth.json (creating DIR).
void writeTruth(const PhantomTruth& truth, const std::string& caseDir);
// Writes DIR/ct.nii.gz, DIR/truth.json and optionally masks and a DICOM series.
void writeCase(const Phantom& phantom, const std::string& caseDir, const WriteOptions& options);

}  // namespace spinescreen::phantom

namespace spinescreen::phantom {

// What `spinescreen phantom` does: cases seed/0 .. seed/N-1 into DIR/<case_id>/.
struct RunOptions {
  std::string outDir;
  int cases = 1;
  uint64_t seed = 1;
  int firstIndex = 0;
  bool dicom = false;
  bool masks = false;
  bool truthOnly = false;  // write truth.json only (no rendering)
  std::optional<double> sliceMm;
  std::optional<std::string> fov;  // chest | abdomen | abdomen-pelvis | cap | thoracolumbar
  std::optional<int> matrix;       // in-plane voxels per side (the field of view stays in mm)
  bool small = false;              // makeSmall(); an explicit matrix or slice spacing wins
};
// Writes the cases and prints one line per case (no identifying data exists). Returns 0.
int runPhantom(const RunOptions& options, std::ostream& log);

}  // namespace spinescreen::phantom
