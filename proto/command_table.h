// The commands a target knows and their arity (from its COMMAND reply), to leave out what
// it would refuse at queue time — an unknown command or a wrong number of arguments — which
// inside a transaction would discard the whole batch.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry {

class CommandTable {
 public:
  // arity as Redis gives it: n = exactly n arguments (name included), -n = at least n.
  void add(std::string_view name, int arity);
  bool empty() const { return arity_.empty(); }
  size_t size() const { return arity_.size(); }
  // Why the target would refuse the command at queue time, or nullptr. Allocates nothing:
  // it runs for every command of the stream.
  const char* refusal(std::string_view name, size_t argc) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, int, Hash, std::equal_to<>> arity_;  // lower-case names
};

}  // namespace ferry
