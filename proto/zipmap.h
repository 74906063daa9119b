// Zipmap reader (RDB type 9, hashes written by Redis < 2.6): a count byte (254 = unknown),
// then field length, field, value length, a free-space byte, value, free bytes; 0xFF ends it.
// Lengths are one byte, or 254 followed by a u32 LE.
#pragma once

#include <string_view>

#include "common/status.h"

namespace ferry {

class ZipmapReader {
 public:
  explicit ZipmapReader(std::string_view blob) : blob_(blob) {}

  // Reads the next field/value pair; false at the end or on malformed data (see status()).
  bool next(std::string_view* field, std::string_view* value);
  const Status& status() const { return status_; }
  uint64_t count() const { return count_; }

 private:
  bool fail(const char* why);
  bool read_len(uint64_t* len);

  std::string_view blob_;
  size_t pos_ = 1;
  uint64_t count_ = 0;
  bool ended_ = false;
  Status status_;
};

}  // namespace ferry
