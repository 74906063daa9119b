#include "proto/listpack.h"

#include <string>

namespace ferry {
namespace {

constexpr size_t kHeaderSize = 6;
constexpr uint8_t kEof = 0xff;

size_t backlen_size(uint64_t entry_len) {
  if (entry_len <= 127) return 1;
  if (entry_len < 16383) return 2;
  if (entry_len < 2097151) return 3;
  if (entry_len < 268435455) return 4;
  return 5;
}

}  // namespace

Status ListpackReader::validate_header() const {
  if (blob_.size() < kHeaderSize + 1) {
    return Status::corruption("listpack of " + std::to_string(blob_.size()) +
                              " bytes is shorter than its header");
  }
  uint32_t total = load_le32(blob_.data());
  if (total != blob_.size()) {
    return Status::corruption("listpack header says " + std::to_string(total) +
                              " bytes, blob has " + std::to_string(blob_.size()));
  }
  if (static_cast<uint8_t>(blob_.back()) != kEof) {
    return Status::corruption("listpack does not end with its terminator");
  }
  return Status::ok();
}

uint32_t ListpackReader::declared_count() const {
  return blob_.size() >= kHeaderSize ? load_le16(blob_.data() + 4) : 0;
}

bool ListpackReader::fail(const char* why) {
  status_ = Status::corruption(std::string("listpack entry ") + std::to_string(count_) +
                               " at byte " + std::to_string(pos_) + ": " + why);
  ended_ = true;
  return false;
}

bool ListpackReader::next(BlobEntry* e) {
  if (ended_) return false;
  if (pos_ >= blob_.size()) return fail("missing terminator");
  const auto* p = reinterpret_cast<const unsigned char*>(blob_.data() + pos_);
  size_t avail = blob_.size() - pos_;
  uint8_t b = p[0];
  if (b == kEof) {
    ended_ = true;
    if (pos_ + 1 != blob_.size()) return fail("bytes after the terminator");
    return false;
  }
  size_t hdr;     // encoding bytes
  uint64_t dlen;  // data bytes after the encoding
  e->is_int = true;
  if ((b & 0x80) == 0) {  // 7-bit unsigned
    hdr = 1;
    dlen = 0;
    e->int_value = b & 0x7f;
  } else if ((b & 0xc0) == 0x80) {  // 6-bit string length
    hdr = 1;
    dlen = b & 0x3f;
    e->is_int = false;
  } else if ((b & 0xe0) == 0xc0) {  // 13-bit signed
    if (avail < 2) return fail("truncated 13-bit integer");
    hdr = 2;
    dlen = 0;
    uint64_t u = (static_cast<uint64_t>(b & 0x1f) << 8) | p[1];
    e->int_value = u >= (1u << 12) ? static_cast<int64_t>(u) - (1 << 13) : static_cast<int64_t>(u);
  } else if ((b & 0xf0) == 0xe0) {  // 12-bit string length
    if (avail < 2) return fail("truncated 12-bit string length");
    hdr = 2;
    dlen = (static_cast<uint64_t>(b & 0x0f) << 8) | p[1];
    e->is_int = false;
  } else {
    switch (b) {
      case 0xf0:  // 32-bit string length
        if (avail < 5) return fail("truncated 32-bit string length");
        hdr = 5;
        dlen = load_le32(reinterpret_cast<const char*>(p + 1));
        e->is_int = false;
        break;
      case 0xf1:
        hdr = 1;
        dlen = 2;
        break;
      case 0xf2:
        hdr = 1;
        dlen = 3;
        break;
      case 0xf3:
        hdr = 1;
        dlen = 4;
        break;
      case 0xf4:
        hdr = 1;
        dlen = 8;
        break;
      default:
        return fail("invalid encoding byte");
    }
  }
  uint64_t entry_len = hdr + dlen;
  uint64_t total = entry_len + backlen_size(entry_len);
  if (total > avail - 1) return fail("entry runs past the end");  // keep the terminator
  const char* data = reinterpret_cast<const char*>(p + hdr);
  if (!e->is_int) {
    e->str = std::string_view(data, dlen);
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
  pos_ += total;
  count_++;
  return true;
}

Status ListpackReader::validate(std::string_view blob, uint64_t* count) {
  ListpackReader r(blob);
  FERRY_RETURN_IF_ERROR(r.validate_header());
  BlobEntry e;
  while (r.next(&e)) {
  }
  FERRY_RETURN_IF_ERROR(r.status());
  uint32_t declared = r.declared_count();
  if (declared != 65535 && declared != r.count()) {
    return Status::corruption("listpack header counts " + std::to_string(declared) +
                              " entries, found " + std::to_string(r.count()));
  }
  if (count) *count = r.count();
  return Status::ok();
}

}  // namespace ferry
