// SourceMap: which source nodes this process replicates, one input each. A standalone source
// is its configured addresses; a source cluster (input.redis.type cluster) is read from any
// of them and gives one input per shard that serves slots — every shard (input.mode dynamic)
// or the shards of the configured addresses (static) — replicating the node input.syncFrom
// picks. An input is named by that node's address; after a failover it moves to the node
// picked then, under the new name, and takes over its checkpoint by replication id.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "net/cluster_topology.h"
#include "net/endpoint.h"

namespace ferry {

struct SourceInput {
  Endpoint node;                     // replicated; the input's name is node.to_string()
  std::string shard;                 // cluster: the shard master's node id; else empty
  std::string slots;                 // cluster: "0-5460" style; else empty
  std::vector<std::string> members;  // cluster: every node address of the shard
  std::string name() const { return node.to_string(); }
};

// The inputs, sorted by name. For a cluster, also the topology read (else left alone).
Status plan_sources(const Config& config, const std::vector<Endpoint>& extra_seeds,
                    std::vector<SourceInput>* out, ClusterTopology* topology = nullptr);

// The inputs of a topology (see above); an error names a shard syncFrom cannot serve.
Status sources_of(const Config& config, const ClusterTopology& topology,
                  std::vector<SourceInput>* out);

// The input that stands for this address (the node it replicates, or any node of its shard).
const SourceInput* source_for(const std::vector<SourceInput>& sources, const std::string& addr);

// What changed between two plans of a source cluster, matched by shard (two inputs share a
// node): inputs to stop (their shard is gone, or is replicated from another node now) and
// inputs to start, each with the input it continues (empty: a new shard).
struct SourceChanges {
  struct Moved {
    std::string from, to, slots;
  };
  std::vector<std::string> gone;
  std::vector<std::pair<std::string, std::string>> starts;  // input, the one it continues
  std::vector<Moved> moved;                                 // for the log
  bool empty() const { return gone.empty() && starts.empty(); }
};
SourceChanges diff_sources(const std::vector<SourceInput>& before,
                           const std::vector<SourceInput>& now);

// "host:port" sorted by host as text, then port as a number.
bool input_less(const std::string& a, const std::string& b);

}  // namespace ferry
