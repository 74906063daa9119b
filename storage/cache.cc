#include "storage/cache.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "common/units.h"
#include "storage/cache_format.h"

namespace ferry {

Status Cache::open(const ChannelConfig& config, size_t inputs, std::unique_ptr<Cache>* out) {
  std::unique_ptr<Cache> c(new Cache());
  c->config_ = config;
  c->inputs_ = std::max<size_t>(1, inputs);
  KvStore::Options o;
  o.dir = config.storer.dir_path;
  o.verify_checksums = config.verify_crc;
  FERRY_RETURN_IF_ERROR(KvStore::open(o, &c->kv_));
  const uint64_t free = c->kv_->free_bytes();
  if (free < config.storer.max_size) {
    LOG_WARN(
        "channel.storer.maxSize (%s) is more than the free space under %s (%s): should the "
        "disk fill up, ferry lets go of its source links until there is room again",
        format_bytes(config.storer.max_size).c_str(), config.storer.dir_path.c_str(),
        format_bytes(free).c_str());
  }
  if (config.storer.flush_policy != FlushPolicy::kEveryWrite) {
    c->flusher_ = std::thread([p = c.get()] {
      set_thread_name("ferry-flush");
      p->flush_loop();
    });
  }
  *out = std::move(c);
  return Status::ok();
}

Cache::~Cache() {
  stop_ = true;
  cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  if (dirty_.exchange(false)) kv_->sync_wal();
}

void Cache::flush_loop() {
  // Group commit: whatever was written in the last interval is synced at once.
  auto interval = config_.storer.flush_policy == FlushPolicy::kDuration
                      ? config_.storer.flush_duration
                      : std::chrono::milliseconds(100);
  std::unique_lock<std::mutex> lock(mu_);
  int64_t last_complaint_ms = 0;
  while (!stop_) {
    cv_.wait_for(lock, interval, [&] { return stop_.load(); });
    if (dirty_.exchange(false)) {
      lock.unlock();
      Status st = kv_->sync_wal();
      // (A write failed: its log says why; once a while is enough here.)
      if (!st.is_ok() && mono_ms() - last_complaint_ms > 10000) {
        last_complaint_ms = mono_ms();
        LOG_ERROR("%s", st.message().c_str());
      }
      lock.lock();
    }
  }
}

Status Cache::open_input(const std::string& input, std::unique_ptr<CacheLog>* out) {
  CacheLogOptions o;
  o.max_bytes = config_.storer.max_size / inputs_;
  o.gc_unit = config_.storer.log_size;
  o.sync_every_write = config_.storer.flush_policy == FlushPolicy::kEveryWrite;
  auto log = std::make_unique<CacheLog>(kv_.get(), input, o, [this] { dirty_ = true; });
  FERRY_RETURN_IF_ERROR(log->load());
  *out = std::move(log);
  return Status::ok();
}

std::vector<std::string> Cache::stored_inputs() {
  std::vector<std::string> out;
  kv_->scan("m", [&](std::string_view key, std::string_view) {
    out.emplace_back(key.substr(1));
    return true;
  });
  return out;
}

uint64_t Cache::reclaim_stale(const std::set<std::string>& live,
                              std::chrono::milliseconds older_than) {
  uint64_t freed = 0;
  int64_t now = wall_ms();
  for (const std::string& input : stored_inputs()) {
    if (live.count(input)) continue;
    std::string value;
    bool found = false;
    cache::InputMeta meta;
    if (!kv_->get(cache::meta_key(input), &value, &found).is_ok() || !found) continue;
    const cache::Decoded d = cache::decode(value, &meta);
    if (d == cache::Decoded::kNewer) continue;  // a newer ferry's: not this one's to judge
    if (d == cache::Decoded::kOk && now - meta.updated_ms < older_than.count()) continue;
    // What the store holds for it (a generation's sizes are derived when a log loads, so the
    // meta alone cannot tell).
    auto [begin, end] = cache::data_range(input);
    const uint64_t held = kv_->approximate_size(begin, end);
    KvStore::Batch b;
    b.delete_range(begin, end);
    b.del(cache::meta_key(input));
    b.del(cache::checkpoint_key(input));
    if (kv_->write(b, false).is_ok()) {
      freed += held;
      kv_->compact(begin, end);
      LOG_INFO("cache: reclaimed the data of input %s, which is no longer configured",
               input.c_str());
    }
  }
  return freed;
}

}  // namespace ferry
