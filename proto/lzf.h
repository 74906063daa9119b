// LZF (liblzf's format), as Redis uses it for compressed RDB strings.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ferry {

// Decompresses `in` into exactly `out_len` bytes at `out`. Fails (never reads or writes out of
// bounds) when the input is malformed or does not expand to exactly out_len bytes.
Status lzf_decompress(std::string_view in, char* out, size_t out_len);

// Decompresses LZF incrementally, for strings too big to hold: compressed bytes go in, in
// pieces of any size; decompressed bytes come out as they are produced. It keeps only the
// last 8 KiB of output, the reach of a back reference.
class LzfStreamDecoder {
 public:
  explicit LzfStreamDecoder(uint64_t out_len) : out_len_(out_len) {}

  // Consumes `in`, appending what it decompresses to *out. Fails on malformed input or
  // output beyond the declared length.
  Status feed(std::string_view in, std::string* out);
  // All declared output produced, at a token boundary.
  bool done() const { return produced_ == out_len_ && state_ == State::kCtrl; }
  uint64_t produced() const { return produced_; }

 private:
  enum class State { kCtrl, kLiteral, kRefLenExt, kRefOff };
  static constexpr size_t kWindow = 8192;

  void emit(const char* p, size_t n, std::string* out);

  const uint64_t out_len_;
  uint64_t produced_ = 0;
  State state_ = State::kCtrl;
  size_t literal_left_ = 0;
  size_t ref_len_ = 0;
  unsigned ref_hi_ = 0;
  std::string window_;
};

// Compresses `in`; returns false when the result would not be smaller than in.size() - 4
// (Redis then stores the string verbatim). Used by tests and benchmarks to build RDBs.
bool lzf_compress(std::string_view in, std::string* out);

}  // namespace ferry
