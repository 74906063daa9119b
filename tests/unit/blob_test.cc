// The compact encodings, byte by byte: every listpack and ziplist entry encoding, intset
// widths, zipmap lengths, and malformed blobs rejected with a reason.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "proto/intset.h"
#include "proto/listpack.h"
#include "proto/ziplist.h"
#include "proto/zipmap.h"

namespace ferry {
namespace {

using namespace std::string_literals;

std::string le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; i++)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// --- listpack -----------------------------------------------------------------------------

std::string lp_backlen(size_t l) {
  std::string b;
  if (l <= 127) return std::string(1, static_cast<char>(l));
  // Most significant 7 bits first with bit 7 clear, then bytes with bit 7 set.
  std::vector<uint8_t> groups;
  while (l > 0) {
    groups.push_back(l & 127);
    l >>= 7;
  }
  for (size_t i = groups.size(); i-- > 0;) {
    b.push_back(static_cast<char>(i == groups.size() - 1 ? groups[i] : (groups[i] | 128)));
  }
  return b;
}

std::string lp_entry_raw(const std::string& enc_and_data) {
  return enc_and_data + lp_backlen(enc_and_data.size());
}

std::string lp_string(const std::string& s) {
  if (s.size() < 64) return lp_entry_raw(std::string(1, static_cast<char>(0x80 | s.size())) + s);
  if (s.size() < 4096) {
    return lp_entry_raw(
        std::string{static_cast<char>(0xe0 | (s.size() >> 8)), static_cast<char>(s.size() & 0xff)} +
        s);
  }
  return lp_entry_raw("\xf0" + le(s.size(), 4) + s);
}

std::string lp_int(int64_t v, int form) {
  switch (form) {
    case 7:
      return lp_entry_raw(std::string(1, static_cast<char>(v)));
    case 13: {
      uint64_t u = static_cast<uint64_t>(v) & 0x1fff;
      return lp_entry_raw(
          std::string{static_cast<char>(0xc0 | (u >> 8)), static_cast<char>(u & 0xff)});
    }
    case 16:
      return lp_entry_raw("\xf1" + le(static_cast<uint64_t>(v), 2));
    case 24:
      return lp_entry_raw("\xf2" + le(static_cast<uint64_t>(v), 3));
    case 32:
      return lp_entry_raw("\xf3" + le(static_cast<uint64_t>(v), 4));
    default:
      return lp_entry_raw("\xf4" + le(static_cast<uint64_t>(v), 8));
  }
}

std::string listpack(const std::vector<std::string>& entries, int count = -1) {
  std::string body;
  for (auto& e : entries)
    body += e;
  size_t total = 6 + body.size() + 1;
  return le(total, 4) + le(count < 0 ? entries.size() : static_cast<size_t>(count), 2) + body +
         "\xff";
}

std::vector<std::string> read_all(std::string_view blob, Status* st) {
  ListpackReader r(blob);
  *st = r.validate_header();
  std::vector<std::string> out;
  if (!st->is_ok()) return out;
  BlobEntry e;
  char buf[24];
  while (r.next(&e))
    out.emplace_back(e.text(buf));
  *st = r.status();
  return out;
}

TEST(Listpack, EveryEncoding) {
  std::string big(5000, 'x');
  std::string mid(300, 'y');
  std::string lp = listpack({lp_int(0, 7), lp_int(127, 7), lp_int(-4096, 13), lp_int(4095, 13),
                             lp_int(-32768, 16), lp_int(8388607, 24), lp_int(-8388608, 24),
                             lp_int(2147483647, 32), lp_int(INT64_MIN, 64), lp_string(""),
                             lp_string("hello"), lp_string(mid), lp_string(big)});
  Status st;
  auto got = read_all(lp, &st);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  std::vector<std::string> want = {"0",        "127",        "-4096",
                                   "4095",     "-32768",     "8388607",
                                   "-8388608", "2147483647", "-9223372036854775808",
                                   "",         "hello",      mid,
                                   big};
  EXPECT_EQ(got, want);
  uint64_t n = 0;
  EXPECT_TRUE(ListpackReader::validate(lp, &n).is_ok());
  EXPECT_EQ(n, want.size());
}

TEST(Listpack, UnknownCountIsAccepted) {
  std::string lp = listpack({lp_string("a"), lp_string("b")}, 65535);
  uint64_t n = 0;
  EXPECT_TRUE(ListpackReader::validate(lp, &n).is_ok());
  EXPECT_EQ(n, 2u);
}

TEST(Listpack, MalformedIsRejected) {
  std::string good = listpack({lp_string("abc"), lp_int(5, 7)});
  Status st;
  std::string wrong_size = good;
  wrong_size[0] = 99;
  read_all(wrong_size, &st);
  EXPECT_FALSE(st.is_ok());
  std::string no_eof = good;
  no_eof.back() = 0x01;
  read_all(no_eof, &st);
  EXPECT_FALSE(st.is_ok());
  std::string bad_enc = listpack({std::string("\xf7\x01", 2)});
  read_all(bad_enc, &st);
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("invalid encoding"), std::string::npos);
  std::string overrun = listpack({lp_string("abc")});
  overrun[6] = static_cast<char>(0x80 | 60);  // claims 60 bytes
  read_all(overrun, &st);
  EXPECT_FALSE(st.is_ok());
  EXPECT_FALSE(ListpackReader::validate(listpack({lp_string("a")}, 5), nullptr).is_ok());
  read_all("\x05\x00", &st);
  EXPECT_FALSE(st.is_ok());
}

