#include "proto/rdb_reader.h"

#include <algorithm>

#include "common/bytes.h"
#include "proto/crc64.h"
#include "proto/rdb_scan.h"

namespace ferry::rdb {
namespace {

// How one element of a count-prefixed value is laid out.
enum class Shape {
  kString,
  kStringTextDouble,
  kStringBinaryDouble,
  kTwoStrings,
  kContainerString,
  kTtlTwoStrings,
  kNodePair
};

Shape shape_of(uint8_t type) {
  switch (type) {
    case kTypeZset:
      return Shape::kStringTextDouble;
    case kTypeZset2:
      return Shape::kStringBinaryDouble;
    case kTypeHash:
      return Shape::kTwoStrings;
    case kTypeListQuicklist2:
      return Shape::kContainerString;
    case kTypeHashMetadata:
    case kTypeHashMetadataPreGa:
      return Shape::kTtlTwoStrings;
    case kTypeStreamListpacks:
    case kTypeStreamListpacks2:
    case kTypeStreamListpacks3:
      return Shape::kNodePair;
    default:  // list, set, quicklist v1
      return Shape::kString;
  }
}

bool is_count_type(uint8_t t) {
  switch (t) {
    case kTypeList:
    case kTypeSet:
    case kTypeZset:
    case kTypeHash:
    case kTypeZset2:
    case kTypeListQuicklist:
    case kTypeListQuicklist2:
    case kTypeHashMetadataPreGa:
    case kTypeHashMetadata:
    case kTypeStreamListpacks:
    case kTypeStreamListpacks2:
    case kTypeStreamListpacks3:
      return true;
    default:
      return false;
  }
}

bool is_blob_type(uint8_t t) {
  switch (t) {
    case kTypeHashZipmap:
    case kTypeListZiplist:
    case kTypeSetIntset:
    case kTypeZsetZiplist:
    case kTypeHashZiplist:
    case kTypeHashListpack:
    case kTypeZsetListpack:
    case kTypeSetListpack:
    case kTypeHashListpackExPreGa:
    case kTypeHashListpackEx:
      return true;
    default:
      return false;
  }
}

// Reads one element of the given shape; kOk leaves the scanner after it.
Scan scan_element(RdbScanner& s, Shape shape) {
  StoredString str;
  Scan r;
  switch (shape) {
    case Shape::kString:
      return s.string(&str);
    case Shape::kStringTextDouble: {
      if ((r = s.string(&str)) != Scan::kOk) return r;
      double d;
      return s.text_double(&d);
    }
    case Shape::kStringBinaryDouble: {
      if ((r = s.string(&str)) != Scan::kOk) return r;
      return s.skip(8);
    }
    case Shape::kTwoStrings:
    case Shape::kNodePair:
      if ((r = s.string(&str)) != Scan::kOk) return r;
      return s.string(&str);
    case Shape::kContainerString: {
      uint64_t container;
      if ((r = s.len(&container)) != Scan::kOk) return r;
      return s.string(&str);
    }
    case Shape::kTtlTwoStrings: {
      uint64_t ttl;
      if ((r = s.len(&ttl)) != Scan::kOk) return r;
      if ((r = s.string(&str)) != Scan::kOk) return r;
      return s.string(&str);
    }
  }
  return Scan::kBad;
}

void append_len(std::string* out, uint64_t len) {
  char buf[9];
  if (len < (1u << 6)) {
    out->push_back(static_cast<char>(len));
  } else if (len < (1u << 14)) {
    out->push_back(static_cast<char>(0x40 | (len >> 8)));
    out->push_back(static_cast<char>(len & 0xff));
  } else if (len <= 0xffffffffu) {
    buf[0] = static_cast<char>(kLen32Bit);
    uint32_t be = __builtin_bswap32(static_cast<uint32_t>(len));
    std::memcpy(buf + 1, &be, 4);
    out->append(buf, 5);
  } else {
    buf[0] = static_cast<char>(kLen64Bit);
    uint64_t be = __builtin_bswap64(len);
    std::memcpy(buf + 1, &be, 8);
    out->append(buf, 9);
  }
}

}  // namespace

RdbReader::RdbReader(const Options& options, RdbSink* sink) : options_(options), sink_(sink) {}

Status RdbReader::feed(std::string_view data) {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kDone) {
    if (data.empty()) return Status::ok();
    state_ = State::kFailed;
    error_ = Status::corruption("RDB: " + std::to_string(data.size()) +
                                " unexpected bytes after the checksum at offset " +
                                std::to_string(offset()));
    return error_;
  }
  compact();
  buf_.append(data.data(), data.size());
  if (buf_.size() - pos_ < wait_for_) return Status::ok();
  return run(false);
}

