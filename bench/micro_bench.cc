// Micro benchmarks of the hot pure functions: RDB parsing with full value decoding, RESP
// command parsing, CRC64, CRC16 key slots, LZF. `ctest` runs each once on small inputs as a
// smoke check; run the binary directly for numbers (FERRY_BENCH_RDB=<file> parses that RDB
// instead of the corpus sample).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "proto/crc16.h"
#include "proto/crc64.h"
#include "proto/lzf.h"
#include "proto/rdb_decoder.h"
#include "proto/rdb_reader.h"
#include "proto/resp.h"

namespace ferry {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string rdb_input() {
  const char* path = std::getenv("FERRY_BENCH_RDB");
  return read_file(path ? path : FERRY_BENCH_SAMPLE_RDB);
}

// Decodes every value into the elements the apply stage would consume, and counts them.
class CountingSink : public rdb::RdbSink, public rdb::ValueVisitor {
 public:
  void on_key(const rdb::KeyRecord& rec) override {
    rdb::DecodeResult res;
    if (!decoder_.decode(rec.type, rec.piece, rec.value, this, &res).is_ok()) std::abort();
    elements += res.elements;
  }
  void on_string(std::string_view v) override { bytes += v.size(); }
  void on_string_bytes(std::string_view v) override { bytes += v.size(); }
  void on_list_item(std::string_view v) override { bytes += v.size(); }
  void on_set_member(std::string_view v) override { bytes += v.size(); }
  void on_zset_member(std::string_view m, double s) override { bytes += m.size() + (s > 0); }
  void on_hash_field(std::string_view f, std::string_view v, int64_t) override {
    bytes += f.size() + v.size();
  }
  uint64_t elements = 0;
  uint64_t bytes = 0;

 private:
  rdb::RdbDecoder decoder_;
};

void BM_RdbParseAndDecode(benchmark::State& state) {
  std::string rdb = rdb_input();
  const size_t chunk = 64 * 1024;
  for (auto _ : state) {
    CountingSink sink;
    rdb::RdbReader reader(rdb::RdbReader::Options(), &sink);
    for (size_t i = 0; i < rdb.size(); i += chunk) {
      if (!reader.feed(std::string_view(rdb).substr(i, chunk)).is_ok()) std::abort();
    }
    if (!reader.finish().is_ok()) std::abort();
    benchmark::DoNotOptimize(sink.elements);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rdb.size()));
}
BENCHMARK(BM_RdbParseAndDecode)->Unit(benchmark::kMillisecond);

std::string command_stream(int n) {
  std::string out;
  std::mt19937 rng(1);
  for (int i = 0; i < n; i++) {
    std::string key = "key:" + std::to_string(rng() % 100000);
    switch (i % 4) {
      case 0:
        resp::append_command(&out, {"SET", key, std::string(32, 'v')});
        break;
      case 1:
        resp::append_command(&out, {"HSET", key, "field", "value"});
        break;
      case 2:
        resp::append_command(&out, {"LPUSH", key, "a", "b", "c"});
        break;
      default:
        resp::append_command(&out, {"ZADD", key, "1.5", "member"});
    }
  }
  return out;
}

void BM_RespCommandStream(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::string stream = command_stream(n);
  for (auto _ : state) {
    resp::CommandStreamParser parser;
    uint64_t commands = 0;
    for (size_t i = 0; i < stream.size(); i += 16384) {
      Status st = parser.feed(std::string_view(stream).substr(i, 16384),
                              [&](const resp::CommandStreamParser::Command&) { commands++; });
      if (!st.is_ok()) std::abort();
    }
    benchmark::DoNotOptimize(commands);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_RespCommandStream)->Arg(10000);

void BM_Crc64(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state)
    benchmark::DoNotOptimize(crc64(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Crc64)->Arg(1 << 20);

void BM_KeySlot(benchmark::State& state) {
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; i++)
    keys.push_back("user:{" + std::to_string(i) + "}:profile");
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(key_slot(keys[i++ & 1023]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeySlot);

void BM_LzfDecompress(benchmark::State& state) {
  std::string data;
  for (int i = 0; data.size() < (1 << 20); i++)
    data += "field" + std::to_string(i % 97) + ";";
  std::string packed;
  if (!lzf_compress(data, &packed)) std::abort();
  std::string out(data.size(), '\0');
  for (auto _ : state) {
    if (!lzf_decompress(packed, out.data(), out.size()).is_ok()) std::abort();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_LzfDecompress);

}  // namespace
}  // namespace ferry

BENCHMARK_MAIN();
