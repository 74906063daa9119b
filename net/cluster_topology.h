// ClusterTopology: the shards of a Redis Cluster as one node sees them — each master, its
// replicas and the slots it serves — read with CLUSTER SHARDS (7.0+) or CLUSTER NODES (any
// version), and the deterministic choice of which node of a shard to replicate
// (input.syncFrom). Every ferry of a group that reads the same topology picks the same node.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "net/endpoint.h"
#include "net/redis_client.h"

namespace ferry {

struct SlotRange {
  int first = 0;
  int last = 0;  // inclusive
  bool operator==(const SlotRange& o) const { return first == o.first && last == o.last; }
};

struct ClusterNode {
  std::string id;
  Endpoint endpoint;
  bool healthy = true;       // not failed, reachable, not loading
  uint64_t repl_offset = 0;  // CLUSTER SHARDS only; 0 when unknown
};

struct ClusterShard {
  ClusterNode master;
  std::vector<ClusterNode> replicas;  // sorted by address
  std::vector<SlotRange> slots;       // ascending, merged
  // "host:port" of the master and its first slot range, for messages.
  std::string name() const;
  bool serves(int slot) const;
};

struct ClusterTopology {
  std::vector<ClusterShard> shards;  // ordered by first slot; shards without slots last

  // The shard that serves the slot, or -1.
  int shard_of(int slot) const;
  // The shard whose master or replica has this address, or -1.
  int shard_with(const Endpoint& node) const;
  // Slots served by no shard, as ranges (empty: the cluster covers all 16384).
  std::vector<SlotRange> uncovered() const;
  // The same shards, masters and slots (replicas and offsets aside).
  bool same_layout(const ClusterTopology& o) const;
};

// Parsers of the two replies. `asked` is the node that answered: CLUSTER NODES reports an
// empty host for itself before it has met another node.
Status parse_cluster_nodes(std::string_view text, const Endpoint& asked, ClusterTopology* out);
Status parse_cluster_shards(const Reply& reply, const Endpoint& asked, ClusterTopology* out);

// Reads the topology through one node: CLUSTER SHARDS when the node is 7.0 or newer, else
// CLUSTER NODES. A node that is not in cluster mode is an error that says so.
Status read_topology(RedisClient& client, ClusterTopology* out);
// Tries each seed in turn until one answers; the error names every seed's failure.
Status discover_topology(const std::vector<Endpoint>& seeds, const Credentials& creds,
                         std::chrono::milliseconds timeout, ClusterTopology* out);

// The node of the shard to replicate: the master, or the first healthy replica by address.
// kSlave with no healthy replica is an error naming the shard; kPreferSlave falls back to
// the master.
Status choose_sync_node(const ClusterShard& shard, SyncFrom from, ClusterNode* out);

// "0-5460,5462" style, for logs and the API.
std::string slots_text(const std::vector<SlotRange>& slots);
// Its inverse; false (and *out untouched) for text that is not in that form.
bool parse_slots_text(std::string_view text, std::vector<SlotRange>* out);

}  // namespace ferry
