#ifndef S3BRIDGE_MD5_WRITE_H
#define S3BRIDGE_MD5_WRITE_H
#include <node_api.h>
/* Adds md5Open, md5Write and md5Digest to the addon's exports (native/md5_write.c). */
void register_md5_write (napi_env env, napi_value exports);
#endif
