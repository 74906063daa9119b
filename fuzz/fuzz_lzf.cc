// libFuzzer target: LZF decompression, whole and streamed, into an output of the size the
// input's first two bytes claim.
#include <cstddef>
#include <cstdint>
#include <string>

#include "proto/lzf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t out_len = (static_cast<size_t>(data[0]) << 8 | data[1]) * 4;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string out(out_len, '\0');
  (void)ferry::lzf_decompress(in, out.data(), out.size());
  ferry::LzfStreamDecoder stream(out_len);
  std::string streamed;
  for (size_t at = 0; at < in.size(); at += 7) {
    if (!stream.feed(in.substr(at, 7), &streamed).is_ok()) break;
  }
  return 0;
}
