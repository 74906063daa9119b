// What the end-to-end benchmark stands on: redis-servers it starts on loopback with the
// settings of ../docs (no persistence, diskless sync without delay, a 64 MiB backlog, DEBUG
// allowed), process statistics from /proc, and a monotonic clock.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "net/redis_client.h"
#include "tests/support/process.h"

namespace ferry::bench {

int64_t now_us();

class BenchServer {
 public:
  explicit BenchServer(std::string name) : name_(std::move(name)) {}
  ~BenchServer();
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;

  // Starts redis-server and waits until it answers; `extra` are more redis-server arguments.
  bool start(const std::vector<std::string>& extra = {});
  void stop();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_}; }
  pid_t pid() const { return proc_.pid(); }
  const std::string& dir() const { return dir_; }
  std::string log_path() const { return dir_ + "/redis.log"; }

  // A command on the harness's own connection; an error reply or a lost link throws
  // std::runtime_error naming the server and the command.
  Reply cmd(const std::vector<std::string>& argv,
            std::chrono::milliseconds timeout = std::chrono::minutes(10));
  int64_t info_int(const std::string& section, const std::string& field);
  std::string info_str(const std::string& section, const std::string& field);
  int64_t dbsize() { return cmd({"DBSIZE"}).integer; }

 private:
  std::string name_;
  test::Process proc_;
  int port_ = 0;
  std::string dir_;
  std::unique_ptr<RedisClient> client_;
};

// From /proc/<pid>: peak and current resident memory, CPU seconds (user + system).
struct ProcStats {
  uint64_t peak_rss = 0;  // VmHWM
  uint64_t rss = 0;       // VmRSS
  double cpu_seconds = 0;
};
ProcStats proc_stats(pid_t pid);

// Median of the values (0 for none).
double median(std::vector<double> v);
// The p-th percentile (0..100) by nearest rank (0 for none).
double percentile(std::vector<double> v, double p);

// A short description of this machine: CPU model and count, memory, kernel, redis-server.
std::string machine_description();

}  // namespace ferry::bench
