/*
 * s3bridge kernel copy: copyRange(fdIn, offIn, fdOut, offOut, length) -> Promise<'clone' | 'copy'>.
 *
 * Copies `length` bytes from fdIn at offIn to fdOut at offOut inside the kernel, on a libuv worker thread
 * (never on the event loop): first a reflink (ioctl FICLONERANGE) when the offsets are block-aligned and the
 * filesystem offers one, otherwise copy_file_range(2) in a loop until every byte is copied. The file offsets
 * of both descriptors are left alone (explicit offsets only), so a failed call can simply be redone.
 *
 * A failure rejects with an Error carrying `code` ('EXDEV', 'ENOSPC', ...), `errno` (negative, as Node's fs
 * errors) and `syscall`. Running out of source bytes before `length` is EIO ("unexpected end of file").
 * Plain C against node_api.h only: nothing to download at build time.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#endif

#include "common.h"
#include "object_path.h"
#include "memory.h"
#include "descriptors.h"
#include "folder_probe.h"
#include "md5_write.h"
#include "send_file.h"
#include "stat_entries.h"
#include "xattr.h"

/* One kernel call copies at most this much (Linux caps a single copy near 2 GiB anyway). */
#define MAX_CHUNK ((int64_t)1 << 30)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd_in;
  int fd_out;
  int64_t off_in;
  int64_t off_out;
  int64_t length;
  int err;               /* 0 or errno */
  const char *syscall;   /* which call failed */
  int cloned;            /* 1 when FICLONERANGE did the whole range */
} copy_job;

#ifdef __linux__
/* Tries a reflink of the whole range. Returns 1 when done, 0 to fall through to copying, -1 on a real error. */
static int try_clone (copy_job *job) {
#ifdef FICLONERANGE
  struct stat st;
  if (fstat(job->fd_out, &st) != 0) return 0;
  int64_t bs = st.st_blksize > 0 ? (int64_t)st.st_blksize : 4096;
  /* The kernel wants block-aligned offsets; the length too, unless the range ends at the source's EOF. */
  if (job->off_in % bs != 0 || job->off_out % bs != 0) return 0;
  struct file_clone_range r;
  r.src_fd = job->fd_in;
  r.src_offset = (uint64_t)job->off_in;
  r.src_length = (uint64_t)job->length; /* never 0 here: 0 would mean "to EOF" */
  r.dest_offset = (uint64_t)job->off_out;
  for (;;) {
    if (ioctl(job->fd_out, FICLONERANGE, &r) == 0) return 1;
    if (errno == EINTR) continue;
    break;
  }
  switch (errno) {
    /* Not offered here, across filesystems, or not suitably aligned / not a regular file: copy instead. */
    case EOPNOTSUPP: case EXDEV: case EINVAL: case ENOTTY: case ENOSYS: case EBADF: case EPERM: case ETXTBSY:
      return 0;
    default:
      job->err = errno;
      job->syscall = "ioctl";
      return -1;
  }
#else
  (void)job;
  return 0;
#endif
}

/*
 * Whether holes of the source may be skipped rather than copied as zeros (a sparse VM image or database file would
 * otherwise be allocated in full by the copy, and can fill the filesystem): only when the source has holes at all
 * (fewer blocks than its size), holds the whole range (else the copy must fail as short), and the destination
 * ends at or before offOut, so what is skipped reads as zeros there (a fresh object or the next part appended).
 */
static bool holes_can_stay (const copy_job *job) {
  struct stat in, out;
  if (fstat(job->fd_in, &in) != 0 || fstat(job->fd_out, &out) != 0) return false;
  if (!S_ISREG(in.st_mode) || (int64_t)in.st_blocks * 512 >= (int64_t)in.st_size) return false;
  return job->off_in + job->length <= (int64_t)in.st_size && (int64_t)out.st_size <= job->off_out;
}

static ssize_t cfr (int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len) {
#ifdef SYS_copy_file_range
  int64_t in = *off_in, out = *off_out; /* the kernel's loff_t is 64-bit everywhere */
  ssize_t n = syscall(SYS_copy_file_range, fd_in, &in, fd_out, &out, len, 0u);
  if (n > 0) { *off_in = in; *off_out = out; }
  return n;
#else
  (void)fd_in; (void)off_in; (void)fd_out; (void)off_out; (void)len;
  errno = ENOSYS;
  return -1;
#endif
}
#endif

