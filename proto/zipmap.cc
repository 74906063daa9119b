#include "proto/zipmap.h"

#include <string>

#include "common/bytes.h"

namespace ferry {

bool ZipmapReader::fail(const char* why) {
  status_ = Status::corruption(std::string("zipmap entry ") + std::to_string(count_) + " at byte " +
                               std::to_string(pos_) + ": " + why);
  ended_ = true;
  return false;
}

bool ZipmapReader::read_len(uint64_t* len) {
  if (pos_ >= blob_.size()) return false;
  uint8_t b = static_cast<uint8_t>(blob_[pos_]);
  if (b < 254) {
    *len = b;
    pos_ += 1;
    return true;
  }
  if (b == 254 && pos_ + 5 <= blob_.size()) {
    *len = load_le32(blob_.data() + pos_ + 1);
    pos_ += 5;
    return true;
  }
  return false;
}

bool ZipmapReader::next(std::string_view* field, std::string_view* value) {
  if (ended_) return false;
  if (blob_.size() < 2) return fail("shorter than its header");
  if (pos_ >= blob_.size()) return fail("missing terminator");
  if (static_cast<uint8_t>(blob_[pos_]) == 0xff) {
    ended_ = true;
    if (pos_ + 1 != blob_.size()) return fail("bytes after the terminator");
    return false;
  }
  uint64_t flen, vlen;
  if (!read_len(&flen)) return fail("bad field length");
  if (flen > blob_.size() - pos_) return fail("field runs past the end");
  *field = blob_.substr(pos_, flen);
  pos_ += flen;
  if (!read_len(&vlen)) return fail("bad value length");
  if (pos_ >= blob_.size()) return fail("missing free-space byte");
  uint64_t free_bytes = static_cast<uint8_t>(blob_[pos_]);
  pos_ += 1;
  if (vlen + free_bytes > blob_.size() - pos_) return fail("value runs past the end");
  *value = blob_.substr(pos_, vlen);
  pos_ += vlen + free_bytes;
  count_++;
  return true;
}

}  // namespace ferry
