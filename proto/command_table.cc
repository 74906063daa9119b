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

std::string CommandTable::refusal(std::string_view name, size_t argc) const {
  if (arity_.empty()) return "";
  auto it = arity_.find(lower(name));
  if (it == arity_.end()) return "unknown command on the target";
  int arity = it->second;
  bool ok = arity >= 0 ? argc == static_cast<size_t>(arity) : argc >= static_cast<size_t>(-arity);
  return ok ? "" : "wrong number of arguments for the target";
}

}  // namespace ferry
