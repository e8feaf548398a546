/*
 * s3bridge extended attributes: getXattr(path, name) -> Promise<Buffer>, setXattr(path, name, value: Buffer)
 * and removeXattr(path, name) -> Promise<undefined>, each one libuv worker job.
 *
 * Why not fs-xattr (0.4.0, the latest): its completion callbacks never free the value buffer, the job on the
 * error path, or the napi_async_work itself, so every call leaks 0.6-1 KiB of native memory (a 10-minute soak
 * grew the daemon's RSS by hundreds of MiB with a flat JavaScript heap). Paths follow symlinks like getxattr(2);
 * callers pass /proc/self/fd/N for a descriptor they hold. A failure rejects with an Error carrying `code`
 * ('ENODATA', 'ENOTSUP', 'ENOENT', ...), `errno` (negative) and `syscall`, as Node's fs errors do.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include "xattr.h"

enum op { OP_GET, OP_SET, OP_REMOVE };

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  enum op op;
  char *path;
  char *name;
  char *value;     /* GET: the value read (malloc'd); SET: a copy of the value to write */
  size_t length;
  int err;
} xattr_job;

static const char *code_of (int e) {
  switch (e) {
    case ENODATA: return "ENODATA";
    case ENOTSUP: return "ENOTSUP";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case ENOSPC: return "ENOSPC";
#ifdef EDQUOT
    case EDQUOT: return "EDQUOT";
#endif
    case EROFS: return "EROFS";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case EBADF: return "EBADF";
    case ESTALE: return "ESTALE";
    default: return "UNKNOWN";
  }
}

static const char *syscall_of (enum op op) {
  return op == OP_GET ? "getxattr" : op == OP_SET ? "setxattr" : "removexattr";
}

static void execute (napi_env env, void *data) {
  (void)env;
  xattr_job *job = (xattr_job *)data;
  if (job->op == OP_SET) {
    if (setxattr(job->path, job->name, job->value, job->length, 0) != 0) job->err = errno;
    return;
  }
  if (job->op == OP_REMOVE) {
    if (removexattr(job->path, job->name) != 0) job->err = errno;
    return;
  }
  /* GET: one read into 4 KiB covers metadata and ACLs; a larger value is sized and read again (it may grow
   * between the two calls: retry on ERANGE a few times). */
  size_t size = 4096;
  for (int attempt = 0; attempt < 4; attempt++) {
    char *buf = (char *)malloc(size > 0 ? size : 1);
    if (buf == NULL) { job->err = ENOMEM; return; }
    ssize_t n = getxattr(job->path, job->name, buf, size);
    if (n >= 0) { job->value = buf; job->length = (size_t)n; return; }
    free(buf);
    if (errno != ERANGE) { job->err = errno; return; }
    ssize_t need = getxattr(job->path, job->name, NULL, 0);
    if (need < 0) { job->err = errno; return; }
    size = (size_t)need + 64;
  }
  job->err = ERANGE;
}

static void job_free (xattr_job *job) {
  free(job->path);
  free(job->name);
  free(job->value);
  free(job);
}

static void reject_errno (napi_env env, napi_deferred deferred, int e, const char *syscall, const char *path) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code_of(e), strerror(e), syscall, path != NULL ? path : "");
  napi_value code, text, error, num, sc;
  napi_create_string_utf8(env, code_of(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, -e, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_reject_deferred(env, deferred, error);
}

static void complete (napi_env env, napi_status status, void *data) {
  xattr_job *job = (xattr_job *)data;
  if (status != napi_ok && job->err == 0) job->err = EINTR;
  if (job->err != 0) {
    reject_errno(env, job->deferred, job->err, syscall_of(job->op), job->path);
  } else if (job->op == OP_GET) {
    napi_value buffer;
    void *unused;
    if (napi_create_buffer_copy(env, job->length, job->value != NULL ? job->value : "", &unused, &buffer) == napi_ok) {
      napi_resolve_deferred(env, job->deferred, buffer);
    } else {
      reject_errno(env, job->deferred, ENOMEM, "getxattr", job->path);
    }
  } else {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, job->deferred, undefined);
  }
  napi_delete_async_work(env, job->work);
  job_free(job);
}

/* A JavaScript string argument as a malloc'd UTF-8 C string (NULL after throwing a TypeError). */
static char *string_arg (napi_env env, napi_value v, const char *what) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return NULL;
  }
  char *s = (char *)malloc(len + 1);
  if (s == NULL) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { /* an embedded NUL would silently shorten the path */
    free(s);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", what);
    return NULL;
  }
  return s;
}

static napi_value start (napi_env env, napi_callback_info info, enum op op) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < (op == OP_SET ? 3u : 2u)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "xattr calls take (path, name[, value])");
    return NULL;
  }
  xattr_job *job = (xattr_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  job->op = op;
  job->path = string_arg(env, argv[0], "path must be a string without NUL");
  if (job->path == NULL) { job_free(job); return NULL; }
  job->name = string_arg(env, argv[1], "name must be a string without NUL");
  if (job->name == NULL) { job_free(job); return NULL; }
  if (op == OP_SET) {
    bool is_buffer = false;
    napi_is_buffer(env, argv[2], &is_buffer);
    if (is_buffer) {
      void *bytes;
      size_t len;
      napi_get_buffer_info(env, argv[2], &bytes, &len);
      job->value = (char *)malloc(len > 0 ? len : 1);
      if (job->value == NULL) { job_free(job); napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
      memcpy(job->value, bytes, len);
      job->length = len;
    } else {
      job->value = string_arg(env, argv[2], "value must be a Buffer or a string");
      if (job->value == NULL) { job_free(job); return NULL; }
      job->length = strlen(job->value);
    }
  }
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) { job_free(job); return NULL; }
  napi_create_string_utf8(env, "s3bridge:xattr", NAPI_AUTO_LENGTH, &name);
  napi_status st = napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  if (st == napi_ok && napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    st = napi_generic_failure;
  }
  if (st != napi_ok) {
    reject_errno(env, job->deferred, ENOMEM, syscall_of(op), job->path);
    job_free(job);
  }
  return promise;
}

static napi_value get_xattr (napi_env env, napi_callback_info info) { return start(env, info, OP_GET); }
static napi_value set_xattr (napi_env env, napi_callback_info info) { return start(env, info, OP_SET); }
static napi_value remove_xattr (napi_env env, napi_callback_info info) { return start(env, info, OP_REMOVE); }

void register_xattr (napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "getXattr", NAPI_AUTO_LENGTH, get_xattr, NULL, &fn);
  napi_set_named_property(env, exports, "getXattr", fn);
  napi_create_function(env, "setXattr", NAPI_AUTO_LENGTH, set_xattr, NULL, &fn);
  napi_set_named_property(env, exports, "setXattr", fn);
  napi_create_function(env, "removeXattr", NAPI_AUTO_LENGTH, remove_xattr, NULL, &fn);
  napi_set_named_property(env, exports, "removeXattr", fn);
}
