// RESP command parsing: whole, pipelined, split at every byte, big arguments, and malformed
// input reported with the stream offset.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "proto/resp.h"

namespace ferry::resp {
namespace {

using Cmd = std::vector<std::string>;

std::string encode(const std::vector<Cmd>& cmds) {
  std::string out;
  for (const auto& c : cmds) {
    append_array_header(&out, c.size());
    for (const auto& a : c)
      append_bulk(&out, a);
  }
  return out;
}

std::vector<Cmd> feed_in_pieces(const std::string& stream, const std::vector<size_t>& cuts,
                                Status* st, uint64_t* offset) {
  CommandStreamParser p;
  std::vector<Cmd> out;
  size_t prev = 0;
  auto on_command = [&](const CommandStreamParser::Command& c) {
    Cmd cmd;
    for (const auto& a : *c.args)
      cmd.emplace_back(c.bytes.substr(a.off, a.len));
    out.push_back(cmd);
  };
  for (size_t cut : cuts) {
    *st = p.feed(std::string_view(stream).substr(prev, cut - prev), on_command);
    if (!st->is_ok()) return out;
    prev = cut;
  }
  *st = p.feed(std::string_view(stream).substr(prev), on_command);
  *offset = p.offset();
  return out;
}

TEST(Resp, EncodesCommands) {
  std::string out;
  append_command(&out, {"SET", "k", ""});
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  out.clear();
  append_bulk_int(&out, -42);
  EXPECT_EQ(out, "$3\r\n-42\r\n");
}

TEST(Resp, PipelinedCommandsSplitAtEveryByte) {
  std::vector<Cmd> cmds = {{"SELECT", "5"},
                           {"SET", "key", std::string("bin\0\r\nary", 9)},
                           {"PING"},
                           {"MULTI"},
                           {"INCR", "c"},
                           {"EXEC"},
                           {"DEL", "a", "b", "c"}};
  std::string stream = encode(cmds);
  for (size_t cut = 0; cut <= stream.size(); cut++) {
    Status st;
    uint64_t offset = 0;
    auto got = feed_in_pieces(stream, {cut}, &st, &offset);
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    EXPECT_EQ(got, cmds) << "cut at " << cut;
    EXPECT_EQ(offset, stream.size());
  }
}

TEST(Resp, ByteAtATime) {
  std::vector<Cmd> cmds = {{"HSET", "h", "f", "v"}, {"LPUSH", "l", "1", "2", "3"}};
  std::string stream = encode(cmds);
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); i++)
    cuts.push_back(i);
  Status st;
  uint64_t offset = 0;
  EXPECT_EQ(feed_in_pieces(stream, cuts, &st, &offset), cmds);
  EXPECT_TRUE(st.is_ok());
}

TEST(Resp, BigArgumentsInRandomPieces) {
  std::mt19937 rng(5);
  Cmd big = {"SADD", "s"};
  for (int i = 0; i < 20000; i++)
    big.push_back("member-" + std::to_string(i));
  std::vector<Cmd> cmds = {big, {"SET", "v", std::string(3 << 20, 'x')}, {"PING"}};
  std::string stream = encode(cmds);
  std::vector<size_t> cuts;
  for (size_t pos = 0;;) {
    pos += 1 + rng() % 5000;
    if (pos >= stream.size()) break;
    cuts.push_back(pos);
  }
  Status st;
  uint64_t offset = 0;
  EXPECT_EQ(feed_in_pieces(stream, cuts, &st, &offset), cmds);
  EXPECT_TRUE(st.is_ok());
}

TEST(Resp, MalformedInputNamesTheOffset) {
  std::string good = encode({{"PING"}});
  for (const std::string& bad :
       {std::string("+OK\r\n"), std::string("*1\r\n:5\r\n"), std::string("*1\r\n$3\r\nabcX\r\n"),
        std::string("*x\r\n"), std::string("*1\r\n$-5\r\n")}) {
    Status st;
    uint64_t offset = 0;
    feed_in_pieces(good + bad, {}, &st, &offset);
    ASSERT_FALSE(st.is_ok()) << bad;
    EXPECT_NE(st.message().find("offset " + std::to_string(good.size())), std::string::npos)
        << st.message();
  }
}

}  // namespace
}  // namespace ferry::resp
