// MigrationBarrier: slot migration on a source cluster without loss (docs/cluster.md, "Slot
// migration"). MIGRATE shows up as RESTORE-ASKING k on the importer's stream and DEL k on the
// exporter's; two inputs may apply them in either order, and the RESTORE first then the DEL
// loses k on the target. So a batch holding an imported key is sent only once every other
// input of the source cluster has applied what its shard master held when the RESTORE had
// already run: MIGRATE blocks the exporter from its request to its DEL, and the importer ran
// the RESTORE before answering it, so a master's offset read after the RESTORE is past the
// DEL. One round of reads licenses every RESTORE the importer had run before it.
//
// Two shards migrating to each other while their inputs lag can each wait for the other:
// such a wait ends after kMaxWait with the input stopped and saying why (a restart resumes
// from its checkpoint), never with a key lost. (A per-key ledger of the exporters' DELs,
// the design's next step, removes that wait.)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.h"
#include "net/endpoint.h"
#include "net/target_writer.h"

namespace ferry {

class MigrationBarrier {
 public:
  static constexpr std::chrono::seconds kMaxWait{120};
  using Verdict = SendVerdict;

  explicit MigrationBarrier(const RedisSide& source) : source_(source) {}

  // An input of the cluster and its position applied on the target (stream offsets; empty
  // while not streaming). The function is called under the barrier's lock.
  void join(const std::string& input, std::function<std::optional<uint64_t>()> applied);
  void leave(const std::string& input);
  // Each input's shard master now (from the topology).
  void set_masters(std::map<std::string, Endpoint> masters);

  // May `input` send a batch with keys imported at stream offset `at`? kWait and kFail say
  // why in *why. Called from the input's writer thread; reads offsets over the network.
  Verdict check(const std::string& input, uint64_t at, std::string* why);

 private:
  struct Round {
    uint64_t licenses = 0;                 // the importer's offset read first
    std::map<std::string, uint64_t> need;  // every other input: its master's offset then
    std::chrono::steady_clock::time_point started;
  };
  Status start_round(const std::string& input, Round* round);

  const RedisSide& source_;
  std::mutex mu_;
  std::map<std::string, std::function<std::optional<uint64_t>()>> applied_;
  std::map<std::string, Endpoint> masters_;
  std::map<std::string, uint64_t> licensed_;  // per importer: RESTOREs up to here may go
  std::map<std::string, Round> rounds_;
};

}  // namespace ferry
