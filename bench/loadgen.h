// The benchmark's load: a paced writer (redis-benchmark cannot hold a fixed rate) sending a
// SET/HSET/LPUSH/ZADD/INCR mix over several pipelined connections, and a lag probe that
// writes a timestamp on the source every few milliseconds and watches for it on the target.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/endpoint.h"

namespace ferry::bench {

struct LoadOptions {
  Endpoint server;
  double rate = 0;  // commands per second in total; 0: as fast as the server answers
  int connections = 4;
  int max_pipeline = 256;  // commands sent before their replies are read
  uint64_t keyspace = 100000;
  size_t value_size = 32;
  std::chrono::milliseconds duration{10000};
  uint64_t seed = 1;
};

struct LoadResult {
  uint64_t commands = 0;  // acknowledged by the server
  double seconds = 0;
  std::string error;  // empty when every command was answered without error
  double rate() const { return seconds > 0 ? static_cast<double>(commands) / seconds : 0; }
};

// Runs the load for options.duration; returns what was sent.
LoadResult run_load(const LoadOptions& options);

// Writes "<monotonic µs>" into `key` on the source every `period`, and polls the target
// (about every 0.5 ms) for new values; each new value seen is one lag sample.
class LagProbe {
 public:
  LagProbe(Endpoint source, Endpoint target, std::string key,
           std::chrono::milliseconds period = std::chrono::milliseconds(10));
  ~LagProbe();

  void start();
  // Stops writing, then waits (up to `drain`) until the last value written is seen on the
  // target. Returns false if it was not.
  bool stop(std::chrono::milliseconds drain = std::chrono::seconds(120));
  // Lag samples in milliseconds.
  std::vector<double> lags_ms() const;
  // When each sample was taken (monotonic µs), in the order of lags_ms().
  std::vector<int64_t> sample_times_us() const;
  // When the last written value was seen on the target (monotonic µs; 0: not seen).
  int64_t last_seen_us() const { return last_seen_us_; }
  std::string error() const;

 private:
  void write_loop();
  void read_loop();

  const Endpoint source_, target_;
  const std::string key_;
  const std::chrono::milliseconds period_;
  std::atomic<bool> stop_writing_{false}, stop_reading_{false}, writer_done_{false};
  std::atomic<int64_t> last_written_{0}, last_seen_us_{0};
  std::thread writer_, reader_;
  mutable std::mutex mu_;
  std::vector<double> lags_;
  std::vector<int64_t> times_;
  std::string error_;
};

}  // namespace ferry::bench
