#include "nodes/skip_record.h"

#include <cctype>

#include "common/bytes.h"
#include "common/clock.h"

namespace ferry {

SkipRecord skip_record_of(const Packet& packet, size_t index, const std::string& why,
                          SkipReason reason) {
  const CommandList& cmds = packet.cmds;
  const CommandList::Cmd& c = cmds.cmd(index);
  SkipRecord r;
  r.time_ms = wall_ms();
  r.phase = packet.end.phase == SourcePosition::Phase::kRdb ? "rdb" : "stream";
  r.offset = cmds.unit_end_of(index, packet.end.offset);
  r.db = c.db;
  std::string name(cmds.arg(c, 0));
  for (char& ch : name)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  r.command = name;
  if (c.argc > 1) r.key = printable(cmds.arg(c, 1));
  for (uint32_t a = 1; a < c.argc && a <= 16; a++)
    r.args.push_back(printable(cmds.arg(c, a), 256));
  r.answer = why;
  r.reason = skip_reason_name(reason);
  r.at_queue_time = true;
  return r;
}

}  // namespace ferry
