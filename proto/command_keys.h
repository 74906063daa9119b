// Every key a command names, as Redis itself finds them: the positions the target's COMMAND
// table gives (first, last, step), plus, for the commands Redis flags "movablekeys", the keys
// that a count (EVAL's numkeys, ZUNIONSTORE's) or a keyword (SORT ... STORE) names. The one
// place that answers "which arguments are keys": ferry's own keys in any position, the slot a
// command goes to on a cluster. Checked against the target's COMMAND GETKEYS in the tests.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/bytes.h"
#include "proto/command_table.h"

namespace ferry {

// Where a "movablekeys" command's other keys are, as Redis's own *GetKeys functions find
// them: after a count (its keys right after it), after the first STORE and the first
// STOREDIST (GEORADIUS's options), or after SORT's last STORE (skipping the arguments of
// LIMIT, GET and BY).
struct MovableKeys {
  enum class Kind : uint8_t { kNone, kCount, kStoreKeyword, kSort };
  Kind kind = Kind::kNone;
  int at = 0;  // kCount: the count's argument; kStoreKeyword: the first option
};
MovableKeys movable_keys_of(std::string_view name);

// The argument SORT stores into (0: none), as Redis's sortGetKeys finds it.
template <typename Arg>
int sort_store_key(int argc, Arg&& arg) {
  int store = 0;
  for (int i = 2; i < argc; i++) {
    std::string_view a = arg(i);
    if (iequals(a, "limit")) {
      i += 2;
    } else if (iequals(a, "get") || iequals(a, "by")) {
      i += 1;
    } else if (iequals(a, "store") && i + 1 < argc) {
      store = ++i;
    }
  }
  return store;
}

// Calls f(index) for each argument of the command (name at 0, argc arguments, arg(i) gives
// the i-th) that is a key, each once.
template <typename Arg, typename F>
void for_each_key(const CommandTable& table, std::string_view name, size_t argc, Arg&& arg, F&& f) {
  const int n = static_cast<int>(argc);
  CommandTable::KeySpec k = table.keys(name);
  int fixed_first = 0, fixed_last = -1;
  if (k.first > 0 && k.step > 0) {
    fixed_first = k.first;
    fixed_last = k.last < 0 ? n + k.last : k.last;
    for (int i = k.first; i <= fixed_last && i < n; i += k.step)
      f(i);
  }
  auto emit = [&](int i) {
    bool fixed = i >= fixed_first && i <= fixed_last && (i - fixed_first) % k.step == 0;
    if (!fixed && i > 0 && i < n) f(i);
  };
  MovableKeys m = movable_keys_of(name);
  switch (m.kind) {
    case MovableKeys::Kind::kNone:
      break;
    case MovableKeys::Kind::kCount: {
      int64_t count = 0;
      if (m.at >= n || !parse_int(arg(m.at), &count) || count <= 0) break;
      for (int64_t i = m.at + 1; i <= m.at + count && i < n; i++)
        emit(static_cast<int>(i));
      break;
    }
    case MovableKeys::Kind::kStoreKeyword: {
      // As Redis 7's key specs: the first STORE and the first STOREDIST, each a key.
      int store = 0, storedist = 0;
      for (int i = m.at; i + 1 < n; i++) {
        std::string_view a = arg(i);
        if (!store && iequals(a, "store")) store = i + 1;
        if (!storedist && iequals(a, "storedist")) storedist = i + 1;
      }
      if (store) emit(store);
      if (storedist) emit(storedist);
      break;
    }
    case MovableKeys::Kind::kSort:
      if (int store = sort_store_key(n, arg)) emit(store);
      break;
  }
}

}  // namespace ferry
