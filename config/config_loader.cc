#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>

#include "common/units.h"

namespace ferry {
namespace {

// One configuration key: its dotted path, whether it is implemented, and how to apply it.
struct KeySpec {
  std::string path;
  bool implemented;
  std::function<Status(const YAML::Node&, Config*)> apply;
};

class Loader {
 public:
  Loader(std::string name, Config* cfg) : name_(std::move(name)), cfg_(cfg) {}

  Status load(const YAML::Node& root);

 private:
  Status walk(const YAML::Node& node, const std::string& prefix);
  Status error_at(const YAML::Node& node, const std::string& msg) const {
    std::string where = name_;
    if (node.Mark().line >= 0) where += ":" + std::to_string(node.Mark().line + 1);
    return Status::invalid_argument(where + ": " + msg);
  }

  std::string name_;
  Config* cfg_;
  std::set<std::string> seen_;
};

// --- value parsers -------------------------------------------------------------------------

std::string scalar_text(const YAML::Node& n) {
  return n.IsScalar() ? n.Scalar() : "";
}

std::string describe(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

Status want(const YAML::Node& n, const std::string& what) {
  return Status::invalid_argument("expected " + what + ", got " + describe(n));
}

Status get_string(const YAML::Node& n, std::string* out) {
  if (!n.IsScalar()) return want(n, "a string");
  *out = n.Scalar();
  return Status::ok();
}

Status get_bool(const YAML::Node& n, bool* out) {
  std::string s = scalar_text(n);
  if (s == "true" || s == "yes" || s == "on") {
    *out = true;
  } else if (s == "false" || s == "no" || s == "off") {
    *out = false;
  } else {
    return want(n, "true or false");
  }
  return Status::ok();
}

Status get_int(const YAML::Node& n, int64_t lo, int64_t hi, int64_t* out) {
  std::string s = scalar_text(n);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) return want(n, "an integer");
  if (v < lo || v > hi) {
    return Status::invalid_argument("expected an integer from " + std::to_string(lo) + " to " +
                                    std::to_string(hi) + ", got " + s);
  }
  *out = v;
  return Status::ok();
}

Status get_duration(const YAML::Node& n, Millis* out) {
  if (!n.IsScalar()) return want(n, "a duration (e.g. 500ms, 5s, 2m, 12h)");
  return parse_duration(n.Scalar(), out);
}

Status get_size(const YAML::Node& n, uint64_t* out) {
  if (!n.IsScalar()) return want(n, "a size (e.g. 4096, 64KiB, 16mb)");
  return parse_size(n.Scalar(), out);
}

Status get_choice(const YAML::Node& n, std::initializer_list<const char*> choices,
                  std::string* out) {
  std::string s = scalar_text(n);
  for (const char* c : choices) {
    if (s == c) {
      *out = s;
      return Status::ok();
    }
  }
  std::string list;
  for (const char* c : choices)
    list += (list.empty() ? "" : ", ") + std::string(c);
  return Status::invalid_argument("expected one of " + list + ", got " + describe(n));
}

// A choice among names that map to an enum's values.
template <typename E>
Status get_enum(const YAML::Node& n, std::initializer_list<E> values, E* out) {
  std::string s = scalar_text(n);
  std::string list;
  for (E v : values) {
    if (s == name_of(v)) {
      *out = v;
      return Status::ok();
    }
    list += (list.empty() ? "" : ", ") + std::string(name_of(v));
  }
  return Status::invalid_argument("expected one of " + list + ", got " + describe(n));
}

Status check_address(const std::string& a) {
  size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) {
    return Status::invalid_argument("address '" + a + "' is not host:port");
  }
  std::string port = a.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || p <= 0 || p > 65535) {
    return Status::invalid_argument("address '" + a + "' has an invalid port");
  }
  return Status::ok();
}

Status get_addresses(const YAML::Node& n, std::vector<std::string>* out, bool allow_empty = false) {
  out->clear();
  if (n.IsScalar()) {
    FERRY_RETURN_IF_ERROR(check_address(n.Scalar()));
    out->push_back(n.Scalar());
    return Status::ok();
  }
  if (!n.IsSequence()) return want(n, "a list of host:port addresses");
  for (const auto& item : n) {
    if (!item.IsScalar()) return want(item, "a host:port address");
    FERRY_RETURN_IF_ERROR(check_address(item.Scalar()));
    out->push_back(item.Scalar());
  }
  if (out->empty() && !allow_empty) {
    return Status::invalid_argument("expected at least one address");
  }
  return Status::ok();
}

