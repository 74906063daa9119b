// The small counters behind the metrics: command names, the lag clock, the histogram.
#include <gtest/gtest.h>

#include "common/histogram.h"
#include "common/offset_clock.h"
#include "nodes/command_stats.h"

namespace ferry {
namespace {

TEST(CommandStats, EveryListedNameMapsToItselfAndOthersToOther) {
  for (uint16_t id = 1; std::string(CommandStats::name_of(id)) != "other" || id == 0; id++) {
    std::string name = CommandStats::name_of(id);
    ASSERT_EQ(CommandStats::id_of(name), id) << name << ": the list must stay sorted";
    std::string upper = name;
    for (char& c : upper)
      c = static_cast<char>(toupper(c));
    EXPECT_EQ(CommandStats::id_of(upper), id);
    if (id > 200) break;
  }
  EXPECT_EQ(CommandStats::id_of("no-such-command"), 0);
  EXPECT_EQ(CommandStats::id_of(""), 0);
  EXPECT_EQ(CommandStats::id_of(std::string(100, 'x')), 0);
  EXPECT_STREQ(CommandStats::name_of(0), "other");

  CommandStats stats;
  stats.add(CommandStats::id_of("SET"), CommandStats::kReceived, 3);
  stats.add(CommandStats::id_of("set"), CommandStats::kApplied, 2);
  stats.add(CommandStats::id_of("frobnicate"), CommandStats::kFailed);
  auto rows = stats.snapshot();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_STREQ(rows[0].name, "other");
  EXPECT_EQ(rows[0].counts[CommandStats::kFailed], 1u);
  EXPECT_STREQ(rows[1].name, "set");
  EXPECT_EQ(rows[1].counts[CommandStats::kReceived], 3u);
  EXPECT_EQ(rows[1].counts[CommandStats::kApplied], 2u);
}

TEST(OffsetClock, TheOldestUnappliedByteSetsTheLag) {
  OffsetClock clock;
  EXPECT_EQ(clock.received_after(0), 0);
  clock.record(100, 1'000'000);
  clock.record(250, 2'000'000);
  clock.record(400, 3'000'000);
  EXPECT_EQ(clock.received_after(0), 1'000'000);
  EXPECT_EQ(clock.received_after(99), 1'000'000);
  EXPECT_EQ(clock.received_after(100), 2'000'000);
  EXPECT_EQ(clock.received_after(399), 3'000'000);
  EXPECT_EQ(clock.received_after(400), 0);
  clock.applied(250);
  EXPECT_EQ(clock.received_after(0), 3'000'000);
  // Reads closer together than 1 ms are one sample.
  clock.record(500, 3'000'100);
  EXPECT_EQ(clock.received_after(450), 3'000'000);
}

TEST(OffsetClock, MemoryIsBoundedAndThinningOnlyOverstatesTheLag) {
  OffsetClock clock;
  const int n = 300'000;
  for (int i = 1; i <= n; i++)
    clock.record(static_cast<uint64_t>(i) * 10, int64_t{i} * 2000);
  // Whatever was merged, the time reported is never later than the true one.
  for (uint64_t offset : {0ull, 5ull, 12'345ull, 1'000'000ull, 2'999'990ull}) {
    int64_t truth = static_cast<int64_t>(offset / 10 + 1) * 2000;
    int64_t got = clock.received_after(offset);
    EXPECT_LE(got, truth) << offset;
    EXPECT_GT(got, 0) << offset;
  }
  EXPECT_EQ(clock.received_after(static_cast<uint64_t>(n) * 10), 0);
}

TEST(LatencyHistogram, CumulativeBucketsCountAndSum) {
  LatencyHistogram h;
  h.add_us(100);         // 0.0001 s: first bucket
  h.add_us(3000);        // 0.003 s
  h.add_us(20'000'000);  // 20 s: only +Inf
  auto s = h.snapshot();
  ASSERT_EQ(s.cumulative.size(), s.bounds.size() + 1);
  EXPECT_EQ(s.cumulative[0], 1u);
  EXPECT_EQ(s.cumulative[3], 2u);  // le 0.005
  EXPECT_EQ(s.cumulative[s.bounds.size() - 1], 2u);
  EXPECT_EQ(s.cumulative.back(), 3u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_NEAR(s.sum_seconds, 20.0031, 1e-9);
}

}  // namespace
}  // namespace ferry
