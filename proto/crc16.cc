#include "proto/crc16.h"

#include <array>
#include <string>
#include <vector>

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

std::string_view slot_tag(int slot) {
  // The first number (in decimal) of each slot: at most six digits for all 16384.
  static const std::vector<std::string> tags = [] {
    std::vector<std::string> t(kClusterSlots);
    int found = 0;
    for (uint32_t n = 0; found < kClusterSlots; n++) {
      std::string s = std::to_string(n);
      std::string& slot_of = t[static_cast<size_t>(key_slot(s))];
      if (slot_of.empty()) {
        slot_of = std::move(s);
        found++;
      }
    }
    return t;
  }();
  return tags[static_cast<size_t>(slot)];
}

}  // namespace ferry
