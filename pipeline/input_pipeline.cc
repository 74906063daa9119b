#include "pipeline/input_pipeline.h"

#include <cinttypes>
#include <functional>

#include "common/clock.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "common/units.h"
#include "net/redis_client.h"
#include "net/target_writer.h"
#include "nodes/checkpoint.h"
#include "nodes/own_keys.h"
#include "nodes/slot_batch.h"
#include "nodes/source_stage.h"
#include "pipeline/cluster_checkpoint.h"
#include "pipeline/input_graph.h"
#include "pipeline/migration_barrier.h"
#include "pipeline/resume.h"
#include "pipeline/slot_checkpoints.h"
#include "storage/cache.h"
#include "storage/skip_log.h"

namespace ferry {
namespace {

constexpr uint64_t kMaxFailuresLogged = 20;
// How long a stop waits for a cluster target's replicas to confirm the final checkpoint.
constexpr auto kFinalCheckpointWait = std::chrono::milliseconds(2000);

int announce_port(const Config& c) {
  Endpoint ep;
  return Endpoint::parse(c.server.listen, &ep).is_ok() ? ep.port : 0;
}

}  // namespace

InputPipeline::InputPipeline(const Config& config, Cache* cache, Endpoint source, Options options)
    : config_(config),
      cache_(cache),
      source_(std::move(source)),
      name_(source_.to_string()),
      options_(std::move(options)),
      target_nodes_(options_.target->nodes),
      checkpoint_key_(checkpoint_key(name_, options_.target->cluster)),
      checkpoint_node_(target_nodes_[options_.target->node_of_key(checkpoint_key_)]) {
  ctx_.caps = options_.caps;
  ctx_.target_commands = options_.target_commands;
}

namespace {

Credentials target_credentials(const Config& c) {
  return Credentials{c.output.redis.user_name, c.output.redis.password};
}

// More keys than checkpoints could make (several inputs, each a key per cluster slot).
constexpr long long kMostCheckpointKeys = 1 << 20;

// Calls `each` with every key of the connection's DB named like a checkpoint (SCAN), until
// it sets *stop or fails.
Status for_each_checkpoint_key(RedisClient& c,
                               const std::function<Status(const std::string&, bool* stop)>& each) {
  std::string cursor = "0";
  bool stop = false;
  do {
    Reply r;
    FERRY_RETURN_IF_ERROR(c.checked(
        {"SCAN", cursor, "MATCH", std::string(kCheckpointPrefix) + "*", "COUNT", "1000"}, &r));
    if (r.elements.size() < 2) break;
    cursor = r.elements[0].str;
    for (size_t i = 0; i < r.elements[1].elements.size() && !stop; i++)
      FERRY_RETURN_IF_ERROR(each(r.elements[1].elements[i].str, &stop));
  } while (cursor != "0" && !stop);
  return Status::ok();
}

// Whether a target node holds nothing but ferry's checkpoints.
Status holds_no_data(RedisClient& c, bool* empty) {
  std::map<std::string, std::string> keyspace;
  FERRY_RETURN_IF_ERROR(c.info("keyspace", &keyspace));
  *empty = true;
  for (const auto& [name, value] : keyspace) {
    if (name.rfind("db", 0) != 0) continue;
    if (name != "db0") {
      *empty = false;
      continue;
    }
    // Only checkpoints (on a cluster: a few per slot at most) — counted with SCAN, unless
    // there are more keys than that could be.
    long long keys = std::atoll(value.c_str() + value.find("keys=") + 5);
    if (keys > kMostCheckpointKeys) {
      *empty = false;
      continue;
    }
    FERRY_RETURN_IF_ERROR(c.checked({"SELECT", "0"}));
    long long checkpoints = 0;
    FERRY_RETURN_IF_ERROR(for_each_checkpoint_key(c, [&](const std::string&, bool*) {
      checkpoints++;
      return Status::ok();
    }));
    if (checkpoints != keys) *empty = false;
  }
  return Status::ok();
}

// The checkpoint `key` of `input` on the target `node`, if any, and whether every node of
// the target is empty but for checkpoints.
Status read_target_checkpoint(const Config& config, const TargetMap& target, const Endpoint& node,
                              const std::string& key, const std::string& input,
                              std::optional<Checkpoint>* out, bool* target_empty) {
  RedisClient c;
  FERRY_RETURN_IF_ERROR(c.connect(node, target_credentials(config), std::chrono::seconds(5)));
  Reply r;
  FERRY_RETURN_IF_ERROR(c.checked({"SELECT", "0"}));
  FERRY_RETURN_IF_ERROR(c.checked({"HGETALL", key}, &r));
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    fields[r.elements[i].str] = r.elements[i + 1].str;
  }
  Checkpoint cp;
  if (!fields.empty()) {
    Status st = Checkpoint::from_fields(fields, &cp);
    if (st.is_ok()) {
      *out = cp;
    } else if (st.code() == Status::Code::kNotSupported) {
      return st.with_context("the target's " + key);
    } else {
      LOG_WARN("input %s: the target's %s is not a checkpoint ferry can read (%s); ignoring it",
               input.c_str(), key.c_str(), st.message().c_str());
    }
  }
  *target_empty = true;
  for (const Endpoint& n : target.nodes) {
    RedisClient other;
    if (!(n == node)) {
      FERRY_RETURN_IF_ERROR(other.connect(n, target_credentials(config), std::chrono::seconds(5)));
    }
    bool empty = false;
    FERRY_RETURN_IF_ERROR(holds_no_data(n == node ? c : other, &empty));
    if (!empty) {
      *target_empty = false;
      break;
    }
  }
  return Status::ok();
}

}  // namespace

