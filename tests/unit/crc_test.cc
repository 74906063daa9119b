#include <gtest/gtest.h>

#include <random>
#include <string>

#include "proto/crc16.h"
#include "proto/crc64.h"

namespace ferry {
namespace {

TEST(Crc64, RedisCheckValue) {
  EXPECT_EQ(crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
  EXPECT_EQ(crc64(0, "", 0), 0u);
}

TEST(Crc64, IncrementalEqualsOneShotAtEverySplit) {
  std::mt19937 rng(7);
  std::string data(1000, '\0');
  for (char& c : data)
    c = static_cast<char>(rng());
  uint64_t whole = crc64(0, data.data(), data.size());
  for (size_t split = 0; split <= data.size(); split += 37) {
    uint64_t a = crc64(0, data.data(), split);
    EXPECT_EQ(crc64(a, data.data() + split, data.size() - split), whole) << split;
  }
}

TEST(Crc64, SliceBy8MatchesBytewiseForAllAlignments) {
  // The byte-at-a-time tail and the 8-byte body must agree whatever the length.
  std::string data = "The quick brown fox jumps over the lazy dog";
  for (size_t n = 0; n <= data.size(); n++) {
    uint64_t bytewise = 0;
    for (size_t i = 0; i < n; i++)
      bytewise = crc64(bytewise, data.data() + i, 1);
    EXPECT_EQ(crc64(0, data.data(), n), bytewise) << n;
  }
}

TEST(Crc16, XmodemCheckValue) {
  EXPECT_EQ(crc16("123456789", 9), 0x31c3);
}

TEST(KeySlot, KnownSlots) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot(""), 0);
}

TEST(KeySlot, HashTags) {
  EXPECT_EQ(key_hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("{user1000}.following"));
  EXPECT_EQ(key_hash_tag("foo{}{bar}"), "foo{}{bar}");  // empty first tag: whole key
  EXPECT_EQ(key_hash_tag("{}{a}"), "{}{a}");
  EXPECT_EQ(key_hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(key_hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(key_hash_tag("no}open{"), "no}open{");
}

}  // namespace
}  // namespace ferry
