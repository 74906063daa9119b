// The target writer's reply parser: every reply type, replies split at every byte, many
// replies in one read, and malformed input reported (never a crash).
#include "proto/reply_reader.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace ferry::resp {
namespace {

using Type = Reply::Type;

// Feeds `wire` in pieces of `step` bytes and returns a description of each reply.
std::vector<std::string> read_all(const std::string& wire, size_t step, std::string* error) {
  ReplyReader reader;
  std::vector<std::string> out;
  std::function<std::string(const Reply&)> show = [&](const Reply& r) -> std::string {
    switch (r.type) {
      case Type::kStatus:
        return "+" + std::string(r.str);
      case Type::kError:
        return "-" + std::string(r.str);
      case Type::kInteger:
        return ":" + std::to_string(r.integer);
      case Type::kString:
        return "$" + std::string(r.str);
      case Type::kNil:
        return "nil";
      case Type::kOther:
        return "?" + std::string(r.str);
      case Type::kArray: {
        std::string s = "[";
        for (const Reply& e : r.elements)
          s += show(e) + ",";
        return s + "]";
      }
    }
    return "";
  };
  Reply reply;
  for (size_t off = 0; off < wire.size(); off += step) {
    reader.feed(wire.data() + off, std::min(step, wire.size() - off));
    while (true) {
      ReplyReader::Result r = reader.next(&reply);
      if (r == ReplyReader::Result::kError) {
        *error = reader.error();
        return out;
      }
      if (r == ReplyReader::Result::kNeedMore) break;
      out.push_back(show(reply));
    }
  }
  EXPECT_EQ(reader.buffered(), 0u);
  return out;
}

TEST(ReplyReader, EveryTypeAtEverySplit) {
  const std::string wire =
      "+OK\r\n-BUSYKEY Target key name already exists.\r\n:42\r\n:-7\r\n$5\r\nhe\r\nl\r\n"
      "$0\r\n\r\n$-1\r\n*-1\r\n*3\r\n+QUEUED\r\n*2\r\n:1\r\n$1\r\nx\r\n-ERR no\r\n*0\r\n_\r\n"
      ",3.5\r\n#t\r\n%1\r\n+k\r\n:9\r\n";
  const std::vector<std::string> want = {"+OK",
                                         "-BUSYKEY Target key name already exists.",
                                         ":42",
                                         ":-7",
                                         "$he\r\nl",
                                         "$",
                                         "nil",
                                         "nil",
                                         "[+QUEUED,[:1,$x,],-ERR no,]",
                                         "[]",
                                         "nil",
                                         "?3.5",
                                         "?t",
                                         "[+k,:9,]"};
  for (size_t step = 1; step <= wire.size(); step++) {
    std::string error;
    EXPECT_EQ(read_all(wire, step, &error), want) << "step " << step;
    EXPECT_EQ(error, "") << "step " << step;
  }
}

TEST(ReplyReader, ManyRepliesStayCheap) {
  std::string wire;
  for (int i = 0; i < 100000; i++)
    wire += "+OK\r\n";
  std::string error;
  auto got = read_all(wire, 4096, &error);
  EXPECT_EQ(got.size(), 100000u);
  EXPECT_EQ(error, "");
}

std::string nested(int depth) {
  std::string s;
  for (int i = 0; i < depth; i++)
    s += "*1\r\n";
  return s + ":1\r\n";
}

TEST(ReplyReader, MalformedInputIsAnError) {
  const std::pair<std::string, std::string> cases[] = {
      {"?what\r\n", "unknown reply type"},
      {":12x\r\n", "bad number"},
      {"$3\r\nabcd\r\n", "does not end with CRLF"},
      {"+OK\rX", "does not end with CRLF"},
      {"$99999999999\r\n", "claims"},
      // Found by fuzz_reply_reader: a map's pair count that overflows when doubled.
      {"%8888888888808888881\r\n+", "claims"},
      {"*8888888888808888881\r\n", "claims"},
      {nested(20), "nested too deep"},
  };
  for (const auto& [wire, want] : cases) {
    std::string error;
    read_all(wire, wire.size(), &error);
    EXPECT_NE(error.find(want), std::string::npos) << wire << " -> " << error;
  }
}

}  // namespace
}  // namespace ferry::resp