Status InputPipeline::adopt_checkpoint(std::optional<Checkpoint>* checkpoint) {
  RedisClient source;
  FERRY_RETURN_IF_ERROR(source.connect(
      source_, Credentials{config_.input.redis.user_name, config_.input.redis.password},
      std::chrono::seconds(5)));
  std::map<std::string, std::string> repl;
  FERRY_RETURN_IF_ERROR(source.info("replication", &repl));
  const std::string& id1 = repl["master_replid"];
  const std::string& id2 = repl["master_replid2"];
  RedisClient target;
  FERRY_RETURN_IF_ERROR(
      target.connect(checkpoint_node_, target_credentials(config_), std::chrono::seconds(5)));
  FERRY_RETURN_IF_ERROR(target.checked({"SELECT", "0"}));
  const bool cluster = options_.target->cluster;
  return for_each_checkpoint_key(target, [&](const std::string& key, bool* stop) {
    std::string owner(ckpt::input_of(key));
    // On a cluster only a key of the same spelling is in this one's slot (RENAMENX).
    if (key != checkpoint_key(owner, cluster)) return Status::ok();
    const auto& live = options_.configured_inputs;
    if (std::find(live.begin(), live.end(), owner) != live.end()) return Status::ok();
    Reply h;
    FERRY_RETURN_IF_ERROR(target.checked({"HGETALL", key}, &h));
    std::map<std::string, std::string> fields;
    for (size_t i = 0; i + 1 < h.elements.size(); i += 2) {
      fields[h.elements[i].str] = h.elements[i + 1].str;
    }
    Checkpoint cp;
    if (!Checkpoint::from_fields(fields, &cp).is_ok()) return Status::ok();
    const std::string& rid = cp.position.replid;
    if (rid.empty() || (rid != id1 && rid != id2)) return Status::ok();
    Reply renamed;
    FERRY_RETURN_IF_ERROR(target.checked({"RENAMENX", key, checkpoint_key_}, &renamed));
    if (renamed.integer != 1) return Status::ok();
    if (cluster) {
      FERRY_RETURN_IF_ERROR(
          move_slot_checkpoints(*options_.target, target_credentials(config_), owner, name_));
    }
    LOG_INFO(
        "input %s: taking over the checkpoint of input %s (%s): this source continues its "
        "replication history",
        name_.c_str(), owner.c_str(), cp.describe().c_str());
    *checkpoint = cp;
    ctx_.first_batch_seq = cp.seq + 1;
    *stop = true;
    return Status::ok();
  });
}

Status InputPipeline::take_over(const std::string& predecessor) {
  RedisClient target;
  FERRY_RETURN_IF_ERROR(
      target.connect(checkpoint_node_, target_credentials(config_), std::chrono::seconds(5)));
  FERRY_RETURN_IF_ERROR(target.checked({"SELECT", "0"}));
  const std::string theirs = checkpoint_key(predecessor, options_.target->cluster);
  Reply exists;
  FERRY_RETURN_IF_ERROR(target.checked({"EXISTS", theirs}, &exists));
  if (exists.integer == 1) {
    // RENAME, not RENAMENX: a checkpoint of this name left from an earlier turn of the shard
    // on this node (before a failback) is older than the predecessor's.
    FERRY_RETURN_IF_ERROR(target.checked({"RENAME", theirs, checkpoint_key_}));
  } else {
    FERRY_RETURN_IF_ERROR(target.checked({"DEL", checkpoint_key_}));
  }
  if (options_.target->cluster) {
    FERRY_RETURN_IF_ERROR(
        move_slot_checkpoints(*options_.target, target_credentials(config_), predecessor, name_));
  }
  // What this node's cache holds is from that earlier turn, older than the checkpoint.
  FERRY_RETURN_IF_ERROR(log_->drop_all());
  LOG_INFO("input %s: continues input %s of the same source shard (its checkpoint %s)",
           name_.c_str(), predecessor.c_str(), exists.integer == 1 ? "taken over" : "absent");
  return Status::ok();
}

