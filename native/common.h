#ifndef S3BRIDGE_COMMON_H
#define S3BRIDGE_COMMON_H
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A timestamp in nanoseconds since the epoch, as the stat arrays carry it. int64 nanoseconds end in April 2262
 * (and begin in 1677): an mtime an NFS user set beyond them is clamped to the last representable instant instead
 * of wrapping into the past (signed overflow is undefined behaviour besides). */
static inline int64_t s3b_time_ns (const struct timespec *t) {
  const int64_t most = INT64_MAX / 1000000000LL;
  if (t->tv_sec >= most) return INT64_MAX;
  if (t->tv_sec <= -most) return INT64_MIN;
  return (int64_t)t->tv_sec * 1000000000LL + (int64_t)t->tv_nsec;
}
/* What every job of the addon shares: errno names, rejections shaped like Node's fs errors, queuing. */

/* 'ENOENT', 'EXDEV', ... ("UNKNOWN" for a value not listed). */
const char *s3b_errno_code (int e);
/* Rejects with an Error whose `code` is s3b_errno_code(e), `errno` is -e and `syscall` is set. The message is
 * `message` when given, else "CODE: strerror, syscall 'detail'" (detail may be NULL). */
void s3b_reject_errno (napi_env env, napi_deferred deferred, int e, const char *syscall, const char *detail, const char *message);
/* Rejects with an Error carrying only a code and a message (failures that are not a system call's). */
void s3b_reject_code (napi_env env, napi_deferred deferred, const char *code, const char *message);
/* The end of every entry point: creates the job's promise and queues the job on libuv's pool. Returns the
 * promise to hand back to JavaScript. When *queued is false nothing was queued and the caller frees the job: the
 * promise is then already rejected with ENOMEM, or NULL when not even the promise could be made. */
napi_value s3b_start (napi_env env, const char *resource, napi_async_execute_callback execute,
                      napi_async_complete_callback complete, void *data, napi_async_work *work,
                      napi_deferred *deferred, bool *queued);
/* A string argument as a malloc'ed UTF-8 copy with `extra` spare bytes after its NUL; NULL when it is not a
 * string or memory is short. *len_out (optional) gets its length. */
char *s3b_string (napi_env env, napi_value v, size_t extra, size_t *len_out);
/* A typed array of `count` elements of `elem` bytes copied from `src`; NULL on failure. */
napi_value s3b_typed (napi_env env, napi_typedarray_type type, size_t count, size_t elem, const void *src);
/* Adds exports[name] = a JavaScript function calling cb (every entry point of the addon is added this way). */
void s3b_export (napi_env env, napi_value exports, const char *name, napi_callback cb);
/* Splits names joined by '/' in place (each '/' becomes a NUL) and sets *offsets (malloc'ed, at least one slot)
 * to the start of each and *count to how many; an empty string is no names. Returns 0, ERANGE past `max` names,
 * or ENOMEM. */
int s3b_split_names (char *names, size_t len, uint32_t max, uint32_t **offsets, uint32_t *count);
/* Clears a pending JavaScript exception (before rejecting a promise instead). */
void s3b_clear_exception (napi_env env);
#endif
