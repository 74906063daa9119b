// Intset reader (RDB type 11): element width (u32 LE: 2, 4 or 8), count (u32 LE), then the
// sorted, distinct integers, little-endian.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace ferry {

class IntsetReader {
 public:
  // Checks width, size and (deep) that values are strictly ascending.
  Status open(std::string_view blob);
  uint32_t size() const { return count_; }
  int64_t at(uint32_t i) const;

 private:
  std::string_view blob_;
  uint32_t width_ = 0;
  uint32_t count_ = 0;
};

}  // namespace ferry
