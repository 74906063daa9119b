#include "proto/rdb_scan.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/bytes.h"
#include "proto/lzf.h"
#include "proto/rdb_format.h"

namespace ferry::rdb {

Scan RdbScanner::u8(uint8_t* out) {
  if (remaining() < 1) return short_of(1);
  *out = static_cast<uint8_t>(p_[pos_++]);
  return Scan::kOk;
}

Scan RdbScanner::raw(uint64_t n, std::string_view* out) {
  if (remaining() < n) return short_of(n);
  *out = std::string_view(p_ + pos_, n);
  pos_ += n;
  return Scan::kOk;
}

Scan RdbScanner::skip(uint64_t n) {
  if (remaining() < n) return short_of(n);
  pos_ += n;
  return Scan::kOk;
}

Scan RdbScanner::le32(uint32_t* out) {
  if (remaining() < 4) return short_of(4);
  *out = load_le32(p_ + pos_);
  pos_ += 4;
  return Scan::kOk;
}

Scan RdbScanner::le64(uint64_t* out) {
  if (remaining() < 8) return short_of(8);
  *out = load_le64(p_ + pos_);
  pos_ += 8;
  return Scan::kOk;
}

Scan RdbScanner::len_or_encoding(uint64_t* out, bool* encoded) {
  if (remaining() < 1) return short_of(1);
  uint8_t b = static_cast<uint8_t>(p_[pos_]);
  uint8_t kind = b >> 6;
  *encoded = false;
  if (kind == kLen6Bit) {
    *out = b & 0x3f;
    pos_ += 1;
  } else if (kind == kLen14Bit) {
    if (remaining() < 2) return short_of(2);
    *out = (static_cast<uint64_t>(b & 0x3f) << 8) | static_cast<uint8_t>(p_[pos_ + 1]);
    pos_ += 2;
  } else if (kind == kLenEncoded) {
    *encoded = true;
    *out = b & 0x3f;
    pos_ += 1;
  } else if (b == kLen32Bit) {
    if (remaining() < 5) return short_of(5);
    *out = load_be32(p_ + pos_ + 1);
    pos_ += 5;
  } else if (b == kLen64Bit) {
    if (remaining() < 9) return short_of(9);
    *out = load_be64(p_ + pos_ + 1);
    pos_ += 9;
  } else {
    return bad("unknown length encoding");
  }
  return Scan::kOk;
}

Scan RdbScanner::len(uint64_t* out) {
  size_t start = pos_;
  bool encoded;
  Scan r = len_or_encoding(out, &encoded);
  if (r != Scan::kOk) return r;
  if (encoded) {
    pos_ = start;
    return bad("string encoding where a length was expected");
  }
  return Scan::kOk;
}

Scan RdbScanner::string(StoredString* out) {
  size_t start = pos_;
  uint64_t n;
  bool encoded;
  Scan r = len_or_encoding(&n, &encoded);
  if (r != Scan::kOk) return r;
  if (!encoded) {
    if (remaining() < n) {
      Scan s = short_of(n);
      pos_ = start;
      return s;
    }
    out->kind = StoredString::Kind::kPlain;
    out->data = std::string_view(p_ + pos_, n);
    pos_ += n;
    return Scan::kOk;
  }
  switch (n) {
    case kEncInt8:
    case kEncInt16:
    case kEncInt32: {
      size_t width = n == kEncInt8 ? 1 : (n == kEncInt16 ? 2 : 4);
      if (remaining() < width) {
        Scan s = short_of(width);
        pos_ = start;
        return s;
      }
      const char* q = p_ + pos_;
      int64_t v;
      if (width == 1) {
        v = static_cast<int8_t>(q[0]);
      } else if (width == 2) {
        v = static_cast<int16_t>(load_le16(q));
      } else {
        v = static_cast<int32_t>(load_le32(q));
      }
      pos_ += width;
      out->kind = StoredString::Kind::kInt;
      out->int_value = v;
      return Scan::kOk;
    }
    case kEncLzf: {
      uint64_t clen, rlen;
      Scan a = len(&clen);
      if (a != Scan::kOk) {
        pos_ = start;
        return a;
      }
      Scan b = len(&rlen);
      if (b != Scan::kOk) {
        pos_ = start;
        return b;
      }
      if (rlen == 0 || clen == 0 || clen > (UINT64_MAX - 64) / kMaxLzfRatio ||
          rlen > clen * kMaxLzfRatio + 64) {
        pos_ = start;
        return bad("impossible LZF lengths");
      }
      if (remaining() < clen) {
        Scan s = short_of(clen);
        pos_ = start;
        return s;
      }
      out->kind = StoredString::Kind::kLzf;
      out->data = std::string_view(p_ + pos_, clen);
      out->raw_len = rlen;
      pos_ += clen;
      return Scan::kOk;
    }
    default:
      pos_ = start;
      return bad("unknown string encoding");
  }
}

Scan RdbScanner::text_double(double* out) {
  size_t start = pos_;
  uint8_t n;
  Scan r = u8(&n);
  if (r != Scan::kOk) return r;
  if (n == 253) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return Scan::kOk;
  }
  if (n == 254) {
    *out = std::numeric_limits<double>::infinity();
    return Scan::kOk;
  }
  if (n == 255) {
    *out = -std::numeric_limits<double>::infinity();
    return Scan::kOk;
  }
  if (remaining() < n) {
    Scan s = short_of(n);
    pos_ = start;
    return s;
  }
  char buf[256];
  std::memcpy(buf, p_ + pos_, n);
  buf[n] = '\0';
  char* end = nullptr;
  *out = std::strtod(buf, &end);
  if (end == buf) {
    pos_ = start;
    return bad("malformed score");
  }
  pos_ += n;
  return Scan::kOk;
}

Scan RdbScanner::binary_double(double* out) {
  uint64_t bits;
  Scan r = le64(&bits);
  if (r != Scan::kOk) return r;
  std::memcpy(out, &bits, 8);
  return Scan::kOk;
}

bool materialize(const StoredString& s, std::string* scratch, std::string_view* out,
                 std::string* error) {
  switch (s.kind) {
    case StoredString::Kind::kPlain:
      *out = s.data;
      return true;
    case StoredString::Kind::kInt: {
      scratch->resize(24);
      size_t n = format_int(s.int_value, scratch->data());
      scratch->resize(n);
      *out = *scratch;
      return true;
    }
    case StoredString::Kind::kLzf: {
      scratch->resize(s.raw_len);
      Status st = lzf_decompress(s.data, scratch->data(), s.raw_len);
      if (!st.is_ok()) {
        *error = st.message();
        return false;
      }
      *out = *scratch;
      return true;
    }
  }
  return false;
}

}  // namespace ferry::rdb
