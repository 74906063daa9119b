// TargetMap: where the target's keys go. A standalone target is one node holding every slot;
// a Redis Cluster target is its masters, each with the slots it serves (read with
// net/cluster_topology.h), and a key goes to the master of its slot (proto/crc16.h). The route
// stage asks it for every command; the input asks it where its checkpoint lives.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "net/cluster_topology.h"
#include "net/endpoint.h"
#include "proto/crc16.h"

namespace ferry {

struct TargetMap {
  bool cluster = false;
  std::vector<Endpoint> nodes;      // standalone: one; cluster: the masters, by first slot
  std::vector<uint16_t> slot_node;  // cluster: the index in `nodes` of each slot's master

  uint16_t node_of_slot(int slot) const {
    return cluster ? slot_node[static_cast<size_t>(slot)] : 0;
  }
  uint16_t node_of_key(std::string_view key) const {
    return cluster ? slot_node[static_cast<size_t>(key_slot(key))] : 0;
  }
  // The same masters serving the same slots.
  bool same_layout(const TargetMap& o) const {
    return cluster == o.cluster && nodes == o.nodes && slot_node == o.slot_node;
  }
  // "host:port" of every node, for logs.
  std::string describe() const;
  // The slots of `ranges`, by the index of the node that serves them.
  std::vector<std::vector<int>> slots_by_node(const std::vector<SlotRange>& ranges) const {
    std::vector<std::vector<int>> out(nodes.size());
    for (const SlotRange& r : ranges) {
      for (int s = r.first; s <= r.last; s++)
        out[node_of_slot(s)].push_back(s);
    }
    return out;
  }
};

// A cluster's masters and their slots; an error when some slot is served by no master (the
// cluster is not ready to take every key).
Status target_map_of(const ClusterTopology& topology, TargetMap* out);

// The map of the configured target: output.redis.type cluster reads the topology from any
// of the addresses, standalone is the first address.
Status read_target_map(const RedisSide& target, std::chrono::milliseconds timeout, TargetMap* out);

}  // namespace ferry
