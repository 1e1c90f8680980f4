// The whole program on bad and awkward inputs: exit code, report.json status and a specific
// status_reason, within seconds (contracts/CLI.md "Status and exit code").
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/image.h"
#include "io/dicom_writer.h"
#include "io/nifti.h"
#include "support/run.h"
#include "support/schema.h"
#include "support/test_data.h"

using namespace spinescreen;
using namespace spinescreen::testing;
namespace fs = std::filesystem;

namespace {

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() / ("spinescreen_bad_input_" + std::string(info->name()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "in");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  fs::path in() const { return root_ / "in"; }
  fs::path out() const { return root_ / "out"; }

  // Runs analyze INPUT -o OUT; returns the exit code and loads report.json when written.
  int analyze(const fs::path& input) {
    const auto t0 = std::chrono::steady_clock::now();
    run_ = runSpinescreen("analyze " + shellQuote(input.string()) + " -o " +
                          shellQuote(out().string()));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(seconds, 30.0) << "bad input must be refused within seconds";
    report_ = nlohmann::json();
    if (fs::exists(out() / "report.json")) report_ = readJsonFile((out() / "report.json").string());
    return run_.exitCode;
  }
  std::string reason() const {
    return report_.is_object() ? report_.value("status_reason", std::string()) : std::string();
  }
  std::string status() const {
    return report_.is_object() ? report_.value("status", std::string()) : std::string();
  }

  fs::path root_;
  RunResult run_;
  nlohmann::json report_;
};

HuVolume phantom(Size3 size, Vec3 spacing) {
  Grid g;
  g.size = size;
  g.spacing = spacing;
  g.origin = {-size[0] * spacing.x / 2, -size[1] * spacing.y / 2, 0};
  HuVolume v(g, -1000);
  for (int64_t k = 0; k < size[2]; ++k)
    for (int64_t j = size[1] / 4; j < 3 * size[1] / 4; ++j)
      for (int64_t i = size[0] / 4; i < 3 * size[0] / 4; ++i) v.at(i, j, k) = 40;
  return v;
}

io::DicomSeriesWriteOptions seriesOptions(const std::string& description, int number) {
  io::DicomSeriesWriteOptions o;
  o.seriesDescription = description;
  o.seriesNumber = number;
  o.filePrefix = description;
  return o;
}

// A NIfTI-1 header (single file, int16) with the given dims, followed by `dataBytes` bytes.
void writeRawNifti(const fs::path& path, const std::vector<int16_t>& dims, size_t dataBytes) {
  std::vector<char> h(352, 0);
  auto put = [&](size_t offset, const void* p, size_t n) { std::memcpy(h.data() + offset, p, n); };
  const int32_t sizeofHdr = 348;
  put(0, &sizeofHdr, 4);
  int16_t dim[8] = {0, 1, 1, 1, 1, 1, 1, 1};
  dim[0] = static_cast<int16_t>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) dim[i + 1] = dims[i];
  put(40, dim, sizeof dim);
  const int16_t datatype = 4, bitpix = 16;
  put(70, &datatype, 2);
  put(72, &bitpix, 2);
  const float pixdim[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  put(76, pixdim, sizeof pixdim);
  const float voxOffset = 352, slope = 1;
  put(108, &voxOffset, 4);
  put(112, &slope, 4);
  put(344, "n+1\0", 4);
  std::ofstream f(path, std::ios::binary);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  const std::vector<char> zeros(std::min<size_t>(dataBytes, 1 << 24), 0);
  for (size_t left = dataBytes; left > 0;) {
    const size_t n = std::min(left, zeros.size());
    f.write(zeros.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
}

// A NIfTI-2 header (64-bit dims) claiming nx*ny*nz int16 voxels, with almost no data.
void writeNifti2Header(const fs::path& path, int64_t nx, int64_t ny, int64_t nz) {
  std::vector<char> h(544, 0);
  auto put = [&](size_t offset, const void* p, size_t n) { std::memcpy(h.data() + offset, p, n); };
  const int32_t sizeofHdr = 540;
  put(0, &sizeofHdr, 4);
  put(4, "n+2\0\r\n\032\n", 8);
  const int16_t datatype = 4, bitpix = 16;
  put(12, &datatype, 2);
  put(14, &bitpix, 2);
  const int64_t dim[8] = {3, nx, ny, nz, 1, 1, 1, 1};
  put(16, dim, sizeof dim);
  const double pixdim[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  put(104, pixdim, sizeof pixdim);
  const int64_t voxOffset = 544;
  put(168, &voxOffset, 8);
  const double slope = 1;
  put(176, &slope, 8);
  std::ofstream f(path, std::ios::binary);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  f << std::string(4096, '\0');
}

TEST_F(BadInput, EmptyDirectoryFails) {
  EXPECT_EQ(analyze(in()), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("no DICOM series and no NIfTI"), std::string::npos) << reason();
}

TEST_F(BadInput, DirectoryOfTextFilesFails) {
  for (const char* name : {"a.txt", "b.json", "notes", "c.dcm"})
    std::ofstream(in() / name) << std::string(500, 'x') << "\nnot an image\n";
  EXPECT_EQ(analyze(in()), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("no DICOM series and no NIfTI"), std::string::npos) << reason();
}

TEST_F(BadInput, TruncatedDicomFails) {
  const auto files = io::writeDicomSeries(phantom({32, 32, 20}, {1, 1, 3}), {}, in().string());
  fs::resize_file(files[10], fs::file_size(files[10]) / 3);
  EXPECT_EQ(analyze(in()), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("truncated or corrupt"), std::string::npos) << reason();
}

TEST_F(BadInput, SingleSliceDicomIsNotApplicable) {
  io::writeDicomSeries(phantom({32, 32, 1}, {1, 1, 3}), {}, in().string());
  EXPECT_EQ(analyze(in()), 4);
  EXPECT_EQ(status(), "not_applicable");
  EXPECT_NE(reason().find("single slice"), std::string::npos) << reason();
}

TEST_F(BadInput, MrSeriesIsNotApplicable) {
  auto o = seriesOptions("mr", 3);
  o.modality = "MR";
  io::writeDicomSeries(phantom({32, 32, 20}, {1, 1, 3}), o, in().string());
  EXPECT_EQ(analyze(in()), 4);
  EXPECT_EQ(status(), "not_applicable");
  EXPECT_NE(reason().find("only MR"), std::string::npos) << reason();
}

TEST_F(BadInput, HeadCtWithoutSpineIsNotApplicable) {
  SPINESCREEN_REQUIRE_TEST_FILE(head, "dicom-reader-edgecases/dcm_qa_ct_GE_head_tilt");
  EXPECT_EQ(analyze(head), 4) << run_.output;
  EXPECT_EQ(status(), "not_applicable");
  EXPECT_FALSE(reason().empty());
  // It was read (tilt corrected) before the spine stage said no.
  EXPECT_EQ(report_["input"]["format"], "dicom");
  const std::string notes = report_["input"].value("notes", nlohmann::json::array()).dump();
  EXPECT_NE(notes.find("gantry tilt"), std::string::npos) << notes;
}

TEST_F(BadInput, NiftiWithCorruptHeaderFails) {
  std::ofstream(in() / "ct.nii", std::ios::binary) << std::string(400, '\x7f');
  EXPECT_EQ(analyze(in() / "ct.nii"), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("NIfTI"), std::string::npos) << reason();
}

TEST_F(BadInput, TruncatedNiiGzFails) {
  const fs::path p = in() / "ct.nii.gz";
  io::writeNifti(phantom({64, 64, 40}, {1, 1, 2}), p.string());
  fs::resize_file(p, fs::file_size(p) / 2);
  EXPECT_EQ(analyze(p), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("truncated or corrupt"), std::string::npos) << reason();
}

TEST_F(BadInput, FourDimensionalNiftiFails) {
  writeRawNifti(in() / "ct4d.nii", {16, 16, 16, 3}, 16 * 16 * 16 * 3 * 2);
  EXPECT_EQ(analyze(in() / "ct4d.nii"), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("only 3-D volumes"), std::string::npos) << reason();
}

TEST_F(BadInput, ImplausiblySizedNiftiIsRefusedBeforeAllocating) {
  writeRawNifti(in() / "huge.nii", {32000, 32000, 32000}, 1024);  // NIfTI-1 dims are int16
  EXPECT_EQ(analyze(in() / "huge.nii"), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("implausible image size"), std::string::npos) << reason();
}

TEST_F(BadInput, NiftiClaimingHundredThousandCubedVoxelsIsRefusedBeforeAllocating) {
  writeNifti2Header(in() / "huge2.nii", 100000, 100000, 100000);
  EXPECT_EQ(analyze(in() / "huge2.nii"), 3) << run_.output;
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("implausible image size"), std::string::npos) << reason();
}

TEST_F(BadInput, NonExistentPathFails) {
  EXPECT_EQ(analyze(in() / "no-such-study"), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("does not exist"), std::string::npos) << reason();
}

TEST_F(BadInput, UnwritableOutputFolderExitsTwoWithoutReport) {
  // Tests run as root: a path under a regular file cannot be created by anyone.
  std::ofstream(root_ / "file") << "x";
  io::writeDicomSeries(phantom({32, 32, 20}, {1, 1, 3}), {}, in().string());
  const auto r = runSpinescreen("analyze " + shellQuote(in().string()) + " -o " +
                                shellQuote((root_ / "file" / "out").string()));
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_FALSE(fs::exists(root_ / "file" / "out" / "report.json"));
}

TEST_F(BadInput, TwoSeriesInOneFolderPicksTheThinAxialCt) {
  io::writeDicomSeries(phantom({32, 32, 12}, {1, 1, 5}), seriesOptions("thick", 2), in().string());
  io::writeDicomSeries(phantom({32, 32, 30}, {1, 1, 2}), seriesOptions("thin", 3), in().string());
  const int code = analyze(in());
  EXPECT_TRUE(code == 0 || code == 4) << run_.output;
  ASSERT_TRUE(report_.is_object()) << run_.output;
  EXPECT_EQ(report_["input"]["series_description"], "thin");
  // The writer's patient name and ID stay out of the report and the log.
  EXPECT_EQ(report_.dump().find("PHANTOM"), std::string::npos);
  EXPECT_EQ(run_.output.find("PHANTOM"), std::string::npos) << run_.output;
  EXPECT_EQ(report_["input"]["size_voxels"], nlohmann::json::array({32, 32, 30}));
  const auto list = runSpinescreen("analyze --list-series " + shellQuote(in().string()));
  EXPECT_EQ(list.exitCode, 0);
  EXPECT_NE(list.output.find("\"thick\""), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("thicker slices"), std::string::npos) << list.output;
}

TEST_F(BadInput, FolderWithOneNiftiAndJunkFilesIsAnalysed) {
  fs::create_directories(in() / "sub");
  io::writeNifti(phantom({40, 40, 30}, {1, 1, 2}), (in() / "sub" / "ct.nii.gz").string());
  std::ofstream(in() / "readme.txt") << "hello";
  std::ofstream(in() / "meta.json") << "{}";
  const int code = analyze(in());
  EXPECT_TRUE(code == 0 || code == 4) << run_.output;
  EXPECT_EQ(report_["input"]["format"], "nifti");
  EXPECT_EQ(report_["input"]["size_voxels"], nlohmann::json::array({40, 40, 30}));
}

TEST_F(BadInput, SeveralNiftiAndNoDicomFailsNamingThem) {
  io::writeNifti(phantom({16, 16, 12}, {1, 1, 4}), (in() / "a.nii.gz").string());
  io::writeNifti(phantom({16, 16, 12}, {1, 1, 4}), (in() / "b.nii.gz").string());
  EXPECT_EQ(analyze(in()), 3);
  EXPECT_EQ(status(), "failed");
  EXPECT_NE(reason().find("a.nii.gz"), std::string::npos) << reason();
  EXPECT_NE(reason().find("b.nii.gz"), std::string::npos) << reason();
}

TEST_F(BadInput, ConvertWritesTheVolumeAnalyzeWouldRead) {
  const HuVolume v = phantom({24, 20, 16}, {0.7, 0.7, 3});
  io::writeDicomSeries(v, {}, (in() / "dicom").string());
  const fs::path nii = root_ / "converted.nii";
  const auto r = runSpinescreen("convert " + shellQuote((in() / "dicom").string()) + " " +
                                shellQuote(nii.string()));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  const LoadedStudy s = io::readNiftiStudy(nii.string());
  EXPECT_TRUE(s.volume.grid().sameGeometryAs(v.grid(), 1e-3));
  EXPECT_EQ(s.volume.data(), v.data());
  EXPECT_EQ(runSpinescreen("convert " + shellQuote((in() / "nothing").string()) + " " +
                           shellQuote(nii.string()))
                .exitCode,
            3);
}

}  // namespace
