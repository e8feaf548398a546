/* Shared pieces of the s3bridge addon (see common.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

const char *s3b_errno_code (int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ETXTBSY: return "ETXTBSY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case E2BIG: return "E2BIG";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case ENODATA: return "ENODATA";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTSUP: return "ENOTSUP"; /* == EOPNOTSUPP on Linux */
    case ESTALE: return "ESTALE";
#ifdef EDQUOT
    case EDQUOT: return "EDQUOT";
#endif
    default: return "UNKNOWN";
  }
}

void s3b_reject_errno (napi_env env, napi_deferred deferred, int e, const char *syscall, const char *detail, const char *message) {
  char msg[512];
  if (message == NULL) {
    if (detail != NULL) snprintf(msg, sizeof msg, "%s: %s, %s '%.300s'", s3b_errno_code(e), strerror(e), syscall, detail);
    else snprintf(msg, sizeof msg, "%s: %s, %s", s3b_errno_code(e), strerror(e), syscall);
    message = msg;
  }
  napi_value code, text, error, num, sc;
  napi_create_string_utf8(env, s3b_errno_code(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, -e, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_reject_deferred(env, deferred, error);
}

void s3b_reject_code (napi_env env, napi_deferred deferred, const char *code, const char *message) {
  napi_value c, t, e;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &t);
  napi_create_error(env, c, t, &e);
  napi_reject_deferred(env, deferred, e);
}

static napi_status queue (napi_env env, const char *resource, napi_async_execute_callback execute,
                          napi_async_complete_callback complete, void *data, napi_async_work *work) {
  napi_value name;
  napi_status st = napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name);
  if (st == napi_ok) st = napi_create_async_work(env, NULL, name, execute, complete, data, work);
  if (st == napi_ok && napi_queue_async_work(env, *work) != napi_ok) {
    napi_delete_async_work(env, *work);
    st = napi_generic_failure;
  }
  return st;
}

napi_value s3b_start (napi_env env, const char *resource, napi_async_execute_callback execute,
                      napi_async_complete_callback complete, void *data, napi_async_work *work,
                      napi_deferred *deferred, bool *queued) {
  napi_value promise;
  *queued = false;
  if (napi_create_promise(env, deferred, &promise) != napi_ok) return NULL;
  if (queue(env, resource, execute, complete, data, work) != napi_ok) {
    char message[160];
    snprintf(message, sizeof message, "%s: cannot queue the job", resource);
    s3b_reject_code(env, *deferred, "ENOMEM", message);
    return promise;
  }
  *queued = true;
  return promise;
}

char *s3b_string (napi_env env, napi_value v, size_t extra, size_t *len_out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return NULL;
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = (char *)malloc(len + 1 + extra);
  if (s == NULL) return NULL;
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) { free(s); return NULL; }
  if (len_out) *len_out = len;
  return s;
}

napi_value s3b_typed (napi_env env, napi_typedarray_type type, size_t count, size_t elem, const void *src) {
  void *dst;
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, count * elem, &dst, &ab) != napi_ok) return NULL;
  if (count > 0) memcpy(dst, src, count * elem);
  if (napi_create_typedarray(env, type, count, ab, 0, &arr) != napi_ok) return NULL;
  return arr;
}

void s3b_clear_exception (napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) { napi_value ex; napi_get_and_clear_last_exception(env, &ex); }
}

void s3b_export (napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok) napi_set_named_property(env, exports, name, fn);
}

int s3b_split_names (char *names, size_t len, uint32_t max, uint32_t **offsets, uint32_t *count) {
  uint32_t n = 0;
  if (len > 0) {
    n = 1;
    for (size_t i = 0; i < len; i++) if (names[i] == '/') n++;
  }
  if (n > max) return ERANGE;
  uint32_t *off = (uint32_t *)malloc(sizeof(uint32_t) * (n ? n : 1));
  if (off == NULL) return ENOMEM;
  uint32_t k = 0;
  if (n > 0) {
    off[k++] = 0;
    for (size_t i = 0; i < len; i++) {
      if (names[i] == '/') { names[i] = '\0'; off[k++] = (uint32_t)(i + 1); }
    }
  }
  *offsets = off;
  *count = n;
  return 0;
}
