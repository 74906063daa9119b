#include "bench/loadgen.h"

#include <hiredis/hiredis.h>

#include <random>

#include "bench/harness.h"

namespace ferry::bench {
namespace {

redisContext* connect(const Endpoint& ep) {
  struct timeval tv = {5, 0};
  redisContext* c = redisConnectWithTimeout(ep.host.c_str(), ep.port, tv);
  if (c && c->err) {
    redisFree(c);
    return nullptr;
  }
  return c;
}

// One connection's share of the load.
struct Worker {
  const LoadOptions* o;
  double rate;  // this worker's commands per second (0: unpaced)
  uint64_t seed;
  uint64_t commands = 0;
  std::string error;

  void run(int64_t start_us, int64_t end_us) {
    redisContext* c = connect(o->server);
    if (!c) {
      error = "cannot connect to " + o->server.to_string();
      return;
    }
    std::mt19937_64 rng(seed);
    std::string value(o->value_size, 'v');
    uint64_t sent = 0;
    while (error.empty()) {
      int64_t now = now_us();
      if (now >= end_us) break;
      uint64_t due = static_cast<uint64_t>(o->max_pipeline);
      if (rate > 0) {
        uint64_t target = static_cast<uint64_t>(rate * static_cast<double>(now - start_us) / 1e6);
        if (target <= sent) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          continue;
        }
        due = std::min<uint64_t>(target - sent, static_cast<uint64_t>(o->max_pipeline));
      }
      for (uint64_t i = 0; i < due; i++) {
        std::string key = std::to_string(rng() % o->keyspace);
        std::string number = std::to_string(rng() % 1000000);
        switch (rng() % 20) {
          case 0:
          case 1:
          case 2:
          case 3:
          case 4:
          case 5:  // 30%
            redisAppendCommand(c, "SET str:%s %b", key.c_str(), value.data(), value.size());
            break;
          case 6:
          case 7:
          case 8:
          case 9:  // 20%
            redisAppendCommand(c, "HSET hash:%s f%s %b", key.c_str(), number.c_str(), value.data(),
                               value.size());
            break;
          case 10:
          case 11:
          case 12:  // 15%
            redisAppendCommand(c, "LPUSH list:%s %b", key.c_str(), value.data(), value.size());
            break;
          case 13:
          case 14:
          case 15:  // 15%
            redisAppendCommand(c, "ZADD zset:%s %s m%s", key.c_str(), number.c_str(), key.c_str());
            break;
          default:  // 20%
            redisAppendCommand(c, "INCR counter:%s", key.c_str());
        }
      }
      for (uint64_t i = 0; i < due; i++) {
        void* reply = nullptr;
        if (redisGetReply(c, &reply) != REDIS_OK) {
          error = std::string("connection lost: ") + c->errstr;
          break;
        }
        auto* r = static_cast<redisReply*>(reply);
        if (r->type == REDIS_REPLY_ERROR) error = std::string(r->str, r->len);
        freeReplyObject(r);
      }
      sent += due;
      commands = sent;
    }
    redisFree(c);
  }
};

}  // namespace

LoadResult run_load(const LoadOptions& options) {
  std::vector<Worker> workers(static_cast<size_t>(options.connections));
  std::vector<std::thread> threads;
  const int64_t start = now_us();
  const int64_t end = start + options.duration.count() * 1000;
  for (size_t i = 0; i < workers.size(); i++) {
    workers[i].o = &options;
    workers[i].rate = options.rate / options.connections;
    workers[i].seed = options.seed * 1000 + i;
    threads.emplace_back([&w = workers[i], start, end] { w.run(start, end); });
  }
  for (auto& t : threads)
    t.join();
  LoadResult r;
  r.seconds = static_cast<double>(now_us() - start) / 1e6;
  for (const Worker& w : workers) {
    r.commands += w.commands;
    if (r.error.empty()) r.error = w.error;
  }
  return r;
}

LagProbe::LagProbe(Endpoint source, Endpoint target, std::string key,
                   std::chrono::milliseconds period)
    : source_(std::move(source)),
      target_(std::move(target)),
      key_(std::move(key)),
      period_(period) {}

LagProbe::~LagProbe() {
  stop_writing_ = stop_reading_ = true;
  if (writer_.joinable()) writer_.join();
  if (reader_.joinable()) reader_.join();
}

void LagProbe::start() {
  writer_ = std::thread([this] { write_loop(); });
  reader_ = std::thread([this] { read_loop(); });
}

bool LagProbe::stop(std::chrono::milliseconds drain) {
  stop_writing_ = true;
  if (writer_.joinable()) writer_.join();
  writer_done_ = true;
  const int64_t deadline = now_us() + drain.count() * 1000;
  while (now_us() < deadline && last_seen_us_ == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop_reading_ = true;
  if (reader_.joinable()) reader_.join();
  return last_seen_us_ != 0;
}

std::vector<double> LagProbe::lags_ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lags_;
}

std::vector<int64_t> LagProbe::sample_times_us() const {
  std::lock_guard<std::mutex> lock(mu_);
  return times_;
}

std::string LagProbe::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void LagProbe::write_loop() {
  redisContext* c = connect(source_);
  if (!c) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = "probe: cannot connect to the source";
    return;
  }
  int64_t next = now_us();
  while (true) {
    int64_t t = now_us();
    std::string v = std::to_string(t);
    auto* r = static_cast<redisReply*>(redisCommand(c, "SET %s %s", key_.c_str(), v.c_str()));
    if (!r) break;
    freeReplyObject(r);
    last_written_ = t;
    if (stop_writing_) break;  // the value just written is the last one
    next += period_.count() * 1000;
    int64_t wait = next - now_us();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait));
  }
  redisFree(c);
}

void LagProbe::read_loop() {
  redisContext* c = connect(target_);
  if (!c) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = "probe: cannot connect to the target";
    return;
  }
  int64_t last = 0, last_change_us = 0;
  while (!stop_reading_) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "GET %s", key_.c_str()));
    if (!r) break;
    if (r->type == REDIS_REPLY_STRING) {
      int64_t v = std::stoll(std::string(r->str, r->len));
      if (v != last) {
        last_change_us = now_us();
        last = v;
        std::lock_guard<std::mutex> lock(mu_);
        lags_.push_back(static_cast<double>(last_change_us - v) / 1000.0);
        times_.push_back(last_change_us);
      }
    }
    freeReplyObject(r);
    // Once the writer is done, its last value is final: note when it arrived.
    if (writer_done_ && last == last_written_ && last_seen_us_ == 0) {
      last_seen_us_ = last_change_us;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  redisFree(c);
}

}  // namespace ferry::bench