Status RdbReader::finish() {
  if (state_ == State::kFailed) return error_;
  Status st = run(true);
  if (!st.is_ok()) return st;
  if (state_ == State::kDone) {
    if (pos_ != buf_.size()) {
      state_ = State::kFailed;
      error_ = Status::corruption("RDB: " + std::to_string(buf_.size() - pos_) +
                                  " unexpected bytes after the checksum at offset " +
                                  std::to_string(offset()));
      return error_;
    }
    return Status::ok();
  }
  std::string where = key_.empty() && state_ == State::kTop
                          ? "before the EOF opcode"
                          : "inside key " + printable(key_) + " (" + type_name(type_) + ")";
  if (state_ == State::kHeader) where = "inside the header";
  if (state_ == State::kChecksum) where = "inside the checksum";
  state_ = State::kFailed;
  error_ = Status::corruption("RDB truncated: it ended at offset " + std::to_string(offset()) +
                              " " + where);
  return error_;
}

Status RdbReader::run(bool final_pass) {
  (void)final_pass;
  wait_for_ = 0;
  while (true) {
    Step r = step();
    if (r == Step::kProgress) continue;
    if (r == Step::kError) return error_;
    return Status::ok();  // kNeedMore, or done
  }
}

RdbReader::Step RdbReader::step() {
  switch (state_) {
    case State::kHeader:
      return step_header();
    case State::kTop:
      return step_top();
    case State::kKey:
      return step_key();
    case State::kString:
      return step_string();
    case State::kStringStream:
      return step_string_stream();
    case State::kLzfStream:
      return step_lzf_stream();
    case State::kValueHeader:
      return step_value_header();
    case State::kElements:
      return step_elements();
    case State::kBlob:
      return step_blob();
    case State::kModule:
      return step_module();
    case State::kStreamTail:
      return step_stream_tail();
    case State::kChecksum:
      return step_checksum();
    case State::kDone:
      return Step::kNeedMore;
    case State::kFailed:
      return Step::kError;
  }
  return Step::kError;
}

RdbReader::Step RdbReader::need_more(size_t needed) {
  if (needed > options_.max_item_bytes) {
    return corrupt("an item needs " + std::to_string(needed) +
                   " bytes held at once, more than ferry holds of one item (" +
                   std::to_string(options_.max_item_bytes) +
                   ", half of output.replay.maxInflightBytes): a corrupt length, or raise "
                   "maxInflightBytes");
  }
  // Wait until the step can succeed; for big items also until the buffer has doubled, so a
  // retried item costs amortized linear time however small the pieces it arrives in.
  size_t avail = buf_.size() - pos_;
  wait_for_ = std::max(needed, avail * 2);
  return Step::kNeedMore;
}

RdbReader::Step RdbReader::corrupt(const std::string& why) {
  std::string where = " at offset " + std::to_string(offset());
  if (state_ != State::kTop && state_ != State::kHeader && state_ != State::kChecksum) {
    where += " (key " + printable(key_) + ", type " + type_name(type_) + ", db " +
             std::to_string(db_) + ")";
  }
  error_ = Status::corruption("RDB: " + why + where);
  state_ = State::kFailed;
  return Step::kError;
}

void RdbReader::consume(size_t n) {
  if (capture_) value_.append(buf_.data() + pos_, n);
  pos_ += n;
}

void RdbReader::sync_crc() {
  if (pos_ > crc_pos_) {
    crc_ = crc64(crc_, buf_.data() + crc_pos_, pos_ - crc_pos_);
    crc_pos_ = pos_;
  }
}

