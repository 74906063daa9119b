// The commands a target knows — their arity and where their keys are (from its COMMAND
// reply) — to leave out what it would refuse at queue time (an unknown command, a wrong
// number of arguments), which inside a transaction would discard the whole batch, and to
// find every key a command names.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry {

class CommandTable {
 public:
  // Where a command's keys are, as COMMAND gives it: arguments first..last (last < 0:
  // counted from the end, -1 = the last argument), every step-th. first == 0: no keys (or
  // keys found only by parsing, as EVAL's numkeys).
  struct KeySpec {
    int first = 0;
    int last = 0;
    int step = 0;
  };
  enum class Refusal { kNone, kUnknownCommand, kWrongArity };

  // arity as Redis gives it: n = exactly n arguments (name included), -n = at least n.
  void add(std::string_view name, int arity, KeySpec keys);
  void add(std::string_view name, int arity) { add(name, arity, KeySpec{0, 0, 0}); }
  bool empty() const { return commands_.empty(); }
  size_t size() const { return commands_.size(); }
  // Why the target would refuse the command at queue time. Allocates nothing: it runs for
  // every command of the stream.
  Refusal refusal(std::string_view name, size_t argc) const;
  // The key positions of a command with `argc` arguments (name included).
  KeySpec keys(std::string_view name) const;

 private:
  struct Entry {
    int arity = 0;
    KeySpec keys;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  const Entry* find(std::string_view name) const;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> commands_;  // lower-case
};

const char* refusal_text(CommandTable::Refusal r);

}  // namespace ferry
