#ifndef S3BRIDGE_MEMORY_H
#define S3BRIDGE_MEMORY_H
#include <node_api.h>
/* Adds trimMemory to the addon's exports (native/memory.c). */
void register_memory (napi_env env, napi_value exports);
#endif
