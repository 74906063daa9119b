// libFuzzer target: one RDB value of any type and encoding — the first byte is the RDB type
// (listpack, ziplist, intset, zipmap, quicklist, stream, ...), the rest its bytes — through
// the value decoder, and the raw blob readers over the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "proto/blob_entry.h"
#include "proto/intset.h"
#include "proto/listpack.h"
#include "proto/rdb_decoder.h"
#include "proto/ziplist.h"
#include "proto/zipmap.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view value(reinterpret_cast<const char*>(data) + 1, size - 1);
  struct Null : ferry::rdb::ValueVisitor {
  } visitor;
  ferry::rdb::RdbDecoder decoder;
  ferry::rdb::DecodeResult res;
  (void)decoder.decode(data[0], ferry::rdb::Piece::kWhole, value, &visitor, &res);

  uint64_t count = 0;
  (void)ferry::ListpackReader::validate(value, &count);
  (void)ferry::ZiplistReader::validate(value, &count);
  ferry::BlobEntry e;
  ferry::ListpackReader lp(value);
  if (lp.validate_header().is_ok()) {
    while (lp.next(&e)) {
    }
  }
  ferry::ZiplistReader zl(value);
  if (zl.validate_header().is_ok()) {
    while (zl.next(&e)) {
    }
  }
  ferry::ZipmapReader zm(value);
  std::string_view f, v;
  while (zm.next(&f, &v)) {
  }
  ferry::IntsetReader is;
  if (is.open(value).is_ok()) {
    for (uint32_t i = 0; i < is.size(); i++)
      (void)is.at(i);
  }
  return 0;
}
