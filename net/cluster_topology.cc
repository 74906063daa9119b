#include "net/cluster_topology.h"

#include <algorithm>
#include <map>

#include "common/bytes.h"
#include "proto/crc16.h"

namespace ferry {
namespace {

bool address_less(const ClusterNode& a, const ClusterNode& b) {
  if (a.endpoint.host != b.endpoint.host) return a.endpoint.host < b.endpoint.host;
  return a.endpoint.port < b.endpoint.port;
}

std::vector<SlotRange> merged(std::vector<SlotRange> r) {
  std::sort(r.begin(), r.end(),
            [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  std::vector<SlotRange> out;
  for (const SlotRange& s : r) {
    if (!out.empty() && s.first <= out.back().last + 1) {
      out.back().last = std::max(out.back().last, s.last);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

// Orders shards, replicas and slot ranges so that equal clusters read equal.
void normalize(ClusterTopology* t) {
  for (ClusterShard& s : t->shards) {
    s.slots = merged(std::move(s.slots));
    std::sort(s.replicas.begin(), s.replicas.end(), address_less);
  }
  std::sort(t->shards.begin(), t->shards.end(), [](const ClusterShard& a, const ClusterShard& b) {
    if (a.slots.empty() != b.slots.empty()) return !a.slots.empty();
    if (!a.slots.empty() && a.slots[0].first != b.slots[0].first) {
      return a.slots[0].first < b.slots[0].first;
    }
    return address_less(a.master, b.master);
  });
}

bool parse_slot(std::string_view text, int* out) {
  int64_t v = 0;
  if (!parse_int(text, &v) || v < 0 || v >= kClusterSlots) return false;
  *out = static_cast<int>(v);
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// "ip:port@cport[,hostname]" (the "@cport" part since 4.0).
Status parse_node_address(std::string_view text, const Endpoint& asked, Endpoint* out) {
  std::string_view addr = text.substr(0, text.find_first_of("@,"));
  size_t colon = addr.rfind(':');
  int64_t port = 0;
  if (colon == std::string_view::npos || !parse_int(addr.substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    return Status::corruption("CLUSTER NODES: malformed address " + printable(text));
  }
  out->host = colon == 0 ? asked.host : std::string(addr.substr(0, colon));
  out->port = static_cast<int>(port);
  return Status::ok();
}

// One CLUSTER NODES line: id addr flags master ping pong epoch link slot...
struct NodeLine {
  ClusterNode node;
  bool master = false;
  bool skip = false;  // handshake or noaddr: not a member yet, or gone
  std::string master_id;
  std::vector<SlotRange> slots;
};

Status parse_node_line(std::string_view line, const Endpoint& asked, NodeLine* out) {
  std::vector<std::string_view> f = split(line, ' ');
  if (f.size() < 8) return Status::corruption("CLUSTER NODES: malformed line " + printable(line));
  out->node.id = std::string(f[0]);
  for (std::string_view flag : split(f[2], ',')) {
    if (flag == "master") out->master = true;
    if (flag == "fail" || flag == "fail?") out->node.healthy = false;
    if (flag == "handshake" || flag == "noaddr") out->skip = true;
  }
  if (out->skip) return Status::ok();
  FERRY_RETURN_IF_ERROR(parse_node_address(f[1], asked, &out->node.endpoint));
  out->master_id = f[3] == "-" ? std::string() : std::string(f[3]);
  for (size_t i = 8; i < f.size(); i++) {
    if (f[i].front() == '[') continue;  // a slot being imported or migrated: not served yet
    SlotRange r;
    size_t dash = f[i].find('-');
    bool ok = dash == std::string_view::npos
                  ? parse_slot(f[i], &r.first) && parse_slot(f[i], &r.last)
                  : parse_slot(f[i].substr(0, dash), &r.first) &&
                        parse_slot(f[i].substr(dash + 1), &r.last) && r.first <= r.last;
    if (!ok) return Status::corruption("CLUSTER NODES: malformed slot " + printable(f[i]));
    out->slots.push_back(r);
  }
  return Status::ok();
}

// A flat [name, value, name, value...] array as a map of name to element.
std::map<std::string, const Reply*> fields_of(const Reply& r) {
  std::map<std::string, const Reply*> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2)
    out[r.elements[i].str] = &r.elements[i + 1];
  return out;
}

Status parse_shard_node(const Reply& r, const Endpoint& asked, ClusterNode* node, bool* master) {
  if (r.type != Reply::Type::kArray) return Status::corruption("CLUSTER SHARDS: node not a map");
  auto f = fields_of(r);
  auto str = [&](const char* name) {
    auto it = f.find(name);
    return it == f.end() ? std::string() : it->second->str;
  };
  auto num = [&](const char* name) -> int64_t {
    auto it = f.find(name);
    return it == f.end() || it->second->type != Reply::Type::kInteger ? 0 : it->second->integer;
  };
  node->id = str("id");
  node->endpoint.host = str("ip").empty() ? asked.host : str("ip");
  int64_t port = num("port") != 0 ? num("port") : num("tls-port");
  if (node->id.empty() || port <= 0 || port > 65535) {
    return Status::corruption("CLUSTER SHARDS: a node without id or port");
  }
  node->endpoint.port = static_cast<int>(port);
  node->repl_offset = static_cast<uint64_t>(std::max<int64_t>(0, num("replication-offset")));
  node->healthy = str("health") == "online";
  *master = str("role") == "master";
  return Status::ok();
}

Status parse_shard(const Reply& r, const Endpoint& asked, ClusterTopology* out) {
  if (r.type != Reply::Type::kArray) return Status::corruption("CLUSTER SHARDS: shard not a map");
  auto f = fields_of(r);
  if (!f.count("slots") || !f.count("nodes")) {
    return Status::corruption("CLUSTER SHARDS: shard without slots or nodes");
  }
  ClusterShard shard;
  const Reply& slots = *f["slots"];
  for (size_t i = 0; i + 1 < slots.elements.size(); i += 2) {
    SlotRange s{static_cast<int>(slots.elements[i].integer),
                static_cast<int>(slots.elements[i + 1].integer)};
    if (s.first < 0 || s.last >= kClusterSlots || s.first > s.last) {
      return Status::corruption("CLUSTER SHARDS: malformed slot range");
    }
    shard.slots.push_back(s);
  }
  bool have_master = false;
  for (const Reply& n : f["nodes"]->elements) {
    ClusterNode node;
    bool master = false;
    FERRY_RETURN_IF_ERROR(parse_shard_node(n, asked, &node, &master));
    if (master && !have_master) {
      shard.master = node;
      have_master = true;
    } else {
      shard.replicas.push_back(node);
    }
  }
  // A shard whose master failed and was not replaced: nothing to replicate from it, and its
  // slots (if any) are served by no one; reported by uncovered().
  if (!have_master) return Status::ok();
  out->shards.push_back(std::move(shard));
  return Status::ok();
}

}  // namespace

std::string ClusterShard::name() const {
  std::string s = master.endpoint.to_string();
  if (!slots.empty()) {
    s += " (slots " + std::to_string(slots[0].first) + "-" + std::to_string(slots[0].last) +
         (slots.size() > 1 ? ",..." : "") + ")";
  }
  return s;
}

bool ClusterShard::serves(int slot) const {
  for (const SlotRange& r : slots) {
    if (slot >= r.first && slot <= r.last) return true;
  }
  return false;
}

int ClusterTopology::shard_of(int slot) const {
  for (size_t i = 0; i < shards.size(); i++) {
    if (shards[i].serves(slot)) return static_cast<int>(i);
  }
  return -1;
}

int ClusterTopology::shard_with(const Endpoint& node) const {
  for (size_t i = 0; i < shards.size(); i++) {
    if (shards[i].master.endpoint == node) return static_cast<int>(i);
    for (const ClusterNode& r : shards[i].replicas) {
      if (r.endpoint == node) return static_cast<int>(i);
    }
  }
  return -1;
}

std::vector<SlotRange> ClusterTopology::uncovered() const {
  std::vector<SlotRange> all;
  for (const ClusterShard& s : shards)
    all.insert(all.end(), s.slots.begin(), s.slots.end());
  all = merged(std::move(all));
  std::vector<SlotRange> gaps;
  int next = 0;
  for (const SlotRange& r : all) {
    if (r.first > next) gaps.push_back({next, r.first - 1});
    next = std::max(next, r.last + 1);
  }
  if (next < kClusterSlots) gaps.push_back({next, kClusterSlots - 1});
  return gaps;
}

bool ClusterTopology::same_layout(const ClusterTopology& o) const {
  if (shards.size() != o.shards.size()) return false;
  for (size_t i = 0; i < shards.size(); i++) {
    if (!(shards[i].master.endpoint == o.shards[i].master.endpoint) ||
        shards[i].slots != o.shards[i].slots) {
      return false;
    }
  }
  return true;
}

Status parse_cluster_nodes(std::string_view text, const Endpoint& asked, ClusterTopology* out) {
  std::vector<NodeLine> lines;
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    NodeLine nl;
    FERRY_RETURN_IF_ERROR(parse_node_line(line, asked, &nl));
    if (!nl.skip) lines.push_back(std::move(nl));
  }
  ClusterTopology t;
  std::map<std::string, size_t> shard_of_master;
  for (NodeLine& nl : lines) {
    if (!nl.master) continue;
    shard_of_master[nl.node.id] = t.shards.size();
    ClusterShard s;
    s.master = nl.node;
    s.slots = std::move(nl.slots);
    t.shards.push_back(std::move(s));
  }
  for (NodeLine& nl : lines) {
    if (nl.master) continue;
    auto it = shard_of_master.find(nl.master_id);
    if (it != shard_of_master.end()) t.shards[it->second].replicas.push_back(nl.node);
  }
  normalize(&t);
  *out = std::move(t);
  return Status::ok();
}

Status parse_cluster_shards(const Reply& reply, const Endpoint& asked, ClusterTopology* out) {
  if (reply.type != Reply::Type::kArray) return Status::corruption("CLUSTER SHARDS: not an array");
  ClusterTopology t;
  for (const Reply& shard : reply.elements)
    FERRY_RETURN_IF_ERROR(parse_shard(shard, asked, &t));
  normalize(&t);
  *out = std::move(t);
  return Status::ok();
}

Status read_topology(RedisClient& client, ClusterTopology* out) {
  Reply r;
  FERRY_RETURN_IF_ERROR(client.command({"CLUSTER", "SHARDS"}, &r));
  if (!r.is_error()) return parse_cluster_shards(r, client.endpoint(), out);
  if (r.str.find("cluster support disabled") != std::string::npos) {
    return Status::invalid_argument(client.endpoint().to_string() +
                                    " is not a Redis Cluster node (cluster support disabled)");
  }
  // Before 7.0 there is no CLUSTER SHARDS.
  FERRY_RETURN_IF_ERROR(client.checked({"CLUSTER", "NODES"}, &r));
  return parse_cluster_nodes(r.str, client.endpoint(), out);
}

Status discover_topology(const std::vector<Endpoint>& seeds, const Credentials& creds,
                         std::chrono::milliseconds timeout, ClusterTopology* out) {
  std::string errors;
  for (const Endpoint& seed : seeds) {
    RedisClient c;
    Status st = c.connect(seed, creds, timeout);
    if (st.is_ok()) st = read_topology(c, out);
    if (st.is_ok()) return st;
    // Not a cluster node, or AUTH refused: asking another seed would not help.
    if (st.code() == Status::Code::kInvalidArgument) return st;
    errors += (errors.empty() ? "" : "; ") + seed.to_string() + ": " + st.message();
  }
  return Status::io_error("no cluster node answered: " + errors);
}

Status choose_sync_node(const ClusterShard& shard, SyncFrom from, ClusterNode* out) {
  if (from != SyncFrom::kMaster) {
    for (const ClusterNode& r : shard.replicas) {  // sorted by address
      if (r.healthy) {
        *out = r;
        return Status::ok();
      }
    }
    if (from == SyncFrom::kSlave) {
      return Status::invalid_argument("input.syncFrom is slave, but shard " + shard.name() +
                                      " has no healthy replica");
    }
  }
  *out = shard.master;
  return Status::ok();
}

std::string slots_text(const std::vector<SlotRange>& slots) {
  std::string s;
  for (const SlotRange& r : slots) {
    if (!s.empty()) s += ",";
    s += std::to_string(r.first);
    if (r.last != r.first) s += "-" + std::to_string(r.last);
  }
  return s;
}

bool parse_slots_text(std::string_view text, std::vector<SlotRange>* out) {
  std::vector<SlotRange> slots;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t dash = part.find('-');
    int64_t a = 0, b = 0;
    if (!parse_int(part.substr(0, dash), &a)) return false;
    b = a;
    if (dash != std::string_view::npos && !parse_int(part.substr(dash + 1), &b)) return false;
    if (a < 0 || b < a || b >= kClusterSlots) return false;
    slots.push_back(SlotRange{static_cast<int>(a), static_cast<int>(b)});
  }
  *out = std::move(slots);
  return true;
}

}  // namespace ferry
