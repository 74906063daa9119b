#include "proto/command_list.h"

#include "common/bytes.h"

namespace ferry {

void CommandList::add(std::initializer_list<std::string_view> argv, int db, uint16_t flags,
                      ReplyCheck check) {
  Cmd c;
  c.off = wire_.size();
  c.arg0 = static_cast<uint32_t>(args_.size());
  c.argc = static_cast<uint32_t>(argv.size());
  c.db = db;
  c.flags = flags;
  c.check = check;
  resp::append_array_header(&wire_, argv.size());
  for (std::string_view a : argv) {
    resp::append_bulk(&wire_, a);
    args_.push_back(resp::ArgSpan{wire_.size() - 2 - a.size(), a.size()});
  }
  c.len = wire_.size() - c.off;
  cmds_.push_back(c);
}

void CommandList::add_raw(std::string_view bytes, const std::vector<resp::ArgSpan>& rel_args,
                          int db, uint16_t flags) {
  Cmd c;
  c.off = wire_.size();
  c.len = bytes.size();
  c.arg0 = static_cast<uint32_t>(args_.size());
  c.argc = static_cast<uint32_t>(rel_args.size());
  c.db = db;
  c.flags = flags;
  wire_.append(bytes.data(), bytes.size());
  for (const auto& a : rel_args)
    args_.push_back(resp::ArgSpan{c.off + a.off, a.len});
  cmds_.push_back(c);
}

void CommandList::begin(uint32_t argc) {
  scratch_.clear();
  scratch_args_.clear();
  pending_argc_ = 0;
  declared_argc_ = argc;
  if (argc != kUnknownArgc) {
    direct_off_ = wire_.size();
    direct_arg0_ = static_cast<uint32_t>(args_.size());
    resp::append_array_header(&wire_, argc);
  }
}

void CommandList::arg(std::string_view a) {
  std::string& buf = declared_argc_ != kUnknownArgc ? wire_ : scratch_;
  resp::append_bulk(&buf, a);
  resp::ArgSpan span{buf.size() - 2 - a.size(), a.size()};
  if (declared_argc_ != kUnknownArgc) {
    args_.push_back(span);
  } else {
    scratch_args_.push_back(span);
  }
  pending_argc_++;
}

void CommandList::arg_parts(std::initializer_list<std::string_view> parts) {
  std::string& buf = declared_argc_ != kUnknownArgc ? wire_ : scratch_;
  size_t total = 0;
  for (std::string_view p : parts)
    total += p.size();
  char hdr[32];
  hdr[0] = '$';
  size_t n = 1 + format_uint(total, hdr + 1);
  hdr[n++] = '\r';
  hdr[n++] = '\n';
  buf.append(hdr, n);
  resp::ArgSpan span{buf.size(), total};
  for (std::string_view p : parts)
    buf.append(p.data(), p.size());
  buf.append("\r\n", 2);
  if (declared_argc_ != kUnknownArgc) {
    args_.push_back(span);
  } else {
    scratch_args_.push_back(span);
  }
  pending_argc_++;
}

void CommandList::arg_int(int64_t v) {
  char buf[24];
  arg(std::string_view(buf, format_int(v, buf)));
}

void CommandList::end(int db, uint16_t flags, ReplyCheck check) {
  Cmd c;
  c.argc = pending_argc_;
  c.db = db;
  c.flags = flags;
  c.check = check;
  if (declared_argc_ != kUnknownArgc) {
    c.off = direct_off_;
    c.arg0 = direct_arg0_;
  } else {
    c.off = wire_.size();
    c.arg0 = static_cast<uint32_t>(args_.size());
    resp::append_array_header(&wire_, pending_argc_);
    uint64_t base = wire_.size();
    wire_.append(scratch_);
    for (const auto& a : scratch_args_)
      args_.push_back(resp::ArgSpan{base + a.off, a.len});
  }
  c.len = wire_.size() - c.off;
  cmds_.push_back(c);
  scratch_.clear();
  scratch_args_.clear();
  pending_argc_ = 0;
  declared_argc_ = kUnknownArgc;
}

void CommandList::end_unit(uint64_t src_end) {
  if (cmds_.empty()) return;
  cmds_.back().flags |= kUnitEnd;
  cmds_.back().src_end = src_end;
}

void CommandList::truncate(size_t n) {
  if (n >= cmds_.size()) return;
  wire_.resize(cmds_[n].off);
  args_.resize(cmds_[n].arg0);
  cmds_.resize(n);
}

void CommandList::shrink_to_fit() {
  wire_.shrink_to_fit();
  cmds_.shrink_to_fit();
  args_.shrink_to_fit();
  std::string().swap(scratch_);
  std::vector<resp::ArgSpan>().swap(scratch_args_);
}

void CommandList::clear() {
  wire_.clear();
  cmds_.clear();
  args_.clear();
  begin();
}

}  // namespace ferry
