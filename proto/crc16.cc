#include "proto/crc16.h"

#include <array>

namespace ferry {
namespace {

struct Crc16Table {
  std::array<uint16_t, 256> t;
  constexpr Crc16Table() : t() {
    for (int i = 0; i < 256; i++) {
      uint16_t crc = static_cast<uint16_t>(i << 8);
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                             : static_cast<uint16_t>(crc << 1);
      }
      t[i] = crc;
    }
  }
};

constexpr Crc16Table kTable;

}  // namespace

uint16_t crc16(const char* data, size_t len) {
  uint16_t crc = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; i++) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable.t[((crc >> 8) ^ p[i]) & 0xff]);
  }
  return crc;
}

std::string_view key_hash_tag(std::string_view key) {
  size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

}  // namespace ferry