void RdbReader::compact() {
  if (pos_ == 0) return;
  if (pos_ == buf_.size() || pos_ >= (1u << 20) || pos_ * 2 >= buf_.size()) {
    sync_crc();
    buf_.erase(0, pos_);
    base_offset_ += pos_;
    pos_ = 0;
    crc_pos_ = 0;
  }
}

RdbReader::Step RdbReader::step_header() {
  if (buf_.size() - pos_ < 9) return need_more(9);
  std::string_view h(buf_.data() + pos_, 9);
  if (h.substr(0, 5) != "REDIS") {
    return corrupt("not an RDB file (it starts with " + printable(h.substr(0, 5)) + ")");
  }
  int v = 0;
  for (char c : h.substr(5)) {
    if (c < '0' || c > '9') return corrupt("malformed RDB version " + printable(h.substr(5)));
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > kMaxVersion) {
    error_ = Status::not_supported("RDB version " + std::to_string(v) +
                                   " is newer than this ferry supports (up to " +
                                   std::to_string(kMaxVersion) + ")");
    state_ = State::kFailed;
    return Step::kError;
  }
  version_ = v;
  consume(9);
  sink_->on_header(v);
  state_ = State::kTop;
  return Step::kProgress;
}

RdbReader::Step RdbReader::step_top() {
  RdbScanner s(buf_.data() + pos_, buf_.size() - pos_);
  uint8_t op;
  if (s.u8(&op) != Scan::kOk) return need_more(1);
  Scan r = Scan::kOk;
  std::string err;
  switch (op) {
    case kOpAux: {
      StoredString k, v;
      if ((r = s.string(&k)) != Scan::kOk || (r = s.string(&v)) != Scan::kOk) break;
      std::string_view kv, vv;
      if (!materialize(k, &scratch_, &kv, &err) || !materialize(v, &scratch2_, &vv, &err)) {
        return corrupt("bad AUX field: " + err);
      }
      sink_->on_aux(kv, vv);
      break;
    }
    case kOpSelectDb: {
      uint64_t db;
      if ((r = s.len(&db)) != Scan::kOk) break;
      db_ = db;
      sink_->on_select_db(db);
      break;
    }
    case kOpResizeDb: {
      uint64_t a, b;
      if ((r = s.len(&a)) != Scan::kOk || (r = s.len(&b)) != Scan::kOk) break;
      sink_->on_resize_db(a, b);
      break;
    }
    case kOpExpireTime: {
      uint32_t t;
      if ((r = s.le32(&t)) != Scan::kOk) break;
      expire_ms_ = static_cast<int64_t>(static_cast<int32_t>(t)) * 1000;
      break;
    }
    case kOpExpireTimeMs: {
      uint64_t t;
      if ((r = s.le64(&t)) != Scan::kOk) break;
      expire_ms_ = static_cast<int64_t>(t);
      break;
    }
    case kOpIdle: {
      uint64_t idle;
      if ((r = s.len(&idle)) != Scan::kOk) break;
      idle_s_ = static_cast<int64_t>(idle);
      break;
    }
    case kOpFreq: {
      uint8_t f;
      if ((r = s.u8(&f)) != Scan::kOk) break;
      freq_ = f;
      break;
    }
    case kOpFunction2: {
      StoredString code;
      if ((r = s.string(&code)) != Scan::kOk) break;
      std::string_view cv;
      if (!materialize(code, &scratch_, &cv, &err)) return corrupt("bad function code: " + err);
      sink_->on_function(cv);
      break;
    }
    case kOpFunctionPreGa:
      return corrupt("pre-release (7.0 RC) function format is not supported");
    case kOpModuleAux: {
      uint64_t module_id, when_op, when;
      if ((r = s.len(&module_id)) != Scan::kOk || (r = s.len(&when_op)) != Scan::kOk) break;
      if (when_op != kModuleOpUint) return corrupt("bad MODULE_AUX 'when' opcode");
      if ((r = s.len(&when)) != Scan::kOk) break;
      // The body is a self-describing sequence of typed items ending with EOF.
      while (true) {
        uint64_t item;
        if ((r = s.len(&item)) != Scan::kOk) break;
        if (item == kModuleOpEof) break;
        StoredString str;
        if (item == kModuleOpSint || item == kModuleOpUint) {
          uint64_t v;
          r = s.len(&v);
        } else if (item == kModuleOpFloat) {
          r = s.skip(4);
        } else if (item == kModuleOpDouble) {
          r = s.skip(8);
        } else if (item == kModuleOpString) {
          r = s.string(&str);
        } else {
          return corrupt("unknown module data opcode " + std::to_string(item) + " in MODULE_AUX");
        }
        if (r != Scan::kOk) break;
      }
      if (r != Scan::kOk) break;
      sink_->on_module_aux(module_id);
      break;
    }
    case kOpSlotInfo: {
      uint64_t a, b, c;
      if ((r = s.len(&a)) != Scan::kOk || (r = s.len(&b)) != Scan::kOk ||
          (r = s.len(&c)) != Scan::kOk) {
        break;
      }
      break;
    }
    case kOpEof:
      consume(1);
      sync_crc();
      state_ = version_ >= 5 ? State::kChecksum : State::kDone;
      if (state_ == State::kDone) sink_->on_end(0);
      return Step::kProgress;
    default:
      if (!is_object_type(op)) {
        char hex[8];
        snprintf(hex, sizeof(hex), "0x%02x", op);
        return corrupt(std::string("unknown opcode or object type ") + hex);
      }
      if (op == kTypeModulePreGa) {
        return corrupt("pre-release module format (type 6) is not supported");
      }
      type_ = op;
      key_offset_ = offset();
      consume(1);
      state_ = State::kKey;
      return Step::kProgress;
  }
  if (r == Scan::kShort) return need_more(s.needed());
  if (r == Scan::kBad) return corrupt(s.error());
  consume(s.pos());
  return Step::kProgress;
}

