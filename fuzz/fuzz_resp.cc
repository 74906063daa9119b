// libFuzzer target: the replication stream's command splitter over any bytes, fed in pieces
// the input's first byte sizes, beside the one-command parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/resp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t step = 1 + data[0] % 64;
  ferry::resp::CommandStreamParser parser;
  for (size_t at = 0; at < in.size(); at += step) {
    ferry::Status st = parser.feed(in.substr(at, step), [](const auto& c) {
      for (const auto& a : *c.args) {
        if (a.off + a.len > c.bytes.size()) __builtin_trap();  // a span outside its command
      }
    });
    if (!st.is_ok()) break;
  }
  std::vector<ferry::resp::ArgSpan> args;
  size_t consumed = 0, need = 0;
  std::string err;
  (void)ferry::resp::parse_command(in.data(), in.size(), &args, &consumed, &need, &err);
  return 0;
}
