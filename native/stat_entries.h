#ifndef S3BRIDGE_STAT_ENTRIES_H
#define S3BRIDGE_STAT_ENTRIES_H
#include <node_api.h>
/* Adds statEntries to the addon's exports (native/stat_entries.c). */
void register_stat_entries (napi_env env, napi_value exports);
/* Adds readDirSorted (a whole folder's sort keys, filtered and sorted in one job). */
void register_read_dir_sorted (napi_env env, napi_value exports);
#endif
