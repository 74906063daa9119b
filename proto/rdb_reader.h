// RdbReader: a streaming RDB parser. Bytes are fed as they arrive; it reports what it finds
// to an RdbSink without ever holding the whole file, nor a whole big key: a value up to
// Options::max_whole_value bytes is reported whole (its exact encoded bytes, ready to become a
// DUMP payload); a bigger one is reported in pieces of about Options::piece_bytes, each of
// which is itself a valid encoding of the same type holding some of the elements — or, for a
// big string (plain or LZF-compressed), its bytes in order. Memory is bounded by
// max_whole_value plus the largest single element of a collection.
//
// It checks the version (up to rdb::kMaxVersion), the structure and the CRC64 trailer. It
// does not look inside compact encodings (listpacks etc.); RdbDecoder does. Any malformed
// input is an error naming the offset and the key; after an error the reader stays failed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "proto/lzf.h"
#include "proto/rdb_format.h"

namespace ferry::rdb {

// How a key record's `value` is laid out.
enum class Piece : uint8_t {
  kWhole,        // the complete value encoding of `type`
  kElements,     // a count-prefixed part of a list/set/zset/hash/quicklist value of `type`
  kStringBytes,  // raw bytes of a big string value, in order
  kStreamNodes,  // count-prefixed (master id, listpack) pairs of a stream
  kStreamTail,   // a stream's metadata, consumer groups, PELs and consumers
};

struct KeyRecord {
  uint64_t db = 0;
  std::string_view key;
  uint8_t type = 0;
  int64_t expire_ms = -1;  // absolute unix ms, -1 = none
  int64_t idle_s = -1;     // LRU idle seconds (opcode IDLE), -1 = none
  int freq = -1;           // LFU frequency (opcode FREQ), -1 = none
  Piece piece = Piece::kWhole;
  uint32_t piece_index = 0;  // 0 for the first (or only) record of a key
  bool last_piece = true;    // true for the last (or only) record of a key
  std::string_view value;
  uint64_t key_offset = 0;  // RDB offset where the key's type byte starts
  uint64_t end_offset = 0;  // RDB offset just after this record's bytes
};

class RdbSink {
 public:
  virtual ~RdbSink() = default;
  virtual void on_header(int /*version*/) {}
  virtual void on_aux(std::string_view /*key*/, std::string_view /*value*/) {}
  virtual void on_select_db(uint64_t /*db*/) {}
  virtual void on_resize_db(uint64_t /*keys*/, uint64_t /*expires*/) {}
  // A function library's code (opcode FUNCTION2).
  virtual void on_function(std::string_view /*code*/) {}
  // Module auxiliary data (opcode MODULE_AUX), opaque.
  virtual void on_module_aux(uint64_t /*module_id*/) {}
  virtual void on_key(const KeyRecord& record) = 0;
  // The EOF opcode and checksum were read and verified.
  virtual void on_end(uint64_t /*checksum*/) {}
};

class RdbReader {
 public:
  struct Options {
    size_t max_whole_value = 16u << 20;
    size_t piece_bytes = 512u << 10;
    // The most the reader holds at once for one item it cannot report in pieces (a key
    // name, an element, a module value, a stream's groups): past it the RDB fails — a
    // corrupt length must not make ferry buffer the rest of the file.
    size_t max_item_bytes = 512u << 20;
  };

  // The sink must outlive the reader.
  RdbReader(const Options& options, RdbSink* sink);
  RdbReader(const RdbReader&) = delete;
  RdbReader& operator=(const RdbReader&) = delete;

  // Consumes the next bytes of the RDB, reporting what completes to the sink. An error is
  // final: the input is corrupt (or newer than supported).
  Status feed(std::string_view data);
  // The RDB's bytes have all been fed: fails if it ended before its EOF opcode and checksum.
  Status finish();

  bool done() const { return state_ == State::kDone; }
  int version() const { return version_; }
  // Bytes consumed so far (the RDB offset of the next unparsed byte).
  uint64_t offset() const { return base_offset_ + pos_; }
  uint64_t keys() const { return keys_; }
  // Bytes held of what is not reported yet.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  enum class State {
    kHeader,
    kTop,
    kKey,
    kString,
    kStringStream,
    kLzfStream,
    kValueHeader,
    kElements,
    kBlob,
    kModule,
    kStreamTail,
    kChecksum,
    kDone,
    kFailed,
  };
  enum class Step { kProgress, kNeedMore, kError };

  Status run(bool final_pass);
  Step step();
  Step step_header();
  Step step_top();
  Step step_key();
  Step step_string();
  Step step_string_stream();
  Step step_lzf_stream();
  Step step_value_header();
  Step step_elements();
  Step step_blob();
  Step step_module();
  Step step_stream_tail();
  Step step_checksum();

  Step need_more(size_t needed);
  Step corrupt(const std::string& why);
  // Advances past n bytes, capturing them into the value when a value is being read.
  void consume(size_t n);
  void sync_crc();
  void compact();

  void begin_value();
  void end_elements();
  void emit_whole();
  void emit_piece(Piece kind, std::string_view body, uint64_t count, bool last);
  void finish_key();
  bool is_stream() const;

  Options options_;
  RdbSink* sink_;
  State state_ = State::kHeader;
  int version_ = 0;
  Status error_;

  std::string buf_;  // unconsumed input starts at pos_
  size_t pos_ = 0;
  size_t wait_for_ = 0;       // run steps again once this many bytes are available
  uint64_t base_offset_ = 0;  // RDB offset of buf_[0]
  uint64_t crc_ = 0;
  size_t crc_pos_ = 0;  // buf_ bytes before this are included in crc_
  uint64_t keys_ = 0;

  // The key being read.
  uint64_t db_ = 0;
  uint8_t type_ = 0;
  int64_t expire_ms_ = -1;
  int64_t idle_s_ = -1;
  int freq_ = -1;
  std::string key_;
  uint64_t key_offset_ = 0;
  bool capture_ = false;
  std::string value_;      // captured bytes of the value (or of the current piece)
  std::string prefix_;     // bytes before the element count (HASH_METADATA's min expire)
  size_t header_len_ = 0;  // bytes of prefix + count at the start of value_ (whole mode)
  size_t tail_start_ = 0;  // where a stream's tail starts in value_
  uint64_t left_ = 0;      // elements (or string bytes) still to read
  uint64_t elems_ = 0;     // elements in value_
  bool piece_mode_ = false;
  uint32_t piece_index_ = 0;
  bool module_started_ = false;
  std::unique_ptr<LzfStreamDecoder> lzf_;  // a big LZF string being decompressed
  std::string piece_;                      // scratch for building a piece
  std::string scratch_, scratch2_;
};

}  // namespace ferry::rdb
