// RDB primitives: every length encoding, every string encoding, and how short or malformed
// input is reported (kShort with the bytes needed, kBad with a reason).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "proto/lzf.h"
#include "proto/rdb_scan.h"

namespace ferry::rdb {
namespace {

using std::string;
using namespace std::string_literals;

TEST(RdbScan, LengthEncodings) {
  struct Case {
    string bytes;
    uint64_t value;
  } cases[] = {
      {string("\x00", 1), 0},
      {"\x3f", 63},
      {"\x40\x40", 64},
      {"\x7f\xff", 16383},
      {string("\x80\x00\x00\x40\x00", 5), 16384},
      {"\x80\xff\xff\xff\xff", 0xffffffffu},
      {string("\x81\x00\x00\x00\x01\x00\x00\x00\x00", 9), 1ull << 32},
  };
  for (const auto& c : cases) {
    RdbScanner s(c.bytes);
    uint64_t v;
    ASSERT_EQ(s.len(&v), Scan::kOk);
    EXPECT_EQ(v, c.value);
    EXPECT_TRUE(s.at_end());
  }
}

TEST(RdbScan, ShortLengthSaysHowManyBytesAreNeeded) {
  string two = "\x80\x00"s;
  RdbScanner s(two);
  uint64_t v;
  EXPECT_EQ(s.len(&v), Scan::kShort);
  EXPECT_EQ(s.needed(), 5u);
  EXPECT_EQ(s.pos(), 0u);
  RdbScanner e("");
  EXPECT_EQ(e.len(&v), Scan::kShort);
  EXPECT_EQ(e.needed(), 1u);
}

TEST(RdbScan, UnknownLengthEncodingIsBad) {
  RdbScanner s("\x85");
  uint64_t v;
  EXPECT_EQ(s.len(&v), Scan::kBad);
  RdbScanner enc("\xc0\x01");
  EXPECT_EQ(enc.len(&v), Scan::kBad);  // a string encoding where a length belongs
}

TEST(RdbScan, IntegerStrings) {
  struct Case {
    string bytes;
    string text;
  } cases[] = {
      {"\xc0\x7f"s, "127"},
      {"\xc0\x80"s, "-128"},
      {"\xc1\x00\x80"s, "-32768"},
      {"\xc1\xff\x7f"s, "32767"},
      {"\xc2\x00\x00\x00\x80"s, "-2147483648"},
      {"\xc2\x4e\x61\xbc\x00"s, "12345678"},
  };
  for (const auto& c : cases) {
    RdbScanner s(c.bytes);
    StoredString str;
    ASSERT_EQ(s.string(&str), Scan::kOk);
    string scratch, err;
    std::string_view out;
    ASSERT_TRUE(materialize(str, &scratch, &out, &err));
    EXPECT_EQ(out, c.text);
  }
}

TEST(RdbScan, PlainAndLzfStrings) {
  string hello = "\x05hello"s;
  RdbScanner plain(hello);
  StoredString str;
  ASSERT_EQ(plain.string(&str), Scan::kOk);
  EXPECT_EQ(str.data, "hello");

  string text(500, 'q');
  string packed;
  ASSERT_TRUE(lzf_compress(text, &packed));
  string enc = "\xc3";
  enc.push_back(static_cast<char>(0x40 | (packed.size() >> 8)));
  enc.push_back(static_cast<char>(packed.size() & 0xff));
  enc += string("\x41\xf4", 2);  // 500 as a 14-bit length
  enc += packed;
  RdbScanner lz(enc);
  ASSERT_EQ(lz.string(&str), Scan::kOk);
  EXPECT_EQ(str.kind, StoredString::Kind::kLzf);
  string scratch, err;
  std::string_view out;
  ASSERT_TRUE(materialize(str, &scratch, &out, &err)) << err;
  EXPECT_EQ(out, text);

  RdbScanner cut(std::string_view(enc).substr(0, enc.size() - 1));
  EXPECT_EQ(cut.string(&str), Scan::kShort);
  EXPECT_EQ(cut.needed(), enc.size());
  EXPECT_EQ(cut.pos(), 0u);
}

TEST(RdbScan, ImpossibleLzfLengthsAreBad) {
  // 2 compressed bytes claiming to expand to 1 MB.
  string enc = string("\xc3\x02", 2) + string("\x80\x00\x10\x00\x00", 5) + "ab";
  RdbScanner s(enc);
  StoredString str;
  EXPECT_EQ(s.string(&str), Scan::kBad);
}

TEST(RdbScan, Doubles) {
  string doubles =
      "\x03"
      "1.5"
      "\xfe"
      "\xff"s;
  RdbScanner t(doubles);
  double d;
  ASSERT_EQ(t.text_double(&d), Scan::kOk);
  EXPECT_EQ(d, 1.5);
  ASSERT_EQ(t.text_double(&d), Scan::kOk);
  EXPECT_TRUE(std::isinf(d) && d > 0);
  ASSERT_EQ(t.text_double(&d), Scan::kOk);
  EXPECT_TRUE(std::isinf(d) && d < 0);
  double x = 0.1;
  string raw(8, '\0');
  std::memcpy(raw.data(), &x, 8);
  RdbScanner b(raw);
  ASSERT_EQ(b.binary_double(&d), Scan::kOk);
  EXPECT_EQ(d, 0.1);
}

}  // namespace
}  // namespace ferry::rdb
