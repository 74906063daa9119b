// Keys ferry itself keeps in the target. They are never replicated onward: a chain
// source -> ferry -> target -> ferry -> other stays clean.
#pragma once

#include <string>
#include <string_view>

namespace ferry {

// ferry-checkpoint:<input>: the applied position of an input (a hash, in DB 0).
constexpr std::string_view kCheckpointPrefix = "ferry-checkpoint:";
// ferry-tmp:{...} and ferry-tmp-progress:{...}: a key being rebuilt with commands.
constexpr std::string_view kTempPrefix = "ferry-tmp:";
constexpr std::string_view kProgressPrefix = "ferry-tmp-progress:";

inline std::string checkpoint_key(std::string_view input) {
  return std::string(kCheckpointPrefix) + std::string(input);
}
inline bool is_checkpoint_key(std::string_view key) {
  return key.substr(0, kCheckpointPrefix.size()) == kCheckpointPrefix;
}

}  // namespace ferry