// Decides where to start: from the checkpoint and the cache, or with a full sync.
Status InputPipeline::plan_start() {
  const ReplayConfig& replay = config_.output.replay;
  std::optional<Checkpoint> checkpoint;
  bool target_empty = false;
  if (options_.force_full_sync) {
    FERRY_RETURN_IF_ERROR(log_->drop_all());
    LOG_INFO("input %s: full sync requested", name_.c_str());
    log_->read_new_data();
    return Status::ok();
  }
  if (!options_.follows.empty()) {
    FERRY_RETURN_IF_ERROR(take_over(options_.follows).with_context("taking over the checkpoint"));
  }
  Status st = read_target_checkpoint(config_, *options_.target, checkpoint_node_, checkpoint_key_,
                                     name_, &checkpoint, &target_empty);
  if (!st.is_ok()) return st.with_context("reading the checkpoint");
  if (!checkpoint && replay.resume_from_break_point && log_->meta().gens.empty()) {
    st = adopt_checkpoint(&checkpoint);
    if (!st.is_ok()) LOG_WARN("input %s: %s", name_.c_str(), st.message().c_str());
  }
  if (!replay.resume_from_break_point) {
    // Checkpoints are kept locally only: nothing in the target says what committed.
    LOG_WARN(
        "input %s: resumeFromBreakPoint is false: the applied position is kept only in the "
        "local cache (saved every 100 ms), so after a crash the last batches may be applied "
        "again (at-least-once: INCR, LPUSH, APPEND may count twice)",
        name_.c_str());
    checkpoint.reset();
    if (auto local = log_->local_checkpoint()) {
      Checkpoint cp;
      cp.position.phase = local->rdb ? SourcePosition::Phase::kRdb : SourcePosition::Phase::kStream;
      cp.position.replid = local->replid;
      cp.position.offset = local->offset;
      cp.position.db = local->db;
      cp.position.gen = local->gen;
      for (const cache::Generation& g : log_->meta().gens) {
        if (local->rdb && g.id == local->gen) {
          cp.position.rdb_start = g.start_offset;
          cp.position.replid = g.replid;
        }
      }
      checkpoint = cp;
    }
  } else if (checkpoint) {
    ctx_.first_batch_seq = checkpoint->seq + 1;
  }
  if (ctx_.slot_transactions) {
    LOG_INFO(
        "input %s: into the cluster each master's batch commits with the checkpoints of its "
        "slots (exactly-once per slot)",
        name_.c_str());
  } else if (options_.target->cluster && replay.resume_from_break_point) {
    if (replay.replay_transaction) {
      LOG_WARN(
          "input %s: the target cluster runs Redis %d.%d; exactly-once into a cluster "
          "needs 7.0 (scripts across slots)",
          name_.c_str(), options_.caps.major, options_.caps.minor);
    }
    LOG_WARN(
        "input %s: into a cluster target batches are not transactions yet: the checkpoint "
        "is written every %s once what it covers was applied and replicated, so after a "
        "crash the commands since may be applied again (at-least-once: INCR, LPUSH, APPEND "
        "may count twice)",
        name_.c_str(), format_duration(replay.update_checkpoint_ticker).c_str());
  } else if (!replay.replay_transaction) {
    LOG_WARN(
        "input %s: replayTransaction is false: a batch's checkpoint follows its data, so "
        "after a crash the last batch may be applied again (at-least-once)",
        name_.c_str());
  }
  ctx_.had_checkpoint = checkpoint.has_value();
  ResumePlan plan = plan_resume(*log_, checkpoint, target_empty);
  LOG_INFO("input %s: %s", name_.c_str(), plan.reason.c_str());
  // A full sync that starts over may count the cache's generations from 1 again: what the
  // slot checkpoints say is of another history then.
  ctx_.resume_slots = plan.read != ResumePlan::Read::kNewData && !plan.drop_cache;
  if (plan.drop_cache) FERRY_RETURN_IF_ERROR(log_->drop_all());
  switch (plan.read) {
    case ResumePlan::Read::kRdb:
      log_->read_rdb(plan.gen, plan.offset);
      break;
    case ResumePlan::Read::kStream:
      log_->read_stream(plan.gen, plan.offset, plan.db);
      break;
    case ResumePlan::Read::kNewData:
      log_->read_new_data(plan.db);
      break;
  }
  resume_replid_ = plan.psync_replid;
  resume_offset_ = plan.psync_offset;
  return Status::ok();
}

InputPipeline::~InputPipeline() {
  if (!stopping_) stop(std::chrono::steady_clock::now());
}

