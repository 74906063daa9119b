#include "tests/support/cluster_workload.h"

#include <map>
#include <memory>
#include <random>

#include "net/cluster_topology.h"
#include "net/redis_client.h"
#include "proto/crc16.h"
#include "tests/support/load.h"

namespace ferry::test {
namespace {

// Connections to the masters, by slot, from the last slot map read.
class Router {
 public:
  explicit Router(std::vector<Endpoint> seeds) : seeds_(std::move(seeds)) {}

  // Runs one command where its slot is served, riding out what a cluster in motion answers.
  // False with *error set on anything else, or when no attempt worked for long.
  bool run(const std::vector<std::string>& argv, const std::string& key, std::string* error) {
    const int slot = key_slot(key);
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string last;
    while (std::chrono::steady_clock::now() < give_up) {
      if (!have_map_ && !refresh(&last)) {
        pause();
        continue;
      }
      RedisClient* c = client_for(owner_[slot], &last);
      Reply r;
      Status st = c ? c->command(argv, &r) : Status::io_error(last);
      if (!st.is_ok()) {  // a node that went away (a failover): read the map again
        last = st.message();
        drop(owner_[slot]);
        have_map_ = false;
        pause();
        continue;
      }
      if (!r.is_error()) return true;
      last = r.str;
      if (r.str.rfind("ASK ", 0) == 0) {
        if (asked(argv, r.str)) return true;
        pause();
        continue;
      }
      if (r.str.rfind("MOVED ", 0) == 0 || r.str.rfind("CLUSTERDOWN", 0) == 0 ||
          r.str.rfind("TRYAGAIN", 0) == 0 || r.str.rfind("READONLY", 0) == 0 ||
          r.str.rfind("LOADING", 0) == 0) {
        have_map_ = false;
        pause();
        continue;
      }
      *error = argv[0] + ": " + r.str;
      return false;
    }
    *error = argv[0] + ": no node took it for 60 s: " + last;
    return false;
  }

 private:
  static void pause() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

  bool refresh(std::string* error) {
    ClusterTopology t;
    Status st = discover_topology(seeds_, Credentials(), std::chrono::seconds(2), &t);
    if (!st.is_ok() || !t.uncovered().empty()) {
      *error = st.is_ok() ? "slots not covered" : st.message();
      return false;
    }
    for (int slot = 0; slot < 16384; slot++)
      owner_[slot] = t.shards[t.shard_of(slot)].master.endpoint.to_string();
    have_map_ = true;
    return true;
  }

  RedisClient* client_for(const std::string& addr, std::string* error) {
    auto it = clients_.find(addr);
    if (it != clients_.end()) return it->second.get();
    Endpoint ep;
    if (!Endpoint::parse(addr, &ep).is_ok()) return nullptr;
    auto c = std::make_unique<RedisClient>();
    Status st = c->connect(ep, Credentials(), std::chrono::seconds(2));
    if (!st.is_ok()) {
      *error = st.message();
      return nullptr;
    }
    return (clients_[addr] = std::move(c)).get();
  }

  void drop(const std::string& addr) { clients_.erase(addr); }

  // "ASK <slot> <host:port>": ASKING and the command there, once.
  bool asked(const std::vector<std::string>& argv, const std::string& answer) {
    const std::string addr = answer.substr(answer.rfind(' ') + 1);
    std::string error;
    RedisClient* c = client_for(addr, &error);
    Reply r;
    if (!c || !c->command({"ASKING"}, &r).is_ok() || !c->command(argv, &r).is_ok()) {
      drop(addr);
      return false;
    }
    return !r.is_error();
  }

  std::vector<Endpoint> seeds_;
  bool have_map_ = false;
  std::vector<std::string> owner_ = std::vector<std::string>(16384);
  std::map<std::string, std::unique_ptr<RedisClient>> clients_;
};

}  // namespace

void ClusterWorkload::start(std::vector<Endpoint> seeds, uint32_t seed, int keys) {
  stop_ = false;
  thread_ = std::thread([this, seeds, seed, keys] { run(seeds, seed, keys); });
}

void ClusterWorkload::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string ClusterWorkload::error() const {
  return failed_ ? error_ : std::string();
}

void ClusterWorkload::run(std::vector<Endpoint> seeds, uint32_t seed, int keys) {
  Router router(std::move(seeds));
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  auto value = [&] { return "v" + std::to_string(rng()); };
  const int64_t far_future = 4102444800000LL;  // 2100-01-01: nothing expires during a test
  while (!stop_) {
    const std::string n = std::to_string(pick(keys));
    std::vector<std::string> argv;
    std::string key;
    switch (pick(10)) {
      case 0:
        key = "str:" + n;
        argv = {"SET", key, value()};
        break;
      case 1:
        key = "str:" + n;
        argv = {"APPEND", key, value()};
        break;
      case 2:
        key = "cnt:" + n;
        argv = {"INCRBY", key, std::to_string(1 + pick(100))};
        break;
      case 3:
        key = "list:" + n;
        argv = {"RPUSH", key, value()};
        break;
      case 4:
        key = "hash:" + n;
        argv = {"HINCRBY", key, "f" + std::to_string(pick(20)), "1"};
        break;
      case 5:
        key = "zset:" + n;
        argv = {"ZADD", key, std::to_string(pick(1000)), "m" + std::to_string(pick(50))};
        break;
      case 6:
        key = "set:" + n;
        argv = {"SADD", key, std::to_string(pick(100))};
        break;
      case 7:
        key = "str:" + n;
        argv = {"PEXPIREAT", key, std::to_string(far_future + pick(100000))};
        break;
      case 8:
        key = (pick(2) ? "str:" : "list:") + n;
        argv = {"DEL", key};
        break;
      default: {
        // Keys of one slot through a hash tag: one multi-key command on one node.
        const std::string tag = "{t" + n + "}";
        key = tag;
        argv = {"MSET", tag + "a", value(), tag + "b", value()};
        break;
      }
    }
    std::string error;
    if (!router.run(argv, key, &error)) {
      error_ = error;
      failed_ = true;
      return;
    }
    ops_++;
  }
}

bool wait_ops(const ClusterWorkload& writer, uint64_t more, std::chrono::milliseconds timeout) {
  uint64_t want = writer.ops() + more;
  return wait_until([&] { return writer.ops() >= want || !writer.error().empty(); }, timeout) &&
         writer.error().empty();
}

}  // namespace ferry::test