RdbReader::Step RdbReader::step_key() {
  RdbScanner s(buf_.data() + pos_, buf_.size() - pos_);
  StoredString k;
  Scan r = s.string(&k);
  if (r == Scan::kShort) return need_more(s.needed());
  if (r == Scan::kBad) return corrupt(std::string("bad key name: ") + s.error());
  std::string_view kv;
  std::string err;
  if (!materialize(k, &scratch_, &kv, &err)) return corrupt("bad key name: " + err);
  key_.assign(kv.data(), kv.size());
  consume(s.pos());
  begin_value();
  return Step::kProgress;
}

bool RdbReader::is_stream() const {
  return type_ == kTypeStreamListpacks || type_ == kTypeStreamListpacks2 ||
         type_ == kTypeStreamListpacks3;
}

void RdbReader::begin_value() {
  value_.clear();
  prefix_.clear();
  header_len_ = 0;
  tail_start_ = 0;
  left_ = 0;
  elems_ = 0;
  piece_mode_ = false;
  piece_index_ = 0;
  module_started_ = false;
  capture_ = true;
  if (type_ == kTypeString) {
    state_ = State::kString;
  } else if (is_count_type(type_)) {
    state_ = State::kValueHeader;
  } else if (is_blob_type(type_)) {
    state_ = State::kBlob;
  } else {
    state_ = State::kModule;
  }
}

void RdbReader::finish_key() {
  capture_ = false;
  expire_ms_ = -1;
  idle_s_ = -1;
  freq_ = -1;
  keys_++;
  state_ = State::kTop;
  if (value_.capacity() > options_.max_whole_value + (1u << 20)) std::string().swap(value_);
}

void RdbReader::emit_whole() {
  KeyRecord rec;
  rec.db = db_;
  rec.key = key_;
  rec.type = type_;
  rec.expire_ms = expire_ms_;
  rec.idle_s = idle_s_;
  rec.freq = freq_;
  rec.piece = Piece::kWhole;
  rec.piece_index = 0;
  rec.last_piece = true;
  rec.value = value_;
  rec.key_offset = key_offset_;
  rec.end_offset = offset();
  sink_->on_key(rec);
}

