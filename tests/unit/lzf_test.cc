#include <gtest/gtest.h>

#include <random>
#include <string>

#include "proto/lzf.h"

namespace ferry {
namespace {

std::string decompress(const std::string& in, size_t out_len, Status* st) {
  std::string out(out_len, '\0');
  *st = lzf_decompress(in, out.data(), out_len);
  return out;
}

TEST(Lzf, RoundTripsCompressibleData) {
  std::string data;
  for (int i = 0; i < 2000; i++)
    data += "field" + std::to_string(i % 17) + ":value;";
  std::string packed;
  ASSERT_TRUE(lzf_compress(data, &packed));
  EXPECT_LT(packed.size(), data.size() / 3);
  Status st;
  EXPECT_EQ(decompress(packed, data.size(), &st), data);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
}

TEST(Lzf, LongRunsUseMaximalBackReferences) {
  std::string data(100000, 'a');
  std::string packed;
  ASSERT_TRUE(lzf_compress(data, &packed));
  Status st;
  EXPECT_EQ(decompress(packed, data.size(), &st), data);
  EXPECT_TRUE(st.is_ok());
}

TEST(Lzf, IncompressibleDataIsRefused) {
  std::mt19937 rng(1);
  std::string data(4096, '\0');
  for (char& c : data)
    c = static_cast<char>(rng());
  std::string packed;
  EXPECT_FALSE(lzf_compress(data, &packed));
}

TEST(Lzf, RandomRoundTrips) {
  std::mt19937 rng(3);
  for (int t = 0; t < 200; t++) {
    size_t n = 5 + rng() % 3000;
    std::string data(n, '\0');
    int alphabet = 1 + static_cast<int>(rng() % 6);
    for (char& c : data)
      c = static_cast<char>('a' + rng() % alphabet);
    std::string packed;
    if (!lzf_compress(data, &packed)) continue;
    Status st;
    EXPECT_EQ(decompress(packed, n, &st), data);
    EXPECT_TRUE(st.is_ok());
  }
}

TEST(Lzf, MalformedInputIsAnErrorNotACrash) {
  Status st;
  decompress(std::string("\x05"
                         "ab",
                         3),
             6, &st);  // literal run past the end
  EXPECT_FALSE(st.is_ok());
  decompress(std::string("\x00"
                         "a"
                         "\x20\x05",
                         4),
             10, &st);  // reference before the start
  EXPECT_FALSE(st.is_ok());
  decompress(std::string("\x02"
                         "abc",
                         4),
             2, &st);  // output longer than declared
  EXPECT_FALSE(st.is_ok());
  decompress(std::string("\x02"
                         "abc",
                         4),
             5, &st);  // output shorter than declared
  EXPECT_FALSE(st.is_ok());
  std::mt19937 rng(9);
  for (int t = 0; t < 2000; t++) {
    std::string junk(1 + rng() % 64, '\0');
    for (char& c : junk)
      c = static_cast<char>(rng());
    decompress(junk, rng() % 512, &st);  // must not crash; result may be either
  }
}

}  // namespace
}  // namespace ferry

namespace ferry {
namespace {

TEST(LzfStream, MatchesOneShotDecompressionForAnySplit) {
  std::mt19937 rng(17);
  for (int t = 0; t < 50; t++) {
    std::string data;
    size_t n = 1000 + rng() % 60000;
    while (data.size() < n) {
      if (rng() % 3 == 0 && data.size() > 10) {
        size_t from = rng() % data.size();
        data += data.substr(from, 1 + rng() % 300);  // repeats, some overlapping
      } else {
        data.push_back(static_cast<char>('a' + rng() % 4));
      }
    }
    std::string packed;
    if (!lzf_compress(data, &packed)) continue;
    LzfStreamDecoder dec(data.size());
    std::string out;
    for (size_t i = 0; i < packed.size();) {
      size_t piece = 1 + rng() % 40;
      ASSERT_TRUE(dec.feed(std::string_view(packed).substr(i, piece), &out).is_ok());
      i += piece;
    }
    EXPECT_TRUE(dec.done());
    EXPECT_EQ(out, data);
  }
}

TEST(LzfStream, MalformedInputIsAnError) {
  std::string out;
  LzfStreamDecoder before_start(10);
  EXPECT_FALSE(before_start.feed(std::string("\x20\x05", 2), &out).is_ok());
  LzfStreamDecoder too_long(2);
  EXPECT_FALSE(too_long
                   .feed(std::string("\x02"
                                     "abc",
                                     4),
                         &out)
                   .is_ok());
  LzfStreamDecoder short_output(10);
  ASSERT_TRUE(short_output
                  .feed(std::string("\x02"
                                    "abc",
                                    4),
                        &out)
                  .is_ok());
  EXPECT_FALSE(short_output.done());
}

}  // namespace
}  // namespace ferry
