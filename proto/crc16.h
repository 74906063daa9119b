// CRC-16/XMODEM and the Redis Cluster key slot: slot = crc16(hash tag or key) % 16384.
// crc16("123456789") == 0x31c3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferry {

constexpr int kClusterSlots = 16384;

uint16_t crc16(const char* data, size_t len);

// The part of a key that is hashed: the bytes between the first '{' and the first '}'
// after it when that is non-empty, else the whole key.
std::string_view key_hash_tag(std::string_view key);

// A short hash tag whose slot is `slot`: "{" + slot_tag(s) + "}" puts a key in slot s.
std::string_view slot_tag(int slot);

inline int key_slot(std::string_view key) {
  std::string_view tag = key_hash_tag(key);
  return crc16(tag.data(), tag.size()) & (kClusterSlots - 1);
}

}  // namespace ferry