void RdbReader::emit_piece(Piece kind, std::string_view body, uint64_t count, bool last) {
  std::string_view value = body;
  if (kind == Piece::kElements || kind == Piece::kStreamNodes) {
    piece_.assign(prefix_);
    append_len(&piece_, count);
    piece_.append(body.data(), body.size());
    value = piece_;
  }
  KeyRecord rec;
  rec.db = db_;
  rec.key = key_;
  rec.type = type_;
  rec.expire_ms = expire_ms_;
  rec.idle_s = idle_s_;
  rec.freq = freq_;
  rec.piece = kind;
  rec.piece_index = piece_index_++;
  rec.last_piece = last;
  rec.value = value;
  rec.key_offset = key_offset_;
  rec.end_offset = offset();
  sink_->on_key(rec);
}

RdbReader::Step RdbReader::step_string() {
  RdbScanner s(buf_.data() + pos_, buf_.size() - pos_);
  uint64_t len;
  bool encoded;
  Scan r = s.len_or_encoding(&len, &encoded);
  if (r == Scan::kShort) return need_more(s.needed());
  if (r == Scan::kBad) return corrupt(s.error());
  if (!encoded && len > options_.max_whole_value) {
    // A big plain string: stream its bytes in pieces instead of buffering it.
    capture_ = false;
    consume(s.pos());
    capture_ = true;
    value_.clear();
    left_ = len;
    state_ = State::kStringStream;
    return Step::kProgress;
  }
  if (encoded && len == kEncLzf) {
    uint64_t clen, rlen;
    Scan a = s.len(&clen);
    Scan b = a == Scan::kOk ? s.len(&rlen) : a;
    if (b == Scan::kShort) return need_more(s.needed());
    if (b == Scan::kBad) return corrupt(s.error());
    if (rlen > options_.max_whole_value) {
      // A big compressed string: decompress it as it arrives, reporting the output in pieces.
      if (rlen == 0 || clen == 0 || clen > (UINT64_MAX - 64) / kMaxLzfRatio ||
          rlen > clen * kMaxLzfRatio + 64) {
        return corrupt("impossible LZF lengths");
      }
      capture_ = false;
      consume(s.pos());
      value_.clear();
      left_ = clen;
      lzf_ = std::make_unique<LzfStreamDecoder>(rlen);
      state_ = State::kLzfStream;
      return Step::kProgress;
    }
  }
  RdbScanner whole(buf_.data() + pos_, buf_.size() - pos_);
  StoredString str;
  r = whole.string(&str);
  if (r == Scan::kShort) return need_more(whole.needed());
  if (r == Scan::kBad) return corrupt(whole.error());
  consume(whole.pos());
  emit_whole();
  finish_key();
  return Step::kProgress;
}

RdbReader::Step RdbReader::step_string_stream() {
  size_t avail = buf_.size() - pos_;
  if (avail == 0) return need_more(1);
  // value_ holds less than a piece here: pieces are emitted as soon as they fill.
  size_t room = options_.piece_bytes - value_.size();
  size_t take = static_cast<size_t>(std::min<uint64_t>({avail, left_, room}));
  consume(take);
  left_ -= take;
  if (value_.size() >= options_.piece_bytes || left_ == 0) {
    emit_piece(Piece::kStringBytes, value_, 0, left_ == 0);
    value_.clear();
  }
  if (left_ == 0) finish_key();
  return Step::kProgress;
}

RdbReader::Step RdbReader::step_lzf_stream() {
  size_t avail = buf_.size() - pos_;
  if (avail == 0 && left_ > 0) return need_more(1);
  // Small steps keep the decompressed output per step small (at most 132x the input).
  size_t take = static_cast<size_t>(std::min<uint64_t>({avail, left_, 16 * 1024}));
  Status st = lzf_->feed(std::string_view(buf_.data() + pos_, take), &value_);
  if (!st.is_ok()) return corrupt(st.message());
  pos_ += take;
  left_ -= take;
  if (left_ == 0 && !lzf_->done()) {
    return corrupt("LZF string expands to " + std::to_string(lzf_->produced()) +
                   " bytes, short of its declared length");
  }
  if (value_.size() >= options_.piece_bytes || left_ == 0) {
    emit_piece(Piece::kStringBytes, value_, 0, left_ == 0);
    value_.clear();
  }
  if (left_ == 0) {
    lzf_.reset();
    finish_key();
  }
  return Step::kProgress;
}

