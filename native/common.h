#ifndef S3BRIDGE_COMMON_H
#define S3BRIDGE_COMMON_H
#include <node_api.h>
/* What every job of the addon shares: errno names, rejections shaped like Node's fs errors, queuing. */

/* 'ENOENT', 'EXDEV', ... ("UNKNOWN" for a value not listed). */
const char *s3b_errno_code (int e);
/* Rejects with an Error whose `code` is s3b_errno_code(e), `errno` is -e and `syscall` is set. The message is
 * `message` when given, else "CODE: strerror, syscall 'detail'" (detail may be NULL). */
void s3b_reject_errno (napi_env env, napi_deferred deferred, int e, const char *syscall, const char *detail, const char *message);
/* Rejects with an Error carrying only a code and a message (failures that are not a system call's). */
void s3b_reject_code (napi_env env, napi_deferred deferred, const char *code, const char *message);
/* Creates and queues a libuv job; on failure nothing stays queued and the caller rejects and frees. */
napi_status s3b_queue (napi_env env, const char *resource, napi_async_execute_callback execute,
                       napi_async_complete_callback complete, void *data, napi_async_work *work);
#endif