Status get_string_list(const YAML::Node& n, std::vector<std::string>* out) {
  out->clear();
  if (!n.IsSequence()) return want(n, "a list of strings");
  for (const auto& item : n) {
    if (!item.IsScalar()) return want(item, "a string");
    out->push_back(item.Scalar());
  }
  return Status::ok();
}

Status get_int_list(const YAML::Node& n, int64_t lo, int64_t hi, std::vector<int>* out) {
  out->clear();
  if (!n.IsSequence()) return want(n, "a list of integers");
  for (const auto& item : n) {
    int64_t v;
    FERRY_RETURN_IF_ERROR(get_int(item, lo, hi, &v));
    out->push_back(static_cast<int>(v));
  }
  return Status::ok();
}

Status get_slot_ranges(const YAML::Node& n, std::vector<std::pair<int, int>>* out) {
  out->clear();
  if (!n.IsSequence()) return want(n, "a list of slot ranges like [lo, hi] or [n]");
  for (const auto& item : n) {
    if (!item.IsSequence() || item.size() < 1 || item.size() > 2) {
      return want(item, "a slot range [lo, hi] or [n]");
    }
    int64_t lo, hi;
    FERRY_RETURN_IF_ERROR(get_int(item[0], 0, 16383, &lo));
    hi = lo;
    if (item.size() == 2) FERRY_RETURN_IF_ERROR(get_int(item[1], 0, 16383, &hi));
    if (hi < lo) return Status::invalid_argument("slot range has hi < lo");
    out->emplace_back(static_cast<int>(lo), static_cast<int>(hi));
  }
  return Status::ok();
}

Status get_db_map(const YAML::Node& n, std::map<int, int>* out) {
  out->clear();
  if (n.IsNull()) return Status::ok();
  if (!n.IsMap()) return want(n, "a mapping of source DB to target DB, e.g. {0: 1, 2: 3}");
  for (const auto& kv : n) {
    int64_t from, to;
    FERRY_RETURN_IF_ERROR(get_int(kv.first, 0, 1 << 20, &from));
    FERRY_RETURN_IF_ERROR(get_int(kv.second, 0, 1 << 20, &to));
    (*out)[static_cast<int>(from)] = static_cast<int>(to);
  }
  return Status::ok();
}