RdbReader::Step RdbReader::step_value_header() {
  RdbScanner s(buf_.data() + pos_, buf_.size() - pos_);
  std::string_view prefix;
  Scan r = Scan::kOk;
  if (type_ == kTypeHashMetadata) r = s.raw(8, &prefix);
  uint64_t count = 0;
  if (r == Scan::kOk) r = s.len(&count);
  if (r == Scan::kShort) return need_more(s.needed());
  if (r == Scan::kBad) return corrupt(s.error());
  prefix_.assign(prefix.data(), prefix.size());
  consume(s.pos());
  header_len_ = value_.size();
  left_ = count;
  state_ = State::kElements;
  if (count == 0) end_elements();
  return Step::kProgress;
}

RdbReader::Step RdbReader::step_elements() {
  Shape shape = shape_of(type_);
  while (left_ > 0) {
    RdbScanner s(buf_.data() + pos_, buf_.size() - pos_);
    Scan r = scan_element(s, shape);
    if (r == Scan::kShort) return need_more(s.needed());
    if (r == Scan::kBad) return corrupt(s.error());
    consume(s.pos());
    elems_++;
    left_--;
    Piece kind = is_stream() ? Piece::kStreamNodes : Piece::kElements;
    if (!piece_mode_ && value_.size() > options_.max_whole_value) {
      // Too big to report whole: from here on, report it in pieces — starting with what was
      // captured so far, cut at element boundaries into pieces of about piece_bytes.
      std::string_view captured = std::string_view(value_).substr(header_len_);
      RdbScanner walk(captured);
      size_t piece_start = 0;
      uint64_t piece_elems = 0;
      while (!walk.at_end()) {
        if (scan_element(walk, shape) != Scan::kOk) return corrupt("inconsistent element");
        piece_elems++;
        if (walk.pos() - piece_start >= options_.piece_bytes) {
          emit_piece(kind, captured.substr(piece_start, walk.pos() - piece_start), piece_elems,
                     false);
          piece_start = walk.pos();
          piece_elems = 0;
        }
      }
      piece_mode_ = true;
      value_.erase(0, header_len_ + piece_start);
      elems_ = piece_elems;
    } else if (piece_mode_ && value_.size() >= options_.piece_bytes && left_ > 0) {
      emit_piece(kind, value_, elems_, false);
      value_.clear();
      elems_ = 0;
    }
  }
  end_elements();
  return Step::kProgress;
}

void RdbReader::end_elements() {
  if (is_stream()) {
    if (piece_mode_) {
      emit_piece(Piece::kStreamNodes, value_, elems_, false);
      value_.clear();
      elems_ = 0;
    }
    tail_start_ = value_.size();
    state_ = State::kStreamTail;
    return;
  }
  if (piece_mode_) {
    emit_piece(Piece::kElements, value_, elems_, true);
  } else {
    emit_whole();
  }
  finish_key();
}

RdbReader::Step RdbReader::step_blob() {
  RdbScanner s(buf_.data() + pos_, buf_.size() - pos_);
  Scan r = Scan::kOk;
  if (type_ == kTypeHashListpackEx) r = s.skip(8);  // min expire, unused by loaders
  StoredString blob;
  if (r == Scan::kOk) r = s.string(&blob);
  if (r == Scan::kShort) return need_more(s.needed());
  if (r == Scan::kBad) return corrupt(s.error());
  consume(s.pos());
  emit_whole();
  finish_key();
  return Step::kProgress;
}

