#include "pipeline/supervisor.h"

#include <algorithm>
#include <set>
#include <thread>

#include "common/bytes.h"
#include "common/log.h"
#include "net/redis_client.h"
#include "nodes/own_keys.h"
#include "pipeline/input_pipeline.h"
#include "pipeline/slot_checkpoints.h"
#include "pipeline/source_map.h"
#include "proto/rdb_format.h"
#include "proto/slot_flush.h"
#include "storage/cache.h"

namespace ferry {
namespace {

constexpr auto kProgressPeriod = std::chrono::seconds(5);
constexpr auto kProbeDeadline = std::chrono::seconds(10);

// Finds out what the target can do, waiting a little for it to come up.
Status probe_target(const Config& config, const Endpoint& ep, TargetCaps* caps,
                    std::shared_ptr<const CommandTable>* commands) {
  const RedisSide& out = config.output.redis;
  auto deadline = std::chrono::steady_clock::now() + kProbeDeadline;
  Status st;
  while (true) {
    RedisClient client;
    st = client.connect(ep, Credentials{out.user_name, out.password}, std::chrono::seconds(5));
    std::map<std::string, std::string> info;
    if (st.is_ok()) st = client.info("server", &info);
    if (st.is_ok()) {
      std::string version = out.version.empty() ? info["redis_version"] : out.version;
      RedisVersion v;
      if (!RedisVersion::parse(version, &v)) {
        return Status::invalid_argument("target " + ep.to_string() + " reports version '" +
                                        version + "', which is not understood");
      }
      caps->major = v.major;
      caps->minor = v.minor;
      caps->rdb_version = rdb::version_for_redis(v.major, v.minor);
      std::map<std::string, std::string> cluster;
      if (out.type == RedisType::kStandalone && client.info("cluster", &cluster).is_ok() &&
          cluster["cluster_enabled"] == "1") {
        return Status::not_supported("target " + ep.to_string() +
                                     " is a Redis Cluster node: set output.redis.type: cluster");
      }
      *commands = read_command_table(client);
      if (out.type == RedisType::kCluster && (*commands)->size() == 0) {
        return Status::not_supported("target " + ep.to_string() +
                                     " does not allow COMMAND, which a cluster target needs "
                                     "to find every command's keys (and so its slot)");
      }
      LOG_INFO("target %s: Redis %s (RDB version %d, %zu commands)", ep.to_string().c_str(),
               version.c_str(), caps->rdb_version, (*commands)->size());
      return Status::ok();
    }
    if (st.code() == Status::Code::kInvalidArgument) return st;  // e.g. AUTH refused
    if (std::chrono::steady_clock::now() >= deadline) break;
    LOG_WARN("target %s not reachable yet (%s); retrying", ep.to_string().c_str(),
             st.message().c_str());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return Status::io_error("cannot reach the target " + ep.to_string() + ": " + st.message());
}

constexpr auto kRetryPeriod = std::chrono::seconds(5);
// How long a restart after the target's slots moved lets batches in flight drain.
constexpr auto kTargetMovedDrain = std::chrono::milliseconds(1000);
// How often a broken source link makes the topology be read before its ticker is due.
constexpr auto kSuspectPeriod = std::chrono::seconds(1);
// How often the cache of inputs no longer configured is looked at (reclaimed once stale).
constexpr auto kReclaimPeriod = std::chrono::minutes(10);

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ",") + n;
  return out;
}

// A cluster target has one database: every DB the source has keys in must be mapped onto 0.
Status check_cluster_dbs(const Config& config, const Endpoint& source) {
  RedisClient c;
  FERRY_RETURN_IF_ERROR(
      c.connect(source, Credentials{config.input.redis.user_name, config.input.redis.password},
                std::chrono::seconds(5)));
  std::map<std::string, std::string> keyspace;
  FERRY_RETURN_IF_ERROR(c.info("keyspace", &keyspace));
  for (const auto& [name, value] : keyspace) {
    int64_t db = 0;
    if (name.rfind("db", 0) != 0 || !parse_int(std::string_view(name).substr(2), &db)) continue;
    if (config.output.replay.map_db(static_cast<int>(db)) != 0) {
      return Status::invalid_argument(
          "the source " + source.to_string() + " has keys in db " + std::to_string(db) +
          ", but a cluster target has one database (0): set output.replay.targetDb: 0 to "
          "merge every DB into it (keys of the same name then overwrite each other), or "
          "output.replay.targetDbMap to map this DB onto 0");
    }
  }
  return Status::ok();
}

}  // namespace

