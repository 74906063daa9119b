#include "tests/support/redis_cluster.h"

#include <sys/wait.h>

#include "net/cluster_topology.h"
#include "proto/crc16.h"
#include "tests/support/corpus.h"
#include "tests/support/load.h"
#include "tests/support/process.h"

namespace ferry::test {

bool RedisCluster::start(const Options& options) {
  const int total = options.masters * (1 + options.replicas);
  for (int i = 0; i < total; i++) {
    RedisServer::Options o;
    // A replica reads as "loading" in CLUSTER SHARDS until its offset is above 0: pinging
    // replicas every second moves it without any write.
    o.args = {"--cluster-enabled",      "yes",  "--cluster-config-file",      "nodes.conf",
              "--cluster-node-timeout", "2000", "--repl-ping-replica-period", "1"};
    o.args.insert(o.args.end(), options.args.begin(), options.args.end());
    auto s = std::make_unique<RedisServer>();
    if (!s->start(o)) return false;
    nodes_.push_back(std::move(s));
  }
  // redis-cli takes the first `masters` addresses as masters, the rest as their replicas.
  std::vector<std::string> args = {"--cluster", "create"};
  for (auto& n : nodes_)
    args.push_back(n->address());
  args.insert(args.end(),
              {"--cluster-replicas", std::to_string(options.replicas), "--cluster-yes"});
  if (!run_cli(args)) return false;
  return wait_ready();
}

bool RedisCluster::run_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"redis-cli"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string out = nodes_[0]->dir() + "/redis-cli.log";
  Process p;
  if (!p.start(argv, out)) return false;
  int status = 0;
  bool ended = p.wait(std::chrono::seconds(60), &status);
  output_ = read_file(out);
  return ended && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<Endpoint> RedisCluster::endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& n : nodes_)
    out.push_back(n->endpoint());
  return out;
}

RedisServer* RedisCluster::by_endpoint(const Endpoint& ep) {
  for (auto& n : nodes_) {
    if (n->endpoint() == ep) return n.get();
  }
  return nullptr;
}

RedisServer* RedisCluster::master_of_slot(int slot) {
  auto c = nodes_[0]->connect();
  ClusterTopology t;
  if (!c || !read_topology(*c, &t).is_ok()) return nullptr;
  int s = t.shard_of(slot);
  return s < 0 ? nullptr : by_endpoint(t.shards[s].master.endpoint);
}

namespace {

bool any_topology(std::vector<std::unique_ptr<RedisServer>>& nodes, ClusterTopology* t) {
  for (auto& n : nodes) {
    auto c = n->connect();
    if (c && read_topology(*c, t).is_ok()) return true;
  }
  return false;
}

}  // namespace

std::vector<RedisServer*> RedisCluster::masters() {
  std::vector<RedisServer*> out;
  ClusterTopology t;
  if (!any_topology(nodes_, &t)) return out;
  for (const ClusterShard& s : t.shards) {
    if (s.slots.empty()) continue;
    if (RedisServer* m = by_endpoint(s.master.endpoint)) out.push_back(m);
  }
  return out;
}

std::vector<RedisServer*> RedisCluster::replicas_of_slot(int slot) {
  std::vector<RedisServer*> out;
  ClusterTopology t;
  if (!any_topology(nodes_, &t)) return out;
  int s = t.shard_of(slot);
  if (s < 0) return out;
  for (const ClusterNode& r : t.shards[s].replicas) {
    if (RedisServer* rs = by_endpoint(r.endpoint)) out.push_back(rs);
  }
  return out;
}

bool RedisCluster::reshard(RedisServer& from, RedisServer& to, int slots) {
  const std::string from_id = from.cmd({"CLUSTER", "MYID"}).str;
  const std::string to_id = to.cmd({"CLUSTER", "MYID"}).str;
  if (from_id.empty() || to_id.empty()) return false;
  return run_cli({"--cluster", "reshard", from.address(), "--cluster-from", from_id, "--cluster-to",
                  to_id, "--cluster-slots", std::to_string(slots), "--cluster-yes"}) &&
         wait_ready();
}

RedisServer* RedisCluster::master_of_key(const std::string& key) {
  return master_of_slot(key_slot(key));
}

bool RedisCluster::ready_now() {
  ClusterTopology first;
  for (size_t i = 0; i < nodes_.size(); i++) {
    Reply info = nodes_[i]->try_cmd({"CLUSTER", "INFO"});
    if (info.str.find("cluster_state:ok") == std::string::npos) return false;
    auto c = nodes_[i]->connect();
    ClusterTopology t;
    if (!c || !read_topology(*c, &t).is_ok() || !t.uncovered().empty()) return false;
    if (i == 0) first = t;
    if (!first.same_layout(t)) return false;
    for (const ClusterShard& s : t.shards) {
      if (!s.master.healthy) return false;
      for (const ClusterNode& r : s.replicas) {
        RedisServer* rs = by_endpoint(r.endpoint);
        if (!r.healthy || !rs || rs->info("replication")["master_link_status"] != "up") {
          return false;
        }
      }
    }
  }
  return true;
}

bool RedisCluster::wait_ready(std::chrono::milliseconds timeout) {
  return wait_until([&] { return ready_now(); }, timeout);
}

bool empty_past_backlog(RedisServer& master) {
  if (master.cmd({"CONFIG", "SET", "repl-backlog-size", "16384"}).str != "OK") return false;
  if (master.cmd({"FLUSHALL"}).str != "OK") return false;
  const std::string value(64 * 1024, 'v');
  for (int i = 0; i < 32; i++) {
    const std::string key = "{" + std::string(slot_tag(i * 150)) + "}pad";
    if (master.cmd({"SET", key, value}).str != "OK") return false;
  }
  return true;
}

}  // namespace ferry::test
