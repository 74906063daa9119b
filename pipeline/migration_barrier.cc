#include "pipeline/migration_barrier.h"

#include <vector>

#include "net/redis_client.h"

namespace ferry {
namespace {

Status read_offset(const Endpoint& node, const RedisSide& side, uint64_t* out) {
  RedisClient c;
  FERRY_RETURN_IF_ERROR(
      c.connect(node, Credentials{side.user_name, side.password}, std::chrono::seconds(2)));
  std::map<std::string, std::string> repl;
  FERRY_RETURN_IF_ERROR(c.info("replication", &repl));
  auto it = repl.find("master_repl_offset");
  if (it == repl.end()) return Status::io_error(node.to_string() + " reports no offset");
  *out = std::stoull(it->second);
  return Status::ok();
}

}  // namespace

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
}

void MigrationBarrier::set_masters(std::map<std::string, Endpoint> masters) {
  std::lock_guard<std::mutex> lock(mu_);
  masters_ = std::move(masters);
}

Status MigrationBarrier::start_round(const std::string& input, Round* round) {
  std::map<std::string, Endpoint> masters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    masters = masters_;
  }
  Endpoint self;
  FERRY_RETURN_IF_ERROR(Endpoint::parse(input, &self));
  // The importer's own position first: every RESTORE up to it ran before the reads below.
  FERRY_RETURN_IF_ERROR(read_offset(self, source_, &round->licenses));
  for (const auto& [other, master] : masters) {
    if (other == input) continue;
    uint64_t x = 0;
    FERRY_RETURN_IF_ERROR(
        read_offset(master, source_, &x).with_context("the master of input " + other));
    round->need[other] = x;
  }
  round->started = std::chrono::steady_clock::now();
  return Status::ok();
}

MigrationBarrier::Verdict MigrationBarrier::check(const std::string& input, uint64_t at,
                                                  std::string* why) {
  bool have_round = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (licensed_[input] >= at) return Verdict::kGo;
    have_round = rounds_.count(input) > 0;
  }
  if (!have_round) {
    Round r;
    Status st = start_round(input, &r);
    if (!st.is_ok()) {
      *why = "slot migration: cannot read the source offsets (" + st.message() + ")";
      return Verdict::kWait;
    }
    std::lock_guard<std::mutex> lock(mu_);
    rounds_[input] = std::move(r);
  }
  std::lock_guard<std::mutex> lock(mu_);
  Round& r = rounds_[input];
  for (const auto& [other, need] : r.need) {
    auto it = applied_.find(other);
    std::optional<uint64_t> applied = it == applied_.end() ? std::nullopt : it->second();
    if (applied && *applied >= need) continue;
    if (std::chrono::steady_clock::now() - r.started > kMaxWait) {
      *why = "slot migration: the keys this input imported wait for input " + other +
             " to apply offset " + std::to_string(need) + ", for over " +
             std::to_string(kMaxWait.count()) +
             " s (two shards migrating to each other while behind?); stopped before them "
             "so that none is lost: a restart resumes here";
      return Verdict::kFail;
    }
    *why = "slot migration: the keys this input imported wait for input " + other +
           " to apply offset " + std::to_string(need);
    return Verdict::kWait;
  }
  licensed_[input] = r.licenses;
  rounds_.erase(input);
  if (licensed_[input] >= at) return Verdict::kGo;
  *why = "slot migration: reading the source offsets again";
  return Verdict::kWait;  // a RESTORE newer than the round: the next call starts another
}

}  // namespace ferry