Supervisor::Supervisor(const Config& config) : config_(config) {}

Supervisor::~Supervisor() {
  shutdown();
}

Status Supervisor::start() {
  if (config_.output.redis.type == RedisType::kStandalone &&
      config_.output.redis.addresses.size() > 1) {
    LOG_WARN("output.redis.addresses lists %zu addresses; a standalone target uses the first",
             config_.output.redis.addresses.size());
  }
  std::lock_guard<std::mutex> control(control_mu_);
  return start_inputs({});
}

Status Supervisor::read_target() {
  auto map = std::make_shared<TargetMap>();
  FERRY_RETURN_IF_ERROR(read_target_map(config_.output.redis, kProbeDeadline, map.get()));
  FERRY_RETURN_IF_ERROR(
      probe_target(config_, map->nodes[0], &options_.caps, &options_.target_commands));
  if (map->cluster && (!options_.target || !options_.target->same_layout(*map))) {
    LOG_INFO("target cluster: masters %s", map->describe().c_str());
  }
  options_.target = std::move(map);
  return Status::ok();
}

Status Supervisor::start_inputs(const std::set<std::string>& paused) {
  FERRY_RETURN_IF_ERROR(read_target());
  FERRY_RETURN_IF_ERROR(plan_inputs());
  std::vector<std::string> sources = options_.configured_inputs;
  if (!cache_) FERRY_RETURN_IF_ERROR(Cache::open(config_.channel, sources.size(), &cache_));
  cache_->reclaim_stale(std::set<std::string>(sources.begin(), sources.end()),
                        config_.channel.stale_checkpoint_duration);
  for (const std::string& addr : sources) {
    Endpoint ep;
    FERRY_RETURN_IF_ERROR(Endpoint::parse(addr, &ep));
    FERRY_RETURN_IF_ERROR(start_input(ep, false, paused.count(ep.to_string()) > 0));
  }
  return Status::ok();
}

bool Supervisor::stop_inputs(std::chrono::steady_clock::time_point deadline) {
  std::vector<std::unique_ptr<InputPipeline>> stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping.swap(pipelines_);
  }
  bool all = true;
  for (auto& p : stopping)
    all &= p->stop(deadline);
  return all;
}

Status Supervisor::restart() {
  std::lock_guard<std::mutex> control(control_mu_);
  LOG_INFO("restarting every input");
  return restart_inputs(config_.server.graceful_stop_timeout);
}

Status Supervisor::restart_inputs(std::chrono::milliseconds drain) {
  Deferred d;
  for (const InputStatus& s : inputs()) {
    if (s.state == InputState::kPause) d.paused.insert(s.input);
  }
  bool drained = stop_inputs(std::chrono::steady_clock::now() + drain);
  if (!drained) {
    LOG_WARN(
        "restart: not everything in flight was applied in time; the inputs resume from "
        "their last checkpoints");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    deferred_.clear();  // everything starts again now
  }
  Status planned = plan_inputs();  // a source cluster's shards may have changed meanwhile
  if (!planned.is_ok()) LOG_WARN("restart: %s; using the inputs known", planned.message().c_str());
  d.inputs = options_.configured_inputs;
  return start_deferred(std::move(d));
}

void Supervisor::defer(Deferred d, const Status& why) {
  d.error = why.message();
  d.next_try = std::chrono::steady_clock::now() + kRetryPeriod;
  LOG_ERROR("input(s) %s not started: %s; retrying every %llds", join(d.inputs).c_str(),
            why.message().c_str(),
            static_cast<long long>(
                std::chrono::duration_cast<std::chrono::seconds>(kRetryPeriod).count()));
  std::lock_guard<std::mutex> lock(mu_);
  deferred_.push_back(std::move(d));
}

