/* Shared pieces of the s3bridge addon (see common.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
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

napi_status s3b_queue (napi_env env, const char *resource, napi_async_execute_callback execute,
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
