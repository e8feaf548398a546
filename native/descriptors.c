/*
 * replaceDescriptor(fd, withFd): makes descriptor number `fd` refer to what `withFd` refers to (dup3), closing
 * what `fd` referred to, in one step.
 *
 * A bucket's staging folder is held open and used as `/proc/self/fd/N/...` by requests that may still be
 * running when the bucket is deleted or unmapped (lib/storage/paths.ts). Closing N would free the number for
 * the next open(), and such a late path would then name an unrelated folder; keeping N open keeps the bucket's
 * filesystem busy (the admin cannot unmount the export). Pointing N at a folder that has been removed does
 * neither: the old folder and its filesystem are released at once, N stays taken, and a late path fails with
 * ENOENT (Linux creates nothing in a deleted directory). Synchronous: dup3 does no I/O.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "common.h"
#include "descriptors.h"

static napi_value replace_descriptor (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1, with_fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &with_fd) != napi_ok ||
      fd < 0 || with_fd < 0 || fd == with_fd) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "replaceDescriptor takes two different descriptors");
    return NULL;
  }
  int r;
  do { r = dup3(with_fd, fd, O_CLOEXEC); } while (r < 0 && errno == EINTR);
  if (r < 0) {
    napi_throw_error(env, s3b_errno_code(errno), "replaceDescriptor: dup3 failed");
    return NULL;
  }
  return NULL;
}

void register_descriptors (napi_env env, napi_value exports) {
  s3b_export(env, exports, "replaceDescriptor", replace_descriptor);
}
