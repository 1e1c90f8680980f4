#include "service/serve.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "core/errors.h"
#include "pipeline/analyze.h"
#include "service/config.h"
#include "service/service.h"

namespace spinescreen::service {
namespace {
std::atomic<bool> gStop{false};
extern "C" void onSignal(int) { gStop = true; }
}  // namespace

int runServe(const ServeOptions& options, std::ostream& log) {
  try {
    ServiceConfig config;
    if (!options.configPath.empty()) config = loadServiceConfig(options.configPath);
    if (!options.orthancUrl.empty()) config.orthancUrl = options.orthancUrl;
    validate(config);
    pipeline::AnalysisConfig analysis;
    if (!config.analysisConfigPath.empty())
      analysis = pipeline::loadConfigFile(config.analysisConfigPath);
    Service service(config, analysis, log);
    gStop = false;
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    service.start();
    while (!gStop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    log << "stopping: letting running analyses finish\n";
    service.stop();
    return 0;
  } catch (const Error& e) {
    log << "error: " << e.what() << '\n';
    return exitCodeFor(e.code());
  } catch (const std::exception& e) {
    log << "internal error: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace spinescreen::service
