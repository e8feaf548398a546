#ifndef S3BRIDGE_XATTR_H
#define S3BRIDGE_XATTR_H
#include <node_api.h>
/* Adds getXattr, setXattr and removeXattr to the addon's exports (native/xattr.c). */
void register_xattr (napi_env env, napi_value exports);
#endif
