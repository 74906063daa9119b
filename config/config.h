// The effective configuration of `ferry sync`, as ../docs/configuration.md describes it:
// plain values with every default filled in. Loading and validation live in config_loader.h;
// nothing here depends on the YAML library.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ferry {

using Millis = std::chrono::milliseconds;

// Policies, parsed once from their YAML spelling (name_of gives it back).
enum class FlushPolicy : uint8_t { kAuto, kEveryWrite, kDuration };
enum class KeyExists : uint8_t { kReplace, kIgnore, kError };
enum class FunctionExists : uint8_t { kReplace, kFlush, kAppend };
enum class RedisType : uint8_t { kStandalone, kCluster };
enum class SyncFrom : uint8_t { kMaster, kSlave, kPreferSlave };
enum class InputMode : uint8_t { kStatic, kDynamic };
const char* name_of(FlushPolicy p);
const char* name_of(KeyExists k);
const char* name_of(FunctionExists f);
const char* name_of(RedisType t);
const char* name_of(SyncFrom s);
const char* name_of(InputMode m);

struct RedisSide {
  std::vector<std::string> addresses;  // host:port
  RedisType type = RedisType::kStandalone;
  std::string user_name;
  std::string password;
  bool tls_enable = false;
  std::string version;  // empty: detected
  // A connection owing replies (the target) or data (the source link) that hears nothing
  // for this long is dropped and made again (ferry's own key).
  Millis reply_timeout{60000};
};

struct ServerConfig {
  std::string listen = "127.0.0.1:18001";
  std::string metric_route_path = "/prometheus";
  Millis graceful_stop_timeout{5000};
  Millis check_topology_ticker{10000};
  std::string api_token;
  // Serve the API on a non-loopback address without a token (ferry's own key).
  bool allow_remote_without_token = false;
  std::string listen_peer;  // empty: = listen
};

struct InputConfig {
  RedisSide redis;
  SyncFrom sync_from = SyncFrom::kPreferSlave;  // which node of a source shard to replicate
  InputMode mode = InputMode::kDynamic;
  int rdb_parallel = 0;
  std::string sync_delay_test_key;
};

struct StorerConfig {
  std::string dir_path = "./ferry-data";
  uint64_t max_size = 50ull << 30;
  uint64_t log_size = 100ull << 20;
  FlushPolicy flush_policy = FlushPolicy::kAuto;
  Millis flush_duration{100};
};

struct ChannelConfig {
  StorerConfig storer;
  Millis stale_checkpoint_duration{12 * 3600 * 1000};
  bool verify_crc = false;
};

struct ReplayConfig {
  bool resume_from_break_point = true;
  bool replay_transaction = true;
  KeyExists key_exists = KeyExists::kReplace;
  bool key_exists_log = false;
  FunctionExists function_exists = FunctionExists::kReplace;
  bool replay_rdb_enable_restore = true;
  uint64_t max_proto_bulk_len = 16ull << 20;
  int target_db = -1;
  std::map<int, int> target_db_map;
  int batch_cmd_count = 100;
  uint64_t batch_buffer_size = 64ull << 10;
  Millis batch_ticker{10};
  uint64_t max_inflight_bytes = 64ull << 20;
  int replay_rdb_parallel = 4;
  Millis keepalive_ticker{3000};
  Millis update_checkpoint_ticker{1000};
  std::string module_aux_policy = "fail";  // fail | skip

  // The target DB a source DB's data goes to.
  int map_db(int source_db) const {
    if (target_db >= 0) return target_db;
    auto it = target_db_map.find(source_db);
    return it == target_db_map.end() ? source_db : it->second;
  }
  bool has_db_mapping() const { return target_db >= 0 || !target_db_map.empty(); }
};

struct FilterConfig {
  std::vector<int> db_blacklist;
  std::vector<std::string> command_blacklist;
  std::vector<std::string> prefix_key_whitelist;
  std::vector<std::string> prefix_key_blacklist;
  std::vector<std::pair<int, int>> slot_whitelist;
  std::vector<std::pair<int, int>> slot_blacklist;
};

struct OutputConfig {
  RedisSide redis;
  ReplayConfig replay;
  FilterConfig filter;
};

struct ClusterConfig {
  std::string group_name;
  std::vector<std::string> etcd_endpoints;
  std::string etcd_username;
  std::string etcd_password;
  Millis etcd_dial_timeout{5000};
  Millis lease_timeout{10000};
  Millis lease_renew_interval{0};  // 0: lease_timeout / 3
};

struct LogConfig {
  std::string level = "info";
  std::string file_name;
  bool to_stdout = true;
  std::string format = "text";  // text | json
};

struct Config {
  std::string source_file;  // where it was loaded from
  ServerConfig server;
  InputConfig input;
  ChannelConfig channel;
  OutputConfig output;
  ClusterConfig cluster;
  LogConfig log;
  // Keys that were accepted but are not implemented yet, each with a warning to print.
  std::vector<std::string> warnings;
};

}  // namespace ferry
