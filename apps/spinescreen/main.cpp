// spinescreen command line: parses arguments and calls the library (contracts/CLI.md).
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "core/errors.h"
#include "core/version.h"
#include "pipeline/analyze.h"

using namespace spinescreen;

int main(int argc, char** argv) {
  CLI::App app{"spinescreen: finds vertebral compression fractures and low bone density on CT"};
  app.set_version_flag("--version", std::string(kToolName) + " " + kVersion);
  app.require_subcommand(1);

  pipeline::AnalyzeOptions analyzeOpts;
  std::string configPath;
  auto* analyze = app.add_subcommand("analyze", "Analyse one CT study and write OUTDIR/report.json");
  analyze->add_option("INPUT", analyzeOpts.input,
                      "a .nii/.nii.gz file, a DICOM file, or a folder (searched recursively)")
      ->required();
  analyze->add_option("-o,--out", analyzeOpts.outDir, "output folder")->required();
  analyze->add_option("--config", configPath,
                      "JSON file with density cut-offs and referral policy");
  analyze->add_flag("--dicom-out", analyzeOpts.dicomOut, "also write sr.dcm and sc.dcm");
  analyze->add_flag("--fhir-out", analyzeOpts.fhirOut, "also write fhir.json");
  analyze->add_flag("--save-masks", analyzeOpts.saveMasks,
                    "also write vertebrae.nii.gz (VerSe numbering)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  try {
    if (analyze->parsed()) {
      pipeline::AnalysisConfig config;
      if (!configPath.empty()) config = pipeline::loadConfigFile(configPath);
      return pipeline::runAnalyze(analyzeOpts, config, std::cerr);
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
