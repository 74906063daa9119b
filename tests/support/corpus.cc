#include "tests/support/corpus.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "proto/rdb_decoder.h"

namespace ferry::test {
namespace {

const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

struct Key {
  std::string key;
  std::string type;
  int64_t pexpiretime = -1;
  // values
  std::string str;
  std::vector<std::string> items;
  std::vector<std::pair<std::string, double>> zset;
  std::vector<std::pair<std::string, std::string>> hash;
  std::vector<std::pair<std::string, int64_t>> field_ttls;
  json stream;
  json stream_entries = json::array();
  uint64_t elements = 0;
};

class Collector : public rdb::RdbSink, public rdb::ValueVisitor {
 public:
  explicit Collector(ParsedRdb* out) : out_(out) {}

  Status status() const { return status_; }

  void on_header(int version) override { out_->version = version; }
  void on_function(std::string_view code) override {
    out_->functions.push_back(bytes_to_json(code));
  }

  void on_key(const rdb::KeyRecord& rec) override {
    if (!status_.is_ok()) return;
    if (rec.piece_index == 0) {
      cur_ = Key();
      cur_.key.assign(rec.key);
      cur_.type = rdb::type_family(rec.type);
      cur_.pexpiretime = rec.expire_ms;
      cur_db_ = rec.db;
    }
    rdb::DecodeResult res;
    Status st = decoder_.decode(rec.type, rec.piece, rec.value, this, &res);
    if (!st.is_ok()) {
      status_ = st.with_context("key " + printable(rec.key));
      return;
    }
    cur_.elements += res.elements;
    if (rec.last_piece) finish_key();
  }

  void on_string(std::string_view v) override { cur_.str.assign(v); }
  void on_string_bytes(std::string_view v) override { cur_.str.append(v); }
  void on_list_item(std::string_view v) override { cur_.items.emplace_back(v); }
  void on_set_member(std::string_view v) override { cur_.items.emplace_back(v); }
  void on_zset_member(std::string_view m, double s) override { cur_.zset.emplace_back(m, s); }
  void on_hash_field(std::string_view f, std::string_view v, int64_t expire) override {
    cur_.hash.emplace_back(f, v);
    if (expire >= 0) cur_.field_ttls.emplace_back(f, expire);
  }
  void on_stream_entry(
      const rdb::StreamId& id,
      const std::vector<std::pair<std::string_view, std::string_view>>& fields) override {
    json f = json::array();
    for (auto& [k, v] : fields)
      f.push_back(json::array({bytes_to_json(k), bytes_to_json(v)}));
    cur_.stream_entries.push_back(json::array({id.to_string(), f}));
  }
  void on_stream_meta(const rdb::StreamMeta& m) override {
    cur_.stream = json::object();
    cur_.stream["length"] = m.length;
    cur_.stream["last_id"] = m.last_id.to_string();
    if (m.has_extended) {
      cur_.stream["first_id"] = m.first_id.to_string();
      cur_.stream["max_deleted_entry_id"] = m.max_deleted_id.to_string();
      cur_.stream["entries_added"] = m.entries_added;
    }
    cur_.stream["groups"] = json::array();
  }
  void on_stream_group(const rdb::StreamGroup& g) override {
    json group;
    group["name"] = bytes_to_json(g.name);
    group["last_delivered_id"] = g.last_id.to_string();
    group["entries_read"] = g.entries_read < 0 ? json(nullptr) : json(g.entries_read);
    json pending = json::array();
    for (const auto& p : g.pending) {
      pending.push_back({{"id", p.id.to_string()},
                         {"consumer", bytes_to_json(p.consumer)},
                         {"delivery_time", p.delivery_time},
                         {"delivery_count", p.delivery_count}});
    }
    group["pending"] = pending;
    json consumers = json::array();
    for (const auto& c : g.consumers) {
      json cj;
      cj["name"] = bytes_to_json(c.name);
      cj["seen_time"] = c.seen_time;
      if (c.has_active_time) cj["active_time"] = c.active_time;
      json ids = json::array();
      for (const auto& id : c.pending)
        ids.push_back(id.to_string());
      cj["pending"] = ids;
      consumers.push_back(cj);
    }
    group["consumers"] = consumers;
    cur_.stream["groups"].push_back(group);
  }