RdbReader::Step RdbReader::step_module() {
  while (true) {
    RdbScanner s(buf_.data() + pos_, buf_.size() - pos_);
    uint64_t v;
    Scan r;
    if (!module_started_) {
      r = s.len(&v);  // module type id
      if (r == Scan::kShort) return need_more(s.needed());
      if (r == Scan::kBad) return corrupt(s.error());
      consume(s.pos());
      module_started_ = true;
      continue;
    }
    uint64_t item;
    r = s.len(&item);
    if (r == Scan::kOk) {
      if (item == kModuleOpEof) {
        consume(s.pos());
        emit_whole();
        finish_key();
        return Step::kProgress;
      }
      StoredString str;
      if (item == kModuleOpSint || item == kModuleOpUint) {
        r = s.len(&v);
      } else if (item == kModuleOpFloat) {
        r = s.skip(4);
      } else if (item == kModuleOpDouble) {
        r = s.skip(8);
      } else if (item == kModuleOpString) {
        r = s.string(&str);
      } else {
        return corrupt("unknown module data opcode " + std::to_string(item));
      }
    }
    if (r == Scan::kShort) return need_more(s.needed());
    if (r == Scan::kBad) return corrupt(s.error());
    consume(s.pos());
  }
}

RdbReader::Step RdbReader::step_stream_tail() {
  RdbScanner s(buf_.data() + pos_, buf_.size() - pos_);
  bool v2 = type_ != kTypeStreamListpacks;
  bool v3 = type_ == kTypeStreamListpacks3;
  auto scan = [&]() -> Scan {
    uint64_t n, ngroups;
    Scan r;
    int meta = v2 ? 8 : 3;  // length, last id (2), [first id (2), max deleted (2), added]
    for (int i = 0; i < meta; i++) {
      if ((r = s.len(&n)) != Scan::kOk) return r;
    }
    if ((r = s.len(&ngroups)) != Scan::kOk) return r;
    for (uint64_t g = 0; g < ngroups; g++) {
      StoredString name;
      if ((r = s.string(&name)) != Scan::kOk) return r;
      int fields = v2 ? 3 : 2;  // last id (2), [entries read]
      for (int i = 0; i < fields; i++) {
        if ((r = s.len(&n)) != Scan::kOk) return r;
      }
      uint64_t pel;
      if ((r = s.len(&pel)) != Scan::kOk) return r;
      for (uint64_t i = 0; i < pel; i++) {
        if ((r = s.skip(16 + 8)) != Scan::kOk) return r;
        if ((r = s.len(&n)) != Scan::kOk) return r;
      }
      uint64_t consumers;
      if ((r = s.len(&consumers)) != Scan::kOk) return r;
      for (uint64_t c = 0; c < consumers; c++) {
        if ((r = s.string(&name)) != Scan::kOk) return r;
        if ((r = s.skip(v3 ? 16 : 8)) != Scan::kOk) return r;
        uint64_t cpel;
        if ((r = s.len(&cpel)) != Scan::kOk) return r;
        uint64_t bytes = cpel > (uint64_t{1} << 40) ? UINT64_MAX : cpel * 16;
        if ((r = s.skip(bytes)) != Scan::kOk) return r;
      }
    }
    return Scan::kOk;
  };
  Scan r = scan();
  if (r == Scan::kShort) return need_more(s.needed());
  if (r == Scan::kBad) return corrupt(s.error());
  consume(s.pos());
  if (piece_mode_) {
    emit_piece(Piece::kStreamTail, value_, 0, true);
  } else if (value_.size() > options_.max_whole_value) {
    std::string_view v(value_);
    emit_piece(Piece::kStreamNodes, v.substr(header_len_, tail_start_ - header_len_), elems_,
               false);
    emit_piece(Piece::kStreamTail, v.substr(tail_start_), 0, true);
  } else {
    emit_whole();
  }
  finish_key();
  return Step::kProgress;
}

RdbReader::Step RdbReader::step_checksum() {
  if (buf_.size() - pos_ < 8) return need_more(8);
  uint64_t expected = load_le64(buf_.data() + pos_);
  pos_ += 8;
  crc_pos_ = pos_;
  if (expected != 0 && expected != crc_) {
    char msg[128];
    snprintf(msg, sizeof(msg), "checksum mismatch: the file says %016llx, the data gives %016llx",
             static_cast<unsigned long long>(expected), static_cast<unsigned long long>(crc_));
    state_ = State::kChecksum;
    return corrupt(msg);
  }
  state_ = State::kDone;
  sink_->on_end(expected);
  return Step::kNeedMore;
}

}  // namespace ferry::rdb
