// A real Redis Cluster on loopback for tests: `masters` masters with `replicas` replicas
// each, created with `redis-cli --cluster create` (slots split evenly), and ready when every
// node reports cluster_state:ok, agrees on the slot map and sees every node healthy, and
// every replica's link is up.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "tests/support/redis_server.h"

namespace ferry::test {

class RedisCluster {
 public:
  struct Options {
    int masters = 3;
    int replicas = 0;               // per master
    std::vector<std::string> args;  // extra redis-server arguments for every node
  };

  // Starts the nodes, creates the cluster and waits until it is ready (see above).
  bool start(const Options& options);
  bool start() { return start(Options()); }

  size_t size() const { return nodes_.size(); }
  RedisServer& node(size_t i) { return *nodes_[i]; }
  std::vector<Endpoint> endpoints() const;
  // The node that serves the slot now, as the cluster says (asked of node 0).
  RedisServer* master_of_slot(int slot);
  RedisServer* master_of_key(const std::string& key);
  // The masters that serve slots now (asked of the first node that answers), by address.
  std::vector<RedisServer*> masters();
  // The replicas of the master that serves this slot now.
  std::vector<RedisServer*> replicas_of_slot(int slot);
  RedisServer* server_at(const Endpoint& ep) { return by_endpoint(ep); }
  // Moves `slots` slots from one master to another with redis-cli --cluster reshard (MIGRATE
  // of their keys, as a user reshards), then waits until the cluster is ready again.
  bool reshard(RedisServer& from, RedisServer& to, int slots);
  // Every node: cluster_state:ok, the same slot map, every node healthy in it, replicas'
  // links up.
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // redis-cli's output of the last cluster command, for failure messages.
  const std::string& last_output() const { return output_; }

 private:
  bool run_cli(const std::vector<std::string>& args);
  bool ready_now();  // what wait_ready waits for
  RedisServer* by_endpoint(const Endpoint& ep);

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::string output_;
};

// A master of the shard of slots 0-5460 empties while no replica follows it and then writes
// more than its backlog holds (32 keys of 64 KiB in slots 0 to 4650): a replica that comes
// back where it left off gets FULLRESYNC, and an RDB without any of its earlier keys.
bool empty_past_backlog(RedisServer& master);

}  // namespace ferry::test
