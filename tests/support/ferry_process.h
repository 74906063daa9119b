// The ferry binary under test, started as a separate process with a generated
// configuration, so tests see exactly what a user sees: exit codes, the log, signals.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace ferry::test {

class FerryProcess {
 public:
  FerryProcess();
  ~FerryProcess();

  // A minimal configuration syncing `sources` into `target`; `extra` is appended verbatim
  // (YAML) and may add keys such as "output:\n  replay:\n    ...". The log goes to a file.
  static std::string config(const std::vector<std::string>& sources, const std::string& target,
                            const std::string& replay_extra = "");

  bool start(const std::string& yaml);
  // SIGTERM and wait; the exit code, or -1 on timeout (then it is killed).
  int stop(std::chrono::seconds timeout = std::chrono::seconds(30));
  void kill() { proc_.kill(); }
  // Waits for the process to exit on its own: its exit code, 128+signal if killed by a
  // signal, or -1 on timeout.
  int wait_exit(std::chrono::seconds timeout);
  bool running() { return proc_.running(); }
  pid_t pid() const { return proc_.pid(); }

  // Waits until the log (or stderr) contains `needle`.
  bool wait_for_log(const std::string& needle, std::chrono::seconds timeout);
  std::string log() const;     // the log file
  std::string output() const;  // stdout + stderr
  const std::string& dir() const { return dir_; }
  // "http://host:port" of its API (server.listen of the last start), e.g. for http().
  const std::string& api() const { return api_; }

  static std::string binary();

 private:
  Process proc_;
  std::string dir_;
  std::string api_;
};

}  // namespace ferry::test