Status InputPipeline::start() {
  const ReplayConfig& replay = config_.output.replay;
  // maxInflightBytes bounds what the graph holds between the cache and the target's
  // acknowledgement; the source's data waits in the cache, on disk.
  budget_ = std::make_unique<MemoryBudget>(replay.max_inflight_bytes);
  tracker_ = std::make_unique<OffsetTracker>();
  ctx_.input = name_;
  ctx_.replay = &replay;
  ctx_.counters = &counters_;
  ctx_.rdb_stats = &rdb_stats_;
  ctx_.budget = budget_.get();
  ctx_.tracker = tracker_.get();
  ctx_.fail = [this](const Status& st) { fail(st); };
  ctx_.report_skipped = [this](std::vector<SkipRecord> r) {
    Status st = report_skipped(std::move(r));
    if (!st.is_ok()) fail(st);
  };
  ctx_.checkpoint_key = checkpoint_key_;
  ctx_.target = options_.target;
  // A standalone target allows transactions; on a cluster a batch's keys span slots, which
  // MULTI cannot hold: there each master's batch is one script (Redis 7.0+) that writes the
  // checkpoints of its slots with the data.
  ctx_.transaction = replay.replay_transaction && !options_.target->cluster;
  ctx_.slot_transactions = options_.target->cluster && replay.replay_transaction &&
                           replay.resume_from_break_point && options_.caps.major >= 7;
  ctx_.source_cluster = config_.input.redis.type == RedisType::kCluster;
  if (options_.shard_slots) {
    ctx_.shard_slots = [this] { return options_.shard_slots(name_); };
  }
  ctx_.checkpoint_in_target = replay.resume_from_break_point;

  FERRY_RETURN_IF_ERROR(cache_->open_input(name_, &log_));
  FERRY_RETURN_IF_ERROR(SkipLog::open(config_.channel.storer.dir_path + "/skipped", name_,
                                      SkipLog::Options(), &skip_log_));
  FERRY_RETURN_IF_ERROR(plan_start());
  if (ctx_.slot_transactions) {
    // Starting over: slot checkpoints left from another history (an older cache, whose
    // generations this one may count again) must not say what is applied.
    if (!ctx_.resume_slots) {
      FERRY_RETURN_IF_ERROR(
          delete_slot_checkpoints(*options_.target, target_credentials(config_), name_));
    }
    auto found = std::make_shared<std::vector<std::string>>();
    FERRY_RETURN_IF_ERROR(
        read_slot_checkpoints(*options_.target, target_credentials(config_), name_, found.get()));
    ctx_.slot_checkpoints = std::move(found);
  }
  source_stage_ = std::make_unique<SourceStage>(log_.get(), budget_.get());
  if (options_.start_paused) {
    source_stage_->set_paused(true);
    state_ = InputState::kPause;
  }
  if (options_.target->cluster) {
    ClusterCheckpoint::Options co;
    co.target = options_.target;
    co.credentials = target_credentials(config_);
    co.key = checkpoint_key_;
    co.write_target = ctx_.checkpoint_in_target;
    co.period = replay.update_checkpoint_ticker;
    cluster_checkpoint_ = std::make_unique<ClusterCheckpoint>(co);
  }
  start_writers();
  tracker_->set_listener([this](const OffsetTracker::Applied& a) { on_applied(a); });
  if (options_.barrier) {
    options_.barrier->join(name_, [this]() -> std::optional<uint64_t> {
      SourcePosition p = tracker_->applied();
      if (p.phase != SourcePosition::Phase::kStream) return std::nullopt;
      return p.offset;
    });
  }
  log_->set_data_listener([this] { graph_->activate(); });
  log_->set_failure_handler([this](const Status& st) { fail(st); });
  budget_->set_room_listener([this] { graph_->activate(); });
  for (auto& w : writers_)
    w->start();
  start_replica();
  ticker_ = std::thread([this] {
    set_thread_name("ferry-ticker");
    tick_loop();
  });
  last_progress_ms_ = mono_ms();
  return Status::ok();
}

void InputPipeline::start_writers() {
  WriterOptions wo;
  wo.reply_timeout = config_.output.redis.reply_timeout;
  // Fenced transactions: the checkpoint's seq says which committed (net/target_writer.h).
  if (ctx_.transaction && ctx_.checkpoint_in_target) wo.checkpoint_key = checkpoint_key_;
  wo.on_skipped = [this](const WriteBatch& b, const std::vector<SkippedCommand>& skipped) {
    return report_skipped(b, skipped);
  };
  wo.slot_checkpoints = ctx_.slot_transactions;
  wo.hold = [this](const WriteBatch& wb, std::string* why) { return hold(wb, why); };
  std::vector<TargetWriter*> raw_writers;
  for (const Endpoint& ep : target_nodes_) {
    writers_.push_back(std::make_unique<TargetWriter>(
        ep, target_credentials(config_),
        [this](const WriteBatchPtr& b, const WriteResult& r) { graph_->batch_done(b, r); }, wo));
    raw_writers.push_back(writers_.back().get());
  }
  graph_ = std::make_unique<InputGraph>(
      &ctx_, source_stage_.get(), raw_writers,
      [this](const Batch& b, const WriteResult& r) { on_batch_done(b, r); });
}

