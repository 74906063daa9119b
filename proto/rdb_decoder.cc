#include "proto/rdb_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>

#include "common/bytes.h"
#include "proto/intset.h"
#include "proto/listpack.h"
#include "proto/lzf.h"
#include "proto/rdb_format.h"
#include "proto/rdb_scan.h"
#include "proto/ziplist.h"
#include "proto/zipmap.h"

namespace ferry::rdb {
namespace {

Status scan_error(const RdbScanner& s, Scan r, const char* what) {
  if (r == Scan::kShort) {
    return Status::corruption(std::string(what) + " is truncated at value byte " +
                              std::to_string(s.pos()));
  }
  return Status::corruption(std::string(what) + ": " + s.error() + " at value byte " +
                            std::to_string(s.pos()));
}

// Parses a score stored as text in a ziplist/listpack element.
bool parse_score(std::string_view text, double* out) {
  if (text.empty() || text.size() > 128) return false;
  char buf[130];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  char* end = nullptr;
  *out = std::strtod(buf, &end);
  return end == buf + text.size();
}

bool entry_int(const BlobEntry& e, int64_t* out) {
  if (e.is_int) {
    *out = e.int_value;
    return true;
  }
  return parse_int(e.str, out);
}

}  // namespace

Status RdbDecoder::load(const StoredString& s, std::string* buf, std::string_view* out) {
  std::string err;
  if (!materialize(s, buf, out, &err)) return Status::corruption(err);
  return Status::ok();
}

Status RdbDecoder::decode(uint8_t type, Piece piece, std::string_view value, ValueVisitor* visitor,
                          DecodeResult* result) {
  elements_ = 0;
  Status st;
  switch (piece) {
    case Piece::kStringBytes:
      visitor->on_string_bytes(value);
      elements_ = 1;
      break;
    case Piece::kStreamNodes: {
      size_t consumed = 0;
      st = decode_stream_nodes(value, &consumed, visitor);
      if (st.is_ok() && consumed != value.size()) {
        st = Status::corruption("trailing bytes after the stream nodes");
      }
      break;
    }
    case Piece::kStreamTail:
      st = decode_stream_tail(type, value, visitor);
      break;
    case Piece::kWhole:
    case Piece::kElements:
      switch (type) {
        case kTypeString:
          st = decode_string(value, visitor);
          break;
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
          st = decode_counted(type, value, visitor);
          break;
        case kTypeModule2:
          elements_ = 1;  // opaque: the reader walked its structure
          break;
        default:
          st = decode_blob(type, value, visitor);
      }
      break;
  }
  if (result) result->elements = elements_;
  return st;
}

Status RdbDecoder::decode_string(std::string_view value, ValueVisitor* v) {
  RdbScanner s(value);
  StoredString str;
  Scan r = s.string(&str);
  if (r != Scan::kOk) return scan_error(s, r, "string value");
  if (!s.at_end()) return Status::corruption("trailing bytes after the string value");
  std::string_view out;
  FERRY_RETURN_IF_ERROR(load(str, &buf_a_, &out));
  v->on_string(out);
  elements_ = 1;
  return Status::ok();
}

Status RdbDecoder::decode_counted(uint8_t type, std::string_view value, ValueVisitor* v) {
  if (type == kTypeStreamListpacks || type == kTypeStreamListpacks2 ||
      type == kTypeStreamListpacks3) {
    size_t consumed = 0;
    FERRY_RETURN_IF_ERROR(decode_stream_nodes(value, &consumed, v));
    return decode_stream_tail(type, value.substr(consumed), v);
  }
  RdbScanner s(value);
  Scan r = Scan::kOk;
  int64_t min_expire = 0;
  if (type == kTypeHashMetadata) {
    uint64_t m;
    if ((r = s.le64(&m)) != Scan::kOk) return scan_error(s, r, "hash min-expire header");
    if (m > static_cast<uint64_t>(INT64_MAX)) {
      return Status::corruption("hash min-expire header out of range");
    }
    min_expire = static_cast<int64_t>(m);
  }
  uint64_t count;
  if ((r = s.len(&count)) != Scan::kOk) return scan_error(s, r, "element count");
  for (uint64_t i = 0; i < count; i++) {
    StoredString a, b;
    std::string_view av, bv;
    switch (type) {
      case kTypeList:
      case kTypeSet:
        if ((r = s.string(&a)) != Scan::kOk) return scan_error(s, r, "element");
        FERRY_RETURN_IF_ERROR(load(a, &buf_a_, &av));
        if (type == kTypeList) {
          v->on_list_item(av);
        } else {
          v->on_set_member(av);
        }
        elements_++;
        break;
      case kTypeZset:
      case kTypeZset2: {
        if ((r = s.string(&a)) != Scan::kOk) return scan_error(s, r, "zset member");
        double score;
        r = type == kTypeZset ? s.text_double(&score) : s.binary_double(&score);
        if (r != Scan::kOk) return scan_error(s, r, "zset score");
        if (std::isnan(score)) return Status::corruption("zset member with a NaN score");
        FERRY_RETURN_IF_ERROR(load(a, &buf_a_, &av));
        v->on_zset_member(av, score);
        elements_++;
        break;
      }
      case kTypeHash:
      case kTypeHashMetadata:
      case kTypeHashMetadataPreGa: {
        int64_t expire = -1;
        if (type != kTypeHash) {
          uint64_t ttl;
          if ((r = s.len(&ttl)) != Scan::kOk) return scan_error(s, r, "hash field TTL");
          // Type 24/25 store field TTLs relative to the header (ttl + min_expire - 1); a
          // corrupt one must not overflow.
          const int64_t base = type == kTypeHashMetadata ? min_expire - 1 : 0;
          if (ttl != 0 && (ttl > static_cast<uint64_t>(INT64_MAX) ||
                           __builtin_add_overflow(static_cast<int64_t>(ttl), base, &expire))) {
            return Status::corruption("hash field TTL out of range");
          }
        }
        if ((r = s.string(&a)) != Scan::kOk) return scan_error(s, r, "hash field");
        if ((r = s.string(&b)) != Scan::kOk) return scan_error(s, r, "hash value");
        FERRY_RETURN_IF_ERROR(load(a, &buf_a_, &av));
        FERRY_RETURN_IF_ERROR(load(b, &buf_b_, &bv));
        v->on_hash_field(av, bv, expire);
        elements_++;
        break;
      }
      case kTypeListQuicklist:
      case kTypeListQuicklist2: {
        uint64_t container = kQuicklistNodePacked;
        if (type == kTypeListQuicklist2) {
          if ((r = s.len(&container)) != Scan::kOk) return scan_error(s, r, "quicklist node");
          if (container != kQuicklistNodePacked && container != kQuicklistNodePlain) {
            return Status::corruption("quicklist node with unknown container " +
                                      std::to_string(container));
          }
        }
        if ((r = s.string(&a)) != Scan::kOk) return scan_error(s, r, "quicklist node");
        FERRY_RETURN_IF_ERROR(load(a, &node_buf_, &av));
        if (av.empty()) return Status::corruption("empty quicklist node");
        if (container == kQuicklistNodePlain) {
          v->on_list_item(av);
          elements_++;
        } else if (type == kTypeListQuicklist2) {
          FERRY_RETURN_IF_ERROR(decode_listpack_items(av, 1, kTypeList, v));
        } else {
          FERRY_RETURN_IF_ERROR(decode_ziplist_items(av, 1, kTypeList, v));
        }
        break;
      }
      default:
        return Status::corruption("not a counted type");
    }
  }
  if (!s.at_end()) return Status::corruption("trailing bytes after the last element");
  return Status::ok();
}

Status RdbDecoder::decode_blob(uint8_t type, std::string_view value, ValueVisitor* v) {
  RdbScanner s(value);
  Scan r = Scan::kOk;
  if (type == kTypeHashListpackEx && (r = s.skip(8)) != Scan::kOk) {
    return scan_error(s, r, "hash min-expire header");
  }
  StoredString str;
  if ((r = s.string(&str)) != Scan::kOk) return scan_error(s, r, "encoded value");
  if (!s.at_end()) return Status::corruption("trailing bytes after the encoded value");
  std::string_view blob;
  FERRY_RETURN_IF_ERROR(load(str, &node_buf_, &blob));
  switch (type) {
    case kTypeHashZipmap: {
      ZipmapReader z(blob);
      std::string_view f, val;
      while (z.next(&f, &val)) {
        v->on_hash_field(f, val, -1);
        elements_++;
      }
      return z.status();
    }
    case kTypeListZiplist:
      return decode_ziplist_items(blob, 1, kTypeList, v);
    case kTypeZsetZiplist:
      return decode_ziplist_items(blob, 2, kTypeZset, v);
    case kTypeHashZiplist:
      return decode_ziplist_items(blob, 2, kTypeHash, v);
    case kTypeSetIntset: {
      IntsetReader is;
      FERRY_RETURN_IF_ERROR(is.open(blob));
      char buf[24];
      for (uint32_t i = 0; i < is.size(); i++) {
        v->on_set_member(std::string_view(buf, format_int(is.at(i), buf)));
        elements_++;
      }
      return Status::ok();
    }
    case kTypeHashListpack:
      return decode_listpack_items(blob, 2, kTypeHash, v);
    case kTypeZsetListpack:
      return decode_listpack_items(blob, 2, kTypeZset, v);
    case kTypeSetListpack:
      return decode_listpack_items(blob, 1, kTypeSet, v);
    case kTypeHashListpackEx:
    case kTypeHashListpackExPreGa:
      return decode_listpack_items(blob, 3, kTypeHash, v);
    default:
      return Status::corruption(std::string("unsupported object type ") + type_name(type));
  }
}

namespace {

// Delivers tuples of blob entries (1: items, 2: pairs, 3: hash field/value/ttl) of `family`.
template <typename Reader>
Status visit_tuples(Reader& reader, int tuple, uint8_t family, ValueVisitor* v,
                    uint64_t* elements) {
  BlobEntry e[3];
  char nb[3][24];
  int n = 0;
  while (reader.next(&e[n])) {
    if (++n < tuple) continue;
    n = 0;
    std::string_view a = e[0].text(nb[0]);
    if (family == kTypeList) {
      v->on_list_item(a);
    } else if (family == kTypeSet) {
      v->on_set_member(a);
    } else if (family == kTypeZset) {
      double score;
      if (e[1].is_int) {
        score = static_cast<double>(e[1].int_value);
      } else if (!parse_score(e[1].str, &score)) {
        return Status::corruption("zset score " + printable(e[1].str) + " is not a number");
      }
      if (std::isnan(score)) return Status::corruption("zset member with a NaN score");
      v->on_zset_member(a, score);
    } else {
      int64_t expire = -1;
      if (tuple == 3) {
        int64_t ttl;
        if (!entry_int(e[2], &ttl) || ttl < 0) {
          return Status::corruption("hash field TTL is not a valid time");
        }
        if (ttl != 0) expire = ttl;
      }
      v->on_hash_field(a, e[1].text(nb[1]), expire);
    }
    (*elements)++;
  }
  FERRY_RETURN_IF_ERROR(reader.status());
  if (n != 0) {
    return Status::corruption("encoded value has " + std::to_string(reader.count()) +
                              " entries, not a multiple of " + std::to_string(tuple));
  }
  uint32_t declared = reader.declared_count();
  if (declared != 65535 && declared != reader.count()) {
    return Status::corruption("encoded value header counts " + std::to_string(declared) +
                              " entries, found " + std::to_string(reader.count()));
  }
  return Status::ok();
}

}  // namespace

Status RdbDecoder::decode_listpack_items(std::string_view lp, int tuple, uint8_t type,
                                         ValueVisitor* v) {
  ListpackReader r(lp);
  FERRY_RETURN_IF_ERROR(r.validate_header());
  return visit_tuples(r, tuple, type, v, &elements_);
}

Status RdbDecoder::decode_ziplist_items(std::string_view zl, int tuple, uint8_t type,
                                        ValueVisitor* v) {
  ZiplistReader r(zl);
  FERRY_RETURN_IF_ERROR(r.validate_header());
  return visit_tuples(r, tuple, type, v, &elements_);
}

Status RdbDecoder::decode_stream_nodes(std::string_view value, size_t* consumed, ValueVisitor* v) {
  RdbScanner s(value);
  Scan r;
  uint64_t nodes;
  if ((r = s.len(&nodes)) != Scan::kOk) return scan_error(s, r, "stream node count");
  for (uint64_t i = 0; i < nodes; i++) {
    StoredString key, lp;
    if ((r = s.string(&key)) != Scan::kOk) return scan_error(s, r, "stream node id");
    if ((r = s.string(&lp)) != Scan::kOk) return scan_error(s, r, "stream node");
    std::string_view kv, lv;
    FERRY_RETURN_IF_ERROR(load(key, &buf_a_, &kv));
    FERRY_RETURN_IF_ERROR(load(lp, &node_buf_, &lv));
    if (kv.size() != 16) return Status::corruption("stream node id is not 16 bytes");
    FERRY_RETURN_IF_ERROR(decode_stream_node(kv, lv, v));
  }
  *consumed = s.pos();
  return Status::ok();
}

Status RdbDecoder::decode_stream_node(std::string_view master_key, std::string_view lp,
                                      ValueVisitor* v) {
  StreamId master{load_be64(master_key.data()), load_be64(master_key.data() + 8)};
  ListpackReader r(lp);
  FERRY_RETURN_IF_ERROR(r.validate_header());
  BlobEntry e;
  auto next_int = [&](int64_t* out, const char* what) -> Status {
    if (!r.next(&e)) {
      if (!r.status().is_ok()) return r.status();
      return Status::corruption(std::string("stream node ends before its ") + what);
    }
    if (!entry_int(e, out))
      return Status::corruption(std::string("stream ") + what + " is not an integer");
    return Status::ok();
  };
  auto next_entry = [&](BlobEntry* out, const char* what) -> Status {
    if (!r.next(out)) {
      if (!r.status().is_ok()) return r.status();
      return Status::corruption(std::string("stream node ends before its ") + what);
    }
    return Status::ok();
  };
  int64_t count, deleted, master_fields, zero;
  FERRY_RETURN_IF_ERROR(next_int(&count, "entry count"));
  FERRY_RETURN_IF_ERROR(next_int(&deleted, "deleted count"));
  FERRY_RETURN_IF_ERROR(next_int(&master_fields, "master field count"));
  if (count < 0 || deleted < 0 || master_fields < 0) {
    return Status::corruption("stream node has negative counts");
  }
  if (count + deleted == 0) return Status::corruption("empty listpack inside a stream");
  master_fields_.clear();
  master_ints_.clear();
  std::vector<std::pair<size_t, size_t>> master_int_spans;
  for (int64_t i = 0; i < master_fields; i++) {
    BlobEntry f;
    FERRY_RETURN_IF_ERROR(next_entry(&f, "master fields"));
    if (f.is_int) {
      char nb[24];
      size_t off = master_ints_.size();
      master_ints_.append(nb, format_int(f.int_value, nb));
      master_int_spans.emplace_back(master_fields_.size(), off);
      master_fields_.emplace_back();
    } else {
      master_fields_.push_back(f.str);
    }
  }
  for (size_t i = 0; i < master_int_spans.size(); i++) {
    size_t end =
        i + 1 < master_int_spans.size() ? master_int_spans[i + 1].second : master_ints_.size();
    master_fields_[master_int_spans[i].first] =
        std::string_view(master_ints_)
            .substr(master_int_spans[i].second, end - master_int_spans[i].second);
  }
  FERRY_RETURN_IF_ERROR(next_int(&zero, "master terminator"));
  if (zero != 0) return Status::corruption("stream master entry is not terminated by 0");

  for (int64_t i = 0; i < count + deleted; i++) {
    int64_t flags, ms_diff, seq_diff;
    FERRY_RETURN_IF_ERROR(next_int(&flags, "entry flags"));
    FERRY_RETURN_IF_ERROR(next_int(&ms_diff, "entry id"));
    FERRY_RETURN_IF_ERROR(next_int(&seq_diff, "entry id"));
    StreamId id{master.ms + static_cast<uint64_t>(ms_diff),
                master.seq + static_cast<uint64_t>(seq_diff)};
    int64_t nfields = master_fields;
    bool same = flags & kStreamItemSameFields;
    if (!same) FERRY_RETURN_IF_ERROR(next_int(&nfields, "field count"));
    if (nfields < 0) return Status::corruption("stream entry with a negative field count");
    ints_.clear();
    // Values (and field names) may be integers: format them into ints_, then build views.
    std::vector<BlobEntry>& raw = raw_;
    raw.clear();
    for (int64_t f = 0; f < (same ? nfields : nfields * 2); f++) {
      BlobEntry x;
      FERRY_RETURN_IF_ERROR(next_entry(&x, "fields"));
      raw.push_back(x);
    }
    int64_t lp_count;
    FERRY_RETURN_IF_ERROR(next_int(&lp_count, "entry size"));
    int64_t expect = same ? nfields + 3 : nfields * 2 + 4;
    if (lp_count != expect) return Status::corruption("stream entry size field is wrong");
    if (flags & kStreamItemDeleted) continue;
    std::vector<std::string_view>& texts = texts_;
    texts.assign(raw.size(), std::string_view());
    std::vector<std::pair<size_t, size_t>>& int_spans = int_spans_;
    int_spans.clear();
    for (size_t k = 0; k < raw.size(); k++) {
      if (raw[k].is_int) {
        char nb[24];
        size_t off = ints_.size();
        ints_.append(nb, format_int(raw[k].int_value, nb));
        int_spans.emplace_back(k, off);
      } else {
        texts[k] = raw[k].str;
      }
    }
    for (size_t k = 0; k < int_spans.size(); k++) {
      size_t end = k + 1 < int_spans.size() ? int_spans[k + 1].second : ints_.size();
      texts[int_spans[k].first] =
          std::string_view(ints_).substr(int_spans[k].second, end - int_spans[k].second);
    }
    fields_.clear();
    if (same) {
      for (int64_t f = 0; f < nfields; f++) {
        fields_.emplace_back(master_fields_[static_cast<size_t>(f)], texts[static_cast<size_t>(f)]);
      }
    } else {
      for (int64_t f = 0; f < nfields; f++) {
        fields_.emplace_back(texts[static_cast<size_t>(2 * f)],
                             texts[static_cast<size_t>(2 * f + 1)]);
      }
    }
    v->on_stream_entry(id, fields_);
    elements_++;
  }
  if (r.next(&e)) return Status::corruption("stream node has trailing entries");
  return r.status();
}

Status RdbDecoder::decode_stream_tail(uint8_t type, std::string_view value, ValueVisitor* v) {
  bool v2 = type != kTypeStreamListpacks;
  bool v3 = type == kTypeStreamListpacks3;
  RdbScanner s(value);
  Scan r;
  StreamMeta meta;
  auto len = [&](uint64_t* out) -> Status {
    Scan rr = s.len(out);
    return rr == Scan::kOk ? Status::ok() : scan_error(s, rr, "stream metadata");
  };
  FERRY_RETURN_IF_ERROR(len(&meta.length));
  FERRY_RETURN_IF_ERROR(len(&meta.last_id.ms));
  FERRY_RETURN_IF_ERROR(len(&meta.last_id.seq));
  if (v2) {
    meta.has_extended = true;
    FERRY_RETURN_IF_ERROR(len(&meta.first_id.ms));
    FERRY_RETURN_IF_ERROR(len(&meta.first_id.seq));
    FERRY_RETURN_IF_ERROR(len(&meta.max_deleted_id.ms));
    FERRY_RETURN_IF_ERROR(len(&meta.max_deleted_id.seq));
    FERRY_RETURN_IF_ERROR(len(&meta.entries_added));
  }
  v->on_stream_meta(meta);
  uint64_t ngroups;
  FERRY_RETURN_IF_ERROR(len(&ngroups));
  std::string names;  // group and consumer names may be LZF-compressed: keep them here
  for (uint64_t g = 0; g < ngroups; g++) {
    StreamGroup group;
    StoredString name;
    if ((r = s.string(&name)) != Scan::kOk) return scan_error(s, r, "stream group name");
    std::string gname_buf;
    std::string_view gname;
    FERRY_RETURN_IF_ERROR(load(name, &gname_buf, &gname));
    group.name = gname;
    FERRY_RETURN_IF_ERROR(len(&group.last_id.ms));
    FERRY_RETURN_IF_ERROR(len(&group.last_id.seq));
    if (v2) {
      uint64_t er;
      FERRY_RETURN_IF_ERROR(len(&er));
      group.entries_read = static_cast<int64_t>(er);
    }
    uint64_t pel;
    FERRY_RETURN_IF_ERROR(len(&pel));
    for (uint64_t i = 0; i < pel; i++) {
      std::string_view raw;
      uint64_t t, count;
      if ((r = s.raw(16, &raw)) != Scan::kOk) return scan_error(s, r, "stream PEL");
      if ((r = s.le64(&t)) != Scan::kOk) return scan_error(s, r, "stream PEL");
      FERRY_RETURN_IF_ERROR(len(&count));
      StreamPending p;
      p.id = StreamId{load_be64(raw.data()), load_be64(raw.data() + 8)};
      p.delivery_time = static_cast<int64_t>(t);
      p.delivery_count = count;
      group.pending.push_back(p);
    }
    uint64_t nconsumers;
    FERRY_RETURN_IF_ERROR(len(&nconsumers));
    std::vector<std::string> cnames;
    cnames.reserve(static_cast<size_t>(std::min<uint64_t>(nconsumers, 1u << 16)));
    for (uint64_t c = 0; c < nconsumers; c++) {
      StreamConsumer consumer;
      if ((r = s.string(&name)) != Scan::kOk) return scan_error(s, r, "stream consumer");
      std::string_view cname;
      std::string cbuf;
      FERRY_RETURN_IF_ERROR(load(name, &cbuf, &cname));
      cnames.emplace_back(cname);
      uint64_t t;
      if ((r = s.le64(&t)) != Scan::kOk) return scan_error(s, r, "stream consumer");
      consumer.seen_time = static_cast<int64_t>(t);
      if (v3) {
        if ((r = s.le64(&t)) != Scan::kOk) return scan_error(s, r, "stream consumer");
        consumer.has_active_time = true;
        consumer.active_time = static_cast<int64_t>(t);
      }
      uint64_t cpel;
      FERRY_RETURN_IF_ERROR(len(&cpel));
      for (uint64_t i = 0; i < cpel; i++) {
        std::string_view raw;
        if ((r = s.raw(16, &raw)) != Scan::kOk) return scan_error(s, r, "consumer PEL");
        consumer.pending.push_back(StreamId{load_be64(raw.data()), load_be64(raw.data() + 8)});
      }
      group.consumers.push_back(std::move(consumer));
    }
    // Names are stable now (no more growth of cnames): point the views at them, and give
    // each group PEL entry its owner.
    std::map<StreamId, size_t> pel_index;
    for (size_t i = 0; i < group.pending.size(); i++)
      pel_index[group.pending[i].id] = i;
    for (size_t c = 0; c < group.consumers.size(); c++) {
      group.consumers[c].name = cnames[c];
      for (const StreamId& id : group.consumers[c].pending) {
        auto it = pel_index.find(id);
        if (it == pel_index.end()) {
          return Status::corruption("consumer PEL entry missing from the group PEL");
        }
        group.pending[it->second].consumer = cnames[c];
      }
    }
    v->on_stream_group(group);
  }
  if (!s.at_end()) return Status::corruption("trailing bytes after the stream groups");
  return Status::ok();
}

}  // namespace ferry::rdb
