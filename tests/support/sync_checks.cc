#include "tests/support/sync_checks.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

#include "common/bytes.h"
#include "tests/support/load.h"

namespace ferry::test {
namespace {

std::string str_of(const Reply& r) {
  if (r.type == Reply::Type::kInteger) return std::to_string(r.integer);
  return r.str;
}

// A flat RESP map reply ([k1, v1, k2, v2, ...]) as field -> reply.
std::map<std::string, Reply> as_map(const Reply& r) {
  std::map<std::string, Reply> m;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2)
    m[r.elements[i].str] = r.elements[i + 1];
  return m;
}

json id_or_null(const Reply& r) {
  return r.type == Reply::Type::kNil ? json(nullptr) : json(r.str);
}

json dump_stream(RedisServer& s, const std::string& key) {
  Reply info = s.cmd({"XINFO", "STREAM", key, "FULL", "COUNT", "0"});
  auto m = as_map(info);
  json v;
  v["length"] = m["length"].integer;
  v["last_id"] = m["last-generated-id"].str;
  v["first_id"] = m["recorded-first-entry-id"].str;
  v["max_deleted_entry_id"] = m["max-deleted-entry-id"].str;
  v["entries_added"] = m["entries-added"].integer;
  json entries = json::array();
  for (const Reply& e : m["entries"].elements) {
    json fields = json::array();
    const auto& fv = e.elements[1].elements;
    for (size_t i = 0; i + 1 < fv.size(); i += 2) {
      fields.push_back(json::array({bytes_to_json(fv[i].str), bytes_to_json(fv[i + 1].str)}));
    }
    entries.push_back(json::array({e.elements[0].str, fields}));
  }
  v["entries"] = entries;
  json groups = json::array();
  for (const Reply& g : m["groups"].elements) {
    auto gm = as_map(g);
    json group;
    group["name"] = bytes_to_json(gm["name"].str);
    group["last_delivered_id"] = gm["last-delivered-id"].str;
    group["entries_read"] = gm["entries-read"].type == Reply::Type::kNil
                                ? json(nullptr)
                                : json(gm["entries-read"].integer);
    json pending = json::array();
    for (const Reply& p : gm["pending"].elements) {
      pending.push_back({{"id", p.elements[0].str},
                         {"consumer", bytes_to_json(p.elements[1].str)},
                         {"delivery_time", p.elements[2].integer},
                         {"delivery_count", p.elements[3].integer}});
    }
    group["pending"] = pending;
    json consumers = json::array();
    for (const Reply& c : gm["consumers"].elements) {
      auto cm = as_map(c);
      json cj;
      cj["name"] = bytes_to_json(cm["name"].str);
      cj["seen_time"] = cm["seen-time"].integer;
      if (cm.count("active-time")) cj["active_time"] = cm["active-time"].integer;
      json ids = json::array();
      for (const Reply& p : cm["pending"].elements)
        ids.push_back(p.elements[0].str);
      cj["pending"] = ids;
      consumers.push_back(cj);
    }
    group["consumers"] = consumers;
    groups.push_back(group);
  }
  v["groups"] = groups;
  (void)id_or_null;
  return v;
}

json dump_key(RedisServer& s, const std::string& key) {
  json k;
  k["key"] = bytes_to_json(key);
  std::string type = s.cmd({"TYPE", key}).str;
  k["type"] = type;
  k["pexpiretime"] = s.cmd({"PEXPIRETIME", key}).integer;
  if (type == "string") {
    k["value"] = bytes_to_json(s.cmd({"GET", key}).str);
  } else if (type == "list") {
    json a = json::array();
    for (const Reply& e : s.cmd({"LRANGE", key, "0", "-1"}).elements)
      a.push_back(bytes_to_json(e.str));
    k["value"] = a;
  } else if (type == "set") {
    std::vector<std::string> members;
    for (const Reply& e : s.cmd({"SMEMBERS", key}).elements)
      members.push_back(e.str);
    std::sort(members.begin(), members.end());
    json a = json::array();
    for (auto& m : members)
      a.push_back(bytes_to_json(m));
    k["value"] = a;
  } else if (type == "zset") {
    Reply r = s.cmd({"ZRANGE", key, "0", "-1", "WITHSCORES"});
    std::vector<std::pair<double, std::string>> items;
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      items.emplace_back(std::strtod(r.elements[i + 1].str.c_str(), nullptr), r.elements[i].str);
    }
    std::sort(items.begin(), items.end());
    json a = json::array();
    for (auto& [score, m] : items)
      a.push_back(json::array({bytes_to_json(m), format_score(score)}));
    k["value"] = a;
  } else if (type == "hash") {
    Reply r = s.cmd({"HGETALL", key});
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      pairs.emplace_back(r.elements[i].str, r.elements[i + 1].str);
    }
    std::sort(pairs.begin(), pairs.end());
    json a = json::array();
    for (auto& [f, v] : pairs)
      a.push_back(json::array({bytes_to_json(f), bytes_to_json(v)}));
    k["value"] = a;
    k["field_pexpiretime"] = json::array();  // Redis 7.0 has no field TTLs
  } else if (type == "stream") {
    k["value"] = dump_stream(s, key);
  }
  return k;
}

}  // namespace