SendVerdict InputPipeline::hold(const WriteBatch& wb, std::string* why) {
  const Batch& b = static_cast<const Batch&>(wb);
  if (b.starts_generation && cluster_checkpoint_) {
    SourcePosition start = b.end;
    start.offset = 0;
    Status st = cluster_checkpoint_->begin(start);
    if (!st.is_ok()) {
      *why = "the checkpoint cannot be written at the start of the full sync: " + st.message();
      return SendVerdict::kWait;
    }
  }
  if (b.import_at > 0 && options_.barrier) return options_.barrier->check(name_, b.import_at, why);
  return SendVerdict::kGo;
}

void InputPipeline::start_replica() {
  ReplicaOptions ro;
  ro.source = source_;
  ro.credentials = Credentials{config_.input.redis.user_name, config_.input.redis.password};
  ro.announce_port = announce_port(config_);
  ro.read_timeout = config_.input.redis.reply_timeout;
  ro.clock = &clock_;
  replica_ = std::make_unique<ReplicaClient>(ro, log_.get());
  if (!resume_replid_.empty()) replica_->set_resume_point(resume_replid_, resume_offset_);
  if (options_.force_full_sync) replica_->set_full_sync_reason(FullSyncReason::kForced);
  replica_->set_fatal_handler([this](const Status& st) { fail(st); });
  replica_->start();
}

void InputPipeline::save_applied(const SourcePosition& p) {
  cache::LocalCheckpoint cp;
  cp.gen = p.gen;
  cp.rdb = p.phase == SourcePosition::Phase::kRdb;
  cp.replid = p.replid;
  cp.offset = p.offset;
  cp.db = p.db;
  log_->set_applied(cp);
}

void InputPipeline::on_applied(const OffsetTracker::Applied& a) {
  if (a.rdb_keys) counters_.rdb_keys_applied += a.rdb_keys;
  if (a.position.phase != SourcePosition::Phase::kNone) {
    // Into a cluster, only what the masters' replicas confirmed (ClusterCheckpoint).
    if (!cluster_checkpoint_) save_applied(a.position);
    if (a.position.phase == SourcePosition::Phase::kStream) clock_.applied(a.position.offset);
  }
  if (a.rdb_complete) {
    int64_t took = mono_ms() - counters_.rdb_started_ms.load();
    LOG_INFO("input %s: full sync applied: %" PRIu64 " keys in %s (%" PRIu64 " restored, %" PRIu64
             " written with commands, %" PRIu64 " expired and %" PRIu64
             " empty skipped; at most %s in flight)",
             name_.c_str(), counters_.rdb_keys_applied.load(),
             format_duration(std::chrono::milliseconds(took)).c_str(), rdb_stats_.restored.load(),
             rdb_stats_.rebuilt.load(), rdb_stats_.expired_skipped.load(),
             rdb_stats_.empty_skipped.load(),
             format_bytes(static_cast<uint64_t>(budget_->peak())).c_str());
    counters_.in_full_sync = false;
  }
}

void InputPipeline::tick_loop() {
  auto period = std::max(config_.output.replay.batch_ticker, std::chrono::milliseconds(1));
  int64_t last_gc = mono_ms();
  while (!stopping_) {
    std::this_thread::sleep_for(period);
    if (graph_) graph_->tick();
    if (skip_log_) skip_log_->sync_if_dirty();
    if (cluster_checkpoint_) {
      if (auto confirmed = cluster_checkpoint_->tick(tracker_->applied(), false)) {
        save_applied(*confirmed);
      }
    }
    if (mono_ms() - last_gc > 5000) {
      last_gc = mono_ms();
      log_->gc(false);
    }
  }
}

uint64_t InputPipeline::gc(bool force) {
  return log_ ? log_->gc(force) : 0;
}

