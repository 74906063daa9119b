#include "nodes/decode_stage.h"

namespace ferry {

DecodeStage::DecodeStage(StageContext* ctx)
    : ctx_(ctx), applier_(*ctx->replay, ctx->caps, ctx->rdb_stats, ctx->input) {}

void DecodeStage::process(Packet& packet) const {
  if (packet.rdb_items.empty()) return;
  uint64_t before = packet.charged;
  std::string_view bytes(packet.rdb_bytes);
  // Commands take about the record's bytes plus a RESP frame each: reserving that avoids
  // both the copies and the slack of growth by doubling.
  const size_t items = packet.rdb_items.size();
  packet.cmds.reserve(bytes.size() + items * 64, items, items * 5);
  for (const RdbItem& item : packet.rdb_items) {
    Status st = applier_.apply(item, bytes.substr(item.key_off, item.key_len),
                               bytes.substr(item.value_off, item.value_len),
                               packet.rdb_load_time_ms, &packet.cmds);
    if (!st.is_ok()) {
      // The batch stage stops the input at this packet, in order: nothing of it or after
      // it is applied.
      packet.error = st;
      packet.cmds.clear();
      break;
    }
  }
  packet.rdb_items.clear();
  std::string().swap(packet.rdb_bytes);
  packet.charged = memory_of(packet);
  ctx_->budget->adjust(before, packet.charged);
}

}  // namespace ferry
