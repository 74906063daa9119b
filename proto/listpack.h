// Listpack reader (Redis >= 7 small hashes, sets, zsets, list nodes and stream nodes).
// Layout: total bytes (u32 LE), element count (u16 LE, 65535 = unknown), entries, 0xFF.
// Each entry: an encoding byte (7-bit uint, 6/12/32-bit string length, 13/16/24/32/64-bit int),
// its data, then a 1..5 byte back-length.
#pragma once

#include <string_view>

#include "common/status.h"
#include "proto/blob_entry.h"

namespace ferry {

class ListpackReader {
 public:
  explicit ListpackReader(std::string_view blob) : blob_(blob) {}

  // The checks Redis makes before trusting a listpack (header size equals the blob size,
  // terminator present). next() checks each entry it walks.
  Status validate_header() const;

  // The header's element count; 65535 when the listpack did not track it.
  uint32_t declared_count() const;

  // Reads the next entry; false at the terminator or on malformed data (status() says which).
  bool next(BlobEntry* e);
  const Status& status() const { return status_; }
  // Number of entries read so far.
  uint64_t count() const { return count_; }

  // Walks every entry and checks the count against the header (Redis's deep validation).
  static Status validate(std::string_view blob, uint64_t* count);

 private:
  bool fail(const char* why);

  std::string_view blob_;
  size_t pos_ = 6;
  uint64_t count_ = 0;
  bool ended_ = false;
  Status status_;
};

}  // namespace ferry
