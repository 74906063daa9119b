#include "pipeline/cluster_checkpoint.h"

#include <thread>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/log.h"
#include "nodes/checkpoint.h"
#include "nodes/slot_batch.h"

namespace ferry {
namespace {

constexpr int64_t kConfirmPollMs = 50;

bool same(const SourcePosition& a, const SourcePosition& b) {
  return a.phase == b.phase && a.gen == b.gen && a.offset == b.offset && a.replid == b.replid;
}

// The lowest offset of the online replicas INFO replication lists (slaveN:ip=..,state=..,
// offset=..); UINT64_MAX when there is none.
uint64_t lowest_replica_offset(const std::map<std::string, std::string>& info) {
  uint64_t lowest = UINT64_MAX;
  for (const auto& [name, value] : info) {
    if (name.rfind("slave", 0) != 0 || value.find("state=online") == std::string::npos) continue;
    size_t at = value.find("offset=");
    int64_t offset = 0;
    if (at == std::string::npos) continue;
    std::string_view rest = std::string_view(value).substr(at + 7);
    if (!parse_int(rest.substr(0, rest.find(',')), &offset)) continue;
    lowest = std::min(lowest, static_cast<uint64_t>(offset));
  }
  return lowest;
}

}  // namespace

ClusterCheckpoint::ClusterCheckpoint(Options options)
    : options_(std::move(options)),
      checkpoint_node_(options_.target->node_of_key(options_.key)),
      clients_(options_.target->nodes.size()) {}

RedisClient* ClusterCheckpoint::client(size_t node, Status* st) {
  std::unique_ptr<RedisClient>& c = clients_[node];
  if (!c || !c->connected()) {
    c = std::make_unique<RedisClient>();
    *st = c->connect(options_.target->nodes[node], options_.credentials, std::chrono::seconds(5));
    if (!st->is_ok()) c.reset();
  }
  return c.get();
}

Status ClusterCheckpoint::read_offsets(std::vector<uint64_t>* out) {
  out->assign(clients_.size(), 0);
  for (size_t n = 0; n < clients_.size(); n++) {
    Status st;
    RedisClient* c = client(n, &st);
    std::map<std::string, std::string> info;
    if (c) st = c->info("replication", &info);
    int64_t offset = 0;
    if (st.is_ok() && !parse_int(info["master_repl_offset"], &offset)) {
      st = Status::corruption("no master_repl_offset in INFO replication");
    }
    if (!st.is_ok()) {
      clients_[n].reset();
      return st.with_context(options_.target->nodes[n].to_string());
    }
    (*out)[n] = static_cast<uint64_t>(offset);
  }
  return Status::ok();
}

Status ClusterCheckpoint::replicas_confirm(bool* yes) {
  *yes = true;
  for (size_t n = 0; n < clients_.size() && *yes; n++) {
    Status st;
    RedisClient* c = client(n, &st);
    std::map<std::string, std::string> info;
    if (c) st = c->info("replication", &info);
    if (!st.is_ok()) {
      clients_[n].reset();
      return st.with_context(options_.target->nodes[n].to_string());
    }
    uint64_t lowest = lowest_replica_offset(info);
    if (lowest != UINT64_MAX && lowest < offsets_[n]) *yes = false;
  }
  return Status::ok();
}

Status ClusterCheckpoint::write(const SourcePosition& p) {
  if (!options_.write_target) return Status::ok();
  Status st;
  RedisClient* c = client(checkpoint_node_, &st);
  Checkpoint cp;
  cp.position = p;
  if (c) st = c->checked(cp.hset_argv(options_.key));
  if (!st.is_ok()) clients_[checkpoint_node_].reset();
  return st;
}

Status ClusterCheckpoint::begin(const SourcePosition& start) {
  std::lock_guard<std::mutex> op(op_mu_);
  SourcePosition c = confirmed();
  if (c.phase != SourcePosition::Phase::kNone && c.gen >= start.gen) return Status::ok();
  FERRY_RETURN_IF_ERROR(write(start));
  pending_.reset();  // taken before the full sync: superseded
  std::lock_guard<std::mutex> lock(mu_);
  confirmed_ = start;
  return Status::ok();
}

std::optional<SourcePosition> ClusterCheckpoint::tick(const SourcePosition& applied, bool now) {
  std::lock_guard<std::mutex> op(op_mu_);
  Status st;
  if (!pending_) {
    const SourcePosition c = confirmed();
    // Never backwards (begin() may have moved it into a full sync not applied this far).
    if (applied.phase == SourcePosition::Phase::kNone || same(applied, c) ||
        (c.phase != SourcePosition::Phase::kNone &&
         !slot_position(applied).at_or_after(slot_position(c)))) {
      return {};
    }
    const int64_t at = mono_ms();
    if (!now && at - last_ms_ < options_.period.count()) return {};
    last_ms_ = at;
    st = read_offsets(&offsets_);
    if (st.is_ok()) pending_ = applied;
  }
  bool confirmed = false;
  // Replicas acknowledge about once a second: asked at most every kConfirmPollMs.
  if (pending_ && mono_ms() - last_check_ms_ < kConfirmPollMs && !now) return {};
  last_check_ms_ = mono_ms();
  if (st.is_ok() && pending_) st = replicas_confirm(&confirmed);
  if (st.is_ok() && confirmed) st = write(*pending_);
  if (!st.is_ok()) {
    if (mono_ms() - last_warning_ms_ >= 10000) {
      last_warning_ms_ = mono_ms();
      LOG_WARN("checkpoint %s not written yet: %s; retrying", options_.key.c_str(),
               st.message().c_str());
    }
    return {};
  }
  if (!confirmed) return {};
  SourcePosition done = *pending_;
  pending_.reset();
  std::lock_guard<std::mutex> lock(mu_);
  confirmed_ = done;
  return done;
}

SourcePosition ClusterCheckpoint::confirmed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return confirmed_;
}

std::optional<SourcePosition> ClusterCheckpoint::finish(const SourcePosition& applied,
                                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::lock_guard<std::mutex> op(op_mu_);
    pending_.reset();  // the newest position, not one taken earlier
  }
  std::optional<SourcePosition> out;
  while (true) {
    if (std::optional<SourcePosition> written = tick(applied, true)) out = written;
    const SourcePosition c = confirmed();
    if (same(c, applied) || applied.phase == SourcePosition::Phase::kNone ||
        (c.phase != SourcePosition::Phase::kNone &&
         !slot_position(applied).at_or_after(slot_position(c)))) {
      return out;
    }
    if (std::chrono::steady_clock::now() >= deadline) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace ferry
