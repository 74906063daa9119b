// Small helpers over byte strings (std::string_view): printable excerpts for logs and
// errors, little-endian loads, decimal formatting of integers.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ferry {

// A printable, quoted excerpt of binary data for messages: non-printable bytes become \xNN;
// long values are cut at max_len with "..." and the total length.
std::string printable(std::string_view data, size_t max_len = 64);

inline uint16_t load_le16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t load_le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t load_le64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t load_be32(const char* p) {
  return __builtin_bswap32(load_le32(p));
}
inline uint64_t load_be64(const char* p) {
  return __builtin_bswap64(load_le64(p));
}

inline void store_le16(char* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}
inline void store_le64(char* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}

// Writes the decimal form of v into buf (at least 21 bytes); returns its length.
inline size_t format_int(int64_t v, char* buf) {
  auto res = std::to_chars(buf, buf + 21, v);
  return static_cast<size_t>(res.ptr - buf);
}
inline size_t format_uint(uint64_t v, char* buf) {
  auto res = std::to_chars(buf, buf + 21, v);
  return static_cast<size_t>(res.ptr - buf);
}

// Parses a whole string as a signed 64-bit decimal integer (no spaces, no '+').
bool parse_int(std::string_view s, int64_t* out);

// The first line of a server's answer, without its CRLF (for messages).
inline std::string first_line(std::string_view s) {
  return std::string(s.substr(0, s.find_first_of("\r\n")));
}

// Case-insensitive ASCII equality.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace ferry
