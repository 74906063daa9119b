#include "proto/resp.h"

#include <cstring>

#include "common/bytes.h"

namespace ferry::resp {
namespace {

constexpr uint64_t kMaxArgs = (uint64_t{1} << 31) - 1;
constexpr uint64_t kMaxBulk = uint64_t{4} << 30;

// Reads a decimal number terminated by CRLF starting at data[pos]. Returns 1 ok, 0 need
// more, -1 malformed.
int read_number(const char* data, size_t size, size_t pos, int64_t* value, size_t* next) {
  const char* start = data + pos;
  const char* end = data + size;
  const void* cr = std::memchr(start, '\r', static_cast<size_t>(end - start));
  if (!cr) return (end - start) > 20 ? -1 : 0;
  const char* crp = static_cast<const char*>(cr);
  if (crp + 1 >= end) return 0;
  if (crp[1] != '\n') return -1;
  if (!parse_int(std::string_view(start, static_cast<size_t>(crp - start)), value)) return -1;
  *next = static_cast<size_t>(crp + 2 - data);
  return 1;
}

}  // namespace

void append_array_header(std::string* out, uint64_t n) {
  char buf[32];
  buf[0] = '*';
  size_t len = 1 + format_uint(n, buf + 1);
  buf[len++] = '\r';
  buf[len++] = '\n';
  out->append(buf, len);
}

void append_bulk(std::string* out, std::string_view arg) {
  char buf[32];
  buf[0] = '$';
  size_t len = 1 + format_uint(arg.size(), buf + 1);
  buf[len++] = '\r';
  buf[len++] = '\n';
  out->append(buf, len);
  out->append(arg.data(), arg.size());
  out->append("\r\n", 2);
}

void append_bulk_int(std::string* out, int64_t v) {
  char num[24];
  size_t n = format_int(v, num);
  append_bulk(out, std::string_view(num, n));
}

void append_command(std::string* out, std::initializer_list<std::string_view> args) {
  append_array_header(out, args.size());
  for (std::string_view a : args)
    append_bulk(out, a);
}

Parse parse_command(const char* data, size_t size, std::vector<ArgSpan>* args, size_t* consumed,
                    size_t* need, std::string* error) {
  args->clear();
  *need = 0;
  if (size == 0) return Parse::kNeedMore;
  if (data[0] != '*') {
    *error = "expected '*' (a command), got " + printable(std::string_view(data, 1));
    return Parse::kError;
  }
  int64_t argc;
  size_t pos;
  int r = read_number(data, size, 1, &argc, &pos);
  if (r == 0) return Parse::kNeedMore;
  if (r < 0 || argc < 0 || static_cast<uint64_t>(argc) > kMaxArgs) {
    *error = "malformed command length";
    return Parse::kError;
  }
  for (int64_t i = 0; i < argc; i++) {
    if (pos >= size) return Parse::kNeedMore;
    if (data[pos] != '$') {
      *error = "expected '$' (an argument), got " + printable(std::string_view(data + pos, 1));
      return Parse::kError;
    }
    int64_t len;
    size_t body;
    r = read_number(data, size, pos + 1, &len, &body);
    if (r == 0) return Parse::kNeedMore;
    if (r < 0 || len < 0 || static_cast<uint64_t>(len) > kMaxBulk) {
      *error = "malformed argument length";
      return Parse::kError;
    }
    size_t end = body + static_cast<size_t>(len);
    if (end + 2 > size) {
      *need = end + 2;
      return Parse::kNeedMore;
    }
    if (data[end] != '\r' || data[end + 1] != '\n') {
      *error = "argument not terminated by CRLF";
      return Parse::kError;
    }
    args->push_back(ArgSpan{body, static_cast<uint64_t>(len)});
    pos = end + 2;
  }
  *consumed = pos;
  return Parse::kOk;
}

Status CommandStreamParser::fail(const std::string& why) const {
  return Status::corruption("command stream: " + why + " at stream offset " +
                            std::to_string(offset_));
}

}  // namespace ferry::resp