std::map<std::string, std::string> key_digests(RedisServer& s) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : s.info("keyspace")) {
    if (name.rfind("db", 0) != 0) continue;
    std::string db = name.substr(2);
    s.cmd({"SELECT", db});
    std::string cursor = "0";
    do {
      Reply r = s.cmd({"SCAN", cursor, "COUNT", "1000"});
      if (r.elements.size() < 2) break;
      cursor = r.elements[0].str;
      std::vector<std::string> argv = {"DEBUG", "DIGEST-VALUE"};
      for (const Reply& k : r.elements[1].elements) {
        if (k.str.rfind("ferry-checkpoint:", 0) != 0) argv.push_back(k.str);
      }
      if (argv.size() == 2) continue;
      Reply d = s.cmd(argv);
      for (size_t i = 0; i < d.elements.size(); i++)
        out[db + "/" + argv[i + 2]] = d.elements[i].str;
    } while (cursor != "0");
  }
  s.cmd({"SELECT", "0"});
  return out;
}

std::string data_digest(RedisServer& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the sorted "db/key=digest" lines
  for (const auto& [key, digest] : key_digests(s)) {
    for (char c : key + "=" + digest + "\n") {
      h ^= static_cast<uint8_t>(c);
      h *= 1099511628211ull;
    }
  }
  char buf[32];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {

// Reads digests with `read` until they are `want`; on timeout the first difference goes to
// *detail.
bool wait_digests(const std::function<std::map<std::string, std::string>()>& read,
                  const std::map<std::string, std::string>& want, std::chrono::seconds timeout,
                  std::string* detail) {
  std::map<std::string, std::string> got;
  if (wait_until([&] { return (got = read()) == want; }, timeout)) return true;
  if (!detail) return false;
  *detail = std::to_string(got.size()) + " keys, expected " + std::to_string(want.size());
  for (const auto& [k, d] : want) {
    auto it = got.find(k);
    if (it == got.end() || it->second != d) {
      *detail += "; first difference at " + printable(k) +
                 (it == got.end() ? " (missing)" : " (another value)");
      return false;
    }
  }
  for (const auto& [k, d] : got) {
    if (!want.count(k)) {
      *detail += "; " + printable(k) + " is only on the target";
      break;
    }
  }
  return false;
}

}  // namespace

bool wait_key_digests(RedisServer& server, const std::map<std::string, std::string>& want,
                      std::chrono::seconds timeout, std::string* detail) {
  return wait_digests([&] { return key_digests(server); }, want, timeout, detail);
}

bool wait_same_digest(RedisServer& a, RedisServer& b, std::chrono::seconds timeout,
                      std::string* detail) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string da, db;
  while (true) {
    da = data_digest(a);
    db = data_digest(b);
    if (da == db) return true;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (detail) *detail = a.address() + " data digest " + da + " vs " + b.address() + " " + db;
  return false;
}

json dump_dbs(RedisServer& s) {
  json dbs = json::object();
  auto keyspace = s.info("keyspace");
  for (const auto& [name, value] : keyspace) {
    if (name.rfind("db", 0) != 0) continue;
    std::string db = name.substr(2);
    s.cmd({"SELECT", db});
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      Reply r = s.cmd({"SCAN", cursor, "COUNT", "1000"});
      cursor = r.elements[0].str;
      for (const Reply& k : r.elements[1].elements)
        keys.push_back(k.str);
    } while (cursor != "0");
    std::sort(keys.begin(), keys.end());
    json list = json::array();
    for (const auto& k : keys) {
      if (k.rfind("ferry-checkpoint:", 0) != 0) list.push_back(dump_key(s, k));
    }
    if (list.empty()) continue;
    dbs[db] = list;
  }
  s.cmd({"SELECT", "0"});
  return dbs;
}

std::vector<std::string> dump_function_codes(RedisServer& s) {
  std::vector<std::string> codes;
  Reply r = s.cmd({"FUNCTION", "LIST", "WITHCODE"});
  for (const Reply& lib : r.elements) {
    auto m = as_map(lib);
    codes.push_back(m["library_code"].str);
  }
  std::sort(codes.begin(), codes.end());
  return codes;
}

std::string compare_servers(RedisServer& a, RedisServer& b) {
  json da = dump_dbs(a), db = dump_dbs(b);
  std::string out;
  if (da != db) {
    json patch = json::diff(da, db);
    out += "data differs: " + patch.dump().substr(0, 2000) + "\n";
  }
  if (dump_function_codes(a) != dump_function_codes(b)) out += "functions differ\n";
  (void)str_of;
  return out;
}