static void execute (napi_env env, void *data) {
  (void)env;
  copy_job *job = (copy_job *)data;
  if (job->length == 0) return;
#ifdef __linux__
  int c = try_clone(job);
  if (c == 1) { job->cloned = 1; return; }
  if (c < 0) return;
  int64_t in = job->off_in, out = job->off_out, left = job->length;
  bool sparse = holes_can_stay(job);
  while (left > 0) {
    size_t want = (size_t)(left < MAX_CHUNK ? left : MAX_CHUNK);
    if (sparse) {
      /* Skip the source's hole here (the destination past its end reads as zeros already), and copy only up to
       * the next hole. SEEK_DATA/SEEK_HOLE move fd_in's offset, which nothing reads (explicit offsets only). */
      off_t data = lseek(job->fd_in, (off_t)in, SEEK_DATA);
      if (data < 0 && errno == ENXIO) data = (off_t)(in + left); /* a hole to the end of the range */
      if (data < 0) { sparse = false; continue; } /* SEEK_DATA not offered: copy everything */
      if (data > in) {
        int64_t skip = (int64_t)data - in < left ? (int64_t)data - in : left;
        in += skip; out += skip; left -= skip;
        continue;
      }
      off_t hole = lseek(job->fd_in, (off_t)in, SEEK_HOLE);
      if (hole > in && (int64_t)hole - in < (int64_t)want) want = (size_t)((int64_t)hole - in);
    }
    ssize_t n = cfr(job->fd_in, &in, job->fd_out, &out, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      job->err = errno;
      job->syscall = "copy_file_range";
      return;
    }
    if (n == 0) { /* the source ended before `length` bytes */
      job->err = EIO;
      job->syscall = "copy_file_range";
      return;
    }
    left -= n;
  }
  if (sparse) {
    /* A range that ended in a hole: the destination still needs its full length. */
    struct stat st;
    if (fstat(job->fd_out, &st) == 0 && st.st_size < job->off_out + job->length && ftruncate(job->fd_out, (off_t)(job->off_out + job->length)) != 0) {
      job->err = errno;
      job->syscall = "ftruncate";
    }
  }
#else
  job->err = ENOSYS;
  job->syscall = "copy_file_range";
#endif
}

static void complete (napi_env env, napi_status status, void *data) {
  copy_job *job = (copy_job *)data;
  if (status != napi_ok && job->err == 0) { job->err = EINTR; job->syscall = "copy_file_range"; }
  if (job->err == 0) {
    napi_value method;
    napi_create_string_utf8(env, job->cloned ? "clone" : "copy", NAPI_AUTO_LENGTH, &method);
    napi_resolve_deferred(env, job->deferred, method);
  } else {
    if (job->err == EIO && job->syscall != NULL && strcmp(job->syscall, "copy_file_range") == 0) {
      s3b_reject_errno(env, job->deferred, EIO, job->syscall, NULL, "EIO: unexpected end of file or i/o error, copy_file_range");
    } else {
      s3b_reject_errno(env, job->deferred, job->err, job->syscall, NULL, NULL);
    }
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value throw_type (napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static int get_int64 (napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= 0) || d > 9007199254740991.0 || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
}

static napi_value copy_range (napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) return throw_type(env, "copyRange(fdIn, offIn, fdOut, offOut, length) takes five numbers");
  int64_t v[5];
  for (int i = 0; i < 5; i++) {
    if (!get_int64(env, argv[i], &v[i])) return throw_type(env, "copyRange: every argument must be a non-negative integer");
  }
  if (v[0] > INT32_MAX || v[2] > INT32_MAX) return throw_type(env, "copyRange: bad file descriptor");
  copy_job *job = (copy_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "copyRange: out of memory"); return NULL; }
  job->fd_in = (int)v[0];
  job->off_in = v[1];
  job->fd_out = (int)v[2];
  job->off_out = v[3];
  job->length = v[4];
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:copyRange", execute, complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { free(job); }
  return promise;
}

static napi_value init (napi_env env, napi_value exports) {
  s3b_export(env, exports, "copyRange", copy_range);
  register_stat_entries(env, exports);
  register_read_dir_sorted(env, exports);
  register_xattr(env, exports);
  register_object_path(env, exports);
  register_memory(env, exports);
  register_descriptors(env, exports);
  register_folder_probe(env, exports);
  register_md5_write(env, exports);
  register_send_file(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
