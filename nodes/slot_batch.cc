#include "nodes/slot_batch.h"

#include "common/bytes.h"
#include "proto/checkpoint_format.h"
#include "proto/resp.h"

namespace ferry {
namespace {

// The argument count of the RESP array at `off` and the length of its "*<n>\r\n" header.
bool array_header(const std::string& wire, uint64_t off, uint64_t* argc, uint64_t* len) {
  size_t eol = wire.find("\r\n", off);
  int64_t n = 0;
  if (off >= wire.size() || wire[off] != '*' || eol == std::string::npos ||
      !parse_int(std::string_view(wire).substr(off + 1, eol - off - 1), &n) || n <= 0) {
    return false;
  }
  *argc = static_cast<uint64_t>(n);
  *len = eol + 2 - off;
  return true;
}

}  // namespace

void make_apply_script(const std::string& input, const std::vector<SlotSection>& slots,
                       const std::string& end, Batch* b) {
  const std::vector<ReplyExpect>& cmds = b->expects;
  std::vector<uint64_t> argcs(cmds.size()), headers(cmds.size());
  uint64_t n = 5 + 1 + b->probe_keys.size() + 1;
  for (const SlotSection& s : slots)
    n += 3 + s.keys.size();
  for (size_t i = 0; i < cmds.size(); i++) {
    // Built by the batch stage from whole commands: always a well-formed array.
    array_header(b->wire, cmds[i].cmd_offset, &argcs[i], &headers[i]);
    n += 1 + argcs[i];
  }
  std::string out;
  out.reserve(b->wire.size() + ckpt::kApplyScript.size() + 64 * (slots.size() + cmds.size()));
  resp::append_array_header(&out, n);
  resp::append_bulk(&out, "EVAL");
  resp::append_bulk(&out, ckpt::kApplyScript);
  resp::append_bulk(&out, "0");
  resp::append_bulk(&out, end);
  resp::append_bulk_int(&out, static_cast<int64_t>(slots.size()));
  for (const SlotSection& s : slots) {
    resp::append_bulk(&out, ckpt::slot_key(input, s.slot));
    resp::append_bulk(&out, s.expected);
    resp::append_bulk_int(&out, static_cast<int64_t>(s.keys.size()));
    for (const std::string& k : s.keys)
      resp::append_bulk(&out, k);
  }
  resp::append_bulk_int(&out, static_cast<int64_t>(b->probe_keys.size()));
  for (const std::string& k : b->probe_keys)
    resp::append_bulk(&out, k);
  resp::append_bulk_int(&out, static_cast<int64_t>(cmds.size()));
  std::vector<ReplyExpect> inner = std::move(b->expects);
  for (size_t i = 0; i < inner.size(); i++) {
    const uint64_t from = inner[i].cmd_offset + headers[i];
    const uint64_t to = i + 1 < inner.size() ? inner[i + 1].cmd_offset : b->wire.size();
    inner[i].cmd_offset = out.size();
    resp::append_bulk_int(&out, static_cast<int64_t>(argcs[i]));
    out.append(b->wire, from, to - from);
  }
  ReplyExpect call;
  call.script = true;
  call.exec_first = 0;
  call.exec_count = static_cast<uint32_t>(inner.size());
  b->inner = std::move(inner);
  b->expects.assign(1, call);
  b->wire = std::move(out);
}

}  // namespace ferry
