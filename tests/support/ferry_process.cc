#include "tests/support/ferry_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>

#include "tests/support/corpus.h"

namespace ferry::test {

FerryProcess::FerryProcess() : dir_(make_temp_dir("ferry-test")) {}

FerryProcess::~FerryProcess() {
  proc_.kill();
  std::error_code ec;
  if (!dir_.empty() && !::testing::Test::HasFailure()) std::filesystem::remove_all(dir_, ec);
}

std::string FerryProcess::binary() {
  return FERRY_BINARY;
}

std::string FerryProcess::config(const std::vector<std::string>& sources, const std::string& target,
                                 const std::string& replay_extra) {
  std::string y = "server:\n  listen: 127.0.0.1:" + std::to_string(free_port()) +
                  "\n  gracefullStopTimeout: 20s\ninput:\n  redis:\n    addresses: [";
  for (size_t i = 0; i < sources.size(); i++)
    y += (i ? ", " : "") + sources[i];
  y += "]\noutput:\n  redis:\n    addresses: [" + target + "]\n";
  if (!replay_extra.empty()) y += "  replay:\n" + replay_extra;
  return y;
}

bool FerryProcess::start(const std::string& yaml) {
  size_t at = yaml.find("listen: ");
  if (at != std::string::npos) {
    at += 8;
    api_ = "http://" + yaml.substr(at, yaml.find('\n', at) - at);
  }
  std::string cfg = yaml + "log:\n  level: info\n  handler:\n    file:\n      fileName: " + dir_ +
                    "/ferry.log\n    stdout: false\n";
  if (yaml.find("channel:") == std::string::npos) {
    cfg += "channel:\n  storer:\n    dirPath: " + dir_ + "/cache\n";
  }
  write_file(dir_ + "/ferry.yaml", cfg);
  return proc_.start({binary(), "sync", "-c", dir_ + "/ferry.yaml"}, dir_ + "/output.log");
}

int FerryProcess::stop(std::chrono::seconds timeout) {
  proc_.signal(SIGTERM);
  return wait_exit(timeout);
}

int FerryProcess::wait_exit(std::chrono::seconds timeout) {
  int status = 0;
  if (!proc_.wait(timeout, &status)) {
    proc_.kill();
    return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool FerryProcess::wait_for_log(const std::string& needle, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (log().find(needle) != std::string::npos || output().find(needle) != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string FerryProcess::log() const {
  return read_file(dir_ + "/ferry.log");
}
std::string FerryProcess::output() const {
  return read_file(dir_ + "/output.log");
}

}  // namespace ferry::test
