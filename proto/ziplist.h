// Ziplist reader (RDB types 10, 12, 13 and quicklist v1 nodes, written by Redis < 7).
// Layout: total bytes (u32 LE), tail offset (u32 LE), count (u16 LE, 65535 = unknown),
// entries, 0xFF. Each entry: previous entry length (1 byte, or 0xFE + u32 LE), an encoding
// (6/14/32-bit string length, 8/16/24/32/64-bit int, or a 4-bit immediate 0..12), the data.
#pragma once

#include <string_view>

#include "common/status.h"
#include "proto/blob_entry.h"

namespace ferry {

class ZiplistReader {
 public:
  explicit ZiplistReader(std::string_view blob) : blob_(blob) {}

  // Redis's shallow check: header readable, size matches, tail offset inside, terminator.
  Status validate_header() const;
  uint32_t declared_count() const;

  bool next(BlobEntry* e);
  const Status& status() const { return status_; }
  uint64_t count() const { return count_; }

  // Walks every entry (checking each previous-length field) and the count.
  static Status validate(std::string_view blob, uint64_t* count);

 private:
  bool fail(const char* why);

  std::string_view blob_;
  size_t pos_ = 10;
  size_t prev_len_ = 0;
  uint64_t count_ = 0;
  bool ended_ = false;
  Status status_;
};

}  // namespace ferry
