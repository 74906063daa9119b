// Keys ferry itself keeps in the target. They are never replicated onward: a chain
// source -> ferry -> target -> ferry -> other stays clean.
#pragma once

#include <string>
#include <string_view>

#include "proto/checkpoint_format.h"

namespace ferry {

// ferry-checkpoint:<input>: the applied position of an input (proto/checkpoint_format.h).
constexpr std::string_view kCheckpointPrefix = ckpt::kKeyPrefix;
// ferry-tmp:{...} and ferry-tmp-progress:{...}: a key being rebuilt with commands.
constexpr std::string_view kTempPrefix = "ferry-tmp:";
constexpr std::string_view kProgressPrefix = "ferry-tmp-progress:";

inline std::string checkpoint_key(std::string_view input, bool cluster = false) {
  return ckpt::key(input, cluster);
}
inline bool is_checkpoint_key(std::string_view key) {
  return ckpt::is_key(key);
}

}  // namespace ferry