Status Supervisor::start_deferred(Deferred d) {
  Status st = read_target();
  if (st.is_ok() && d.full_sync) {
    st = prepare_full_sync(d.inputs, d.flushdb);
    if (st.is_ok()) d.flushdb = false;  // done: a later retry must not empty it again
  }
  if (!st.is_ok()) {
    defer(std::move(d), st);
    return st;
  }
  for (size_t i = 0; i < d.inputs.size(); i++) {
    Endpoint ep;
    FERRY_RETURN_IF_ERROR(Endpoint::parse(d.inputs[i], &ep));
    auto follows = d.follows.find(ep.to_string());
    st = start_input(ep, d.full_sync, d.paused.count(ep.to_string()) > 0,
                     follows == d.follows.end() ? "" : follows->second);
    if (!st.is_ok()) {
      d.inputs.erase(d.inputs.begin(), d.inputs.begin() + static_cast<std::ptrdiff_t>(i));
      st = st.with_context("input " + ep.to_string());
      defer(std::move(d), st);
      return st;
    }
  }
  return Status::ok();
}

void Supervisor::retry_deferred() {
  std::vector<Deferred> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < deferred_.size();) {
      if (deferred_[i].next_try <= now) {
        due.push_back(std::move(deferred_[i]));
        deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        i++;
      }
    }
  }
  if (due.empty()) return;
  std::lock_guard<std::mutex> control(control_mu_);
  for (Deferred& d : due) {
    LOG_INFO("starting input(s) %s again", join(d.inputs).c_str());
    start_deferred(std::move(d));
  }
}

std::vector<std::string> Supervisor::not_ready() const {
  // Inputs that could not be started are listed by inputs() with their reason; nothing of
  // the process beyond them can be unready yet (the group, later, will be).
  return {};
}

Status Supervisor::handover(const std::vector<std::string>& inputs) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    FERRY_RETURN_IF_ERROR(check_names(inputs));
  }
  return Status::failed_precondition(
      "handover needs cluster mode (cluster.groupName and etcd): this process is the only one "
      "syncing its inputs");
}

Status Supervisor::start_input(const Endpoint& source, bool full_sync, bool paused,
                               const std::string& follows) {
  InputPipeline::Options o = options_;
  o.force_full_sync = full_sync;
  o.start_paused = paused;
  o.follows = follows;
  if (o.target->cluster) FERRY_RETURN_IF_ERROR(check_cluster_dbs(config_, source));
  auto p = std::make_unique<InputPipeline>(config_, cache_.get(), source, o);
  FERRY_RETURN_IF_ERROR(p->start());
  LOG_INFO("input %s: syncing into %s", p->name().c_str(), o.target->describe().c_str());
  std::lock_guard<std::mutex> lock(mu_);
  auto pos = std::lower_bound(pipelines_.begin(), pipelines_.end(), p,
                              [](auto& a, auto& b) { return input_less(a->name(), b->name()); });
  pipelines_.insert(pos, std::move(p));
  return Status::ok();
}

std::unique_ptr<InputPipeline> Supervisor::take_input(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(pipelines_.begin(), pipelines_.end(),
                         [&](auto& p) { return p->name() == name; });
  if (it == pipelines_.end()) return nullptr;
  std::unique_ptr<InputPipeline> p = std::move(*it);
  pipelines_.erase(it);
  return p;
}

Status Supervisor::full_sync(const std::vector<std::string>& inputs, bool flushdb) {
  std::lock_guard<std::mutex> control(control_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    FERRY_RETURN_IF_ERROR(check_names(inputs));
    std::set<std::string> listed(inputs.begin(), inputs.end());
    if (flushdb && listed.size() != pipelines_.size() &&
        config_.input.redis.type != RedisType::kCluster) {
      // Several sources share one standalone target: emptying it for some would erase the
      // data of the others. With every input listed, the whole target is emptied; a source
      // cluster's shard has slots of its own, whose keys alone are removed.
      return Status::invalid_argument(
          "flushdb needs the inputs to map one to one onto target nodes, but the target " +
          options_.target->describe() + " receives " + std::to_string(pipelines_.size()) +
          " inputs: list them all (inputs=all) or leave flushdb out");
    }
  }
  // The old pipelines go entirely (their cache logs too) before new ones open the cache.
  for (const auto& n : inputs) {
    if (std::unique_ptr<InputPipeline> old = take_input(n)) {
      old->stop(std::chrono::steady_clock::now());
    }
  }
  Deferred d;
  d.inputs = inputs;
  d.full_sync = true;
  d.flushdb = flushdb;
  return start_deferred(std::move(d));
}

