// Micro benchmarks of the hot paths: RDB parsing with full value decoding, RESP command
// parsing, CRC64, CRC16 key slots, LZF, the stream stages (parse, filter, route, batch
// encoding) per command, and the flow graph's own cost per message. `ctest` runs each once
// on small inputs as a smoke check; for numbers run the binary directly, with
// FERRY_BENCH_RDB_MIXED / FERRY_BENCH_RDB_STRINGS naming big RDB files to parse
// (`ferry_e2e_bench --make-rdbs DIR` writes them; scripts/bench.sh does all of it).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <oneapi/tbb/flow_graph.h>

#include "nodes/batch_stage.h"
#include "nodes/filter_stage.h"
#include "nodes/parse_stage.h"
#include "nodes/route_stage.h"
#include "proto/checkpoint_format.h"
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

// Parses a whole RDB, fed in 64 KiB pieces as it arrives from a socket, decoding every value.
void BM_RdbParseAndDecode(benchmark::State& state, const std::string& path) {
  std::string rdb = read_file(path);
  if (rdb.empty()) {
    state.SkipWithError(("cannot read " + path).c_str());
    return;
  }
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

// The stream stages of one input, serially: parse (RESP splitting, packets), filter, route
// and batch (encoding each command into a MULTI ... HSET checkpoint ... EXEC batch).
void BM_StreamStages(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string stream = command_stream(n);
  ReplayConfig replay;
  for (auto _ : state) {
    InputCounters counters;
    RdbApplyStats rdb_stats;
    MemoryBudget budget(1ull << 40);
    OffsetTracker tracker;
    StageContext ctx;
    ctx.input = "127.0.0.1:6379";
    ctx.checkpoint_key = ckpt::key("127.0.0.1:6379");
    ctx.replay = &replay;
    ctx.transaction = true;
    ctx.checkpoint_in_target = true;
    ctx.counters = &counters;
    ctx.rdb_stats = &rdb_stats;
    ctx.budget = &budget;
    ctx.tracker = &tracker;
    ctx.fail = [](const Status&) { std::abort(); };
    ParseStage parse(&ctx);
    FilterStage filter(&ctx);
    RouteStage route(&ctx, 1);
    BatchStage batch(&ctx, 1);
    std::vector<PacketPtr> packets;
    std::vector<BatchPtr> batches;
    uint64_t bytes = 0;
    auto run = [&](const SourceChunk& chunk) {
      packets.clear();
      parse.process(chunk, &packets);
      for (const PacketPtr& p : packets) {
        filter.process(*p);
        route.process(*p);
        batches.clear();
        batch.process(p, &batches);
        for (const BatchPtr& b : batches) {
          bytes += b->wire.size();
          for (uint64_t seq : b->seqs)
            tracker.done(seq);
          batch.on_batch_done(0);
        }
      }
    };
    SourceChunk begin;
    begin.kind = SourceChunk::Kind::kStreamBegin;
    begin.replid = std::string(40, 'a');
    begin.db = 0;
    run(begin);
    for (size_t i = 0; i < stream.size(); i += 16384) {
      SourceChunk data;
      data.kind = SourceChunk::Kind::kStreamData;
      data.offset = i;
      data.data = stream.substr(i, 16384);
      run(data);
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_StreamStages)->Arg(20000)->Unit(benchmark::kMillisecond);

// The flow graph's own cost per message, with ferry's shape (serial source and parse, a
// parallel stage, a sequencer restoring order, serial stages after) and bodies that do
// nothing.
void BM_FlowGraphPerMessage(benchmark::State& state) {
  namespace flow = oneapi::tbb::flow;
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  struct Msg {
    uint64_t seq;
  };
  using Ptr = std::shared_ptr<Msg>;
  for (auto _ : state) {
    flow::graph g;
    uint64_t next = 0, sink = 0;
    flow::input_node<Ptr> source(g, [&](oneapi::tbb::flow_control& fc) -> Ptr {
      if (next == n) {
        fc.stop();
        return nullptr;
      }
      return std::make_shared<Msg>(Msg{next++});
    });
    flow::function_node<Ptr, Ptr, flow::rejecting> parse(g, flow::serial,
                                                         [](const Ptr& m) { return m; });
    flow::function_node<Ptr, Ptr> decode(g, flow::unlimited, [](const Ptr& m) { return m; });
    flow::sequencer_node<Ptr> order(g, [](const Ptr& m) { return m->seq; });
    flow::function_node<Ptr, Ptr> filter(g, flow::serial, [](const Ptr& m) { return m; });
    flow::function_node<Ptr, flow::continue_msg> batch(g, flow::serial, [&](const Ptr& m) {
      sink += m->seq;
      return flow::continue_msg();
    });
    flow::make_edge(source, parse);
    flow::make_edge(parse, decode);
    flow::make_edge(decode, order);
    flow::make_edge(order, filter);
    flow::make_edge(filter, batch);
    source.activate();
    g.wait_for_all();
    benchmark::DoNotOptimize(sink);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_FlowGraphPerMessage)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) {
  using ferry::BM_RdbParseAndDecode;
  benchmark::RegisterBenchmark("BM_RdbParseAndDecode/corpus_sample", BM_RdbParseAndDecode,
                               std::string(FERRY_BENCH_SAMPLE_RDB))
      ->Unit(benchmark::kMillisecond);
  for (const auto& [name, env] : {std::pair{"mixed", "FERRY_BENCH_RDB_MIXED"},
                                  std::pair{"strings", "FERRY_BENCH_RDB_STRINGS"}}) {
    if (const char* path = std::getenv(env)) {
      benchmark::RegisterBenchmark((std::string("BM_RdbParseAndDecode/") + name).c_str(),
                                   BM_RdbParseAndDecode, std::string(path))
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
