// One element of a Redis compact encoding (listpack, ziplist, intset, zipmap): either a
// string or an integer, as the encoding stored it.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/bytes.h"

namespace ferry {

struct BlobEntry {
  bool is_int = false;
  int64_t int_value = 0;
  std::string_view str;

  // The element as Redis would return it; integers are formatted into buf (>= 21 bytes).
  std::string_view text(char* buf) const {
    if (!is_int) return str;
    return std::string_view(buf, format_int(int_value, buf));
  }
};

}  // namespace ferry