Status Supervisor::prepare_full_sync(const std::vector<std::string>& inputs, bool flushdb) {
  // The checkpoints go first: should this process stop before the new full sync applied
  // anything, its next start must not resume the old history into an emptied target.
  const TargetMap& target = *options_.target;
  const Credentials creds{config_.output.redis.user_name, config_.output.redis.password};
  Status st;
  for (const auto& n : inputs) {
    const std::string key = checkpoint_key(n, target.cluster);
    RedisClient c;
    st = c.connect(target.nodes[target.node_of_key(key)], creds, std::chrono::seconds(5));
    if (st.is_ok()) st = c.checked({"SELECT", "0"});
    if (st.is_ok()) st = c.checked({"DEL", key});
    if (st.is_ok() && target.cluster) st = delete_slot_checkpoints(target, creds, n);
    if (!st.is_ok()) break;
  }
  // Some of a source cluster's inputs: their slots' keys only (other shards share the
  // target). Several standalone sources are all flushed together or not at all (full_sync).
  const std::set<std::string> listed(inputs.begin(), inputs.end());
  const bool some = config_.input.redis.type == RedisType::kCluster &&
                    listed != std::set<std::string>(options_.configured_inputs.begin(),
                                                    options_.configured_inputs.end());
  if (st.is_ok() && flushdb && some) {
    for (size_t i = 0; st.is_ok() && i < inputs.size(); i++)
      st = empty_shard_slots(inputs[i]);
    return st.with_context("preparing the target " + target.describe() + " for the full sync");
  }
  for (size_t i = 0; st.is_ok() && flushdb && i < target.nodes.size(); i++) {
    RedisClient c;
    st = c.connect(target.nodes[i], creds, std::chrono::seconds(5));
    const ReplayConfig& r = config_.output.replay;
    if (r.has_db_mapping() && !target.cluster) {
      std::set<int> dbs;
      for (int d = 0; d < 16; d++)
        dbs.insert(r.map_db(d));
      for (int d : dbs) {
        if (st.is_ok()) st = c.checked({"SELECT", std::to_string(d)});
        if (st.is_ok()) st = c.checked({"FLUSHDB"});
      }
    } else if (st.is_ok()) {
      st = c.checked({"FLUSHALL"});
    }
    if (st.is_ok()) {
      LOG_INFO("target %s emptied for the full sync", target.nodes[i].to_string().c_str());
    }
  }
  return st.with_context("preparing the target " + target.describe() + " for the full sync");
}

Status Supervisor::empty_shard_slots(const std::string& input) {
  std::string text;
  {
    std::lock_guard<std::mutex> lock(slots_mu_);
    auto it = shard_slots_.find(input);
    if (it == shard_slots_.end()) {
      return Status::failed_precondition("input " + input +
                                         ": its shard's slots are not known, so its keys "
                                         "cannot be told from the other shards'");
    }
    text = it->second;
  }
  std::vector<SlotRange> ranges;
  if (!parse_slots_text(text, &ranges)) {
    return Status::failed_precondition("input " + input + ": its slots \"" + text +
                                       "\" cannot be read");
  }
  if (ranges.empty()) return Status::ok();  // a shard without slots holds no keys
  const TargetMap& target = *options_.target;
  // Each master gets its own slots (a standalone target is one node with all of them).
  std::vector<std::vector<std::string>> argv(target.nodes.size());
  if (target.cluster) {
    const std::vector<std::vector<int>> of_node = target.slots_by_node(ranges);
    for (size_t n = 0; n < of_node.size(); n++) {
      if (!of_node[n].empty()) argv[n] = slot_flush::cluster_command("fullsync", of_node[n]);
    }
  } else {
    argv[0] = slot_flush::scan_command("fullsync", text);
  }
  const Credentials creds{config_.output.redis.user_name, config_.output.redis.password};
  for (size_t n = 0; n < argv.size(); n++) {
    if (argv[n].empty()) continue;
    RedisClient c;
    Reply removed;
    // The removal is one script: a big DB keeps the node busy a while.
    Status st = c.connect(target.nodes[n], creds, std::chrono::seconds(60));
    if (st.is_ok()) {
      st = c.checked({"SELECT", std::to_string(config_.output.replay.map_db(0))});
    }
    if (st.is_ok()) st = c.checked(argv[n], &removed);
    if (!st.is_ok()) return st;
    LOG_INFO("input %s: %lld keys of its slots %s removed from %s for the full sync", input.c_str(),
             static_cast<long long>(removed.integer), text.c_str(),
             target.nodes[n].to_string().c_str());
  }
  return Status::ok();
}

