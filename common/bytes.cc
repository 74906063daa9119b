#include "common/bytes.h"

#include <cstdio>

namespace ferry {

std::string printable(std::string_view data, size_t max_len) {
  std::string out = "'";
  size_t n = std::min(data.size(), max_len);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out.append(buf);
    }
  }
  out.push_back('\'');
  if (n < data.size()) {
    out.append("... (" + std::to_string(data.size()) + " bytes)");
  }
  return out;
}

bool parse_int(std::string_view s, int64_t* out) {
  if (s.empty() || s[0] == '+') return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), *out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

}  // namespace ferry