// --- ziplist ------------------------------------------------------------------------------

struct ZlEntry {
  std::variant<std::string, int64_t> v;
};

std::string zl_body(const std::string& enc_and_data, size_t prevlen) {
  std::string p =
      prevlen < 254 ? std::string(1, static_cast<char>(prevlen)) : "\xfe" + le(prevlen, 4);
  return p + enc_and_data;
}

std::string zl_encode(const ZlEntry& e) {
  if (auto* s = std::get_if<std::string>(&e.v)) {
    if (s->size() < 64) return std::string(1, static_cast<char>(s->size())) + *s;
    if (s->size() < 16384) {
      return std::string{static_cast<char>(0x40 | (s->size() >> 8)),
                         static_cast<char>(s->size() & 0xff)} +
             *s;
    }
    std::string be;
    for (int i = 3; i >= 0; i--)
      be.push_back(static_cast<char>((s->size() >> (8 * i)) & 0xff));
    return "\x80" + be + *s;
  }
  int64_t v = std::get<int64_t>(e.v);
  if (v >= 0 && v <= 12) return std::string(1, static_cast<char>(0xf1 + v));
  if (v >= -128 && v <= 127) return "\xfe" + le(static_cast<uint64_t>(v), 1);
  if (v >= -32768 && v <= 32767) return "\xc0" + le(static_cast<uint64_t>(v), 2);
  if (v >= -8388608 && v <= 8388607) return "\xf0" + le(static_cast<uint64_t>(v), 3);
  if (v >= INT32_MIN && v <= INT32_MAX) return "\xd0" + le(static_cast<uint64_t>(v), 4);
  return "\xe0" + le(static_cast<uint64_t>(v), 8);
}

std::string ziplist(const std::vector<ZlEntry>& entries) {
  std::string body;
  size_t prev = 0, tail = 10;
  for (auto& e : entries) {
    std::string raw = zl_body(zl_encode(e), prev);
    tail = 10 + body.size();
    body += raw;
    prev = raw.size();
  }
  size_t total = 10 + body.size() + 1;
  return le(total, 4) + le(tail, 4) + le(entries.size(), 2) + body + "\xff";
}

