#include "net/target_map.h"

namespace ferry {

std::string TargetMap::describe() const {
  std::string s;
  for (const Endpoint& n : nodes)
    s += (s.empty() ? "" : ",") + n.to_string();
  return s;
}

Status target_map_of(const ClusterTopology& topology, TargetMap* out) {
  std::vector<SlotRange> gaps = topology.uncovered();
  if (!gaps.empty()) {
    return Status::io_error("the target cluster serves no master for slots " + slots_text(gaps) +
                            " (is it still being set up or resharded?)");
  }
  TargetMap m;
  m.cluster = true;
  m.slot_node.assign(kClusterSlots, 0);
  for (const ClusterShard& shard : topology.shards) {
    if (shard.slots.empty()) continue;
    const auto index = static_cast<uint16_t>(m.nodes.size());
    m.nodes.push_back(shard.master.endpoint);
    for (const SlotRange& r : shard.slots) {
      for (int s = r.first; s <= r.last; s++)
        m.slot_node[static_cast<size_t>(s)] = index;
    }
  }
  *out = std::move(m);
  return Status::ok();
}

Status read_target_map(const RedisSide& target, std::chrono::milliseconds timeout, TargetMap* out) {
  std::vector<Endpoint> seeds;
  for (const std::string& a : target.addresses) {
    Endpoint ep;
    FERRY_RETURN_IF_ERROR(Endpoint::parse(a, &ep));
    seeds.push_back(ep);
  }
  if (seeds.empty()) return Status::invalid_argument("output.redis.addresses is empty");
  if (target.type != RedisType::kCluster) {
    TargetMap m;
    m.nodes.push_back(seeds[0]);
    *out = std::move(m);
    return Status::ok();
  }
  ClusterTopology topology;
  FERRY_RETURN_IF_ERROR(
      discover_topology(seeds, Credentials{target.user_name, target.password}, timeout, &topology)
          .with_context("reading the target cluster"));
  return target_map_of(topology, out);
}

}  // namespace ferry
