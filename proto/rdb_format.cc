#include "proto/rdb_format.h"

namespace ferry::rdb {

const char* type_family(uint8_t t) {
  switch (t) {
    case kTypeString:
      return "string";
    case kTypeList:
    case kTypeListZiplist:
    case kTypeListQuicklist:
    case kTypeListQuicklist2:
      return "list";
    case kTypeSet:
    case kTypeSetIntset:
    case kTypeSetListpack:
      return "set";
    case kTypeZset:
    case kTypeZset2:
    case kTypeZsetZiplist:
    case kTypeZsetListpack:
      return "zset";
    case kTypeHash:
    case kTypeHashZipmap:
    case kTypeHashZiplist:
    case kTypeHashListpack:
    case kTypeHashMetadataPreGa:
    case kTypeHashListpackExPreGa:
    case kTypeHashMetadata:
    case kTypeHashListpackEx:
      return "hash";
    case kTypeStreamListpacks:
    case kTypeStreamListpacks2:
    case kTypeStreamListpacks3:
      return "stream";
    case kTypeModulePreGa:
    case kTypeModule2:
      return "module";
    default:
      return "unknown";
  }
}

const char* type_name(uint8_t t) {
  switch (t) {
    case kTypeString:
      return "STRING";
    case kTypeList:
      return "LIST";
    case kTypeSet:
      return "SET";
    case kTypeZset:
      return "ZSET";
    case kTypeHash:
      return "HASH";
    case kTypeZset2:
      return "ZSET_2";
    case kTypeModulePreGa:
      return "MODULE_PRE_GA";
    case kTypeModule2:
      return "MODULE_2";
    case kTypeHashZipmap:
      return "HASH_ZIPMAP";
    case kTypeListZiplist:
      return "LIST_ZIPLIST";
    case kTypeSetIntset:
      return "SET_INTSET";
    case kTypeZsetZiplist:
      return "ZSET_ZIPLIST";
    case kTypeHashZiplist:
      return "HASH_ZIPLIST";
    case kTypeListQuicklist:
      return "LIST_QUICKLIST";
    case kTypeStreamListpacks:
      return "STREAM_LISTPACKS";
    case kTypeHashListpack:
      return "HASH_LISTPACK";
    case kTypeZsetListpack:
      return "ZSET_LISTPACK";
    case kTypeListQuicklist2:
      return "LIST_QUICKLIST_2";
    case kTypeStreamListpacks2:
      return "STREAM_LISTPACKS_2";
    case kTypeSetListpack:
      return "SET_LISTPACK";
    case kTypeStreamListpacks3:
      return "STREAM_LISTPACKS_3";
    case kTypeHashMetadataPreGa:
      return "HASH_METADATA_PRE_GA";
    case kTypeHashListpackExPreGa:
      return "HASH_LISTPACK_EX_PRE_GA";
    case kTypeHashMetadata:
      return "HASH_METADATA";
    case kTypeHashListpackEx:
      return "HASH_LISTPACK_EX";
    default:
      return "UNKNOWN";
  }
}

int version_for_redis(int major, int minor) {
  if (major >= 8) return 12;
  if (major == 7) return minor >= 4 ? 12 : (minor >= 2 ? 11 : 10);
  if (major >= 5) return 9;
  if (major == 4) return 8;
  if (major == 3) return minor >= 2 ? 7 : 6;
  return 6;
}

}  // namespace ferry::rdb
