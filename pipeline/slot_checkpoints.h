// The per-slot checkpoints of an input in a cluster target (proto/checkpoint_format.h,
// slot_key): read them all, hand them to another input, delete them — one script call per
// master, over the slots it serves.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "net/endpoint.h"
#include "net/target_map.h"

namespace ferry {

// Each slot's checkpoint value ("" where there is none), by slot.
Status read_slot_checkpoints(const TargetMap& target, const Credentials& creds,
                             const std::string& input, std::vector<std::string>* out);
// `from`'s checkpoints become `to`'s (in a slot where `from` has none, `to`'s goes).
Status move_slot_checkpoints(const TargetMap& target, const Credentials& creds,
                             const std::string& from, const std::string& to);
Status delete_slot_checkpoints(const TargetMap& target, const Credentials& creds,
                               const std::string& input);

}  // namespace ferry
