#include "proto/intset.h"

#include <string>

#include "common/bytes.h"

namespace ferry {

Status IntsetReader::open(std::string_view blob) {
  if (blob.size() < 8) {
    return Status::corruption("intset of " + std::to_string(blob.size()) +
                              " bytes is shorter than its header");
  }
  width_ = load_le32(blob.data());
  count_ = load_le32(blob.data() + 4);
  if (width_ != 2 && width_ != 4 && width_ != 8) {
    return Status::corruption("intset has invalid element width " + std::to_string(width_));
  }
  if (8 + static_cast<uint64_t>(width_) * count_ != blob.size()) {
    return Status::corruption("intset of " + std::to_string(count_) + " elements of " +
                              std::to_string(width_) + " bytes does not fill its " +
                              std::to_string(blob.size()) + " bytes");
  }
  blob_ = blob;
  for (uint32_t i = 1; i < count_; i++) {
    if (at(i - 1) >= at(i)) return Status::corruption("intset is not sorted and distinct");
  }
  return Status::ok();
}

int64_t IntsetReader::at(uint32_t i) const {
  const char* p = blob_.data() + 8 + static_cast<size_t>(i) * width_;
  if (width_ == 2) return static_cast<int16_t>(load_le16(p));
  if (width_ == 4) return static_cast<int32_t>(load_le32(p));
  return static_cast<int64_t>(load_le64(p));
}

}  // namespace ferry
