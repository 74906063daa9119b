// A writer for cluster tests: on its own thread, a seeded mix of per-key writes — SET,
// APPEND, INCRBY, RPUSH, HINCRBY, ZADD, SADD, EXPIRE, DEL, and MSET of hash-tagged keys —
// over keys of every slot, each sent to the master that serves its slot now. MOVED, ASK
// and the refusals and broken links of a failover are ridden out (the slot map read again,
// the command sent again), so the writer keeps going through failovers and resharding. The
// oracle is what the cluster holds afterwards: a command resent after a lost reply may have
// run twice on the source, and so must on the target.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "net/endpoint.h"

namespace ferry::test {

class ClusterWorkload {
 public:
  ClusterWorkload() = default;
  ~ClusterWorkload() { stop(); }

  void start(std::vector<Endpoint> seeds, uint32_t seed = 1, int keys = 3000);
  void stop();
  uint64_t ops() const { return ops_.load(); }
  // Non-empty if a command failed in a way a cluster writer cannot ride out.
  std::string error() const;

 private:
  void run(std::vector<Endpoint> seeds, uint32_t seed, int keys);

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ops_{0};
  std::thread thread_;
  std::atomic<bool> failed_{false};
  std::string error_;
};

// Waits until the workload has run `more` operations more (false on timeout or error).
bool wait_ops(const ClusterWorkload& writer, uint64_t more,
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace ferry::test
