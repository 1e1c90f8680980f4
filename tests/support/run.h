// Runs the spinescreen executable from a test and captures its exit code and output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "support/test_data.h"

namespace spinescreen::testing {

struct RunResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr together
};

// Quotes one argument for /bin/sh.
inline std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Runs `spinescreen ARGS...` with a time limit (seconds); stderr merged into the output.
inline RunResult runSpinescreen(const std::string& args, int timeoutSeconds = 120) {
  const std::string cmd = "timeout -s KILL " + std::to_string(timeoutSeconds) + " " +
                          shellQuote(spinescreenBinary()) + " " + args + " 2>&1";
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace spinescreen::testing
