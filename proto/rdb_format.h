// The RDB file format: opcodes, object types, length and string encodings, and which RDB
// version introduced which object type. Shared by the streaming reader, the value decoder,
// the DUMP-payload builder and the test RDB writer.
#pragma once

#include <cstdint>

namespace ferry::rdb {

// The newest RDB version this parser understands (Redis 7.4 .. 8.4 write 12).
constexpr int kMaxVersion = 12;

// Opcodes that may appear where an object type is expected.
enum Opcode : uint8_t {
  kOpSlotInfo = 244,
  kOpFunction2 = 245,
  kOpFunctionPreGa = 246,
  kOpModuleAux = 247,
  kOpIdle = 248,
  kOpFreq = 249,
  kOpAux = 250,
  kOpResizeDb = 251,
  kOpExpireTimeMs = 252,
  kOpExpireTime = 253,
  kOpSelectDb = 254,
  kOpEof = 255,
};

// Object types (the byte before a key).
enum Type : uint8_t {
  kTypeString = 0,
  kTypeList = 1,
  kTypeSet = 2,
  kTypeZset = 3,
  kTypeHash = 4,
  kTypeZset2 = 5,
  kTypeModulePreGa = 6,
  kTypeModule2 = 7,
  kTypeHashZipmap = 9,
  kTypeListZiplist = 10,
  kTypeSetIntset = 11,
  kTypeZsetZiplist = 12,
  kTypeHashZiplist = 13,
  kTypeListQuicklist = 14,
  kTypeStreamListpacks = 15,
  kTypeHashListpack = 16,
  kTypeZsetListpack = 17,
  kTypeListQuicklist2 = 18,
  kTypeStreamListpacks2 = 19,
  kTypeSetListpack = 20,
  kTypeStreamListpacks3 = 21,
  kTypeHashMetadataPreGa = 22,
  kTypeHashListpackExPreGa = 23,
  kTypeHashMetadata = 24,
  kTypeHashListpackEx = 25,
};

inline bool is_object_type(uint8_t t) {
  return t <= 25 && t != 8;
}

// The first RDB version whose loader knows object type t: a DUMP payload holding type t can be
// stamped with this version and restored on any server whose RDB version is at least this.
inline int min_version_for_type(uint8_t t) {
  switch (t) {
    case kTypeString:
    case kTypeList:
    case kTypeSet:
    case kTypeZset:
    case kTypeHash:
      return 1;
    case kTypeHashZipmap:
    case kTypeListZiplist:
    case kTypeSetIntset:
    case kTypeZsetZiplist:
    case kTypeHashZiplist:
      return 4;
    case kTypeListQuicklist:
      return 7;
    case kTypeZset2:
    case kTypeModulePreGa:
    case kTypeModule2:
      return 8;
    case kTypeStreamListpacks:
      return 9;
    case kTypeHashListpack:
    case kTypeZsetListpack:
    case kTypeListQuicklist2:
    case kTypeStreamListpacks2:
      return 10;
    case kTypeSetListpack:
    case kTypeStreamListpacks3:
      return 11;
    default:
      return 12;
  }
}

// Names as Redis's TYPE command reports them, for messages.
const char* type_family(uint8_t t);
// The RDB type name, e.g. "HASH_LISTPACK", for messages.
const char* type_name(uint8_t t);

// Length encoding: the top two bits of the first byte.
constexpr uint8_t kLen6Bit = 0;
constexpr uint8_t kLen14Bit = 1;
constexpr uint8_t kLenEncoded = 3;  // the low 6 bits name a special string encoding
constexpr uint8_t kLen32Bit = 0x80;
constexpr uint8_t kLen64Bit = 0x81;

// Special string encodings (after kLenEncoded).
constexpr uint8_t kEncInt8 = 0;
constexpr uint8_t kEncInt16 = 1;
constexpr uint8_t kEncInt32 = 2;
constexpr uint8_t kEncLzf = 3;

// Quicklist 2 node containers.
constexpr uint64_t kQuicklistNodePlain = 1;
constexpr uint64_t kQuicklistNodePacked = 2;

// Module values (RDB_TYPE_MODULE_2 and MODULE_AUX) are a sequence of typed items.
constexpr uint64_t kModuleOpEof = 0;
constexpr uint64_t kModuleOpSint = 1;
constexpr uint64_t kModuleOpUint = 2;
constexpr uint64_t kModuleOpFloat = 3;
constexpr uint64_t kModuleOpDouble = 4;
constexpr uint64_t kModuleOpString = 5;

// Stream listpack entry flags.
constexpr int64_t kStreamItemDeleted = 1;
constexpr int64_t kStreamItemSameFields = 2;

// The RDB version of a server from its INFO redis_version ("7.0.15" -> 10).
int version_for_redis(int major, int minor);

}  // namespace ferry::rdb
