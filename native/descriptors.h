#ifndef S3BRIDGE_DESCRIPTORS_H
#define S3BRIDGE_DESCRIPTORS_H
#include <node_api.h>
/* Adds replaceDescriptor to the addon's exports (native/descriptors.c). */
void register_descriptors (napi_env env, napi_value exports);
#endif
