// RdbApplier turns RDB records into the commands that recreate them on a target:
//  - RESTORE <key> <ttl> <payload> ABSTTL [REPLACE] [IDLETIME|FREQ] when the record is a whole
//    value the target can load (its RDB version knows the type) and RESTORE is enabled;
//  - otherwise commands in variadic chunks (SET/APPEND, RPUSH, SADD, ZADD with exact scores,
//    HSET (+ HPEXPIREAT for field TTLs on 7.4+), XADD/XSETID/XGROUP/XCLAIM), written into a
//    temporary key that a final script moves into place with its TTL — so a big key appears
//    whole, keyExists is honoured, and a re-run never appends twice.
// Every value is fully decoded and checked first; keys already expired at load time and empty
// keys are not written. Thread-safe for concurrent use on different records (stats are atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "config/config.h"
#include "nodes/messages.h"

namespace ferry {

// What the target can do, found when the input starts.
struct TargetCaps {
  int rdb_version = 10;      // highest RDB version it loads (RESTORE payloads)
  int major = 7, minor = 0;  // server version
  bool abs_ttl() const { return major >= 5; }
  bool set_pxat() const { return major > 6 || (major == 6 && minor >= 2); }
  bool hash_field_ttl() const { return major > 7 || (major == 7 && minor >= 4); }
  bool functions() const { return major >= 7; }
};

struct RdbApplyStats {
  std::atomic<uint64_t> restored{0};            // keys written with RESTORE
  std::atomic<uint64_t> rebuilt{0};             // keys written with commands
  std::atomic<uint64_t> expired_skipped{0};     // already expired at load time
  std::atomic<uint64_t> empty_skipped{0};       // empty values (Redis skips them too)
  std::atomic<uint64_t> field_ttls_dropped{0};  // hash field TTLs the target cannot hold
  std::atomic<uint64_t> pel_unrecreatable{0};   // PEL entries of deleted stream entries
  std::atomic<uint64_t> functions{0};
};

class RdbApplier {
 public:
  RdbApplier(const ReplayConfig& replay, const TargetCaps& caps, RdbApplyStats* stats,
             std::string input_name);

  // Appends to `out` the commands for one record. `key` and `value` are the record's bytes.
  // Fails on a corrupt value (the message names the key and offset).
  Status apply(const RdbItem& item, std::string_view key, std::string_view value,
               int64_t load_time_ms, CommandList* out) const;

  // The temporary key a rebuilt key is assembled in: same cluster slot as `key`.
  static std::string temp_key(std::string_view key);

 private:
  // How a record is written: SET (a whole string), RESTORE (a payload the target loads),
  // or rebuilt with commands in a temporary key.
  enum class Strategy { kSet, kRestore, kRebuild };
  struct Record {
    const RdbItem& item;
    std::string_view key;
    std::string_view value;
    int db;  // the target DB
    int64_t load_time_ms;
  };

  Strategy choose(const RdbItem& item) const;
  Status write_set(const Record& r, CommandList* out) const;
  Status write_restore(const Record& r, CommandList* out) const;
  Status write_rebuilt(const Record& r, CommandList* out) const;
  void append_piece(const Record& r, const std::string& tmp, const CommandList& cmds,
                    CommandList* out) const;
  void report_losses(const Record& r, uint64_t field_ttls_dropped,
                     uint64_t pel_unrecreatable) const;
  void skip_empty(const Record& r) const;
  Status apply_function(const RdbItem& item, std::string_view code, CommandList* out) const;
  bool can_restore(const RdbItem& item) const;
  void restore(const RdbItem& item, std::string_view key, std::string_view value, int db,
               int64_t load_time_ms, CommandList* out) const;
  void finish(const RdbItem& item, std::string_view key, const std::string& tmp, int db,
              CommandList* out) const;

  const ReplayConfig& replay_;
  const TargetCaps caps_;
  RdbApplyStats* stats_;
  std::string input_;
};

}  // namespace ferry
