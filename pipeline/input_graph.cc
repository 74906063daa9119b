#include "pipeline/input_graph.h"

#include <oneapi/tbb/flow_graph.h>

#include <atomic>

#include "nodes/batch_stage.h"
#include "nodes/decode_stage.h"
#include "nodes/filter_stage.h"
#include "nodes/parse_stage.h"
#include "nodes/route_stage.h"

namespace ferry {

namespace flow = oneapi::tbb::flow;

struct InputGraph::Impl {
  using ParseNode =
      flow::multifunction_node<SourceChunkPtr, std::tuple<PacketPtr>, flow::rejecting>;
  using BatchNode = flow::multifunction_node<PacketPtr, std::tuple<BatchPtr>>;

  Impl(StageContext* context, SourceStage* source_in, std::vector<TargetWriter*> writer_list,
       BatchDone done)
      : ctx(context),
        source_stage(source_in),
        writers(std::move(writer_list)),
        on_done(std::move(done)),
        parse_stage(context),
        decode_stage(context),
        filter_stage(context),
        route_stage(context, writers.size()),
        batch_stage(context, writers.size()),
        source(g,
               [this](oneapi::tbb::flow_control& fc) -> SourceChunkPtr {
                 SourceChunkPtr c = source_stage->next();
                 if (!c) fc.stop();
                 return c;
               }),
        parse(g, flow::serial,
              [this](const SourceChunkPtr& chunk, ParseNode::output_ports_type& ports) {
                std::vector<PacketPtr> out;
                parse_stage.process(*chunk, &out);
                for (auto& p : out)
                  std::get<0>(ports).try_put(p);
              }),
        decode(g, std::max(1, context->replay->replay_rdb_parallel),
               [this](const PacketPtr& p) {
                 decode_stage.process(*p);
                 return p;
               }),
        sequence(g, [](const PacketPtr& p) { return static_cast<size_t>(p->seq); }),
        filter(g, flow::serial,
               [this](const PacketPtr& p) {
                 filter_stage.process(*p);
                 return p;
               }),
        route(g, flow::serial,
              [this](const PacketPtr& p) {
                route_stage.process(*p);
                return p;
              }),
        batch(g, flow::serial,
              [this](const PacketPtr& p, BatchNode::output_ports_type& ports) {
                std::vector<BatchPtr> out;
                batch_stage.process(p, &out);
                for (auto& b : out)
                  std::get<0>(ports).try_put(b);
              }),
        pending(g),
        limit(g, max_batches(*context->replay)),
        write(g, flow::serial, [this](const BatchPtr& b) {
          in_flight++;
          g.reserve_wait();  // released when the writer reports back
          writers[b->node]->submit(b);
          return flow::continue_msg();
        }) {
    flow::make_edge(source, parse);
    flow::make_edge(flow::output_port<0>(parse), decode);
    flow::make_edge(decode, sequence);
    flow::make_edge(sequence, filter);
    flow::make_edge(filter, route);
    flow::make_edge(route, batch);
    flow::make_edge(flow::output_port<0>(batch), pending);
    flow::make_edge(pending, limit);
    flow::make_edge(limit, write);
    source.activate();
  }

  // How many batches may be on their way to the target at once.
  static size_t max_batches(const ReplayConfig& r) {
    size_t n = r.max_inflight_bytes / std::max<uint64_t>(1, r.batch_buffer_size) / 2;
    return std::clamp<size_t>(n, 2, 1024);
  }

  StageContext* ctx;
  SourceStage* source_stage;
  std::vector<TargetWriter*> writers;
  BatchDone on_done;
  ParseStage parse_stage;
  DecodeStage decode_stage;
  FilterStage filter_stage;
  RouteStage route_stage;
  BatchStage batch_stage;
  std::atomic<size_t> in_flight{0};

  flow::graph g;
  flow::input_node<SourceChunkPtr> source;
  ParseNode parse;
  flow::function_node<PacketPtr, PacketPtr> decode;
  flow::sequencer_node<PacketPtr> sequence;
  flow::function_node<PacketPtr, PacketPtr> filter;
  flow::function_node<PacketPtr, PacketPtr> route;
  BatchNode batch;
  flow::queue_node<BatchPtr> pending;
  flow::limiter_node<BatchPtr> limit;
  flow::function_node<BatchPtr, flow::continue_msg, flow::lightweight> write;
};

InputGraph::InputGraph(StageContext* ctx, SourceStage* source, std::vector<TargetWriter*> writers,
                       BatchDone on_done)
    : impl_(std::make_unique<Impl>(ctx, source, std::move(writers), std::move(on_done))) {}

InputGraph::~InputGraph() {
  impl_->g.wait_for_all();
}

void InputGraph::activate() {
  impl_->source.activate();
}

void InputGraph::tick() {
  if (impl_->batch_stage.any_open()) impl_->batch.try_put(make_tick());
}

void InputGraph::batch_done(const WriteBatchPtr& wb, const WriteResult& result) {
  const Batch& b = static_cast<const Batch&>(*wb);
  impl_->on_done(b, result);
  bool flush_waiting = impl_->batch_stage.on_batch_done(b.node);
  impl_->in_flight--;
  impl_->limit.decrementer().try_put(flow::continue_msg());
  if (flush_waiting) impl_->batch.try_put(make_tick());
  impl_->g.release_wait();
}

size_t InputGraph::batches_in_flight() const {
  return impl_->in_flight.load();
}

void InputGraph::wait() {
  impl_->g.wait_for_all();
}

}  // namespace ferry