uint64_t Supervisor::gc() {
  std::lock_guard<std::mutex> control(control_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t freed = 0;
  for (auto& p : pipelines_)
    freed += p->gc(true);
  std::set<std::string> live;
  for (auto& p : pipelines_)
    live.insert(p->name());
  freed += cache_->reclaim_stale(live, std::chrono::milliseconds(0));
  return freed;
}

std::vector<Endpoint> Supervisor::known_nodes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Endpoint> nodes;
  for (const SourceInput& s : sources_) {
    for (const std::string& m : s.members) {
      Endpoint ep;
      if (Endpoint::parse(m, &ep).is_ok()) nodes.push_back(ep);
    }
  }
  return nodes;
}

Status Supervisor::plan_inputs() {
  std::vector<SourceInput> sources;
  FERRY_RETURN_IF_ERROR(plan_sources(config_, known_nodes(), &sources));
  set_sources(std::move(sources), true);
  return Status::ok();
}

void Supervisor::set_sources(std::vector<SourceInput> sources, bool log) {
  std::vector<std::string> names;
  for (const SourceInput& s : sources) {
    names.push_back(s.name());
    if (log && !s.shard.empty()) {
      LOG_INFO("source shard of slots %s: input %s", s.slots.c_str(), s.name().c_str());
    }
  }
  options_.configured_inputs = names;
  if (config_.input.redis.type == RedisType::kCluster) {
    if (!barrier_) barrier_ = std::make_unique<MigrationBarrier>(config_.input.redis);
    std::map<std::string, std::vector<Endpoint>> shards;
    for (const SourceInput& s : sources) {
      for (const std::string& m : s.members) {
        Endpoint ep;
        if (Endpoint::parse(m, &ep).is_ok()) shards[s.name()].push_back(ep);
      }
    }
    barrier_->set_shards(std::move(shards));
    options_.barrier = barrier_.get();
    // An input that left keeps its entry: it may still apply what it read (a flush among
    // it) while it stops, after the new plan is in place.
    std::lock_guard<std::mutex> lock(slots_mu_);
    for (const SourceInput& s : sources)
      shard_slots_[s.name()] = s.slots;
    if (!options_.shard_slots) {
      options_.shard_slots = [this](const std::string& input) {
        std::lock_guard<std::mutex> lock(slots_mu_);
        auto it = shard_slots_.find(input);
        return it == shard_slots_.end() ? std::string() : it->second;
      };
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  sources_ = std::move(sources);
}

void Supervisor::check_topology() {
  // Under the control lock: a restart meanwhile must not leave `before` newer than `now`.
  std::lock_guard<std::mutex> control(control_mu_);
  std::vector<SourceInput> now;
  Status st = plan_sources(config_, known_nodes(), &now);
  if (!st.is_ok()) {
    LOG_WARN("source topology not read: %s; the inputs keep their nodes", st.message().c_str());
    return;
  }
  std::vector<SourceInput> before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    before = sources_;
  }
  const SourceChanges changes = diff_sources(before, now);
  for (const SourceChanges::Moved& m : changes.moved) {
    LOG_INFO("source shard of slots %s: input %s moves to %s (syncFrom %s)", m.slots.c_str(),
             m.from.c_str(), m.to.c_str(), name_of(config_.input.sync_from));
  }
  for (const auto& [name, follows] : changes.starts) {
    if (follows.empty()) LOG_INFO("source shard of input %s is new", name.c_str());
  }
  const std::vector<std::string>& gone = changes.gone;
  set_sources(std::move(now), false);  // slots and members, even when no input moved
  if (changes.empty()) return;
  const auto deadline = std::chrono::steady_clock::now() + config_.server.graceful_stop_timeout;
  std::set<std::string> paused;
  for (const std::string& name : gone) {
    std::unique_ptr<InputPipeline> old = take_input(name);
    if (!old) continue;
    if (std::none_of(changes.moved.begin(), changes.moved.end(),
                     [&](const SourceChanges::Moved& m) { return m.from == name; })) {
      LOG_INFO("source shard of input %s is gone; the input stops", name.c_str());
    }
    if (old->status().state == InputState::kPause) paused.insert(name);
    // What it read is applied first: the input that follows the shard now resumes from
    // the checkpoint this one leaves, which it takes over (Options::follows).
    if (!old->stop(deadline)) {
      LOG_WARN(
          "input %s: not everything it read was applied in time; its successor resumes "
          "from its last checkpoint",
          name.c_str());
    }
  }
  Deferred d;
  for (const auto& [name, follows] : changes.starts) {
    d.inputs.push_back(name);
    if (!follows.empty()) d.follows[name] = follows;
    if (paused.count(follows)) d.paused.insert(name);  // one pause for the shard's history
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Deferred& w : deferred_) {  // a start still waiting for an input that is gone
      auto is_gone = [&](const std::string& n) {
        return std::find(gone.begin(), gone.end(), n) != gone.end();
      };
      w.inputs.erase(std::remove_if(w.inputs.begin(), w.inputs.end(), is_gone), w.inputs.end());
    }
    deferred_.erase(std::remove_if(deferred_.begin(), deferred_.end(),
                                   [](const Deferred& w) { return w.inputs.empty(); }),
                    deferred_.end());
  }
  if (!d.inputs.empty()) start_deferred(std::move(d));
}

