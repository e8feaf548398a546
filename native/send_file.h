#ifndef S3BRIDGE_SEND_FILE_H
#define S3BRIDGE_SEND_FILE_H
#include <node_api.h>
/* Adds socketDescriptor, sendFile, waitWritable and shutdownSocket to the addon's exports (native/send_file.c). */
void register_send_file (napi_env env, napi_value exports);
#endif
