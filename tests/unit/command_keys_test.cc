// for_each_key over a hand-made command table (the real table and COMMAND GETKEYS as the
// oracle: tests/integration/cluster_test.cc).
#include "proto/command_keys.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry {
namespace {

std::vector<int> keys_of(const CommandTable& t, const std::vector<std::string>& cmd) {
  std::vector<int> out;
  for_each_key(
      t, cmd[0], cmd.size(), [&](int i) { return std::string_view(cmd[i]); },
      [&](int i) { out.push_back(i); });
  return out;
}

TEST(CommandKeys, FixedCountedAndKeywordKeys) {
  CommandTable t;
  t.add("del", -2, {1, -1, 1});
  t.add("mset", -3, {1, -1, 2});
  t.add("zunionstore", -4, {1, 1, 1});
  t.add("eval", -3, {0, 0, 0});
  t.add("sort", -2, {1, 1, 1});
  t.add("georadius", -6, {1, 1, 1});
  EXPECT_EQ(keys_of(t, {"DEL", "a", "b", "c"}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(keys_of(t, {"MSET", "a", "1", "b", "2"}), (std::vector<int>{1, 3}));
  EXPECT_EQ(keys_of(t, {"ZUNIONSTORE", "d", "2", "x", "y", "WEIGHTS", "1", "2"}),
            (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(keys_of(t, {"eval", "s", "2", "k1", "k2", "arg"}), (std::vector<int>{3, 4}));
  // A count past the arguments, or not a number: only the keys that are there.
  EXPECT_EQ(keys_of(t, {"EVAL", "s", "9", "k1"}), (std::vector<int>{3}));
  EXPECT_EQ(keys_of(t, {"EVAL", "s", "x", "k1"}), (std::vector<int>{}));
  EXPECT_EQ(keys_of(t, {"EVAL", "s", "-1", "k1"}), (std::vector<int>{}));
  // SORT: BY's argument is not a keyword; the last STORE wins.
  EXPECT_EQ(keys_of(t, {"SORT", "k", "BY", "store", "STORE", "d1", "STORE", "d2"}),
            (std::vector<int>{1, 7}));
  EXPECT_EQ(keys_of(t, {"SORT", "k", "LIMIT", "store", "x", "GET", "#"}), (std::vector<int>{1}));
  // GEORADIUS: the first STORE and the first STOREDIST, as Redis 7's key specs.
  EXPECT_EQ(keys_of(t, {"GEORADIUS", "g", "0", "0", "1", "km", "STORE", "a", "STOREDIST", "b"}),
            (std::vector<int>{1, 7, 9}));
  EXPECT_EQ(keys_of(t, {"GEORADIUS", "g", "0", "0", "1", "km", "STORE", "a", "STORE", "b"}),
            (std::vector<int>{1, 7}));
  // Unknown to the table: no keys.
  EXPECT_EQ(keys_of(t, {"NOSUCH", "a"}), (std::vector<int>{}));
}

}  // namespace
}  // namespace ferry
