#ifndef S3BRIDGE_FOLDER_PROBE_H
#define S3BRIDGE_FOLDER_PROBE_H
#include <node_api.h>
/* Adds holdsKeys (whether a key lies beneath each of a batch of folders: native/folder_probe.c). */
void register_folder_probe (napi_env env, napi_value exports);
#endif
