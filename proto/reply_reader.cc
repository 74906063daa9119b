#include "proto/reply_reader.h"

#include <cstring>

#include "common/bytes.h"

namespace ferry::resp {
namespace {

constexpr int kMaxDepth = 16;
constexpr int64_t kMaxBulk = int64_t{1} << 32;
constexpr int64_t kMaxElements = int64_t{1} << 31;

}  // namespace

void ReplyReader::feed(const char* data, size_t size) {
  // Drop what was consumed before growing, so the buffer stays the size of what is unread.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= (64u << 10))) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, size);
}

void ReplyReader::clear() {
  buf_.clear();
  pos_ = 0;
  error_.clear();
}

std::string ReplyReader::take_rest() {
  std::string rest = buf_.substr(pos_);
  clear();
  return rest;
}

ReplyReader::Result ReplyReader::next(Reply* out) {
  if (!error_.empty()) return Result::kError;
  size_t pos = pos_;
  Result r = parse(&pos, out, 0);
  if (r == Result::kReply) pos_ = pos;
  return r;
}

ReplyReader::Result ReplyReader::line(size_t* pos, std::string_view* out) {
  const char* begin = buf_.data() + *pos;
  const size_t avail = buf_.size() - *pos;
  const void* cr = std::memchr(begin, '\r', avail);
  if (!cr) return Result::kNeedMore;
  size_t len = static_cast<const char*>(cr) - begin;
  if (len + 1 >= avail) return Result::kNeedMore;
  if (begin[len + 1] != '\n') {
    error_ = "a reply line does not end with CRLF";
    return Result::kError;
  }
  *out = std::string_view(begin, len);
  *pos += len + 2;
  return Result::kReply;
}

ReplyReader::Result ReplyReader::parse(size_t* pos, Reply* out, int depth) {
  if (*pos >= buf_.size()) return Result::kNeedMore;
  if (depth > kMaxDepth) {
    error_ = "replies nested too deep";
    return Result::kError;
  }
  const char kind = buf_[*pos];
  size_t p = *pos + 1;
  std::string_view text;
  Result r = line(&p, &text);
  if (r != Result::kReply) return r;
  out->elements.clear();
  out->str = std::string_view();
  out->integer = 0;
  auto number = [&](int64_t* v) {
    if (!parse_int(text, v)) {
      error_ = std::string("a reply of type '") + kind +
               "' has a bad number: " + std::string(text.substr(0, 32));
      return false;
    }
    return true;
  };
  switch (kind) {
    case '+':
      out->type = Reply::Type::kStatus;
      out->str = text;
      break;
    case '-':
    case '!':  // RESP3 blob error: treated as a line here, as servers send short ones
      out->type = Reply::Type::kError;
      out->str = text;
      break;
    case ':':
      out->type = Reply::Type::kInteger;
      if (!number(&out->integer)) return Result::kError;
      break;
    case '_':
      out->type = Reply::Type::kNil;
      break;
    case ',':
    case '#':
    case '(':
      out->type = Reply::Type::kOther;
      out->str = text;
      break;
    case '$':
    case '=': {
      int64_t len = 0;
      if (!number(&len)) return Result::kError;
      if (len < 0) {
        out->type = Reply::Type::kNil;
        break;
      }
      if (len > kMaxBulk) {
        error_ = "a bulk reply claims " + std::to_string(len) + " bytes";
        return Result::kError;
      }
      if (buf_.size() - p < static_cast<size_t>(len) + 2) return Result::kNeedMore;
      if (buf_[p + len] != '\r' || buf_[p + len + 1] != '\n') {
        error_ = "a bulk reply does not end with CRLF";
        return Result::kError;
      }
      out->type = Reply::Type::kString;
      out->str = std::string_view(buf_.data() + p, static_cast<size_t>(len));
      p += static_cast<size_t>(len) + 2;
      break;
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      int64_t n = 0;
      if (!number(&n)) return Result::kError;
      if (n < 0) {
        out->type = Reply::Type::kNil;
        break;
      }
      if (n > kMaxElements || (kind == '%' && n > kMaxElements / 2)) {
        error_ = "an array reply claims " + std::to_string(n) + " elements";
        return Result::kError;
      }
      if (kind == '%') n *= 2;  // a map: key and value
      out->type = Reply::Type::kArray;
      // Elements arrive with the array; reserve only what the bytes at hand can hold.
      out->elements.reserve(std::min<size_t>(static_cast<size_t>(n), (buf_.size() - p) / 3 + 1));
      for (int64_t i = 0; i < n; i++) {
        out->elements.emplace_back();
        Result er = parse(&p, &out->elements.back(), depth + 1);
        if (er != Result::kReply) return er;
      }
      break;
    }
    default:
      error_ = std::string("unknown reply type byte 0x") + "0123456789abcdef"[(kind >> 4) & 15] +
               "0123456789abcdef"[kind & 15];
      return Result::kError;
  }
  *pos = p;
  return Result::kReply;
}

}  // namespace ferry::resp