namespace {

// Lists, for one DB, every key with a TTL (key, pexpiretime) and every stream key.
constexpr const char* kScanScript = R"(
local out = {}
local cursor = '0'
repeat
  local r = redis.call('SCAN', cursor, 'COUNT', 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    local t = redis.call('PEXPIRETIME', k)
    local ty = redis.call('TYPE', k)['ok']
    if t >= 0 or ty == 'stream' then
      table.insert(out, k)
      table.insert(out, tostring(t))
      table.insert(out, ty)
    end
  end
until cursor == '0'
return out
)";

std::map<std::string, std::pair<std::string, std::string>> special_keys(RedisServer& s,
                                                                        const std::string& db) {
  s.cmd({"SELECT", db});
  Reply r = s.cmd({"EVAL", kScanScript, "0"});
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 2 < r.elements.size(); i += 3) {
    out[r.elements[i].str] = {r.elements[i + 1].str, r.elements[i + 2].str};
  }
  return out;
}

std::set<std::string> db_names(RedisServer& s) {
  std::set<std::string> out;
  for (const auto& [name, value] : s.info("keyspace")) {
    if (name.rfind("db", 0) == 0) out.insert(name.substr(2));
  }
  return out;
}

}  // namespace

std::string compare_beyond_digest(RedisServer& a, RedisServer& b) {
  std::string out;
  std::set<std::string> dbs = db_names(a);
  for (const auto& d : db_names(b))
    dbs.insert(d);
  for (const auto& db : dbs) {
    auto ka = special_keys(a, db);
    auto kb = special_keys(b, db);
    if (ka != kb) {
      size_t shown = 0;
      for (const auto& [k, v] : ka) {
        auto it = kb.find(k);
        if ((it == kb.end() || it->second != v) && shown++ < 5) {
          out += "db " + db + " key " + printable(k) + ": pexpiretime/type " + v.first + "/" +
                 v.second + " vs " +
                 (it == kb.end() ? std::string("missing")
                                 : it->second.first + "/" + it->second.second) +
                 "\n";
        }
      }
      for (const auto& [k, v] : kb) {
        if (!ka.count(k) && shown++ < 5) {
          out += "db " + db + " key " + printable(k) + " only on " + b.address() + "\n";
        }
      }
      continue;
    }
    for (const auto& [k, v] : ka) {
      if (v.second != "stream") continue;
      a.cmd({"SELECT", db});
      b.cmd({"SELECT", db});
      json sa = dump_stream(a, k), sb = dump_stream(b, k);
      for (json* sj : {&sa, &sb}) {
        for (auto& g : (*sj)["groups"]) {
          g.erase("entries_read");
          for (auto& c : g["consumers"]) {
            c.erase("seen_time");
            c.erase("active_time");
          }
        }
      }
      if (sa != sb) {
        out += "db " + db + " stream " + printable(k) +
               " differs: " + json::diff(sa, sb).dump().substr(0, 1000) + "\n";
      }
    }
  }
  a.cmd({"SELECT", "0"});
  b.cmd({"SELECT", "0"});
  if (dump_function_codes(a) != dump_function_codes(b)) out += "functions differ\n";
  return out;
}

namespace {

// The keys of servers that share one keyspace (a cluster's masters), each asked for its own.
std::map<std::string, std::string> union_digests(const std::vector<RedisServer*>& servers) {
  std::map<std::string, std::string> out;
  for (RedisServer* s : servers) {
    for (auto& [k, d] : key_digests(*s))
      out[k] = d;
  }
  return out;
}

std::map<std::string, std::pair<std::string, std::string>> union_ttls(
    const std::vector<RedisServer*>& servers) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (RedisServer* s : servers) {
    for (auto& [k, v] : special_keys(*s, "0"))
      out[k] = v;
    s->cmd({"SELECT", "0"});
  }
  return out;
}

}  // namespace

bool wait_same_keys(const std::vector<RedisServer*>& source,
                    const std::function<std::vector<RedisServer*>()>& target,
                    std::chrono::seconds timeout, std::string* detail, int64_t ttl_slack_ms) {
  const std::map<std::string, std::string> want = union_digests(source);
  const auto ttls = union_ttls(source);
  if (!wait_digests([&] { return union_digests(target()); }, want, timeout, detail)) {
    return false;
  }
  auto got_ttls = union_ttls(target());
  if (got_ttls == ttls) return true;
  auto close = [&](const std::pair<std::string, std::string>& a,
                   const std::pair<std::string, std::string>& b) {
    int64_t x = 0, y = 0;
    return a == b || (a.second == b.second && parse_int(a.first, &x) && parse_int(b.first, &y) &&
                      std::abs(x - y) <= ttl_slack_ms);
  };
  for (const auto& [k, v] : ttls) {
    auto it = got_ttls.find(k);
    if (it == got_ttls.end() || !close(it->second, v)) {
      *detail = "key " + printable(k) + ": pexpiretime " + v.first + " on the source, " +
                (it == got_ttls.end() ? std::string("none") : it->second.first) + " on the target";
      return false;
    }
  }
  if (got_ttls.size() == ttls.size()) return true;
  *detail = std::to_string(got_ttls.size()) + " keys with a TTL on the target, " +
            std::to_string(ttls.size()) + " on the source";
  return false;
}

bool wait_cluster_data(RedisCluster& source, RedisServer& target, std::chrono::seconds timeout,
                       std::string* detail) {
  return wait_same_keys(
      source.masters(), [&] { return std::vector<RedisServer*>{&target}; }, timeout, detail);
}

}  // namespace ferry::test
