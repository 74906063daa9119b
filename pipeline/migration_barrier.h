// MigrationBarrier: slot migration on a source cluster without loss (docs/cluster.md, "Slot
// migration"). MIGRATE shows up as RESTORE-ASKING k on the importer's stream and DEL k on the
// exporter's; two inputs may apply them in either order, and the RESTORE first then the DEL
// loses k on the target. So a batch holding an imported key is sent only once every other
// input of the source cluster has applied what its shard's master held when the RESTORE had
// already run: MIGRATE blocks the exporter from its request to its DEL, and the importer ran
// the RESTORE before answering it, so a master's offset read after the RESTORE is past the
// DEL. One round of reads licenses every RESTORE the importer had run before it.
//
// Two shards migrating to each other while their inputs lag can each wait for the other: a
// cycle of waits that lasts kCycleWait stops the input before its keys (a restart resumes
// there), never a key lost. Any other wait (an input in its full sync, paused, restarting)
// is only waited out, with the status saying for what.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "net/endpoint.h"
#include "net/target_writer.h"

namespace ferry {

class RedisClient;

class MigrationBarrier {
 public:
  static constexpr std::chrono::seconds kCycleWait{60};
  using Verdict = SendVerdict;

  explicit MigrationBarrier(const RedisSide& source);
  ~MigrationBarrier();

  // An input of the cluster and its position applied on the target (stream offsets; empty
  // while not streaming). The function is called under the barrier's lock.
  void join(const std::string& input, std::function<std::optional<uint64_t>()> applied);
  void leave(const std::string& input);
  // Each configured input's shard nodes now (from the topology). An input that left the
  // topology but has not left the barrier (it still applies what it read) keeps its nodes.
  void set_shards(std::map<std::string, std::vector<Endpoint>> shards);

  // May `input` send a batch with keys imported at stream offset `at`? kWait and kFail say
  // why in *why. Called from the input's writer thread; reads offsets over the network.
  Verdict check(const std::string& input, uint64_t at, std::string* why);

 private:
  struct Round {
    uint64_t licenses = 0;                 // the importer's offset, read first
    std::map<std::string, uint64_t> need;  // every other input: its shard master's offset
    std::chrono::steady_clock::time_point started;
  };
  // Open connections to the source's nodes, by address: one set per importer, used only by
  // its writer thread (a round must not open a connection per node each time).
  using Clients = std::map<std::string, std::unique_ptr<RedisClient>>;
  Status start_round(const std::string& input, Round* round);
  // The node's replication offset and whether it is a master.
  Status read_offset(Clients& clients, const Endpoint& node, uint64_t* offset, bool* master);
  // Whether `input`'s waits lead back to it (call with mu_ held).
  bool in_cycle(const std::string& input) const;

  const RedisSide& source_;
  std::mutex mu_;
  std::map<std::string, std::function<std::optional<uint64_t>()>> applied_;
  std::map<std::string, std::vector<Endpoint>> shards_;
  std::map<std::string, uint64_t> licensed_;  // per importer: RESTOREs up to here may go
  std::map<std::string, Round> rounds_;
  std::map<std::string, std::set<std::string>> waits_for_;  // the inputs each held one waits on
  std::map<std::string, std::chrono::steady_clock::time_point> retry_at_;  // after a failed read
  std::map<std::string, std::chrono::steady_clock::time_point> cycle_since_;
  std::map<std::string, Clients> clients_;  // per importer
};

}  // namespace ferry