// Builds the table of every known key.
std::vector<KeySpec> key_specs() {
  using N = const YAML::Node&;
  std::vector<KeySpec> k;
  auto add = [&](std::string path, bool implemented, std::function<Status(N, Config*)> apply) {
    k.push_back(KeySpec{std::move(path), implemented, std::move(apply)});
  };
  // server
  add("server.listen", true, [](N n, Config* c) {
    FERRY_RETURN_IF_ERROR(get_string(n, &c->server.listen));
    return check_address(c->server.listen);
  });
  add("server.metricRoutePath", true, [](N n, Config* c) {
    FERRY_RETURN_IF_ERROR(get_string(n, &c->server.metric_route_path));
    const std::string& p = c->server.metric_route_path;
    bool taken = p == "/" || p.rfind("/syncer/", 0) == 0 || p.rfind("/storage/", 0) == 0 ||
                 p == "/debug/health";
    if (p.empty() || p[0] != '/' || taken) {
      return want(n, "a path starting with '/' that no other endpoint uses");
    }
    return Status::ok();
  });
  add("server.gracefullStopTimeout", true,
      [](N n, Config* c) { return get_duration(n, &c->server.graceful_stop_timeout); });
  add("server.checkRedisTypologyTicker", true,
      [](N n, Config* c) { return get_duration(n, &c->server.check_topology_ticker); });
  add("server.apiToken", true, [](N n, Config* c) { return get_string(n, &c->server.api_token); });
  add("server.allowRemoteWithoutToken", true,
      [](N n, Config* c) { return get_bool(n, &c->server.allow_remote_without_token); });
  add("server.listenPeer", false, [](N n, Config* c) {
    FERRY_RETURN_IF_ERROR(get_string(n, &c->server.listen_peer));
    return check_address(c->server.listen_peer);
  });
  // input / output redis
  for (std::string side : {"input", "output"}) {
    auto red = [side](Config* c) -> RedisSide* {
      return side == "input" ? &c->input.redis : &c->output.redis;
    };
    add(side + ".redis.addresses", true,
        [red](N n, Config* c) { return get_addresses(n, &red(c)->addresses); });
    add(side + ".redis.type", true, [red](N n, Config* c) {
      return get_enum(n, {RedisType::kStandalone, RedisType::kCluster}, &red(c)->type);
    });
    add(side + ".redis.userName", true,
        [red](N n, Config* c) { return get_string(n, &red(c)->user_name); });
    add(side + ".redis.password", true,
        [red](N n, Config* c) { return get_string(n, &red(c)->password); });
    add(side + ".redis.tlsEnable", true, [red](N n, Config* c) {
      FERRY_RETURN_IF_ERROR(get_bool(n, &red(c)->tls_enable));
      if (red(c)->tls_enable) {
        return Status::not_supported("TLS is not supported by this ferry build; set it to false");
      }
      return Status::ok();
    });
    add(side + ".redis.replyTimeout", true, [red](N n, Config* c) {
      FERRY_RETURN_IF_ERROR(get_duration(n, &red(c)->reply_timeout));
      if (red(c)->reply_timeout.count() < 100) return want(n, "a duration of at least 100ms");
      return Status::ok();
    });
    add(side + ".redis.version", true, [red](N n, Config* c) {
      FERRY_RETURN_IF_ERROR(get_string(n, &red(c)->version));
      if (red(c)->version.empty()) return Status::ok();  // detected
      int major = 0, minor = 0;
      if (std::sscanf(red(c)->version.c_str(), "%d.%d", &major, &minor) < 1 || major <= 0) {
        return Status::invalid_argument("expected a Redis version like 7.0 or 7.4.1, got '" +
                                        red(c)->version + "'");
      }
      return Status::ok();
    });
  }
  // input
  add("input.syncFrom", true, [](N n, Config* c) {
    return get_enum(n, {SyncFrom::kMaster, SyncFrom::kSlave, SyncFrom::kPreferSlave},
                    &c->input.sync_from);
  });
  add("input.mode", true, [](N n, Config* c) {
    return get_enum(n, {InputMode::kStatic, InputMode::kDynamic}, &c->input.mode);
  });
  add("input.rdbParallel", false, [](N n, Config* c) {
    int64_t v;
    FERRY_RETURN_IF_ERROR(get_int(n, 0, 1 << 20, &v));
    c->input.rdb_parallel = static_cast<int>(v);
    return Status::ok();
  });
  add("input.syncDelayTestKey", false,
      [](N n, Config* c) { return get_string(n, &c->input.sync_delay_test_key); });
  // channel
  add("channel.storer.dirPath", true,
      [](N n, Config* c) { return get_string(n, &c->channel.storer.dir_path); });
  add("channel.storer.maxSize", true,
      [](N n, Config* c) { return get_size(n, &c->channel.storer.max_size); });
  add("channel.storer.logSize", true,
      [](N n, Config* c) { return get_size(n, &c->channel.storer.log_size); });
  add("channel.storer.flushPolicy", true, [](N n, Config* c) {
    if (n.IsMap()) {
      if (!n["duration"] || n.size() != 1) return want(n, "auto, everywrite or {duration: 1s}");
      c->channel.storer.flush_policy = FlushPolicy::kDuration;
      return get_duration(n["duration"], &c->channel.storer.flush_duration);
    }
    return get_enum(n, {FlushPolicy::kAuto, FlushPolicy::kEveryWrite},
                    &c->channel.storer.flush_policy);
  });
  add("channel.staleCheckpointDuration", true,
      [](N n, Config* c) { return get_duration(n, &c->channel.stale_checkpoint_duration); });
  add("channel.verifycrc", true,
      [](N n, Config* c) { return get_bool(n, &c->channel.verify_crc); });
  // output.replay
  auto replay_int = [&](const std::string& name, bool impl, int ReplayConfig::*field, int64_t lo,
                        int64_t hi) {
    add("output.replay." + name, impl, [field, lo, hi](N n, Config* c) {
      int64_t v;
      FERRY_RETURN_IF_ERROR(get_int(n, lo, hi, &v));
      c->output.replay.*field = static_cast<int>(v);
      return Status::ok();
    });
  };
  auto replay_size = [&](const std::string& name, bool impl, uint64_t ReplayConfig::*field,
                         uint64_t lo) {
    add("output.replay." + name, impl, [field, lo, name](N n, Config* c) {
      FERRY_RETURN_IF_ERROR(get_size(n, &(c->output.replay.*field)));
      if (c->output.replay.*field < lo) {
        return Status::invalid_argument("must be at least " + std::to_string(lo) + " bytes");
      }
      return Status::ok();
    });
  };
  auto replay_bool = [&](const std::string& name, bool impl, bool ReplayConfig::*field) {
    add("output.replay." + name, impl,
        [field](N n, Config* c) { return get_bool(n, &(c->output.replay.*field)); });
  };
  auto replay_duration = [&](const std::string& name, bool impl, Millis ReplayConfig::*field) {
    add("output.replay." + name, impl,
        [field](N n, Config* c) { return get_duration(n, &(c->output.replay.*field)); });
  };
  replay_bool("resumeFromBreakPoint", true, &ReplayConfig::resume_from_break_point);
  replay_bool("replayTransaction", true, &ReplayConfig::replay_transaction);
  add("output.replay.keyExists", true, [](N n, Config* c) {
    return get_enum(n, {KeyExists::kReplace, KeyExists::kIgnore, KeyExists::kError},
                    &c->output.replay.key_exists);
  });
  replay_bool("keyExistsLog", true, &ReplayConfig::key_exists_log);
  add("output.replay.functionExists", true, [](N n, Config* c) {
    return get_enum(n, {FunctionExists::kReplace, FunctionExists::kFlush, FunctionExists::kAppend},
                    &c->output.replay.function_exists);
  });
  replay_bool("replayRdbEnableRestore", true, &ReplayConfig::replay_rdb_enable_restore);
  replay_size("maxProtoBulkLen", true, &ReplayConfig::max_proto_bulk_len, 1024);
  replay_int("targetDb", true, &ReplayConfig::target_db, -1, 1 << 20);
  add("output.replay.targetDbMap", true,
      [](N n, Config* c) { return get_db_map(n, &c->output.replay.target_db_map); });
  replay_int("batchCmdCount", true, &ReplayConfig::batch_cmd_count, 1, 1 << 20);
  replay_size("batchBufferSize", true, &ReplayConfig::batch_buffer_size, 1);
  replay_duration("batchTicker", true, &ReplayConfig::batch_ticker);
  replay_size("maxInflightBytes", true, &ReplayConfig::max_inflight_bytes, 64 << 10);
  replay_int("replayRdbParallel", true, &ReplayConfig::replay_rdb_parallel, 1, 256);
  replay_duration("keepaliveTicker", false, &ReplayConfig::keepalive_ticker);
  replay_duration("updateCheckpointTicker", true, &ReplayConfig::update_checkpoint_ticker);
  add("output.replay.moduleAuxPolicy", false, [](N n, Config* c) {
    return get_choice(n, {"fail", "skip"}, &c->output.replay.module_aux_policy);
  });
  // output.filter
  add("output.filter.dbBlacklist", false,
      [](N n, Config* c) { return get_int_list(n, 0, 1 << 20, &c->output.filter.db_blacklist); });
  add("output.filter.commandBlacklist", false,
      [](N n, Config* c) { return get_string_list(n, &c->output.filter.command_blacklist); });
  add("output.filter.keyFilter.prefixKeyWhitelist", false,
      [](N n, Config* c) { return get_string_list(n, &c->output.filter.prefix_key_whitelist); });
  add("output.filter.keyFilter.prefixKeyBlacklist", false,
      [](N n, Config* c) { return get_string_list(n, &c->output.filter.prefix_key_blacklist); });
  add("output.filter.slotFilter.keySlotWhitelist", false,
      [](N n, Config* c) { return get_slot_ranges(n, &c->output.filter.slot_whitelist); });
  add("output.filter.slotFilter.keySlotBlacklist", false,
      [](N n, Config* c) { return get_slot_ranges(n, &c->output.filter.slot_blacklist); });
  // cluster
  add("cluster.groupName", false,
      [](N n, Config* c) { return get_string(n, &c->cluster.group_name); });
  add("cluster.metaEtcd.endpoints", false,
      [](N n, Config* c) { return get_addresses(n, &c->cluster.etcd_endpoints, true); });
  add("cluster.metaEtcd.username", false,
      [](N n, Config* c) { return get_string(n, &c->cluster.etcd_username); });
  add("cluster.metaEtcd.password", false,
      [](N n, Config* c) { return get_string(n, &c->cluster.etcd_password); });
  add("cluster.metaEtcd.dialtimeout", false,
      [](N n, Config* c) { return get_duration(n, &c->cluster.etcd_dial_timeout); });
  add("cluster.leaseTimeout", false,
      [](N n, Config* c) { return get_duration(n, &c->cluster.lease_timeout); });
  add("cluster.leaseRenewInterval", false,
      [](N n, Config* c) { return get_duration(n, &c->cluster.lease_renew_interval); });
  // log
  add("log.level", true, [](N n, Config* c) {
    return get_choice(n, {"debug", "info", "warn", "error"}, &c->log.level);
  });
  add("log.handler.file.fileName", true,
      [](N n, Config* c) { return get_string(n, &c->log.file_name); });
  add("log.handler.stdout", true, [](N n, Config* c) { return get_bool(n, &c->log.to_stdout); });
  add("log.format", true, [](N n, Config* c) {
    return get_choice(n, {"text", "json"}, &c->log.format);
  });
  return k;
}

