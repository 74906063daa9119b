// SkipLog: the durable record of the commands ferry left out because the target refused them
// for themselves alone (net/error_policy.h) — one JSON object per line, in
// <channel.storer.dirPath>/skipped/<input>.jsonl, rotated by size (.1, .2, ... oldest last).
// This file, not only the log, is what "skipped and reported" means: a user can see and
// replay what the target did not take. Each line:
//   {"time":"2026-12-01T09:38:56.123Z","input":"10.0.0.1:6379","phase":"stream",
//    "offset":1234,"db":0,"command":"SETRANGE","key":"k","args":["k","5","x"],
//    "answer":"NOPERM ...","reason":"noperm","at_queue_time":true}
// Lines are written through at once (a process kill loses none) and synced to disk at most
// every 100 ms.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace ferry {

struct SkipRecord {
  int64_t time_ms = 0;
  std::string phase;  // "rdb" (offset = RDB bytes) or "stream" (replication offset)
  uint64_t offset = 0;
  int db = -1;
  std::string command;
  std::string key;
  std::vector<std::string> args;
  std::string answer;
  std::string reason;
  bool at_queue_time = false;
};

class SkipLog {
 public:
  struct Options {
    uint64_t max_file_bytes = 64ull << 20;
    int keep_files = 4;  // rotated files kept besides the current one
  };

  // Opens (creating the directory) `dir`/<input>.jsonl for appending.
  static Status open(const std::string& dir, const std::string& input, Options options,
                     std::unique_ptr<SkipLog>* out);
  ~SkipLog();
  SkipLog(const SkipLog&) = delete;
  SkipLog& operator=(const SkipLog&) = delete;

  // Appends one line per record. Thread-safe.
  Status append(const std::vector<SkipRecord>& records);
  // Syncs what was written since the last sync (the owner calls it now and then).
  void sync_if_dirty();
  const std::string& path() const { return path_; }
  uint64_t written() const;  // records written by this process

 private:
  SkipLog() = default;
  Status rotate();

  std::string input_;
  std::string path_;
  Options options_;
  mutable std::mutex mu_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t written_ = 0;
  int64_t last_sync_ms_ = 0;
  bool dirty_ = false;
};

}  // namespace ferry
