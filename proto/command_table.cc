#include "proto/command_table.h"

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

void CommandTable::add(std::string_view name, int arity) {
  arity_[lower(name)] = arity;
}

const char* CommandTable::refusal(std::string_view name, size_t argc) const {
  if (arity_.empty()) return nullptr;
  char buf[64];
  if (name.size() > sizeof(buf)) return "unknown command on the target";
  for (size_t i = 0; i < name.size(); i++)
    buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  auto it = arity_.find(std::string_view(buf, name.size()));
  if (it == arity_.end()) return "unknown command on the target";
  int arity = it->second;
  bool ok = arity >= 0 ? argc == static_cast<size_t>(arity) : argc >= static_cast<size_t>(-arity);
  return ok ? nullptr : "wrong number of arguments for the target";
}

}  // namespace ferry
