// A writer for live-sync tests: on its own thread it runs a seeded random mix of writes over
// every type — strings (SET/APPEND/INCR/INCRBYFLOAT/SETRANGE), lists (LPUSH/RPUSH/LPOP/LTRIM),
// sets (SADD/SREM/SPOP), sorted sets (ZADD/ZINCRBY/ZREM), hashes (HSET/HDEL/HINCRBY),
// streams (XADD/XGROUP/XREADGROUP/XACK/XDEL/XTRIM), TTLs (EXPIRE/PEXPIREAT/PERSIST),
// RENAME/DEL, MULTI/EXEC, EVAL and FCALL, FLUSHDB, in several DBs, with binary keys and
// values — until stopped. Keys of a type keep their own prefix so no command fails.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "net/endpoint.h"

namespace ferry::test {

class Workload {
 public:
  struct Options {
    uint32_t seed = 1;
    int dbs = 4;  // writes go to DBs first_db .. first_db+dbs-1
    int first_db = 0;
    int keys = 2000;       // distinct keys per type and DB
    bool flushdb = true;   // now and then FLUSHDB the last DB
    bool big_keys = true;  // also grow the 100k-element keys made by load_big_keys()
  };

  Workload() = default;
  ~Workload() { stop(); }

  // Loads the library FCALL uses and the big keys (a 100k-element zset, hash, set and list).
  static bool prepare(const Endpoint& server);

  void start(const Endpoint& server, const Options& options);
  void stop();
  uint64_t ops() const { return ops_.load(); }
  // Non-empty if a command failed (the workload is meant never to fail).
  std::string error() const;

 private:
  void run(Endpoint server, Options options);

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ops_{0};
  std::thread thread_;
  mutable std::atomic<bool> failed_{false};
  std::string error_;
};

}  // namespace ferry::test
