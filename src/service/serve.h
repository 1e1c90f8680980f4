// The `serve` subcommand's job: load the config, run the service until SIGINT or SIGTERM.
#pragma once

#include <ostream>
#include <string>

namespace spinescreen::service {

struct ServeOptions {
  std::string orthancUrl;  // overrides the config's orthanc_url when set
  std::string configPath;  // service.json; credentials only here
};

// Blocks until SIGINT/SIGTERM; returns the process exit code (contracts/CLI.md: 2 for a bad
// config or an unusable work folder or port). Logs go to `log`, never identifying data.
int runServe(const ServeOptions& options, std::ostream& log);

}  // namespace spinescreen::service
