#include "pipeline/slot_checkpoints.h"

#include <functional>

#include "net/redis_client.h"
#include "proto/checkpoint_format.h"

namespace ferry {
namespace {

// Without a shebang a script may touch undeclared keys of any slot its node serves.
constexpr char kReadScript[] =
    "local r = {} for i = 1, #ARGV do r[i] = redis.call('GET', ARGV[i]) or '' end return r";
constexpr char kMoveScript[] =
    "for i = 1, #ARGV, 2 do "
    "  if redis.call('EXISTS', ARGV[i]) == 1 then redis.call('RENAME', ARGV[i], ARGV[i + 1]) "
    "  else redis.call('DEL', ARGV[i + 1]) end "
    "end return 1";
constexpr char kDeleteScript[] = "for i = 1, #ARGV do redis.call('DEL', ARGV[i]) end return 1";

// Calls `script` on every master with the arguments `args(slot)` gives for each slot it
// serves; `reply(slots, r)` sees each answer.
Status per_master(const TargetMap& target, const Credentials& creds, const char* script,
                  const std::function<void(int, std::vector<std::string>*)>& args,
                  const std::function<void(const std::vector<int>&, const Reply&)>& reply) {
  for (size_t n = 0; n < target.nodes.size(); n++) {
    std::vector<int> slots;
    std::vector<std::string> argv = {"EVAL", script, "0"};
    for (int s = 0; s < kClusterSlots; s++) {
      if (target.node_of_slot(s) != n) continue;
      slots.push_back(s);
      args(s, &argv);
    }
    if (slots.empty()) continue;
    RedisClient c;
    Reply r;
    Status st = c.connect(target.nodes[n], creds, std::chrono::seconds(5));
    if (st.is_ok()) st = c.checked(argv, &r);
    if (!st.is_ok()) {
      return st.with_context("the slot checkpoints on " + target.nodes[n].to_string());
    }
    if (reply) reply(slots, r);
  }
  return Status::ok();
}

}  // namespace

Status read_slot_checkpoints(const TargetMap& target, const Credentials& creds,
                             const std::string& input, std::vector<std::string>* out) {
  out->assign(kClusterSlots, "");
  return per_master(
      target, creds, kReadScript,
      [&](int s, std::vector<std::string>* argv) { argv->push_back(ckpt::slot_key(input, s)); },
      [&](const std::vector<int>& slots, const Reply& r) {
        for (size_t i = 0; i < slots.size() && i < r.elements.size(); i++)
          (*out)[static_cast<size_t>(slots[i])] = r.elements[i].str;
      });
}

Status move_slot_checkpoints(const TargetMap& target, const Credentials& creds,
                             const std::string& from, const std::string& to) {
  return per_master(
      target, creds, kMoveScript,
      [&](int s, std::vector<std::string>* argv) {
        argv->push_back(ckpt::slot_key(from, s));
        argv->push_back(ckpt::slot_key(to, s));
      },
      nullptr);
}

Status delete_slot_checkpoints(const TargetMap& target, const Credentials& creds,
                               const std::string& input) {
  return per_master(
      target, creds, kDeleteScript,
      [&](int s, std::vector<std::string>* argv) { argv->push_back(ckpt::slot_key(input, s)); },
      nullptr);
}

}  // namespace ferry
