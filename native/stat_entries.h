#ifndef S3BRIDGE_STAT_ENTRIES_H
#define S3BRIDGE_STAT_ENTRIES_H
#include <node_api.h>
/* Adds statEntries to the addon's exports (native/stat_entries.c). */
void register_stat_entries (napi_env env, napi_value exports);
/* Adds readDirTypes (a whole folder's names and entry types in one job). */
void register_read_dir_types (napi_env env, napi_value exports);
#endif
