// Decodes one key record's value (as RdbReader reports it, whole or a piece) into its
// elements, walking every compact encoding (listpack, ziplist, intset, zipmap, LZF) and
// checking it as Redis's deep sanitization would. The visitor sees each element once;
// string_views passed to it are valid only during the call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "proto/blob_entry.h"
#include "proto/rdb_reader.h"
#include "proto/rdb_scan.h"
#include "proto/stream_types.h"

namespace ferry::rdb {

class ValueVisitor {
 public:
  virtual ~ValueVisitor() = default;
  virtual void on_string(std::string_view /*value*/) {}
  // In order, the bytes of a string value too big to report whole (Piece::kStringBytes).
  virtual void on_string_bytes(std::string_view /*chunk*/) {}
  virtual void on_list_item(std::string_view /*item*/) {}
  virtual void on_set_member(std::string_view /*member*/) {}
  virtual void on_zset_member(std::string_view /*member*/, double /*score*/) {}
  // expire_ms: the field's absolute TTL in unix ms, or -1.
  virtual void on_hash_field(std::string_view /*field*/, std::string_view /*value*/,
                             int64_t /*expire_ms*/) {}
  virtual void on_stream_entry(
      const StreamId& /*id*/,
      const std::vector<std::pair<std::string_view, std::string_view>>& /*fields*/) {}
  virtual void on_stream_meta(const StreamMeta& /*meta*/) {}
  virtual void on_stream_group(const StreamGroup& /*group*/) {}
};

struct DecodeResult {
  uint64_t elements = 0;  // list items, members, fields, stream entries (0: an empty value)
};

class RdbDecoder {
 public:
  RdbDecoder() = default;
  RdbDecoder(const RdbDecoder&) = delete;
  RdbDecoder& operator=(const RdbDecoder&) = delete;

  // Decodes `value` of RDB object `type`, laid out as `piece` says. Module values are
  // checked by the reader only; they have no elements here.
  Status decode(uint8_t type, Piece piece, std::string_view value, ValueVisitor* visitor,
                DecodeResult* result);

 private:
  Status decode_string(std::string_view value, ValueVisitor* v);
  Status decode_counted(uint8_t type, std::string_view value, ValueVisitor* v);
  Status decode_blob(uint8_t type, std::string_view value, ValueVisitor* v);
  Status decode_listpack_items(std::string_view lp, int tuple, uint8_t type, ValueVisitor* v);
  Status decode_ziplist_items(std::string_view zl, int tuple, uint8_t type, ValueVisitor* v);
  Status decode_stream_nodes(std::string_view value, size_t* consumed, ValueVisitor* v);
  Status decode_stream_node(std::string_view master_key, std::string_view lp, ValueVisitor* v);
  Status decode_stream_tail(uint8_t type, std::string_view value, ValueVisitor* v);
  // A stored string's bytes; LZF is decompressed into `buf`, integers formatted into it.
  Status load(const StoredString& s, std::string* buf, std::string_view* out);

  uint64_t elements_ = 0;
  std::string buf_a_, buf_b_, node_buf_;
  std::string ints_;
  std::vector<std::pair<std::string_view, std::string_view>> fields_;
  std::vector<BlobEntry> raw_;
  std::vector<std::string_view> texts_;
  std::vector<std::pair<size_t, size_t>> int_spans_;
  std::vector<std::string_view> master_fields_;
  std::string master_ints_;
};

}  // namespace ferry::rdb
