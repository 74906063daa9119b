#include "tests/support/fault_store.h"

namespace ferry::test {

void FaultStore::apply(const Batch& batch, std::map<std::string, std::string>* to) {
  for (const Batch::Op& op : batch.ops()) {
    switch (op.kind) {
      case Batch::Op::Kind::kPut:
        (*to)[op.a] = op.b;
        break;
      case Batch::Op::Kind::kDelete:
        to->erase(op.a);
        break;
      case Batch::Op::Kind::kDeleteRange:
        to->erase(to->lower_bound(op.a), to->lower_bound(op.b));
        break;
    }
  }
}

Status FaultStore::write(const Batch& batch, bool sync) {
  if (full_) return Status::no_space("test store: no space left on device");
  std::lock_guard<std::mutex> lock(mu_);
  apply(batch, &live_);
  unsynced_.push_back(batch);
  if (sync) {
    for (const Batch& b : unsynced_)
      apply(b, &durable_);
    unsynced_.clear();
  }
  return Status::ok();
}

Status FaultStore::get(std::string_view key, std::string* value, bool* found) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(std::string(key));
  *found = it != live_.end();
  if (*found) *value = it->second;
  return Status::ok();
}

Status FaultStore::floor(std::string_view key, std::string_view prefix, std::string* found_key,
                         std::string* value, bool* found) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.upper_bound(std::string(key));
  *found = false;
  if (it == live_.begin()) return Status::ok();
  --it;
  if (it->first.compare(0, prefix.size(), prefix) != 0) return Status::ok();
  *found = true;
  *found_key = it->first;
  *value = it->second;
  return Status::ok();
}

Status FaultStore::scan(std::string_view prefix,
                        const std::function<bool(std::string_view, std::string_view)>& fn) {
  std::vector<std::pair<std::string, std::string>> hits;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = live_.lower_bound(std::string(prefix));
         it != live_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      hits.emplace_back(*it);
    }
  }
  for (const auto& [k, v] : hits) {
    if (!fn(k, v)) break;
  }
  return Status::ok();
}

Status FaultStore::sync_wal() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Batch& b : unsynced_)
    apply(b, &durable_);
  unsynced_.clear();
  return Status::ok();
}

uint64_t FaultStore::approximate_size(std::string_view begin, std::string_view end) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  for (auto it = live_.lower_bound(std::string(begin));
       it != live_.end() && it->first < std::string(end); ++it) {
    n += it->first.size() + it->second.size();
  }
  return n;
}

size_t FaultStore::unsynced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unsynced_.size();
}

void FaultStore::crash(size_t keep) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < keep && i < unsynced_.size(); i++)
    apply(unsynced_[i], &durable_);
  unsynced_.clear();
  live_ = durable_;
}

}  // namespace ferry::test