bool Supervisor::topology_suspect() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : pipelines_) {
    if (p->link_broken()) return true;
  }
  return false;
}

void Supervisor::reclaim_stale() {
  std::lock_guard<std::mutex> control(control_mu_);
  std::set<std::string> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const SourceInput& s : sources_)
      live.insert(s.name());
    for (const Deferred& d : deferred_)
      live.insert(d.inputs.begin(), d.inputs.end());
    for (const auto& p : pipelines_)
      live.insert(p->name());
  }
  cache_->reclaim_stale(live, config_.channel.stale_checkpoint_duration);
}

void Supervisor::check_target() {
  TargetMap now;
  Status st = read_target_map(config_.output.redis, kProbeDeadline, &now);
  if (!st.is_ok()) {
    LOG_WARN("target topology not read: %s; the inputs keep their slot map", st.message().c_str());
    return;
  }
  std::lock_guard<std::mutex> control(control_mu_);
  if (options_.target && options_.target->same_layout(now)) return;
  // Batches sent to a master that no longer serves their slots wait (MOVED) and would not
  // drain: what else is in flight gets a moment, then each input resumes from its
  // checkpoint with the new map.
  LOG_INFO(
      "the target cluster's slots moved (masters now %s): every input restarts with the "
      "new slot map",
      now.describe().c_str());
  restart_inputs(
      std::min<std::chrono::milliseconds>(config_.server.graceful_stop_timeout, kTargetMovedDrain));
}

bool Supervisor::target_redirects() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : pipelines_) {
    if (p->target_redirects()) return true;
  }
  return false;
}

void Supervisor::run(const std::atomic<bool>* stop) {
  auto next_report = std::chrono::steady_clock::now() + kProgressPeriod;
  const bool cluster = config_.input.redis.type == RedisType::kCluster;
  const bool target_cluster = config_.output.redis.type == RedisType::kCluster;
  auto next_topology = std::chrono::steady_clock::now() + config_.server.check_topology_ticker;
  auto next_target = next_topology;
  auto next_suspect = std::chrono::steady_clock::now();
  auto next_redirect_check = next_suspect;
  auto next_reclaim = std::chrono::steady_clock::now() + kReclaimPeriod;
  while (!stop->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!fatal_reason().empty()) return;
    retry_deferred();
    if (cluster) {
      // Every checkRedisTypologyTicker, and soon after a source link broke (a failover).
      auto now = std::chrono::steady_clock::now();
      bool due = now >= next_topology;
      if (!due && now >= next_suspect) {
        next_suspect = now + kSuspectPeriod;
        due = topology_suspect();
      }
      if (due) {
        check_topology();
        next_topology = std::chrono::steady_clock::now() + config_.server.check_topology_ticker;
      }
    }
    if (target_cluster) {
      // Every checkRedisTypologyTicker, and soon after a writer was redirected (MOVED, ASK).
      auto now = std::chrono::steady_clock::now();
      bool due = now >= next_target;
      if (!due && now >= next_redirect_check) {
        next_redirect_check = now + kSuspectPeriod;
        due = target_redirects();
      }
      if (due) {
        check_target();
        next_target = std::chrono::steady_clock::now() + config_.server.check_topology_ticker;
      }
    }
    if (std::chrono::steady_clock::now() >= next_reclaim) {
      next_reclaim += kReclaimPeriod;
      reclaim_stale();  // inputs a failover or a removed shard left behind
    }
    if (std::chrono::steady_clock::now() >= next_report) {
      next_report += kProgressPeriod;
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& p : pipelines_) {
        if (p->fatal_error().empty()) LOG_INFO("%s", p->progress_line().c_str());
      }
    }
  }
}

