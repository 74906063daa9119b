#include "tests/support/workload.h"

#include <random>
#include <vector>

#include "net/redis_client.h"

namespace ferry::test {
namespace {

constexpr const char* kLibrary =
    "#!lua name=ferrytest\n"
    "redis.register_function('bump', function(keys, args)\n"
    "  redis.call('INCRBY', keys[1], args[1])\n"
    "  return redis.call('HINCRBY', keys[2], 'calls', 1)\n"
    "end)\n";

constexpr const char* kScript =
    "redis.call('SET', KEYS[1], ARGV[1]) "
    "redis.call('LPUSH', KEYS[2], ARGV[1]) "
    "return redis.call('LLEN', KEYS[2])";

constexpr const char* kBigKeys =
    "for i = 1, 100000 do "
    "  redis.call('ZADD', 'big:zset', i, 'member:' .. i) "
    "  redis.call('HSET', 'big:hash', 'field:' .. i, i) "
    "  redis.call('SADD', 'big:set', 'member:' .. i) "
    "  redis.call('RPUSH', 'big:list', i) "
    "end "
    "return 1";

}  // namespace

bool Workload::prepare(const Endpoint& server) {
  RedisClient c;
  if (!c.connect(server, Credentials(), std::chrono::seconds(5)).is_ok()) return false;
  Reply r;
  if (!c.checked({"FUNCTION", "LOAD", "REPLACE", kLibrary}, &r).is_ok()) return false;
  return c.checked({"EVAL", kBigKeys, "0"}, &r).is_ok();
}

void Workload::start(const Endpoint& server, const Options& options) {
  stop_ = false;
  thread_ = std::thread([this, server, options] { run(server, options); });
}

void Workload::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string Workload::error() const {
  return failed_ ? error_ : std::string();
}

void Workload::run(Endpoint server, Options o) {
  RedisClient c;
  if (!c.connect(server, Credentials(), std::chrono::seconds(5)).is_ok()) {
    error_ = "cannot connect";
    failed_ = true;
    return;
  }
  std::mt19937 rng(o.seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  auto key = [&](const char* type) {
    std::string k = std::string(type) + ":" + std::to_string(pick(o.keys));
    if (pick(10) == 0) k += std::string("\0\r\n\xff", 4);  // binary key names
    return k;
  };
  auto value = [&]() {
    std::string v = "v" + std::to_string(rng());
    if (pick(8) == 0) v += std::string("\0bin\r\n\x80", 7);
    if (pick(50) == 0) v += std::string(2000 + pick(5000), 'x');
    return v;
  };
  int db = o.first_db;
  Reply r;
  auto run_cmd = [&](const std::vector<std::string>& argv) {
    Status st = c.command(argv, &r);
    if (!st.is_ok() || r.is_error()) {
      if (!failed_) {
        error_ = argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + ": " +
                 (st.is_ok() ? r.str : st.message());
        failed_ = true;
      }
      return false;
    }
    ops_++;
    return true;
  };
  int64_t far_future = 4102444800000LL;  // 2100-01-01: nothing expires during a test
  if (o.first_db != 0) run_cmd({"SELECT", std::to_string(o.first_db)});
  while (!stop_) {
    if (pick(200) == 0) {
      db = o.first_db + pick(o.dbs);
      run_cmd({"SELECT", std::to_string(db)});
    }
    switch (pick(22)) {
      case 0:
        run_cmd({"SET", key("str"), value()});
        break;
      case 1:
        run_cmd({"APPEND", key("str"), value()});
        break;
      case 2:
        run_cmd({"INCRBY", key("cnt"), std::to_string(pick(1000))});
        break;
      case 3:
        run_cmd({"INCRBYFLOAT", key("flt"), "0.25"});
        break;
      case 4:
        run_cmd({"LPUSH", key("list"), value(), value()});
        break;
      case 5:
        run_cmd({pick(2) ? "LPOP" : "RPOP", key("list")});
        break;
      case 6:
        run_cmd({"SADD", key("set"), std::to_string(pick(100)), value()});
        break;
      case 7:
        run_cmd({"SPOP", key("set")});
        break;
      case 8:
        run_cmd({"ZADD", key("zset"), std::to_string(pick(1000) / 7.0), value()});
        break;
      case 9:
        run_cmd({"ZINCRBY", key("zset"), "1.5", "m" + std::to_string(pick(20))});
        break;
      case 10:
        run_cmd({"HSET", key("hash"), "f" + std::to_string(pick(50)), value()});
        break;
      case 11:
        run_cmd({"HINCRBY", key("hash"), "n", "3"});
        break;
      case 12: {
        std::string k = key("stream");
        run_cmd({"XADD", k, "MAXLEN", "~", "500", "*", "a", value(), "b", "1"});
        if (pick(10) == 0) {
          Reply g;
          c.command({"XGROUP", "CREATE", k, "grp", "0", "MKSTREAM"}, &g);  // may exist
          ops_++;
        }
        break;
      }
      case 13: {
        std::string k = key("stream");
        Reply g;
        // Reading through a group creates pending entries (replicated as XCLAIM).
        if (c.command({"XREADGROUP", "GROUP", "grp", "c" + std::to_string(pick(3)), "COUNT", "3",
                       "STREAMS", k, ">"},
                      &g)
                .is_ok() &&
            !g.is_error()) {
          ops_++;
          if (g.type == Reply::Type::kArray && !g.elements.empty()) {
            const Reply& entries = g.elements[0].elements[1];
            if (!entries.elements.empty()) {
              run_cmd({"XACK", k, "grp", entries.elements[0].elements[0].str});
            }
          }
        }
        break;
      }
      case 14:
        run_cmd({"EXPIRE", key("str"), std::to_string(3600 + pick(3600))});
        break;
      case 15:
        run_cmd({"PEXPIREAT", key("hash"), std::to_string(far_future + pick(100000))});
        break;
      case 16:
        run_cmd({"PERSIST", key("str")});
        break;
      case 17: {
        std::string from = key("str"), to = key("str");
        Reply ex;
        c.command({"EXISTS", from}, &ex);
        if (ex.integer == 1) run_cmd({"RENAME", from, to});
        break;
      }
      case 18:
        run_cmd({"MULTI"});
        run_cmd({"INCR", key("cnt")});
        run_cmd({"RPUSH", key("list"), value()});
        run_cmd({"HSET", key("hash"), "tx", value()});
        run_cmd({"EXEC"});
        break;
      case 19:
        if (pick(2)) {
          run_cmd({"EVAL", kScript, "2", key("str"), key("list"), value()});
        } else {
          run_cmd({"FCALL", "bump", "2", key("cnt"), key("hash"), std::to_string(pick(9))});
        }
        break;
      case 20:
        run_cmd({pick(2) ? "DEL" : "UNLINK", key(pick(2) ? "str" : "list")});
        if (o.flushdb && pick(400) == 0 && db == o.first_db + o.dbs - 1) run_cmd({"FLUSHDB"});
        break;
      case 21:
        if (o.big_keys && db == 0 && o.first_db == 0) {
          int i = pick(100000) + 1;
          switch (pick(4)) {
            case 0:
              run_cmd({"ZADD", "big:zset", std::to_string(pick(1000000)),
                       "member:" + std::to_string(i)});
              break;
            case 1:
              run_cmd({"HSET", "big:hash", "field:" + std::to_string(i), value()});
              break;
            case 2:
              run_cmd({"SREM", "big:set", "member:" + std::to_string(i)});
              break;
            default:
              run_cmd({"LSET", "big:list", std::to_string(pick(90000)), value()});
          }
        }
        break;
    }
  }
}

}  // namespace ferry::test
