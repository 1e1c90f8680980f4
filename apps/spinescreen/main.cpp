// spinescreen command line: parses arguments and calls the library (contracts/CLI.md).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>

#include "batch/batch.h"
#include "core/errors.h"
#include "core/version.h"
#include "evaluate/evaluate.h"
#include "io/loader.h"
#include "io/nifti.h"
#include "phantom/phantom.h"
#include "pipeline/analyze.h"
#include "service/serve.h"
#include "textaudit/audit.h"

using namespace spinescreen;

namespace {

int run(int argc, char** argv) {
  CLI::App app{"spinescreen: finds vertebral compression fractures and low bone density on CT"};
  app.set_version_flag("--version", std::string(kToolName) + " " + kVersion);
  app.require_subcommand(1);

  pipeline::AnalyzeOptions analyzeOpts;
  std::string configPath;
  auto* analyze =
      app.add_subcommand("analyze", "Analyse one CT study and write OUTDIR/report.json");
  analyze
      ->add_option("INPUT", analyzeOpts.input,
                   "a .nii/.nii.gz file, a DICOM file, or a folder (searched recursively)")
      ->required();
  analyze->add_option("-o,--out", analyzeOpts.outDir,
                      "output folder (required unless --list-series)");
  bool listSeries = false;
  analyze->add_flag("--list-series", listSeries,
                    "print every DICOM series found in INPUT and why it is or is not chosen");
  analyze->add_option("--config", configPath,
                      "JSON file with density cut-offs and referral policy");
  analyze->add_flag("--dicom-out", analyzeOpts.dicomOut, "also write sr.dcm and sc.dcm");
  analyze->add_flag("--fhir-out", analyzeOpts.fhirOut, "also write fhir.json");
  analyze->add_flag("--save-masks", analyzeOpts.saveMasks,
                    "also write vertebrae.nii.gz (VerSe numbering)");
  analyze->add_option("--vertebrae-mask", analyzeOpts.vertebraeMask,
                      "vertebra label map (NIfTI) to use instead of the built-in localiser");
  analyze
      ->add_option("--mask-convention", analyzeOpts.maskConvention,
                   "label numbering of --vertebrae-mask: totalsegmentator, verse or auto")
      ->check(CLI::IsMember({"totalsegmentator", "verse", "auto"}));
  analyze->add_option("--body-mask", analyzeOpts.bodyMask,
                      "vertebral body label map in VerSe numbering (with --vertebrae-mask)");

  // batch: a cohort, each study in its own analyze process (contracts/CLI.md "Batch layout").
  std::string batchDir, batchManifest, batchOut, batchConfig;
  batch::BatchOptions batchOpts;
  bool batchDicomOut = false, batchFhirOut = false, batchSaveMasks = false;
  auto* batchCmd = app.add_subcommand(
      "batch", "Analyse every study in DIR (or listed in a manifest), resumably, into OUTDIR");
  batchCmd->add_option("DIR", batchDir,
                       "folder whose immediate children (NIfTI files, folders) are the studies");
  batchCmd->add_option("--manifest", batchManifest,
                       "CSV with case_id,path[,mask] and columns carried into the summary");
  batchCmd->add_option("-o,--out", batchOut, "output folder")->required();
  batchCmd->add_option("--jobs", batchOpts.jobs, "studies analysed at the same time (default 1)")
      ->check(CLI::Range(1, 64));
  batchCmd
      ->add_option("--timeout-s", batchOpts.timeoutS,
                   "wall-time limit of one study in seconds (default 600)")
      ->check(CLI::PositiveNumber);
  batchCmd
      ->add_option("--max-memory-mb", batchOpts.maxMemoryMb,
                   "address-space limit of one study in MB, 0 for none (default 4096)")
      ->check(CLI::NonNegativeNumber);
  batchCmd->add_flag("--retry-failed", batchOpts.retryFailed,
                     "also redo studies whose report from an earlier run says failed");
  batchCmd->add_option("--analyze-program", batchOpts.executable,
                       "program run as PROGRAM analyze PATH -o DIR for each study (default: "
                       "this spinescreen; for wrappers and tests)");
  batchCmd->add_option("--config", batchConfig, "passed to analyze");
  batchCmd->add_flag("--dicom-out", batchDicomOut, "passed to analyze");
  batchCmd->add_flag("--fhir-out", batchFhirOut, "passed to analyze");
  batchCmd->add_flag("--save-masks", batchSaveMasks, "passed to analyze");

  // evaluate: scores a batch output folder against truth (contracts/CLI.md "Evaluate").
  evaluate::EvaluateOptions evalOpts;
  auto* evaluateCmd =
      app.add_subcommand("evaluate", "Score reports against truth; writes EVALDIR/metrics.json");
  evaluateCmd
      ->add_option("--truth", evalOpts.truth,
                   "folder of <case_id>/truth.json, a VerSe dataset, or a reads CSV")
      ->required();
  evaluateCmd->add_option("--pred", evalOpts.pred, "batch output folder (<case_id>/report.json)")
      ->required();
  evaluateCmd->add_option("-o,--out", evalOpts.outDir, "evaluation output folder")->required();
  evaluateCmd->add_option(
      "--grades", evalOpts.grades,
      "reads CSV (case_id,level,genant_grade[,morphology]) for a VerSe dataset");

  // textaudit: what radiology reports say about vertebral fractures and referral, joined with a
  // batch folder's results.
  textaudit::TextAuditOptions textOpts;
  std::string textFormat = "auto";
  auto* textauditCmd = app.add_subcommand(
      "textaudit",
      "Read report texts (CSV or JSON lines): fracture named? referral? Joined "
      "with --results, the identification and referral rates and the FLS worklist");
  textauditCmd->add_option("--reports", textOpts.reportsPath, "CSV or JSONL export of reports")
      ->required();
  textauditCmd->add_option("--results", textOpts.resultsDir,
                           "batch output folder (summary.csv, <case_id>/report.json)");
  textauditCmd->add_option("-o,--out", textOpts.outDir, "output folder")->required();
  textauditCmd->add_option("--id-column", textOpts.reader.idColumn, "case id column (case_id)");
  textauditCmd->add_option("--text-column", textOpts.reader.textColumn,
                           "report text column (text)");
  auto* dateOpt = textauditCmd->add_option("--date-column", textOpts.reader.dateColumn,
                                           "report date column, carried (date)");
  auto* accOpt = textauditCmd->add_option("--accession-column", textOpts.reader.accessionColumn,
                                          "accession number column, carried (accession)");
  textauditCmd->add_option("--format", textFormat, "auto, csv or jsonl")
      ->check(CLI::IsMember({"auto", "csv", "jsonl"}));

  // convert: reads INPUT exactly as analyze does and writes it as NIfTI.
  std::string convertInput, convertOutput;
  auto* convert = app.add_subcommand(
      "convert", "Read INPUT as analyze would (series choice, HU, LPS) and write a NIfTI volume");
  convert->add_option("INPUT", convertInput, "a .nii/.nii.gz file, a DICOM file, or a folder")
      ->required();
  convert->add_option("OUTPUT", convertOutput, "output .nii or .nii.gz")->required();

  // phantom: synthetic CTs with known truth (contracts/CLI.md "Phantom layout").
  phantom::RunOptions phantomOpts;
  double phantomSliceMm = 0.0;
  std::string phantomFov;
  auto* phantomCmd = app.add_subcommand(
      "phantom", "Write synthetic CTs with known truth: DIR/<case_id>/ct.nii.gz and truth.json");
  phantomCmd->add_option("-o,--out", phantomOpts.outDir, "output folder")->required();
  phantomCmd->add_option("--cases", phantomOpts.cases, "number of cases (default 1)")
      ->check(CLI::Range(1, 100000));
  phantomCmd->add_option("--seed", phantomOpts.seed, "random seed (default 1)");
  phantomCmd->add_option("--first", phantomOpts.firstIndex, "index of the first case (default 0)")
      ->check(CLI::NonNegativeNumber);
  phantomCmd->add_flag("--dicom", phantomOpts.dicom, "also write <case_id>/dicom/ (CT series)");
  phantomCmd->add_flag("--masks", phantomOpts.masks,
                       "also write vertebrae.nii.gz and bodies.nii.gz (VerSe numbering)");
  phantomCmd->add_flag("--truth-only", phantomOpts.truthOnly,
                       "write truth.json only, without rendering (fast)");
  phantomCmd->add_option("--slice-mm", phantomSliceMm, "force the slice spacing (and thickness)")
      ->check(CLI::Range(0.3, 10.0));
  phantomCmd->add_option("--fov", phantomFov, "force the field of view")
      ->check(CLI::IsMember({"chest", "abdomen", "abdomen-pelvis", "cap", "thoracolumbar"}));
  int phantomMatrix = 0;
  phantomCmd->add_option("--matrix", phantomMatrix,
                         "in-plane voxels per side, 64..1024 (default 512 or 0.7 mm voxels); the "
                         "field of view keeps its size in mm, so a smaller matrix means bigger "
                         "voxels");
  phantomCmd->add_flag("--small", phantomOpts.small,
                       "small, fast cases for cohort runs: --matrix 128 (about 3 mm voxels) and "
                       "no slices thinner than 3 mm (--matrix and --slice-mm still win)");

  // serve: the service beside Orthanc (docs/DEPLOYMENT.md); credentials only in the config.
  service::ServeOptions serveOpts;
  auto* serveCmd = app.add_subcommand(
      "serve", "Follow Orthanc's stable CT series, analyse them, store the SR and SC back");
  serveCmd->add_option("--orthanc", serveOpts.orthancUrl,
                       "Orthanc REST URL, e.g. http://127.0.0.1:8042 (overrides orthanc_url)");
  serveCmd->add_option("--config", serveOpts.configPath,
                       "service config JSON (Orthanc credentials, policy, work folder)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  try {
    if (analyze->parsed() && listSeries) {
      std::cout << io::describeInput(analyzeOpts.input);
      return 0;
    }
    if (analyze->parsed() && analyzeOpts.outDir.empty())
      throw UsageError("analyze needs -o OUTDIR");
    if (convert->parsed()) {
      if (!io::hasNiftiExtension(convertOutput))
        throw UsageError("convert writes NIfTI: OUTPUT must end in .nii or .nii.gz");
      const LoadedStudy study = io::loadStudy(convertInput);
      for (const auto& note : study.info.notes) std::cerr << "note: " << note << '\n';
      io::writeNifti(study.volume, convertOutput);
      return 0;
    }
    if (analyze->parsed()) {
      pipeline::AnalysisConfig config;
      if (!configPath.empty()) config = pipeline::loadConfigFile(configPath);
      return pipeline::runAnalyze(analyzeOpts, config, std::cerr);
    }
    if (batchCmd->parsed()) {
      if (batchDir.empty() == batchManifest.empty())
        throw UsageError("batch takes either DIR or --manifest FILE");
      const batch::Cohort cohort = batchManifest.empty() ? batch::listStudies(batchDir, batchOut)
                                                         : batch::readManifest(batchManifest);
      if (!batchConfig.empty()) {
        pipeline::loadConfigFile(batchConfig);  // a bad config fails here, not in every study
        batchOpts.analyzeArgs.emplace_back("--config");
        batchOpts.analyzeArgs.emplace_back(std::filesystem::absolute(batchConfig).string());
      }
      if (batchDicomOut) batchOpts.analyzeArgs.emplace_back("--dicom-out");
      if (batchFhirOut) batchOpts.analyzeArgs.emplace_back("--fhir-out");
      if (batchSaveMasks) batchOpts.analyzeArgs.emplace_back("--save-masks");
      batchOpts.outDir = batchOut;
      batchOpts.progressBar = ::isatty(STDERR_FILENO) != 0;
      std::signal(SIGINT, [](int) { batch::requestStop(); });
      std::signal(SIGTERM, [](int) { batch::requestStop(); });
      const batch::BatchResult r = batch::runBatch(cohort, batchOpts, std::cerr);
      return r.interrupted ? 130 : 0;
    }
    if (evaluateCmd->parsed()) {
      evaluate::runEvaluate(evalOpts, std::cout);
      return 0;
    }
    if (phantomCmd->parsed()) {
      if (phantomSliceMm > 0.0) phantomOpts.sliceMm = phantomSliceMm;
      if (!phantomFov.empty()) phantomOpts.fov = phantomFov;
      if (phantomCmd->count("--matrix") > 0) phantomOpts.matrix = phantomMatrix;
      return phantom::runPhantom(phantomOpts, std::cerr);
    }
    if (serveCmd->parsed()) return service::runServe(serveOpts, std::cerr);
    if (textauditCmd->parsed()) {
      textOpts.reader.explicitDate = dateOpt->count() > 0;
      textOpts.reader.explicitAccession = accOpt->count() > 0;
      textOpts.reader.format = textFormat == "csv"     ? textaudit::ReportFormat::kCsv
                               : textFormat == "jsonl" ? textaudit::ReportFormat::kJsonl
                                                       : textaudit::ReportFormat::kAuto;
      return textaudit::runTextAudit(textOpts, std::cerr);
    }
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return exitCodeFor(e.code());
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << '\n';
    return 1;
  }
  return 2;
}

}  // namespace

// Setting up the options can throw too (CLI11 refuses a malformed option table).
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "internal error\n";
  }
  return 1;
}
