// libFuzzer target: the target writer's reply reader over any bytes, fed in pieces the
// input's first byte sizes, reading every reply it completes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "proto/reply_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t step = 1 + data[0] % 64;
  ferry::resp::ReplyReader reader;
  ferry::resp::Reply reply;
  for (size_t at = 0; at < in.size(); at += step) {
    reader.feed(in.data() + at, std::min(step, in.size() - at));
    while (true) {
      ferry::resp::ReplyReader::Result r = reader.next(&reply);
      if (r == ferry::resp::ReplyReader::Result::kError) return 0;
      if (r == ferry::resp::ReplyReader::Result::kNeedMore) break;
    }
  }
  return 0;
}
