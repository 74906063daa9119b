#include "pipeline/source_map.h"

#include <algorithm>

namespace ferry {

bool input_less(const std::string& a, const std::string& b) {
  Endpoint x, y;
  if (!Endpoint::parse(a, &x).is_ok() || !Endpoint::parse(b, &y).is_ok()) return a < b;
  return x.host != y.host ? x.host < y.host : x.port < y.port;
}

namespace {

void sort_unique(std::vector<SourceInput>* inputs) {
  std::sort(inputs->begin(), inputs->end(), [](const SourceInput& a, const SourceInput& b) {
    return input_less(a.name(), b.name());
  });
  inputs->erase(
      std::unique(inputs->begin(), inputs->end(),
                  [](const SourceInput& a, const SourceInput& b) { return a.name() == b.name(); }),
      inputs->end());
}

Status configured_seeds(const Config& config, std::vector<Endpoint>* out) {
  for (const std::string& addr : config.input.redis.addresses) {
    Endpoint ep;
    FERRY_RETURN_IF_ERROR(Endpoint::parse(addr, &ep).with_context("input.redis.addresses"));
    out->push_back(ep);
  }
  return Status::ok();
}

}  // namespace

Status sources_of(const Config& config, const ClusterTopology& topology,
                  std::vector<SourceInput>* out) {
  std::vector<Endpoint> seeds;
  FERRY_RETURN_IF_ERROR(configured_seeds(config, &seeds));
  std::vector<SourceInput> inputs;
  for (const ClusterShard& shard : topology.shards) {
    if (shard.slots.empty()) continue;  // a master without slots holds no data
    if (config.input.mode == InputMode::kStatic) {
      bool listed = std::any_of(seeds.begin(), seeds.end(), [&](const Endpoint& s) {
        if (s.to_string() == shard.master.endpoint.to_string()) return true;
        return std::any_of(shard.replicas.begin(), shard.replicas.end(), [&](const ClusterNode& r) {
          return r.endpoint.to_string() == s.to_string();
        });
      });
      if (!listed) continue;
    }
    ClusterNode node;
    FERRY_RETURN_IF_ERROR(choose_sync_node(shard, config.input.sync_from, &node));
    SourceInput in;
    in.node = node.endpoint;
    in.shard = shard.master.id;
    in.slots = slots_text(shard.slots);
    in.members.push_back(shard.master.endpoint.to_string());
    for (const ClusterNode& r : shard.replicas)
      in.members.push_back(r.endpoint.to_string());
    inputs.push_back(std::move(in));
  }
  if (inputs.empty()) {
    return Status::invalid_argument(
        config.input.mode == InputMode::kStatic
            ? "input.mode is static, but no shard serving slots has a node in "
              "input.redis.addresses"
            : "the source cluster has no shard that serves slots");
  }
  sort_unique(&inputs);
  *out = std::move(inputs);
  return Status::ok();
}

Status plan_sources(const Config& config, const std::vector<Endpoint>& extra_seeds,
                    std::vector<SourceInput>* out, ClusterTopology* topology) {
  std::vector<Endpoint> seeds;
  FERRY_RETURN_IF_ERROR(configured_seeds(config, &seeds));
  if (config.input.redis.type == RedisType::kStandalone) {
    std::vector<SourceInput> inputs;
    for (const Endpoint& ep : seeds) {
      SourceInput in;
      in.node = ep;
      inputs.push_back(std::move(in));
    }
    sort_unique(&inputs);
    *out = std::move(inputs);
    return Status::ok();
  }
  // The configured addresses first; then nodes met before, should those be gone.
  seeds.insert(seeds.end(), extra_seeds.begin(), extra_seeds.end());
  ClusterTopology t;
  const RedisSide& in = config.input.redis;
  FERRY_RETURN_IF_ERROR(
      discover_topology(seeds, Credentials{in.user_name, in.password}, std::chrono::seconds(5), &t)
          .with_context("reading the source cluster"));
  FERRY_RETURN_IF_ERROR(sources_of(config, t, out));
  if (topology) *topology = std::move(t);
  return Status::ok();
}

namespace {

// The input of `inputs` whose shard `s` is: they share a node.
const SourceInput* same_shard(const std::vector<SourceInput>& inputs, const SourceInput& s) {
  for (const SourceInput& b : inputs) {
    for (const std::string& m : s.members) {
      if (std::find(b.members.begin(), b.members.end(), m) != b.members.end()) return &b;
    }
  }
  return nullptr;
}

}  // namespace

SourceChanges diff_sources(const std::vector<SourceInput>& before,
                           const std::vector<SourceInput>& now) {
  SourceChanges c;
  for (const SourceInput& b : before) {
    const SourceInput* n = same_shard(now, b);
    if (n && n->name() == b.name()) continue;
    c.gone.push_back(b.name());
    if (n) c.moved.push_back({b.name(), n->name(), n->slots});
  }
  for (const SourceInput& n : now) {
    const SourceInput* b = same_shard(before, n);
    if (b && b->name() == n.name()) continue;
    c.starts.emplace_back(n.name(), b ? b->name() : "");
  }
  return c;
}

const SourceInput* source_for(const std::vector<SourceInput>& sources, const std::string& addr) {
  for (const SourceInput& s : sources) {
    if (s.name() == addr) return &s;
  }
  for (const SourceInput& s : sources) {
    if (std::find(s.members.begin(), s.members.end(), addr) != s.members.end()) return &s;
  }
  return nullptr;
}

}  // namespace ferry
