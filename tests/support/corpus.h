// Canonical JSON of Redis data, in the shape of the RDB test corpus files
// (tests/data/rdb/*.json, see its README): what a test compares after parsing an RDB or after
// dumping a live server. Binary-safe strings are JSON strings when printable ASCII, else
// {"b64": ...}; sets sorted by bytes, hashes as [field, value] pairs sorted by field,
// zsets as [member, score] pairs sorted by score then member; stream objects as in the corpus.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "proto/rdb_reader.h"

namespace ferry::test {

using json = nlohmann::json;

json bytes_to_json(std::string_view bytes);
std::string json_to_bytes(const json& j);
std::string base64_decode(std::string_view in);
std::string format_score(double score);

struct ParsedRdb {
  json dbs = json::object();       // "0" -> [key objects sorted by key bytes]
  json functions = json::array();  // library codes (as json strings)
  uint64_t empty_keys_skipped = 0;
  int version = 0;
};

// Parses a whole RDB through RdbReader + RdbDecoder, feeding it in pieces of chunk_size
// bytes; options control when values are split into pieces.
Status parse_rdb(std::string_view rdb, size_t chunk_size, const rdb::RdbReader::Options& options,
                 ParsedRdb* out);

// Reduces a corpus key object to the fields a sync must preserve (key, type, pexpiretime,
// value, field_pexpiretime), with scores in one canonical form.
json comparable_key(const json& key);
// comparable_key over every key of a corpus "dbs" object.
json comparable_dbs(const json& dbs);

std::string read_file(const std::string& path);
// Directory of the RDB corpus (tests/data/rdb).
std::string corpus_dir();

}  // namespace ferry::test