bool Supervisor::shutdown() {
  std::lock_guard<std::mutex> control(control_mu_);
  return stop_inputs(std::chrono::steady_clock::now() + config_.server.graceful_stop_timeout);
}

std::string Supervisor::fatal_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (pipelines_.empty()) return "";
  std::string reason;
  for (const auto& p : pipelines_) {
    std::string err = p->fatal_error();
    if (err.empty()) return "";
    if (reason.empty()) reason = "input " + p->name() + ": " + err;
  }
  return reason;
}

std::vector<InputStatus> Supervisor::inputs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InputStatus> out;
  for (const auto& p : pipelines_)
    out.push_back(p->status());
  for (const Deferred& d : deferred_) {
    for (const std::string& name : d.inputs) {
      InputStatus s;
      s.input = name;
      s.state = InputState::kStop;
      s.error = "not started: " + d.error + "; retrying";
      s.not_ready = s.error;
      out.push_back(s);
    }
  }
  for (InputStatus& s : out) {
    if (const SourceInput* in = source_for(sources_, s.input)) s.slots = in->slots;
  }
  std::sort(out.begin(), out.end(), [](const InputStatus& a, const InputStatus& b) {
    return input_less(a.input, b.input);
  });
  return out;
}

InputPipeline* Supervisor::find(const std::string& name) const {
  for (const auto& p : pipelines_) {
    if (p->name() == name) return p.get();
  }
  return nullptr;
}

Status Supervisor::resolve_inputs(const std::string& spec, std::vector<std::string>* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out->clear();
  if (spec == "all") {
    for (const auto& p : pipelines_)
      out->push_back(p->name());
    return Status::ok();
  }
  std::set<std::string> wanted;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string::npos) comma = spec.size();
    std::string item = spec.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ')
      item.erase(item.begin());
    while (!item.empty() && item.back() == ' ')
      item.pop_back();
    if (!item.empty()) {
      Endpoint ep;
      if (!Endpoint::parse(item, &ep).is_ok()) {
        return Status::invalid_argument("'" + item + "' is not a host:port address");
      }
      // A source cluster's input also answers to every node of its shard.
      const SourceInput* in = source_for(sources_, ep.to_string());
      const std::string name = in ? in->name() : ep.to_string();
      if (!find(name)) return Status::invalid_argument("no input syncs from '" + item + "'");
      wanted.insert(name);
    }
    start = comma + 1;
  }
  if (wanted.empty()) return Status::invalid_argument("no input named: give 'all' or host:port");
  for (const auto& p : pipelines_) {
    if (wanted.count(p->name())) out->push_back(p->name());
  }
  return Status::ok();
}

Status Supervisor::check_names(const std::vector<std::string>& inputs) const {
  if (inputs.empty()) return Status::invalid_argument("no input named");
  for (const auto& n : inputs) {
    if (!find(n)) return Status::invalid_argument("no input named '" + n + "'");
  }
  return Status::ok();
}

Status Supervisor::pause(const std::vector<std::string>& inputs) {
  std::lock_guard<std::mutex> lock(mu_);
  FERRY_RETURN_IF_ERROR(check_names(inputs));
  for (const auto& n : inputs)
    find(n)->pause();
  return Status::ok();
}

Status Supervisor::resume(const std::vector<std::string>& inputs) {
  std::lock_guard<std::mutex> lock(mu_);
  FERRY_RETURN_IF_ERROR(check_names(inputs));
  for (const auto& n : inputs) {
    InputState state = find(n)->status().state;
    if (state != InputState::kPause) {
      return Status::failed_precondition("input '" + n + "' is not paused (State " +
                                         input_state_name(state) + ")");
    }
  }
  for (const auto& n : inputs)
    find(n)->resume();
  return Status::ok();
}

}  // namespace ferry