 private:
  void finish_key() {
    if (cur_.elements == 0 && cur_.type != "stream" && cur_.type != "string" &&
        cur_.type != "module") {
      out_->empty_keys_skipped++;
      return;
    }
    json k;
    k["key"] = bytes_to_json(cur_.key);
    k["type"] = cur_.type;
    k["pexpiretime"] = cur_.pexpiretime;
    if (cur_.type == "string") {
      k["value"] = bytes_to_json(cur_.str);
    } else if (cur_.type == "list") {
      json a = json::array();
      for (auto& s : cur_.items)
        a.push_back(bytes_to_json(s));
      k["value"] = a;
    } else if (cur_.type == "set") {
      std::sort(cur_.items.begin(), cur_.items.end());
      json a = json::array();
      for (auto& s : cur_.items)
        a.push_back(bytes_to_json(s));
      k["value"] = a;
    } else if (cur_.type == "zset") {
      std::sort(cur_.zset.begin(), cur_.zset.end(), [](auto& a, auto& b) {
        return a.second < b.second || (a.second == b.second && a.first < b.first);
      });
      json a = json::array();
      for (auto& [m, s] : cur_.zset)
        a.push_back(json::array({bytes_to_json(m), format_score(s)}));
      k["value"] = a;
    } else if (cur_.type == "hash") {
      std::sort(cur_.hash.begin(), cur_.hash.end());
      std::sort(cur_.field_ttls.begin(), cur_.field_ttls.end());
      json a = json::array();
      for (auto& [f, v] : cur_.hash)
        a.push_back(json::array({bytes_to_json(f), bytes_to_json(v)}));
      k["value"] = a;
      json t = json::array();
      for (auto& [f, e] : cur_.field_ttls)
        t.push_back(json::array({bytes_to_json(f), e}));
      k["field_pexpiretime"] = t;
    } else if (cur_.type == "stream") {
      json s = cur_.stream;
      s["entries"] = cur_.stream_entries;
      k["value"] = s;
    }
    std::string db = std::to_string(cur_db_);
    if (!out_->dbs.contains(db)) out_->dbs[db] = json::array();
    out_->dbs[db].push_back(k);
  }

  ParsedRdb* out_;
  rdb::RdbDecoder decoder_;
  Status status_;
  Key cur_;
  uint64_t cur_db_ = 0;
};

bool key_less(const json& a, const json& b) {
  return json_to_bytes(a["key"]) < json_to_bytes(b["key"]);
}

}  // namespace

json bytes_to_json(std::string_view bytes) {
  bool printable =
      std::all_of(bytes.begin(), bytes.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  if (printable) return json(std::string(bytes));
  return json{{"b64", base64_encode(bytes)}};
}

std::string base64_decode(std::string_view in) {
  std::string out;
  uint32_t v = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::strchr(kB64, c);
    if (c == '=' || !p || !c) continue;
    v = (v << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((v >> bits) & 0xff));
    }
  }
  return out;
}

std::string json_to_bytes(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("b64")) return base64_decode(j["b64"].get<std::string>());
  return j.dump();
}

std::string format_score(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buf[64];
  snprintf(buf, sizeof(buf), "%.17g", score);
  return buf;
}

Status parse_rdb(std::string_view rdb, size_t chunk_size, const rdb::RdbReader::Options& options,
                 ParsedRdb* out) {
  Collector collector(out);
  rdb::RdbReader reader(options, &collector);
  for (size_t i = 0; i < rdb.size(); i += chunk_size) {
    FERRY_RETURN_IF_ERROR(reader.feed(rdb.substr(i, chunk_size)));
    FERRY_RETURN_IF_ERROR(collector.status());
  }
  FERRY_RETURN_IF_ERROR(reader.finish());
  FERRY_RETURN_IF_ERROR(collector.status());
  for (auto& [db, keys] : out->dbs.items())
    std::sort(keys.begin(), keys.end(), key_less);
  return Status::ok();
}

json comparable_key(const json& key) {
  json k;
  k["key"] = key["key"];
  k["type"] = key["type"];
  k["pexpiretime"] = key["pexpiretime"];
  json value = key["value"];
  if (key["type"] == "zset") {
    for (auto& pair : value) {
      std::string s = pair[1].get<std::string>();
      pair[1] = format_score(std::strtod(s.c_str(), nullptr));
    }
  }
  k["value"] = value;
  if (key["type"] == "hash") {
    json ttls = key.contains("field_pexpiretime") ? key["field_pexpiretime"] : json::array();
    std::vector<std::pair<std::string, json>> sorted;
    for (auto& t : ttls)
      sorted.emplace_back(json_to_bytes(t[0]), t);
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.first < b.first; });
    json out = json::array();
    for (auto& [f, t] : sorted)
      out.push_back(t);
    k["field_pexpiretime"] = out;
  }
  return k;
}

json comparable_dbs(const json& dbs) {
  json out = json::object();
  for (auto& [db, keys] : dbs.items()) {
    json list = json::array();
    for (auto& k : keys)
      list.push_back(comparable_key(k));
    std::sort(list.begin(), list.end(), key_less);
    if (!list.empty()) out[db] = list;
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string corpus_dir() {
  return FERRY_TESTDATA_DIR;
}

}  // namespace ferry::test