bool InputPipeline::stop(std::chrono::steady_clock::time_point deadline) {
  if (stopping_.exchange(true)) return true;
  // Stop reading the source (closing the log also wakes a replica waiting for room), and
  // take nothing more from the cache: what is cached stays there for the next start.
  if (log_) {
    log_->close();
    log_->detach();  // its persister no longer wakes a graph that is about to go
  }
  if (replica_) replica_->stop();
  if (source_stage_) source_stage_->set_paused(true);
  // Let what the graph holds reach the target, with the final checkpoint.
  bool drained = false;
  while (graph_) {
    bool idle =
        budget_->used() == 0 && graph_->batches_in_flight() == 0 && tracker_->pending() == 0;
    if (idle || !fatal_error().empty()) {
      drained = idle;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    graph_->tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (ticker_.joinable()) ticker_.join();
  // Writers cancel what they still hold; batches that reach them later are cancelled at once.
  for (auto& w : writers_)
    w->stop();
  if (graph_) graph_->wait();
  if (cluster_checkpoint_) {  // what the drain applied
    if (auto confirmed = cluster_checkpoint_->finish(tracker_->applied(), kFinalCheckpointWait)) {
      save_applied(*confirmed);
    }
  }
  if (options_.barrier) options_.barrier->leave(name_);
  if (log_) log_->save_applied();
  state_ = InputState::kStop;
  if (!drained && graph_) {
    LOG_WARN("input %s: stopped before everything in flight was applied (%" PRId64
             " bytes and %zu batches); the next start resumes from the last checkpoint",
             name_.c_str(), budget_->used(), graph_->batches_in_flight());
  }
  return drained;
}

void InputPipeline::pause() {
  if (state_ == InputState::kStop) return;
  source_stage_->set_paused(true);
  state_ = InputState::kPause;
}

void InputPipeline::resume() {
  if (state_ != InputState::kPause) return;
  source_stage_->set_paused(false);
  state_ = InputState::kRun;
  graph_->activate();
}

void InputPipeline::fail(const Status& st) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fatal_.empty()) return;
    fatal_ = st.message();
  }
  LOG_ERROR("input %s: stopped: %s", name_.c_str(), st.message().c_str());
  if (source_stage_) source_stage_->set_paused(true);
  if (log_) log_->close();
  state_ = InputState::kStop;
}

std::string InputPipeline::fatal_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fatal_;
}

namespace {

// Per command name: what the batch applied, and what the target refused.
void count_by_command(CommandStats* stats, const Batch& batch, const WriteResult& result) {
  std::vector<std::pair<uint16_t, uint64_t>> applied;  // few distinct names per batch
  auto slot = [&](uint16_t id) -> uint64_t& {
    for (auto& [i, n] : applied) {
      if (i == id) return n;
    }
    applied.emplace_back(id, 0);
    return applied.back().second;
  };
  for (uint16_t id : batch.stat_ids)
    slot(id)++;
  for (const SkippedCommand& f : result.skipped) {
    uint16_t id = CommandStats::id_of(f.command);
    uint64_t& n = slot(id);
    if (n > 0) n--;
    stats->add(id, CommandStats::kFailed);
  }
  for (const auto& [id, n] : applied) {
    if (n > 0) stats->add(id, CommandStats::kApplied, n);
  }
}

SkipReason reason_of(const std::string& name) {
  for (int r = 0; r < static_cast<int>(SkipReason::kCount); r++) {
    if (name == skip_reason_name(SkipReason(r))) return SkipReason(r);
  }
  return SkipReason::kOther;
}

}  // namespace

Status InputPipeline::report_skipped(std::vector<SkipRecord> records) {
  if (records.empty()) return Status::ok();
  Status st = skip_log_->append(records);
  std::lock_guard<std::mutex> lock(skip_mu_);
  for (const SkipRecord& r : records) {
    counters_.commands_failed++;
    counters_.skipped_by_reason[static_cast<int>(reason_of(r.reason))]++;
    uint64_t n = ++failures_seen_;
    int64_t now = mono_ms();
    if (n <= kMaxFailuresLogged || now - last_failure_log_ms_ >= 10000) {
      last_failure_log_ms_ = now;
      LOG_ERROR("input %s: skipped %s %s (%s offset %" PRIu64 "): the target answers %s (%" PRIu64
                " skipped so far, each in %s%s)",
                name_.c_str(), r.command.c_str(), r.key.c_str(), r.phase.c_str(), r.offset,
                r.answer.c_str(), n, skip_log_->path().c_str(),
                n >= kMaxFailuresLogged ? "; from now on one line per 10s" : "");
    }
  }
  if (!st.is_ok()) {
    return st.with_context("the record of skipped commands (a skipped command must be reported)");
  }
  return Status::ok();
}

Status InputPipeline::report_skipped(const WriteBatch& wb,
                                     const std::vector<SkippedCommand>& skipped) {
  const Batch& batch = static_cast<const Batch&>(wb);
  std::vector<SkipRecord> records;
  for (const SkippedCommand& c : skipped) {
    SkipRecord r;
    r.time_ms = wall_ms();
    r.phase = batch.end.phase == SourcePosition::Phase::kRdb ? "rdb" : "stream";
    r.offset = c.src_offset;
    r.db = c.db;
    r.command = c.command;
    r.key = c.key;
    r.args = c.args;
    r.answer = c.error;
    r.reason = skip_reason_name(c.reason);
    r.at_queue_time = c.at_queue_time;
    records.push_back(std::move(r));
  }
  return report_skipped(std::move(records));
}

