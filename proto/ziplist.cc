#include "proto/ziplist.h"

#include <string>

namespace ferry {
namespace {

constexpr size_t kHeaderSize = 10;
constexpr uint8_t kEnd = 0xff;

}  // namespace

Status ZiplistReader::validate_header() const {
  if (blob_.size() < kHeaderSize + 1) {
    return Status::corruption("ziplist of " + std::to_string(blob_.size()) +
                              " bytes is shorter than its header");
  }
  uint32_t total = load_le32(blob_.data());
  if (total != blob_.size()) {
    return Status::corruption("ziplist header says " + std::to_string(total) + " bytes, blob has " +
                              std::to_string(blob_.size()));
  }
  uint32_t tail = load_le32(blob_.data() + 4);
  if (tail > blob_.size() - 1) {
    return Status::corruption("ziplist tail offset " + std::to_string(tail) + " is out of range");
  }
  if (static_cast<uint8_t>(blob_.back()) != kEnd) {
    return Status::corruption("ziplist does not end with its terminator");
  }
  return Status::ok();
}

uint32_t ZiplistReader::declared_count() const {
  return blob_.size() >= kHeaderSize ? load_le16(blob_.data() + 8) : 0;
}

bool ZiplistReader::fail(const char* why) {
  status_ = Status::corruption(std::string("ziplist entry ") + std::to_string(count_) +
                               " at byte " + std::to_string(pos_) + ": " + why);
  ended_ = true;
  return false;
}

bool ZiplistReader::next(BlobEntry* e) {
  if (ended_) return false;
  if (pos_ >= blob_.size()) return fail("missing terminator");
  const auto* p = reinterpret_cast<const unsigned char*>(blob_.data() + pos_);
  size_t avail = blob_.size() - pos_;
  if (p[0] == kEnd) {
    ended_ = true;
    if (pos_ + 1 != blob_.size()) return fail("bytes after the terminator");
    return false;
  }
  size_t i = 0;
  uint64_t prevlen;
  if (p[0] < 254) {
    prevlen = p[0];
    i = 1;
  } else if (p[0] == 254) {
    if (avail < 5) return fail("truncated previous-entry length");
    prevlen = load_le32(reinterpret_cast<const char*>(p + 1));
    i = 5;
  } else {
    return fail("invalid previous-entry length");
  }
  if (prevlen != prev_len_) return fail("previous-entry length does not match");
  if (i >= avail) return fail("truncated encoding");
  uint8_t enc = p[i];
  uint64_t dlen = 0;
  e->is_int = true;
  switch (enc >> 6) {
    case 0:
      dlen = enc & 0x3f;
      i += 1;
      e->is_int = false;
      break;
    case 1:
      if (i + 2 > avail) return fail("truncated 14-bit string length");
      dlen = (static_cast<uint64_t>(enc & 0x3f) << 8) | p[i + 1];
      i += 2;
      e->is_int = false;
      break;
    case 2:
      if (enc != 0x80) return fail("invalid string encoding");
      if (i + 5 > avail) return fail("truncated 32-bit string length");
      dlen = load_be32(reinterpret_cast<const char*>(p + i + 1));
      i += 5;
      e->is_int = false;
      break;
    default:
      i += 1;
      switch (enc) {
        case 0xc0:
          dlen = 2;
          break;
        case 0xd0:
          dlen = 4;
          break;
        case 0xe0:
          dlen = 8;
          break;
        case 0xf0:
          dlen = 3;
          break;
        case 0xfe:
          dlen = 1;
          break;
        default:
          if (enc >= 0xf1 && enc <= 0xfd) {
            dlen = 0;
            e->int_value = (enc & 0x0f) - 1;
          } else {
            return fail("invalid integer encoding");
          }
      }
  }
  if (dlen > avail - 1 || i + dlen > avail - 1) return fail("entry runs past the end");
  const char* data = reinterpret_cast<const char*>(p + i);
  if (!e->is_int) {
    e->str = std::string_view(data, dlen);
  } else if (dlen == 1) {
    e->int_value = static_cast<int8_t>(data[0]);
  } else if (dlen == 2) {
    e->int_value = static_cast<int16_t>(load_le16(data));
  } else if (dlen == 3) {
    uint32_t u = static_cast<uint8_t>(data[0]) | (static_cast<uint8_t>(data[1]) << 8) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(data[2])) << 16);
    e->int_value = (u & 0x800000) ? static_cast<int64_t>(u) - (1 << 24) : static_cast<int64_t>(u);
  } else if (dlen == 4) {
    e->int_value = static_cast<int32_t>(load_le32(data));
  } else if (dlen == 8) {
    e->int_value = static_cast<int64_t>(load_le64(data));
  }
  size_t entry_len = i + dlen;
  pos_ += entry_len;
  prev_len_ = entry_len;
  count_++;
  return true;
}

Status ZiplistReader::validate(std::string_view blob, uint64_t* count) {
  ZiplistReader r(blob);
  FERRY_RETURN_IF_ERROR(r.validate_header());
  BlobEntry e;
  while (r.next(&e)) {
  }
  FERRY_RETURN_IF_ERROR(r.status());
  uint32_t declared = r.declared_count();
  if (declared != 65535 && declared != r.count()) {
    return Status::corruption("ziplist header counts " + std::to_string(declared) +
                              " entries, found " + std::to_string(r.count()));
  }
  if (count) *count = r.count();
  return Status::ok();
}

}  // namespace ferry
