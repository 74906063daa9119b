// RdbScanner reads RDB primitives — length encodings, strings in any encoding, doubles,
// fixed-width little-endian fields — from one contiguous span. It never reads past the span:
// a read that needs more bytes returns kShort (and needed() says how many the span must hold),
// a malformed encoding returns kBad (and error() says why). The streaming reader treats kShort
// as "wait for more input"; the value decoder, whose input is complete, treats it as corruption.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::rdb {

enum class Scan { kOk, kShort, kBad };

// An RDB string as stored: plain bytes, an integer, or LZF-compressed bytes.
struct StoredString {
  enum class Kind : uint8_t { kPlain, kInt, kLzf };
  Kind kind = Kind::kPlain;
  std::string_view data;  // kPlain: the bytes; kLzf: the compressed bytes
  int64_t int_value = 0;  // kInt
  uint64_t raw_len = 0;   // kLzf: length once decompressed
};

class RdbScanner {
 public:
  RdbScanner(const char* data, size_t size) : p_(data), size_(size) {}
  explicit RdbScanner(std::string_view s) : RdbScanner(s.data(), s.size()) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  const char* cursor() const { return p_ + pos_; }
  bool at_end() const { return pos_ == size_; }

  // On kShort: the span length (from the start) needed before the failed read can succeed.
  size_t needed() const { return needed_; }
  const char* error() const { return error_; }

  Scan u8(uint8_t* out);
  Scan raw(uint64_t n, std::string_view* out);
  Scan skip(uint64_t n);
  Scan le32(uint32_t* out);
  Scan le64(uint64_t* out);
  // A length (6/14/32/64-bit). kBad if it is a special string encoding.
  Scan len(uint64_t* out);
  // A length or, when *encoded is set, a special string encoding number in *out.
  Scan len_or_encoding(uint64_t* out, bool* encoded);
  // A string in any encoding. LZF data is not decompressed (see materialize()).
  Scan string(StoredString* out);
  // A ZSET (type 3) score: 1-byte length then text, or 253/254/255 for nan/+inf/-inf.
  Scan text_double(double* out);
  // A ZSET_2 score: 8-byte little-endian IEEE 754.
  Scan binary_double(double* out);

 private:
  // Any single item claiming more than this is corrupt rather than merely incomplete.
  static constexpr uint64_t kMaxItemBytes = uint64_t{1} << 40;

  Scan short_of(uint64_t n) {
    if (n > kMaxItemBytes) return bad("length out of range");
    needed_ = pos_ + static_cast<size_t>(n);
    return Scan::kShort;
  }
  Scan bad(const char* why) {
    error_ = why;
    return Scan::kBad;
  }

  const char* p_;
  size_t size_;
  size_t pos_ = 0;
  size_t needed_ = 0;
  const char* error_ = "";
};

// Largest LZF expansion that is possible: each 2-byte back reference yields at most 264
// bytes. A header claiming more is corrupt (and would otherwise allocate without bound).
constexpr uint64_t kMaxLzfRatio = 132;

// Returns the bytes of a stored string: plain data as is; integers formatted into *scratch;
// LZF data decompressed into *scratch. On malformed LZF data returns false with *error set.
bool materialize(const StoredString& s, std::string* scratch, std::string_view* out,
                 std::string* error);

}  // namespace ferry::rdb