void InputPipeline::count_applied(const Batch& batch, const WriteResult& result) {
  counters_.batches++;
  counters_.bytes_written += batch.wire.size();
  // RDB batches rebuild keys; only command-stream batches count as replayed commands.
  if (batch.end.phase == SourcePosition::Phase::kStream) {
    counters_.commands_applied +=
        batch.commands - std::min<uint64_t>(batch.commands, result.skipped.size());
    count_by_command(&counters_.by_command, batch, result);
  }
  counters_.batch_latency.add_us(result.latency_us);
  counters_.commands_ignored += result.ignored;
  counters_.last_batch_latency_us = result.latency_us;
  if (result.resent && !ctx_.transaction && !ctx_.slot_transactions) {
    LOG_WARN("input %s: a batch was sent again after a target reconnect (at-least-once)",
             name_.c_str());
  }
}

// Called on a writer's thread for every batch that ended (net/target_writer.h). Only an
// applied batch moves the applied position; a fatal one was not applied (unless it
// committed and found the conflict inside) and stops the input before it.
void InputPipeline::on_batch_done(const Batch& batch, const WriteResult& result) {
  if (result.cancelled) return;
  // Skips found inside a committed transaction: recorded now (those left out at queue time
  // were recorded before their batch went again, those before a checkpoint gate before it).
  std::vector<SkippedCommand> late;
  for (const SkippedCommand& c : result.skipped) {
    if (!c.recorded) late.push_back(c);
  }
  Status recorded = report_skipped(batch, late);
  if (result.applied) {
    count_applied(batch, result);
    for (uint64_t seq : batch.seqs)
      tracker_->done(seq);
  }
  budget_->release(batch.charged);
  if (!recorded.is_ok()) fail(recorded);
  if (!result.fatal.empty()) {
    std::string why = result.fatal;
    if (result.applied) why += " (that batch had committed; its other keys are on the target)";
    fail(Status::aborted(why));
  }
}

bool InputPipeline::target_redirects() const {
  for (const auto& w : writers_) {
    const std::string wait = w->waiting();
    // TRYAGAIN ferry: the apply script found a key not served there (docs/cluster.md).
    if (wait.find(" answers MOVED") != std::string::npos ||
        wait.find(" answers ASK") != std::string::npos ||
        wait.find(" answers TRYAGAIN ferry") != std::string::npos) {
      return true;
    }
  }
  return false;
}

void InputPipeline::judge_readiness(InputStatus* s) const {
  for (const auto& w : writers_) {
    std::string wait = w->waiting();
    if (!wait.empty()) s->waiting = wait;
  }
  if (!s->error.empty() && s->state == InputState::kStop) {
    s->not_ready = "stopped: " + s->error;
  } else if (s->state == InputState::kPause) {
    s->ready = true;  // on purpose
  } else if (s->state != InputState::kRun) {
    s->not_ready = "the source link is " + s->link + (s->error.empty() ? "" : ": " + s->error);
  } else if (!s->waiting.empty()) {
    s->not_ready = s->waiting;
  } else {
    s->ready = true;
  }
}

bool InputPipeline::link_broken() const {
  if (!replica_ || !fatal_error().empty()) return false;
  auto link = static_cast<LinkState>(replica_->stats().state.load());
  return link != LinkState::kStreaming && link != LinkState::kReceivingRdb &&
         !replica_->last_error().empty();
}