const std::vector<KeySpec>& specs() {
  static const std::vector<KeySpec> k = key_specs();
  return k;
}

const KeySpec* find_spec(const std::string& path) {
  for (const auto& s : specs()) {
    if (s.path == path) return &s;
  }
  return nullptr;
}

bool is_section(const std::string& path) {
  for (const auto& s : specs()) {
    if (s.path.size() > path.size() && s.path.compare(0, path.size(), path) == 0 &&
        s.path[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

Status Loader::walk(const YAML::Node& node, const std::string& prefix) {
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return error_at(kv.first, "a key must be a plain name");
    std::string path = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    if (const KeySpec* spec = find_spec(path)) {
      if (!seen_.insert(path).second) return error_at(kv.first, path + ": given twice");
      Status st = spec->apply(kv.second, cfg_);
      if (!st.is_ok()) return error_at(kv.second, path + ": " + st.message());
      if (!spec->implemented) {
        cfg_->warnings.push_back("config key '" + path +
                                 "' is accepted but not implemented yet: it has no effect");
      }
      continue;
    }
    if (is_section(path)) {
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsMap()) return error_at(kv.second, path + ": expected a mapping");
      FERRY_RETURN_IF_ERROR(walk(kv.second, path));
      continue;
    }
    return error_at(kv.first, "unknown key '" + path + "'");
  }
  return Status::ok();
}

Status Loader::load(const YAML::Node& root) {
  if (root.IsNull()) return Status::invalid_argument(name_ + ": the configuration is empty");
  if (!root.IsMap()) return error_at(root, "expected a mapping at the top level");
  FERRY_RETURN_IF_ERROR(walk(root, ""));
  for (const char* required : {"input.redis.addresses", "output.redis.addresses"}) {
    if (!seen_.count(required)) {
      return Status::invalid_argument(name_ + ": " + required + " is required");
    }
  }
  const ServerConfig& server = cfg_->server;
  const std::string host = server.listen.substr(0, server.listen.rfind(':'));
  const bool loopback =
      host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" || host == "::1";
  if (!loopback && server.api_token.empty() && !server.allow_remote_without_token) {
    // Anyone who reaches the port could empty the target (POST /syncer/fullsync?flushdb=yes).
    return Status::invalid_argument(
        name_ + ": server.listen " + server.listen +
        " is not a loopback address and server.apiToken is not set: set a token, listen on "
        "127.0.0.1, or set server.allowRemoteWithoutToken: true");
  }
  const ReplayConfig& r = cfg_->output.replay;
  if (r.max_inflight_bytes < r.batch_buffer_size) {
    return Status::invalid_argument(name_ +
                                    ": output.replay.maxInflightBytes must be at least "
                                    "output.replay.batchBufferSize");
  }
  return Status::ok();
}

}  // namespace

Status load_config_text(const std::string& text, const std::string& name, Config* out) {
  *out = Config();
  out->source_file = name;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(name + ":" + std::to_string(e.mark.line + 1) +
                                    ": not valid YAML: " + e.msg);
  }
  try {
    Loader loader(name, out);
    return loader.load(root);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Status load_config_file(const std::string& path, Config* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    return Status::invalid_argument("cannot read configuration file '" + path +
                                    "': " + std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    text.append(buf, n);
  std::fclose(f);
  return load_config_text(text, path, out);
}

}  // namespace ferry
