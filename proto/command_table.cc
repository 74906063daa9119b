#include "proto/command_table.h"

#include "proto/command_keys.h"

#include <cctype>

namespace ferry {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const char* refusal_text(CommandTable::Refusal r) {
  switch (r) {
    case CommandTable::Refusal::kUnknownCommand:
      return "unknown command on the target";
    case CommandTable::Refusal::kWrongArity:
      return "wrong number of arguments for the target";
    case CommandTable::Refusal::kNone:
      break;
  }
  return "";
}

void CommandTable::add(std::string_view name, int arity, KeySpec keys) {
  commands_[lower(name)] = Entry{arity, keys};
}

const CommandTable::Entry* CommandTable::find(std::string_view name) const {
  char buf[64] = {};
  if (name.size() > sizeof(buf)) return nullptr;
  for (size_t i = 0; i < name.size(); i++)
    buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  auto it = commands_.find(std::string_view(buf, name.size()));
  return it == commands_.end() ? nullptr : &it->second;
}

CommandTable::Refusal CommandTable::refusal(std::string_view name, size_t argc) const {
  if (commands_.empty()) return Refusal::kNone;
  const Entry* e = find(name);
  if (!e) return Refusal::kUnknownCommand;
  int arity = e->arity;
  bool ok = arity >= 0 ? argc == static_cast<size_t>(arity) : argc >= static_cast<size_t>(-arity);
  return ok ? Refusal::kNone : Refusal::kWrongArity;
}

CommandTable::KeySpec CommandTable::keys(std::string_view name) const {
  const Entry* e = find(name);
  return e ? e->keys : KeySpec();
}

MovableKeys movable_keys_of(std::string_view name) {
  using K = MovableKeys::Kind;
  struct Entry {
    const char* name;
    MovableKeys keys;
  };
  // Redis 7's movablekeys commands that write or may reach a replication stream.
  static const Entry kEntries[] = {
      {"eval", {K::kCount, 2}},
      {"evalsha", {K::kCount, 2}},
      {"eval_ro", {K::kCount, 2}},
      {"evalsha_ro", {K::kCount, 2}},
      {"fcall", {K::kCount, 2}},
      {"fcall_ro", {K::kCount, 2}},
      {"zunionstore", {K::kCount, 2}},
      {"zinterstore", {K::kCount, 2}},
      {"zdiffstore", {K::kCount, 2}},
      {"zunion", {K::kCount, 1}},
      {"zinter", {K::kCount, 1}},
      {"zdiff", {K::kCount, 1}},
      {"sintercard", {K::kCount, 1}},
      {"zintercard", {K::kCount, 1}},
      {"lmpop", {K::kCount, 1}},
      {"zmpop", {K::kCount, 1}},
      {"blmpop", {K::kCount, 2}},
      {"bzmpop", {K::kCount, 2}},
      {"georadius", {K::kStoreKeyword, 6}},
      {"georadiusbymember", {K::kStoreKeyword, 5}},
      {"sort", {K::kSort, 0}},
  };
  for (const Entry& e : kEntries) {
    if (iequals(name, e.name)) return e.keys;
  }
  return MovableKeys();
}

}  // namespace ferry
