#ifndef S3BRIDGE_OBJECT_PATH_H
#define S3BRIDGE_OBJECT_PATH_H
#include <node_api.h>
/* Adds walkPath, readObject and publishFile (native/object_path.c) to the addon's exports. */
void register_object_path (napi_env env, napi_value exports);
#endif
