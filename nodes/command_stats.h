// CommandStats: per command name counts of the replayed stream — received from the parse
// stage, filtered, applied, failed. Names come from a fixed list of Redis commands (anything
// else counts as "other"), so the number of series stays bounded whatever the source sends.
// Stages add without locks; readers take a snapshot.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace ferry {

class CommandStats {
 public:
  enum What { kReceived, kFiltered, kApplied, kFailed, kWhatCount };
  struct Row {
    const char* name;
    uint64_t counts[kWhatCount];
  };

  CommandStats();
  // The id of a command name, case-insensitive; 0 ("other") for names not in the list.
  static uint16_t id_of(std::string_view name);
  static const char* name_of(uint16_t id);

  void add(uint16_t id, What what, uint64_t n = 1) {
    cells_[id * kWhatCount + what].fetch_add(n, std::memory_order_relaxed);
  }
  // Rows with at least one non-zero count, in the list's order.
  std::vector<Row> snapshot() const;

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> cells_;
};

}  // namespace ferry