TEST(Ziplist, EveryEncoding) {
  std::string s300(300, 's');
  std::string s20k(20000, 'z');
  std::string zl = ziplist({{std::string("")},
                            {std::string("abc")},
                            {s300},
                            {s20k},
                            {int64_t{0}},
                            {int64_t{12}},
                            {int64_t{-100}},
                            {int64_t{30000}},
                            {int64_t{-8000000}},
                            {int64_t{2000000000}},
                            {int64_t{INT64_MAX}}});
  ZiplistReader r(zl);
  ASSERT_TRUE(r.validate_header().is_ok());
  std::vector<std::string> got;
  BlobEntry e;
  char buf[24];
  while (r.next(&e))
    got.emplace_back(e.text(buf));
  ASSERT_TRUE(r.status().is_ok()) << r.status().to_string();
  std::vector<std::string> want = {"",
                                   "abc",
                                   s300,
                                   s20k,
                                   "0",
                                   "12",
                                   "-100",
                                   "30000",
                                   "-8000000",
                                   "2000000000",
                                   "9223372036854775807"};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(ZiplistReader::validate(zl, nullptr).is_ok());
}

TEST(Ziplist, MalformedIsRejected) {
  EXPECT_FALSE(ZiplistReader("xxxxx").validate_header().is_ok());  // corrupt_ziplist's blob
  std::string zl = ziplist({{std::string("a")}, {std::string("b")}});
  std::string bad_prev = zl;
  bad_prev[10 + 3] = 7;  // second entry's prevlen
  EXPECT_FALSE(ZiplistReader::validate(bad_prev, nullptr).is_ok());
  std::string bad_tail = zl;
  bad_tail[4] = static_cast<char>(200);
  EXPECT_FALSE(ZiplistReader(bad_tail).validate_header().is_ok());
  std::string bad_count = zl;
  bad_count[8] = 5;
  EXPECT_FALSE(ZiplistReader::validate(bad_count, nullptr).is_ok());
}

// --- intset and zipmap --------------------------------------------------------------------

TEST(Intset, Widths) {
  for (uint32_t width : {2u, 4u, 8u}) {
    std::string blob = le(width, 4) + le(3, 4);
    std::vector<int64_t> values = {-5, 7, width == 2 ? 300 : (width == 4 ? 70000 : 5000000000LL)};
    for (int64_t v : values)
      blob += le(static_cast<uint64_t>(v), static_cast<int>(width));
    IntsetReader is;
    ASSERT_TRUE(is.open(blob).is_ok()) << width;
    ASSERT_EQ(is.size(), 3u);
    for (uint32_t i = 0; i < 3; i++)
      EXPECT_EQ(is.at(i), values[i]);
  }
}

TEST(Intset, MalformedIsRejected) {
  IntsetReader is;
  EXPECT_FALSE(is.open(le(3, 4) + le(0, 4)).is_ok());                        // bad width
  EXPECT_FALSE(is.open(le(2, 4) + le(2, 4) + le(1, 2)).is_ok());             // size mismatch
  EXPECT_FALSE(is.open(le(2, 4) + le(2, 4) + le(5, 2) + le(1, 2)).is_ok());  // unsorted
}

TEST(Zipmap, FieldsAndBigLengths) {
  std::string big(300, 'v');
  std::string zm = "\x02";
  zm +=
      "\x01"
      "a"
      "\x02"
      "\x00"
      "xy"s;
  zm +=
      "\x01"
      "b"
      "\xfe" +
      le(300, 4) + "\x03" + big + "fff";
  zm += "\xff";
  ZipmapReader r(zm);
  std::string_view f, v;
  ASSERT_TRUE(r.next(&f, &v));
  EXPECT_EQ(f, "a");
  EXPECT_EQ(v, "xy");
  ASSERT_TRUE(r.next(&f, &v));
  EXPECT_EQ(f, "b");
  EXPECT_EQ(v, big);
  EXPECT_FALSE(r.next(&f, &v));
  EXPECT_TRUE(r.status().is_ok());
  const std::string truncated = std::string("\x01\x05") + "ab";
  ZipmapReader bad(truncated);
  EXPECT_FALSE(bad.next(&f, &v));
  EXPECT_FALSE(bad.status().is_ok());
}

}  // namespace
}  // namespace ferry
