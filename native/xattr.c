/*
 * s3bridge extended attributes: getXattr(path, name) -> Promise<Buffer>, setXattr(path, name, value: Buffer
 * [, flags: XATTR_CREATE 1 | XATTR_REPLACE 2]) and removeXattr(path, name) -> Promise<undefined>, each one libuv
 * worker job. XATTR_CREATE fails with EEXIST when the attribute is there: a create-only folder marker's one winner.
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

#include "common.h"
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
  int flags;       /* SET: setxattr(2)'s flags */
  int err;
} xattr_job;

static const char *syscall_of (enum op op) {
  return op == OP_GET ? "getxattr" : op == OP_SET ? "setxattr" : "removexattr";
}

static void execute (napi_env env, void *data) {
  (void)env;
  xattr_job *job = (xattr_job *)data;
  if (job->op == OP_SET) {
    if (setxattr(job->path, job->name, job->value, job->length, job->flags) != 0) job->err = errno;
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

static void complete (napi_env env, napi_status status, void *data) {
  xattr_job *job = (xattr_job *)data;
  if (status != napi_ok && job->err == 0) job->err = EINTR;
  if (job->err != 0) {
    s3b_reject_errno(env, job->deferred, job->err, syscall_of(job->op), job->path, NULL);
  } else if (job->op == OP_GET) {
    napi_value buffer;
    void *unused;
    if (napi_create_buffer_copy(env, job->length, job->value != NULL ? job->value : "", &unused, &buffer) == napi_ok) {
      napi_resolve_deferred(env, job->deferred, buffer);
    } else {
      s3b_reject_errno(env, job->deferred, ENOMEM, "getxattr", job->path, NULL);
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
  size_t argc = 4;
  napi_value argv[4];
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
    /* Absent or undefined: 0. Otherwise exactly 0, XATTR_CREATE or XATTR_REPLACE (a number with no fraction). */
    napi_valuetype type = napi_undefined;
    if (argc >= 4 && napi_typeof(env, argv[3], &type) != napi_ok) type = napi_null;
    double flags = 0;
    if (type != napi_undefined && (type != napi_number || napi_get_value_double(env, argv[3], &flags) != napi_ok ||
        !(flags == 0 || flags == XATTR_CREATE || flags == XATTR_REPLACE))) {
      job_free(job);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "flags must be 0, XATTR_CREATE (1) or XATTR_REPLACE (2)");
      return NULL;
    }
    job->flags = (int)flags;
  }
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:xattr", execute, complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { job_free(job); }
  return promise;
}

static napi_value get_xattr (napi_env env, napi_callback_info info) { return start(env, info, OP_GET); }
static napi_value set_xattr (napi_env env, napi_callback_info info) { return start(env, info, OP_SET); }
static napi_value remove_xattr (napi_env env, napi_callback_info info) { return start(env, info, OP_REMOVE); }

void register_xattr (napi_env env, napi_value exports) {
  s3b_export(env, exports, "getXattr", get_xattr);
  s3b_export(env, exports, "setXattr", set_xattr);
  s3b_export(env, exports, "removeXattr", remove_xattr);
}
