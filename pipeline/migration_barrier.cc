#include "pipeline/migration_barrier.h"

#include "common/bytes.h"
#include "common/log.h"
#include "net/redis_client.h"

namespace ferry {
namespace {

constexpr auto kReadTimeout = std::chrono::seconds(1);
constexpr auto kRetryAfterFailure = std::chrono::milliseconds(200);

}  // namespace

MigrationBarrier::MigrationBarrier(const RedisSide& source) : source_(source) {}
MigrationBarrier::~MigrationBarrier() = default;

Status MigrationBarrier::read_offset(Clients& clients, const Endpoint& node, uint64_t* offset,
                                     bool* master) {
  std::unique_ptr<RedisClient>& c = clients[node.to_string()];
  if (!c || !c->connected()) {
    c = std::make_unique<RedisClient>();
    Status st = c->connect(node, Credentials{source_.user_name, source_.password}, kReadTimeout);
    if (!st.is_ok()) {
      c.reset();
      return st;
    }
  }
  std::map<std::string, std::string> repl;
  Status st = c->info("replication", &repl);
  if (!st.is_ok()) {
    c.reset();  // made again next time
    return st;
  }
  int64_t v = 0;
  if (!parse_int(repl["master_repl_offset"], &v) || v < 0) {
    return Status::io_error(node.to_string() + " reports no replication offset");
  }
  *offset = static_cast<uint64_t>(v);
  *master = repl["role"] == "master";
  return Status::ok();
}

void MigrationBarrier::join(const std::string& input,
                            std::function<std::optional<uint64_t>()> applied) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_[input] = std::move(applied);
}

void MigrationBarrier::leave(const std::string& input) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_.erase(input);
  rounds_.erase(input);
  licensed_.erase(input);
  waits_for_.erase(input);
  cycle_since_.erase(input);
  clients_.erase(input);
}

void MigrationBarrier::set_shards(std::map<std::string, std::vector<Endpoint>> shards) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [input, nodes] : shards_) {
    if (!shards.count(input) && applied_.count(input)) shards[input] = nodes;
  }
  shards_ = std::move(shards);
}

Status MigrationBarrier::start_round(const std::string& input, Round* round) {
  std::map<std::string, std::vector<Endpoint>> shards;
  Clients* clients = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shards = shards_;
    clients = &clients_[input];  // stable: only leave() erases it, after the writer stopped
  }
  Endpoint self;
  FERRY_RETURN_IF_ERROR(Endpoint::parse(input, &self));
  bool master = false;
  // The importer's own position first: every RESTORE up to it ran before the reads below.
  FERRY_RETURN_IF_ERROR(read_offset(*clients, self, &round->licenses, &master));
  for (const auto& [other, nodes] : shards) {
    if (other == input) continue;
    // The shard's master now: whichever node says so (the topology may be older than a
    // failover); a demoted one may lag the DEL.
    bool found = false;
    std::string errors;
    for (const Endpoint& n : nodes) {
      uint64_t x = 0;
      Status st = read_offset(*clients, n, &x, &master);
      if (!st.is_ok()) {
        errors += "; " + st.message();
        continue;
      }
      if (!master) continue;
      round->need[other] = found ? std::max(round->need[other], x) : x;
      found = true;
    }
    if (!found)
      return Status::io_error("no master of input " + other + "'s shard answers" + errors);
  }
  round->started = std::chrono::steady_clock::now();
  return Status::ok();
}

bool MigrationBarrier::in_cycle(const std::string& input) const {
  std::set<std::string> seen;
  std::vector<std::string> todo = {input};
  while (!todo.empty()) {
    std::string at = todo.back();
    todo.pop_back();
    auto it = waits_for_.find(at);
    if (it == waits_for_.end()) continue;
    for (const std::string& next : it->second) {
      if (next == input) return true;
      if (seen.insert(next).second) todo.push_back(next);
    }
  }
  return false;
}

MigrationBarrier::Verdict MigrationBarrier::check(const std::string& input, uint64_t at,
                                                  std::string* why) {
  const auto now = std::chrono::steady_clock::now();
  bool have_round = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (licensed_[input] >= at) return Verdict::kGo;
    have_round = rounds_.count(input) > 0;
    if (!have_round && now < retry_at_[input]) return Verdict::kWait;  // *why is kept
  }
  if (!have_round) {
    Round r;
    Status st = start_round(input, &r);
    std::lock_guard<std::mutex> lock(mu_);
    if (!st.is_ok()) {
      retry_at_[input] = now + kRetryAfterFailure;
      *why = "slot migration: cannot read the source's offsets (" + st.message() + ")";
      return Verdict::kWait;
    }
    rounds_[input] = std::move(r);
  }
  std::lock_guard<std::mutex> lock(mu_);
  Round& r = rounds_[input];
  std::set<std::string> waiting;
  for (const auto& [other, need] : r.need) {
    if (!shards_.count(other) && !applied_.count(other)) {
      rounds_.erase(input);  // it moved or went: read again (its successor is configured)
      *why = "slot migration: the source's shards changed; reading the offsets again";
      return Verdict::kWait;
    }
    auto it = applied_.find(other);
    std::optional<uint64_t> applied = it == applied_.end() ? std::nullopt : it->second();
    if (!applied || *applied < need) waiting.insert(other);
  }
  if (!waiting.empty()) {
    waits_for_[input] = waiting;
    const std::string other = *waiting.begin();
    *why = "slot migration: the keys this input imported wait for input " + other +
           " to apply offset " + std::to_string(r.need[other]);
    if (!in_cycle(input)) {
      cycle_since_.erase(input);
      return Verdict::kWait;
    }
    auto since = cycle_since_.emplace(input, now).first->second;
    if (now - since < kCycleWait) return Verdict::kWait;
    *why +=
        ", which waits for this one (two shards migrating to each other while behind): "
        "stopped before the keys so that none is lost; a restart resumes here";
    return Verdict::kFail;
  }
  waits_for_.erase(input);
  cycle_since_.erase(input);
  const auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - r.started).count();
  if (waited >= 1000) {
    LOG_INFO(
        "input %s: slot migration: keys imported up to offset %llu go, after %lld ms "
        "waiting for the other shards' inputs",
        input.c_str(), static_cast<unsigned long long>(r.licenses), static_cast<long long>(waited));
  }
  licensed_[input] = r.licenses;
  rounds_.erase(input);
  if (licensed_[input] >= at) return Verdict::kGo;
  *why = "slot migration: reading the source's offsets again";
  return Verdict::kWait;  // a RESTORE newer than the round: the next call starts another
}

}  // namespace ferry
