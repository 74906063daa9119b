#include "config/config_writer.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace ferry {
namespace {

using Json = nlohmann::ordered_json;

std::string duration(Millis d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string secret(const std::string& s) {
  return s.empty() ? "" : kMaskedSecret;
}

Json redis_side(const RedisSide& r) {
  Json j;
  j["addresses"] = r.addresses;
  j["type"] = name_of(r.type);
  j["userName"] = r.user_name;
  j["password"] = secret(r.password);
  j["tlsEnable"] = r.tls_enable;
  j["version"] = r.version;
  j["replyTimeout"] = duration(r.reply_timeout);
  return j;
}

Json slot_ranges(const std::vector<std::pair<int, int>>& ranges) {
  Json j = Json::array();
  for (const auto& [lo, hi] : ranges)
    j.push_back(std::to_string(lo) + "-" + std::to_string(hi));
  return j;
}

Json to_tree(const Config& c) {
  Json j;
  Json& server = j["server"];
  server["listen"] = c.server.listen;
  server["metricRoutePath"] = c.server.metric_route_path;
  server["gracefullStopTimeout"] = duration(c.server.graceful_stop_timeout);
  server["checkRedisTypologyTicker"] = duration(c.server.check_topology_ticker);
  server["apiToken"] = secret(c.server.api_token);
  server["allowRemoteWithoutToken"] = c.server.allow_remote_without_token;
  server["listenPeer"] = c.server.listen_peer.empty() ? c.server.listen : c.server.listen_peer;

  Json& input = j["input"];
  input["redis"] = redis_side(c.input.redis);
  input["syncFrom"] = name_of(c.input.sync_from);
  input["mode"] = name_of(c.input.mode);
  input["rdbParallel"] = c.input.rdb_parallel;
  input["syncDelayTestKey"] = c.input.sync_delay_test_key;

  Json& channel = j["channel"];
  Json& storer = channel["storer"];
  storer["dirPath"] = c.channel.storer.dir_path;
  storer["maxSize"] = c.channel.storer.max_size;
  storer["logSize"] = c.channel.storer.log_size;
  if (c.channel.storer.flush_policy == FlushPolicy::kDuration) {
    storer["flushPolicy"]["duration"] = duration(c.channel.storer.flush_duration);
  } else {
    storer["flushPolicy"] = name_of(c.channel.storer.flush_policy);
  }
  channel["staleCheckpointDuration"] = duration(c.channel.stale_checkpoint_duration);
  channel["verifycrc"] = c.channel.verify_crc;

  Json& output = j["output"];
  output["redis"] = redis_side(c.output.redis);
  const ReplayConfig& r = c.output.replay;
  Json& replay = output["replay"];
  replay["resumeFromBreakPoint"] = r.resume_from_break_point;
  replay["replayTransaction"] = r.replay_transaction;
  replay["keyExists"] = name_of(r.key_exists);
  replay["keyExistsLog"] = r.key_exists_log;
  replay["functionExists"] = name_of(r.function_exists);
  replay["replayRdbEnableRestore"] = r.replay_rdb_enable_restore;
  replay["maxProtoBulkLen"] = r.max_proto_bulk_len;
  replay["targetDb"] = r.target_db;
  Json db_map = Json::object();
  for (const auto& [from, to] : r.target_db_map)
    db_map[std::to_string(from)] = to;
  replay["targetDbMap"] = db_map;
  replay["batchCmdCount"] = r.batch_cmd_count;
  replay["batchBufferSize"] = r.batch_buffer_size;
  replay["batchTicker"] = duration(r.batch_ticker);
  replay["maxInflightBytes"] = r.max_inflight_bytes;
  replay["replayRdbParallel"] = r.replay_rdb_parallel;
  replay["keepaliveTicker"] = duration(r.keepalive_ticker);
  replay["updateCheckpointTicker"] = duration(r.update_checkpoint_ticker);
  replay["moduleAuxPolicy"] = r.module_aux_policy;
  const FilterConfig& f = c.output.filter;
  Json& filter = output["filter"];
  filter["dbBlacklist"] = f.db_blacklist;
  filter["commandBlacklist"] = f.command_blacklist;
  filter["keyFilter"]["prefixKeyWhitelist"] = f.prefix_key_whitelist;
  filter["keyFilter"]["prefixKeyBlacklist"] = f.prefix_key_blacklist;
  filter["slotFilter"]["keySlotWhitelist"] = slot_ranges(f.slot_whitelist);
  filter["slotFilter"]["keySlotBlacklist"] = slot_ranges(f.slot_blacklist);

  Json& cluster = j["cluster"];
  cluster["groupName"] = c.cluster.group_name;
  cluster["metaEtcd"]["endpoints"] = c.cluster.etcd_endpoints;
  cluster["metaEtcd"]["username"] = c.cluster.etcd_username;
  cluster["metaEtcd"]["password"] = secret(c.cluster.etcd_password);
  cluster["metaEtcd"]["dialtimeout"] = duration(c.cluster.etcd_dial_timeout);
  cluster["leaseTimeout"] = duration(c.cluster.lease_timeout);
  cluster["leaseRenewInterval"] = duration(c.cluster.lease_renew_interval);

  Json& log = j["log"];
  log["level"] = c.log.level;
  log["handler"]["file"]["fileName"] = c.log.file_name;
  log["handler"]["stdout"] = c.log.to_stdout;
  log["format"] = c.log.format;
  return j;
}

void emit(YAML::Emitter& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        out << YAML::Key << k << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : j)
        emit(out, v);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const std::string& s = j.get_ref<const std::string&>();
      if (s.empty()) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case Json::value_t::boolean:
      out << j.get<bool>();
      break;
    case Json::value_t::number_integer:
      out << j.get<int64_t>();
      break;
    case Json::value_t::number_unsigned:
      out << j.get<uint64_t>();
      break;
    case Json::value_t::number_float:
      out << j.get<double>();
      break;
    default:
      out << YAML::Null;
      break;
  }
}

}  // namespace

std::string config_to_json(const Config& config) {
  return to_tree(config).dump(2) + "\n";
}

std::string config_to_yaml(const Config& config) {
  YAML::Emitter out;
  emit(out, to_tree(config));
  return std::string(out.c_str()) + "\n";
}

}  // namespace ferry
