#include "proto/lzf.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ferry {

Status lzf_decompress(std::string_view in, char* out, size_t out_len) {
  const auto* ip = reinterpret_cast<const unsigned char*>(in.data());
  const auto* in_end = ip + in.size();
  char* op = out;
  char* out_end = out + out_len;
  while (ip < in_end) {
    unsigned ctrl = *ip++;
    if (ctrl < 32) {  // literal run of ctrl + 1 bytes
      size_t run = ctrl + 1;
      if (static_cast<size_t>(in_end - ip) < run) {
        return Status::corruption("LZF: literal run past the end of the input");
      }
      if (static_cast<size_t>(out_end - op) < run) {
        return Status::corruption("LZF: output longer than the declared length");
      }
      std::memcpy(op, ip, run);
      op += run;
      ip += run;
    } else {  // back reference
      size_t len = ctrl >> 5;
      if (len == 7) {
        if (ip >= in_end) return Status::corruption("LZF: truncated back reference");
        len += *ip++;
      }
      if (ip >= in_end) return Status::corruption("LZF: truncated back reference");
      size_t dist = ((ctrl & 0x1f) << 8) + *ip++ + 1;
      len += 2;
      if (dist > static_cast<size_t>(op - out)) {
        return Status::corruption("LZF: back reference before the start of the output");
      }
      if (static_cast<size_t>(out_end - op) < len) {
        return Status::corruption("LZF: output longer than the declared length");
      }
      const char* ref = op - dist;
      if (dist >= len) {
        std::memcpy(op, ref, len);
        op += len;
      } else {
        for (size_t i = 0; i < len; i++)
          *op++ = *ref++;  // overlapping copy, byte by byte
      }
    }
  }
  if (op != out_end) {
    return Status::corruption("LZF: expanded to " + std::to_string(op - out) + " bytes, expected " +
                              std::to_string(out_len));
  }
  return Status::ok();
}

void LzfStreamDecoder::emit(const char* p, size_t n, std::string* out) {
  out->append(p, n);
  window_.append(p, n);
  produced_ += n;
  if (window_.size() > 4 * kWindow) window_.erase(0, window_.size() - kWindow);
}

Status LzfStreamDecoder::feed(std::string_view in, std::string* out) {
  size_t i = 0;
  while (i < in.size()) {
    switch (state_) {
      case State::kCtrl: {
        unsigned ctrl = static_cast<unsigned char>(in[i++]);
        if (ctrl < 32) {
          literal_left_ = ctrl + 1;
          state_ = State::kLiteral;
        } else {
          ref_len_ = ctrl >> 5;
          ref_hi_ = ctrl & 0x1f;
          state_ = ref_len_ == 7 ? State::kRefLenExt : State::kRefOff;
        }
        break;
      }
      case State::kLiteral: {
        size_t n = std::min(literal_left_, in.size() - i);
        if (produced_ + n > out_len_) {
          return Status::corruption("LZF: output longer than the declared length");
        }
        emit(in.data() + i, n, out);
        i += n;
        literal_left_ -= n;
        if (literal_left_ == 0) state_ = State::kCtrl;
        break;
      }
      case State::kRefLenExt:
        ref_len_ += static_cast<unsigned char>(in[i++]);
        state_ = State::kRefOff;
        break;
      case State::kRefOff: {
        size_t dist = (static_cast<size_t>(ref_hi_) << 8) + static_cast<unsigned char>(in[i++]) + 1;
        size_t len = ref_len_ + 2;
        if (dist > window_.size()) {
          return Status::corruption("LZF: back reference before the start of the output");
        }
        if (produced_ + len > out_len_) {
          return Status::corruption("LZF: output longer than the declared length");
        }
        char buf[264];
        size_t from = window_.size() - dist;
        for (size_t k = 0; k < len; k++) {
          // Overlapping references repeat bytes produced by this same reference.
          buf[k] = k < dist ? window_[from + k] : buf[k - dist];
        }
        emit(buf, len, out);
        state_ = State::kCtrl;
        break;
      }
    }
  }
  return Status::ok();
}

bool lzf_compress(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() <= 4) return false;
  const size_t limit = in.size() - 4;
  constexpr size_t kMaxLit = 32;
  constexpr size_t kMaxOff = 1 << 13;
  constexpr size_t kMaxRef = (1 << 8) + (1 << 3);  // 264
  constexpr int kHashBits = 14;
  std::vector<int64_t> table(1 << kHashBits, -1);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();

  std::string lit;
  auto flush_literals = [&]() {
    size_t i = 0;
    while (i < lit.size()) {
      size_t run = std::min(kMaxLit, lit.size() - i);
      out->push_back(static_cast<char>(run - 1));
      out->append(lit, i, run);
      i += run;
    }
    lit.clear();
  };

  size_t i = 0;
  while (i < n) {
    if (i + 2 < n) {
      uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
      uint32_t h = (v * 2654435761u) >> (32 - kHashBits);
      int64_t ref = table[h];
      table[h] = static_cast<int64_t>(i);
      if (ref >= 0 && i - static_cast<size_t>(ref) <= kMaxOff &&
          std::memcmp(p + ref, p + i, 3) == 0) {
        size_t r = static_cast<size_t>(ref);
        size_t len = 3;
        size_t max_len = std::min(kMaxRef, n - i);
        while (len < max_len && p[r + len] == p[i + len])
          len++;
        flush_literals();
        size_t off = i - r - 1;
        size_t l = len - 2;
        if (l < 7) {
          out->push_back(static_cast<char>((l << 5) | (off >> 8)));
        } else {
          out->push_back(static_cast<char>((7 << 5) | (off >> 8)));
          out->push_back(static_cast<char>(l - 7));
        }
        out->push_back(static_cast<char>(off & 0xff));
        i += len;
        if (out->size() >= limit) return false;
        continue;
      }
    }
    lit.push_back(static_cast<char>(p[i]));
    i++;
    if (out->size() + lit.size() + lit.size() / kMaxLit + 1 >= limit) return false;
  }
  flush_literals();
  return out->size() < limit;
}

}  // namespace ferry