InputStatus InputPipeline::status() const {
  InputStatus s;
  s.input = name_;
  s.transaction = ctx_.transaction;
  if (log_) s.cached_offset = log_->cached_offset();
  InputState st = state_.load();
  if (replica_) {
    const ReplicaStats& rs = replica_->stats();
    auto link = static_cast<LinkState>(rs.state.load());
    s.link = link_state_name(link);
    s.replid = replica_->replid();
    s.source_offset = rs.offset;
    s.rdb_size = rs.rdb_size;
    s.rdb_received = rs.rdb_received;
    s.source_keys = rs.source_keys;
    s.full_syncs = rs.full_syncs;
    s.partial_syncs = rs.partial_syncs;
    s.reconnects = rs.reconnects;
    for (int r = 0; r < static_cast<int>(FullSyncReason::kCount); r++) {
      uint64_t n = rs.full_syncs_by_reason[r];
      if (n) s.full_syncs_by_reason.emplace_back(full_sync_reason_name(FullSyncReason(r)), n);
    }
    for (int r = 0; r < static_cast<int>(PartialSyncReason::kCount); r++) {
      uint64_t n = rs.partial_syncs_by_reason[r];
      if (n) {
        s.partial_syncs_by_reason.emplace_back(partial_sync_reason_name(PartialSyncReason(r)), n);
      }
    }
    if (st == InputState::kRun || st == InputState::kReadyRun) {
      st = (link == LinkState::kReceivingRdb || link == LinkState::kStreaming)
               ? InputState::kRun
               : InputState::kReadyRun;
    }
  }
  s.state = st;
  if (tracker_) {
    SourcePosition p = tracker_->applied();
    s.applied_phase = p.phase == SourcePosition::Phase::kStream
                          ? "stream"
                          : (p.phase == SourcePosition::Phase::kRdb ? "rdb" : "none");
    s.applied_offset = p.offset;
    if (p.phase == SourcePosition::Phase::kStream && s.source_offset > p.offset) {
      s.lag_bytes = s.source_offset - p.offset;
      int64_t received = clock_.received_after(p.offset);
      if (received > 0) s.lag_seconds = static_cast<double>(mono_us() - received) / 1e6;
    }
  }
  s.full_sync = counters_.in_full_sync;
  s.rdb_parsed = counters_.rdb_bytes_parsed;
  s.rdb_keys_parsed = counters_.rdb_keys_parsed;
  s.rdb_keys_applied = counters_.rdb_keys_applied;
  s.commands_applied = counters_.commands_applied;
  s.commands_failed = counters_.commands_failed;
  s.commands_filtered = counters_.commands_filtered;
  s.transactions_split = counters_.transactions_split;
  for (const CommandStats::Row& r : counters_.by_command.snapshot()) {
    s.commands.push_back(
        CommandCounts{r.name, r.counts[CommandStats::kReceived], r.counts[CommandStats::kFiltered],
                      r.counts[CommandStats::kApplied], r.counts[CommandStats::kFailed]});
  }
  s.batches = counters_.batches;
  s.bytes_written = counters_.bytes_written;
  s.batch_latency = counters_.batch_latency.snapshot();
  if (log_) {
    s.cache_bytes = log_->used_bytes();
    CacheLog::GcStats gc = log_->gc_stats();
    s.cache_gc_runs = gc.runs;
    s.cache_gc_freed_bytes = gc.freed_bytes;
  }
  s.error = fatal_error();
  if (s.error.empty() && replica_ && s.link != "streaming" && s.link != "receiving_rdb") {
    s.error = replica_->last_error();
  }
  for (int r = 0; r < static_cast<int>(SkipReason::kCount); r++) {
    uint64_t n = counters_.skipped_by_reason[r];
    if (n) s.skipped_by_reason.emplace_back(skip_reason_name(SkipReason(r)), n);
  }
  if (skip_log_) s.skip_record = skip_log_->path();
  judge_readiness(&s);
  return s;
}

std::string InputPipeline::progress_line() {
  InputStatus s = status();
  int64_t now = mono_ms();
  double secs = std::max<int64_t>(1, now - last_progress_ms_) / 1000.0;
  last_progress_ms_ = now;
  char buf[512];
  if (s.full_sync) {
    uint64_t keys = s.rdb_keys_applied;
    double kps = (keys - std::min(keys, last_keys_)) / secs;
    last_keys_ = keys;
    double elapsed = (now - counters_.rdb_started_ms.load()) / 1000.0;
    std::string bytes;
    if (s.rdb_size > 0) {
      double frac = static_cast<double>(s.rdb_parsed) / static_cast<double>(s.rdb_size);
      double eta = frac > 0.001 ? elapsed * (1 - frac) / frac : 0;
      snprintf(
          buf, sizeof(buf), "RDB %s of %s (%.0f%%), ETA %s", format_bytes(s.rdb_parsed).c_str(),
          format_bytes(s.rdb_size).c_str(), frac * 100,
          format_duration(std::chrono::milliseconds(static_cast<int64_t>(eta * 1000))).c_str());
    } else {
      snprintf(buf, sizeof(buf), "RDB %s received (size unknown: diskless)",
               format_bytes(s.rdb_parsed).c_str());
    }
    bytes = buf;
    std::string total = s.source_keys ? " of ~" + std::to_string(s.source_keys) : "";
    snprintf(buf, sizeof(buf),
             "input %s: full sync: %s; keys %" PRIu64 " parsed, %" PRIu64
             "%s applied (%.0f keys/s)",
             name_.c_str(), bytes.c_str(), s.rdb_keys_parsed, keys, total.c_str(), kps);
  } else {
    uint64_t cmds = s.commands_applied;
    double cps = (cmds - std::min(cmds, last_commands_)) / secs;
    last_commands_ = cmds;
    long long lag = s.applied_phase == "stream" && s.source_offset >= s.applied_offset
                        ? static_cast<long long>(s.source_offset - s.applied_offset)
                        : -1;
    snprintf(buf, sizeof(buf),
             "input %s: %s: source offset %" PRIu64 ", applied offset %" PRIu64
             " (lag %lld bytes), %.0f commands/s applied, %" PRIu64 " failed",
             name_.c_str(), input_state_name(s.state), s.source_offset, s.applied_offset, lag, cps,
             s.commands_failed);
  }
  return buf;
}

}  // namespace ferry
