#include "bench/datasets.h"

#include <hiredis/hiredis.h>

#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ferry::bench {
namespace {

// A megabyte of random bytes; values are slices of it at varying offsets (incompressible).
const std::string& noise() {
  static const std::string bytes = [] {
    std::string s(1 << 20, '\0');
    std::mt19937_64 rng(42);
    for (size_t i = 0; i + 8 <= s.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(&s[i], &v, 8);
    }
    return s;
  }();
  return bytes;
}

std::string_view random_value(uint64_t n, size_t size) {
  const std::string& s = noise();
  size_t off = static_cast<size_t>((n * 7919) % (s.size() - size));
  return std::string_view(s).substr(off, size);
}

using Args = std::vector<std::string>;

// Sends the commands make(i) for i in [0, count), pipelined over a few connections.
void pipelined(const Endpoint& server, uint64_t count, const std::function<Args(uint64_t)>& make,
               int connections = 3) {
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<size_t>(connections));
  for (int t = 0; t < connections; t++) {
    threads.emplace_back([&, t] {
      struct timeval tv = {30, 0};
      redisContext* c = redisConnectWithTimeout(server.host.c_str(), server.port, tv);
      if (!c || c->err) {
        errors[static_cast<size_t>(t)] = "cannot connect to " + server.to_string();
        if (c) redisFree(c);
        return;
      }
      const uint64_t kPipeline = 512;
      uint64_t pending = 0;
      auto drain = [&] {
        for (; pending > 0; pending--) {
          void* reply = nullptr;
          if (redisGetReply(c, &reply) != REDIS_OK) {
            errors[static_cast<size_t>(t)] = std::string("loading data: ") + c->errstr;
            return false;
          }
          auto* r = static_cast<redisReply*>(reply);
          if (r->type == REDIS_REPLY_ERROR) errors[static_cast<size_t>(t)] = r->str;
          freeReplyObject(r);
        }
        return true;
      };
      for (uint64_t i = static_cast<uint64_t>(t); i < count;
           i += static_cast<uint64_t>(connections)) {
        Args a = make(i);
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        for (const auto& s : a) {
          argv.push_back(s.data());
          lens.push_back(s.size());
        }
        redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
        if (++pending == kPipeline && !drain()) break;
      }
      drain();
      redisFree(c);
    });
  }
  for (auto& th : threads)
    th.join();
  for (const auto& e : errors) {
    if (!e.empty()) throw std::runtime_error(e);
  }
}

void one(const Endpoint& server, const Args& a) {
  pipelined(
      server, 1, [&](uint64_t) { return a; }, 1);
}

// A collection of `elements` built with variadic commands of 1000 elements each.
void big_key(const Endpoint& server, const std::string& type, const std::string& key,
             uint64_t elements) {
  const uint64_t per = 1000;
  pipelined(
      server, (elements + per - 1) / per,
      [&](uint64_t chunk) {
        Args a;
        uint64_t first = chunk * per, last = std::min(elements, first + per);
        if (type == "hash") {
          a = {"HSET", key};
          for (uint64_t i = first; i < last; i++) {
            a.push_back("field:" + std::to_string(i));
            a.emplace_back(random_value(i, 40));
          }
        } else if (type == "list") {
          a = {"RPUSH", key};
          for (uint64_t i = first; i < last; i++)
            a.emplace_back(random_value(i, 40));
        } else if (type == "set") {
          a = {"SADD", key};
          for (uint64_t i = first; i < last; i++)
            a.push_back("member:" + std::to_string(i) + ":" + std::to_string(i * 31));
        } else {
          a = {"ZADD", key};
          for (uint64_t i = first; i < last; i++) {
            a.push_back(std::to_string(static_cast<double>(i) * 1.25));
            a.push_back("member:" + std::to_string(i));
          }
        }
        return a;
      },
      1);
}

}  // namespace

void load_small_strings(const Endpoint& server, uint64_t count, size_t value_size) {
  one(server, {"DEBUG", "POPULATE", std::to_string(count), "key", std::to_string(value_size)});
}

void load_random_strings(const Endpoint& server, uint64_t count, size_t value_size) {
  pipelined(server, count, [&](uint64_t i) {
    return Args{"SET", "str:" + std::to_string(i), std::string(random_value(i, value_size))};
  });
}

void load_mixed(const Endpoint& server, double scale) {
  auto n = [&](double base) { return static_cast<uint64_t>(base * scale); };
  // Strings (most of the memory), one in ten with a TTL an hour or more away.
  pipelined(server, n(2'200'000), [&](uint64_t i) {
    Args a{"SET", "str:" + std::to_string(i), std::string(random_value(i, 300))};
    if (i % 10 == 0) {
      a.push_back("PX");
      a.push_back(std::to_string(3'600'000 + i));
    }
    return a;
  });
  // Small collections in their compact encodings.
  pipelined(server, n(200'000), [&](uint64_t i) {
    Args a{"HSET", "hash:" + std::to_string(i)};
    for (int f = 0; f < 8; f++) {
      a.push_back("f" + std::to_string(f));
      a.emplace_back(random_value(i * 8 + static_cast<uint64_t>(f), 24));
    }
    return a;
  });
  pipelined(server, n(100'000), [&](uint64_t i) {
    Args a{"RPUSH", "list:" + std::to_string(i)};
    for (int e = 0; e < 10; e++)
      a.emplace_back(random_value(i * 10 + static_cast<uint64_t>(e), 20));
    return a;
  });
  pipelined(server, n(100'000), [&](uint64_t i) {
    Args a{"SADD", "intset:" + std::to_string(i)};
    for (int e = 0; e < 10; e++)
      a.push_back(std::to_string(i * 100 + static_cast<uint64_t>(e)));
    return a;
  });
  pipelined(server, n(100'000), [&](uint64_t i) {
    Args a{"ZADD", "zset:" + std::to_string(i)};
    for (int e = 0; e < 10; e++) {
      a.push_back(std::to_string(e * 0.5));
      a.push_back("m" + std::to_string(e));
    }
    return a;
  });
  // Big keys: 100k elements each (not scaled: they are the point).
  for (int k = 0; k < 4; k++) {
    for (const char* type : {"hash", "list", "set", "zset"}) {
      big_key(server, type, std::string("big:") + type + ":" + std::to_string(k), 100'000);
    }
  }
  // Streams with a consumer group and pending entries.
  for (int s = 0; s < 2; s++) {
    std::string key = "stream:" + std::to_string(s);
    pipelined(
        server, n(100'000),
        [&](uint64_t i) {
          return Args{"XADD",
                      key,
                      "*",
                      "event",
                      "e" + std::to_string(i),
                      "payload",
                      std::string(random_value(i, 32))};
        },
        1);
    one(server, {"XGROUP", "CREATE", key, "readers", "0"});
    one(server, {"XREADGROUP", "GROUP", "readers", "alice", "COUNT", "1000", "STREAMS", key, ">"});
  }
}

}  // namespace ferry::bench
