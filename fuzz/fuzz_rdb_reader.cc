// libFuzzer target: the streaming RDB reader over any bytes, fed whole and then in two
// pieces split where the input's first byte says, and every record it reports decoded by
// the value decoder. Corrupt input must end in an error Status, never a crash, a hang or
// unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "proto/rdb_decoder.h"
#include "proto/rdb_reader.h"

namespace {

struct Sink : ferry::rdb::RdbSink {
  ferry::rdb::RdbDecoder decoder;
  struct Null : ferry::rdb::ValueVisitor {
  } visitor;
  void on_key(const ferry::rdb::KeyRecord& r) override {
    ferry::rdb::DecodeResult res;
    (void)decoder.decode(r.type, r.piece, r.value, &visitor, &res);
  }
};

void run(std::string_view data, size_t split) {
  Sink sink;
  ferry::rdb::RdbReader::Options o;
  o.max_whole_value = 1 << 16;  // small, so that big values come in pieces too
  o.piece_bytes = 4096;
  ferry::rdb::RdbReader reader(o, &sink);
  if (!reader.feed(data.substr(0, split)).is_ok()) return;
  if (!reader.feed(data.substr(split)).is_ok()) return;
  (void)reader.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  run(in, in.size());
  if (size > 1) run(in.substr(1), static_cast<size_t>(data[0]) * in.size() / 256);
  return 0;
}
