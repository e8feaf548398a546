/*
 * s3bridge per-request lookups, each ONE libuv worker job instead of one thread-pool hand-off per system call
 * (a profile of 4 KiB GETs spent ~40% of the event loop's time in the fs bindings' hand-offs: stat, lstat,
 * open, fstat, readlink, getxattr, read, close).
 *
 * walkPath(root, rel, aclXattr, metaXattr) -> Promise<Walk>
 *   What the permission walk and the object lookup read, in the order they read it: the bucket root (opened,
 *   followed: it is trusted), then each '/'-separated name of `rel` looked up in the folder descriptor of the one
 *   before (fstatat, then openat with O_NOFOLLOW of folders and regular files only, files with O_PATH unless read
 *   here, so no lease is broken) and reported from the fstat of that descriptor: what the caller checks is the
 *   chain of inodes walked and the file read, whatever is renamed meanwhile. The walk
 *   stops after a component that is not a directory (a file where a folder should be, or a symlink, which the
 *   caller refuses), or at a name that cannot be lstat'ed (`stopErrno`, e.g. ENOENT). For every component found
 *   whose group bits are not all zero (the only case the kernel consults an access ACL) `aclXattr` is read; for
 *   the last component, when the whole path was found and is a file or directory, `metaXattr` is read too.
 *   Resolves to { count, stopErrno, stats: BigInt64Array (7 per component: size, mtimeNs, dev, ino, uid, gid,
 *   mode), aclLens: Int32Array (-1 none, -2 unreadable: the caller reads it itself), acls: Buffer, metaLen
 *   (-1 none), meta: Buffer }. Rejects with an errno error only when the root cannot be stat'ed.
 *   With readMax (a number), a walk that reached a regular file also reads it as readObject(path, metaXattr,
 *   readMax) would, in the same job, and adds `read`: readObject's answer, or the Error its open failed with.
 *
 * readObject(path, metaXattr, inlineMax) -> Promise<Read>
 *   GetObject's open: open(O_RDONLY | O_NOFOLLOW | O_NONBLOCK), fstat, and the descriptor's own path
 *   (/proc/self/fd/N) must be `path` or "`path` (deleted)" (a version renamed over since the open), so no folder
 *   on the way was a symlink; then fgetxattr(metaXattr), and for a file of at most inlineMax bytes its whole
 *   content with pread. The descriptor is always closed before the job ends. Resolves to { status, stats
 *   (7 fields as above), metaLen, meta, data }: status 0 read (data holds size bytes, fewer if the file shrank
 *   meanwhile), 1 not this file (not regular, or reached through a symlink), 2 larger than inlineMax (no data:
 *   the caller streams it). Rejects with the open's errno error (ENOENT, ELOOP, ...).
 *
 * publishFile(fd, tmp, target, uid, gid, metaXattr, metaValue, fsync) -> Promise<undefined>
 *   PutObject's last steps on its staged file, in order: fchown(fd, uid, gid), fsync(fd) when asked,
 *   fsetxattr(fd, metaXattr, metaValue), rename(tmp, target). The descriptor stays open (its FileHandle closes
 *   it). Rejects with the failing call's errno error (`syscall` names it; rename's EISDIR/ENOENT as Node's). *
 * openFolders(root, rel, aclXattr, everyXattr, lastXattr) -> Promise<Folders>
 *   The folders a write or delete acts through, held open: open(root, O_DIRECTORY | O_NOFOLLOW), then
 *   openat(previous, name, O_DIRECTORY | O_NOFOLLOW) for each '/'-separated name of `rel`, so no symlink is
 *   followed below the root and each descriptor is the very folder the next name was looked up in. Stops at the
 *   first name that cannot be opened (`stopErrno`: ENOENT; ENOTDIR for a file, and for a symlink, which
 *   O_DIRECTORY refuses before O_NOFOLLOW would say ELOOP; EINVAL for "." or ".."; empty names, from doubled
 *   slashes, are skipped, so callers compare `count` with the names they sent). Of every folder opened it reads fstat, the access ACL `aclXattr` when its group
 *   bits are not all zero, and `everyXattr` (below the root only); of the last folder opened, `lastXattr` (the
 *   default ACL new entries inherit). Resolves to { count, stopErrno, fds: Int32Array, stats (7 per folder as
 *   above), aclLens, acls, everyLens, every, lastLen, last }: lengths -1 none, -2 not read or unreadable (the
 *   caller reads it itself). The descriptors are the caller's to close. Rejects with open's errno error when
 *   the root itself cannot be opened.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common.h"
#include "object_path.h"

#define STAT_FIELDS 7
/* Keys are at most 1,024 bytes: at most 512 components; more is refused rather than allocated. */
#define MAX_COMPONENTS 1024

static void put_stat (int64_t *f, const struct stat *st) {
  f[0] = (int64_t)st->st_size;
  f[1] = s3b_time_ns(&st->st_mtim);
  f[2] = (int64_t)st->st_dev;
  f[3] = (int64_t)st->st_ino;
  f[4] = (int64_t)st->st_uid;
  f[5] = (int64_t)st->st_gid;
  f[6] = (int64_t)st->st_mode;
}

/* A growable byte buffer for attribute values. */
typedef struct { char *data; size_t used, cap; } bytes;

static int bytes_room (bytes *b, size_t add) {
  if (b->used + add <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 1024;
  while (cap < b->used + add) cap *= 2;
  char *m = (char *)realloc(b->data, cap);
  if (m == NULL) return 0;
  b->data = m;
  b->cap = cap;
  return 1;
}

/* Appends an attribute's value read by `get` (lgetxattr on a path, or fgetxattr); returns its length, -1 when
 * there is none (ENODATA, ENOTSUP), -2 on any other failure. Retries with the value's size past 4 KiB. */
static ssize_t get_attr (const char *path, int fd, const char *name, void *value, size_t size) {
  if (fd >= 0) return fgetxattr(fd, name, value, size);
  /* "/proc/self/fd/N" of an O_PATH descriptor (fgetxattr refuses those): getxattr follows the magic link to the
   * very inode held. Any other path: lgetxattr, never following a link. */
  return strncmp(path, "/proc/self/fd/", 14) == 0 ? getxattr(path, name, value, size) : lgetxattr(path, name, value, size);
}

static int32_t append_attr (bytes *b, const char *path, int fd, const char *name) {
  size_t size = 4096;
  for (int attempt = 0; attempt < 4; attempt++) {
    if (!bytes_room(b, size)) return -2;
    ssize_t n = get_attr(path, fd, name, b->data + b->used, size);
    if (n >= 0) { b->used += (size_t)n; return (int32_t)n; }
    if (errno == ENODATA || errno == ENOTSUP) return -1;
    if (errno != ERANGE) return -2;
    ssize_t need = get_attr(path, fd, name, NULL, 0);
    if (need < 0) return errno == ENODATA || errno == ENOTSUP ? -1 : -2;
    size = (size_t)need + 64;
  }
  return -2;
}

/* An attribute of a descriptor the walk holds: fgetxattr, or for an O_PATH descriptor (which fgetxattr refuses)
 * getxattr through its /proc/self/fd link. */
static int32_t held_attr (bytes *b, int fd, bool by_path, const char *name) {
  if (!by_path) return append_attr(b, NULL, fd, name);
  char link[32];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  return append_attr(b, link, -1, name);
}

static napi_value buffer_of (napi_env env, const char *data, size_t len) {
  napi_value v;
  void *copy;
  if (napi_create_buffer_copy(env, len, len ? data : "", &copy, &v) != napi_ok) return NULL;
  return v;
}


/* An optional string argument: NULL for undefined/null, *bad set for anything else that is not a string. */
static char *opt_string (napi_env env, napi_value v, int *bad) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) { *bad = 1; return NULL; }
  if (t == napi_undefined || t == napi_null) return NULL;
  if (t != napi_string) { *bad = 1; return NULL; }
  char *s = s3b_string(env, v, 0, NULL);
  if (s == NULL) *bad = 1;
  return s;
}


/* ---- readObject ---- */

/* GetObject's read of one path, shared by readObject and walkPath's optional read. */
typedef struct {
  int status;
  int64_t stats[STAT_FIELDS];
  bytes meta;
  int32_t meta_len;
  char *data;
  size_t data_len;
  int err;
  const char *syscall;
} file_read;

/* Reads an open regular file as GetObject needs it (fstat'ed into r->stats by the caller): its metadata and,
 * up to inline_max bytes, its whole content. Does not close fd. */
static void read_open_file (file_read *r, int fd, off_t size_at_stat, const char *meta_name, size_t inline_max) {
  if (meta_name != NULL) {
    r->meta_len = append_attr(&r->meta, NULL, fd, meta_name);
    if (r->meta_len == -2) r->meta_len = -1;
  }
  if ((uint64_t)size_at_stat > inline_max) { r->status = 2; return; }
  size_t size = (size_t)size_at_stat;
  r->data = (char *)malloc(size ? size : 1);
  if (r->data == NULL) { r->err = ENOMEM; r->syscall = "read"; return; }
  size_t got = 0;
  while (got < size) {
    ssize_t k = pread(fd, r->data + got, size - got, (off_t)got);
    if (k < 0) {
      if (errno == EINTR) continue;
      r->err = errno; r->syscall = "read"; return;
    }
    if (k == 0) break; /* shrank since fstat: the caller sees fewer bytes than the size */
    got += (size_t)k;
  }
  r->data_len = got;
}

static void read_file (file_read *r, const char *path, const char *meta_name, size_t inline_max) {
  r->meta_len = -1;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) { r->err = errno; r->syscall = "open"; return; }
  struct stat st;
  if (fstat(fd, &st) != 0) { r->err = errno; r->syscall = "fstat"; close(fd); return; }
  put_stat(r->stats, &st);
  if (!S_ISREG(st.st_mode)) { r->status = 1; close(fd); return; }
  char proc[64], where[PATH_MAX + 16];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(proc, where, sizeof where - 1);
  size_t plen = strlen(path);
  bool same = false;
  if (n >= 0) {
    where[n] = '\0';
    same = (size_t)n == plen ? memcmp(where, path, plen) == 0
      : (size_t)n == plen + 10 && memcmp(where, path, plen) == 0 && memcmp(where + plen, " (deleted)", 10) == 0;
  }
  if (!same) { r->status = 1; close(fd); return; }
  read_open_file(r, fd, st.st_size, meta_name, inline_max);
  close(fd);
}

static void free_data (napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

static void file_read_free (file_read *r) {
  free(r->meta.data);
  free(r->data);
}

/* The read as a JavaScript object, or an errno Error for a failed open; NULL when a value cannot be made. */
static napi_value file_read_value (napi_env env, file_read *r, const char *path) {
  napi_value result, v, body = NULL;
  if (r->err != 0) {
    napi_value code, msg;
    char text[512];
    const char *name = s3b_errno_code(r->err);
    snprintf(text, sizeof text, "%s: %s, %s '%s'", name, strerror(r->err), r->syscall, path);
    if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
        napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
        napi_create_error(env, code, msg, &result) != napi_ok) return NULL;
    napi_set_named_property(env, result, "code", code);
    if (napi_create_int32(env, -r->err, &v) == napi_ok) napi_set_named_property(env, result, "errno", v);
    if (napi_create_string_utf8(env, r->syscall, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, result, "syscall", v);
    return result;
  }
  if (r->data != NULL) {
    /* The bytes read become the Buffer's memory: no second copy of the object. */
    if (napi_create_external_buffer(env, r->data_len, r->data, free_data, NULL, &body) == napi_ok) r->data = NULL;
    else { s3b_clear_exception(env); body = buffer_of(env, r->data, r->data_len); }
  } else {
    napi_get_undefined(env, &body);
  }
  if (body != NULL && napi_create_object(env, &result) == napi_ok &&
      napi_create_int32(env, r->status, &v) == napi_ok && napi_set_named_property(env, result, "status", v) == napi_ok &&
      (v = s3b_typed(env, napi_bigint64_array, STAT_FIELDS, sizeof(int64_t), r->stats)) != NULL && napi_set_named_property(env, result, "stats", v) == napi_ok &&
      napi_create_int32(env, r->meta_len, &v) == napi_ok && napi_set_named_property(env, result, "metaLen", v) == napi_ok &&
      (v = buffer_of(env, r->meta.data, r->meta.used)) != NULL && napi_set_named_property(env, result, "meta", v) == napi_ok &&
      napi_set_named_property(env, result, "data", body) == napi_ok) return result;
  return NULL;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path, *meta_name;
  size_t inline_max;
  file_read r;
} read_job;

static void read_execute (napi_env env, void *data) {
  (void)env;
  read_job *job = (read_job *)data;
  read_file(&job->r, job->path, job->meta_name, job->inline_max);
}

static void read_free (read_job *job) {
  free(job->path); free(job->meta_name);
  file_read_free(&job->r);
  free(job);
}

static void read_complete (napi_env env, napi_status status, void *data) {
  read_job *job = (read_job *)data;
  if (status != napi_ok && job->r.err == 0) { job->r.err = EINTR; job->r.syscall = "open"; }
  napi_value result = file_read_value(env, &job->r, job->path);
  if (result == NULL) {
    s3b_clear_exception(env);
    s3b_reject_code(env, job->deferred, "ENOMEM", "readObject: cannot build the result");
  } else if (job->r.err != 0) {
    napi_reject_deferred(env, job->deferred, result);
  } else {
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  read_free(job);
}

static napi_value read_object (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) { napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "readObject(path, metaXattr, inlineMax)"); return NULL; }
  read_job *job = (read_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "readObject: out of memory"); return NULL; }
  int bad = 0;
  double max = 0;
  job->path = s3b_string(env, argv[0], 0, NULL);
  job->meta_name = opt_string(env, argv[1], &bad);
  if (napi_get_value_double(env, argv[2], &max) != napi_ok || !(max >= 0) || max > 1024.0 * 1024 * 1024) bad = 1;
  if (job->path == NULL || bad) {
    s3b_clear_exception(env);
    read_free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "readObject(path: string, metaXattr: string | null, inlineMax: number <= 1 GiB)");
    return NULL;
  }
  job->inline_max = (size_t)max;
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:readObject", read_execute, read_complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { read_free(job); }
  return promise;
}

/* ---- walkPath ---- */

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *root, *rel, *acl_name, *meta_name;
  uint32_t count;
  int stop_errno;
  int64_t *stats;       /* STAT_FIELDS per component */
  int32_t *acl_lens;
  bytes acls, meta;
  int32_t meta_len;
  double read_max;  /* < 0: no read; else read the file the walk reached as readObject would, up to this size */
  bool did_read;
  file_read r;
  int err;          /* rejects: the root's stat failed, or too many components */
} walk_job;

/*
 * Opens `name` in the folder dirfd for the walk: only folders and regular files are opened (never a symlink, a
 * device, a FIFO or a socket: fstatat says what it is first), with O_NOFOLLOW, and *st is the fstat of the
 * descriptor, i.e. of the inode held, which is what the walk reports and reads. Returns the descriptor, -1 with
 * *st from fstatat for anything that is not opened (the walk stops there), or -1 with errno set (and *st
 * untouched) when the name cannot be looked up.
 */
static int open_component (int dirfd, const char *name, struct stat *st, int *stop_errno, bool for_read) {
  for (int attempt = 0; attempt < 4; attempt++) {
    if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0) { *stop_errno = errno; return -1; }
    if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode)) return -1;
    /* A file that is not to be read is held with O_PATH: opening it for reading would break a lease (Samba
     * oplocks, NFS delegations: EWOULDBLOCK) and make the holder give it up, just to stat it. */
    int flags = S_ISDIR(st->st_mode) ? O_DIRECTORY | O_RDONLY : for_read ? O_RDONLY : O_PATH;
    int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) continue; /* replaced between fstatat and openat */
      *stop_errno = errno;
      return -1;
    }
    struct stat held;
    if (fstat(fd, &held) != 0) { *stop_errno = errno; close(fd); return -1; }
    if (S_ISDIR(held.st_mode) || S_ISREG(held.st_mode)) { *st = held; return fd; }
    close(fd); /* swapped for something else between the two calls: look again */
  }
  *stop_errno = EAGAIN;
  return -1;
}

static void walk_execute (napi_env env, void *data) {
  (void)env;
  walk_job *job = (walk_job *)data;
  job->meta_len = -1;
  size_t rel_len = strlen(job->rel);
  size_t most = 2; /* the root, and one more component per '/' (an upper bound: empty names are skipped) */
  for (const char *c = job->rel; *c; c++) if (*c == '/') most++;
  if (most > MAX_COMPONENTS) { job->err = ENAMETOOLONG; return; }
  job->stats = (int64_t *)malloc(most * STAT_FIELDS * sizeof *job->stats);
  job->acl_lens = (int32_t *)malloc(most * sizeof *job->acl_lens);
  char *name = (char *)malloc(rel_len + 1);
  if (job->stats == NULL || job->acl_lens == NULL || name == NULL) { free(name); job->err = ENOMEM; return; }
  /* Each component is looked up in the folder descriptor of the one before and reported from the descriptor
   * it was opened as, so what the caller checks is the very chain of inodes walked and the file read: a name
   * renamed or exchanged over NFS meanwhile cannot put another file (or another folder's) under a check made
   * for this one. The bucket root itself is trusted and followed. */
  int fd = open(job->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) { job->err = errno; if (fd >= 0) close(fd); free(name); return; }
  const char *next = job->rel;
  bool all_found = true;
  bool by_path = false; /* fd is an O_PATH descriptor (a file held only to be stat'ed) */
  for (;;) {
    uint32_t i = job->count++;
    put_stat(job->stats + i * STAT_FIELDS, &st);
    bool dir = S_ISDIR(st.st_mode);
    /* -2 "not read": the caller reads it itself if it ever needs it. */
    job->acl_lens[i] = job->acl_name != NULL && fd >= 0 && (st.st_mode & 0070) != 0 && (dir || S_ISREG(st.st_mode))
      ? held_attr(&job->acls, fd, by_path, job->acl_name) : -2;
    while (*next == '/') next++;
    if (*next == '\0') break;
    if (!dir || fd < 0) { all_found = false; break; } /* a file or symlink where a folder should be: the caller decides */
    const char *end = strchr(next, '/');
    size_t len = end ? (size_t)(end - next) : strlen(next);
    memcpy(name, next, len);
    name[len] = '\0';
    next += len;
    bool last = true;
    for (const char *c = next; *c; c++) if (*c != '/') { last = false; break; }
    bool for_read = last && job->read_max >= 0;
    int child = open_component(fd, name, &st, &job->stop_errno, for_read);
    close(fd);
    fd = child;
    by_path = fd >= 0 && S_ISREG(st.st_mode) && !for_read; /* open_component's O_PATH case */
    if (fd < 0 && job->stop_errno != 0) { all_found = false; break; }
    /* fd < 0 without stop_errno: a symlink or special file, reported from fstatat; the loop stops after it. */
  }
  if (all_found && fd >= 0 && job->read_max >= 0 && S_ISREG(st.st_mode)) {
    /* GetObject: the file just opened, read in this same job (its metadata comes with the read). */
    job->r.meta_len = -1;
    put_stat(job->r.stats, &st);
    read_open_file(&job->r, fd, st.st_size, job->meta_name, (size_t)job->read_max);
    job->did_read = true;
  } else if (all_found && fd >= 0 && job->meta_name != NULL && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
    job->meta_len = held_attr(&job->meta, fd, by_path, job->meta_name);
    if (job->meta_len == -2) job->meta_len = -1; /* as readStoredMeta: any failure is "no metadata" */
  }
  if (fd >= 0) close(fd);
  free(name);
}

static void walk_free (walk_job *job) {
  free(job->root); free(job->rel); free(job->acl_name); free(job->meta_name);
  free(job->acls.data); free(job->meta.data);
  free(job->stats); free(job->acl_lens);
  file_read_free(&job->r);
  free(job);
}

static void walk_complete (napi_env env, napi_status status, void *data) {
  walk_job *job = (walk_job *)data;
  if (status != napi_ok && job->err == 0) job->err = EINTR;
  napi_value result, v;
  if (job->err != 0) {
    s3b_reject_errno(env, job->deferred, job->err, "stat", job->root, NULL);
  } else if (napi_create_object(env, &result) == napi_ok &&
             napi_create_uint32(env, job->count, &v) == napi_ok && napi_set_named_property(env, result, "count", v) == napi_ok &&
             napi_create_int32(env, job->stop_errno, &v) == napi_ok && napi_set_named_property(env, result, "stopErrno", v) == napi_ok &&
             (v = s3b_typed(env, napi_bigint64_array, job->count * STAT_FIELDS, sizeof(int64_t), job->stats)) != NULL && napi_set_named_property(env, result, "stats", v) == napi_ok &&
             (v = s3b_typed(env, napi_int32_array, job->count, sizeof(int32_t), job->acl_lens)) != NULL && napi_set_named_property(env, result, "aclLens", v) == napi_ok &&
             (v = buffer_of(env, job->acls.data, job->acls.used)) != NULL && napi_set_named_property(env, result, "acls", v) == napi_ok &&
             napi_create_int32(env, job->meta_len, &v) == napi_ok && napi_set_named_property(env, result, "metaLen", v) == napi_ok &&
             (v = buffer_of(env, job->meta.data, job->meta.used)) != NULL && napi_set_named_property(env, result, "meta", v) == napi_ok &&
             (!job->did_read || ((v = file_read_value(env, &job->r, job->root)) != NULL && napi_set_named_property(env, result, "read", v) == napi_ok))) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    s3b_clear_exception(env);
    s3b_reject_code(env, job->deferred, "ENOMEM", "walkPath: cannot build the result");
  }
  napi_delete_async_work(env, job->work);
  walk_free(job);
}

static napi_value walk_path (napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) { napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "walkPath(root, rel, aclXattr?, metaXattr?, readMax?)"); return NULL; }
  walk_job *job = (walk_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "walkPath: out of memory"); return NULL; }
  int bad = 0;
  job->root = s3b_string(env, argv[0], 0, NULL);
  job->rel = s3b_string(env, argv[1], 0, NULL);
  if (argc >= 3) job->acl_name = opt_string(env, argv[2], &bad);
  if (argc >= 4) job->meta_name = opt_string(env, argv[3], &bad);
  job->read_max = -1;
  if (argc >= 5) {
    napi_valuetype t;
    if (napi_typeof(env, argv[4], &t) != napi_ok) bad = 1;
    else if (t == napi_number) {
      if (napi_get_value_double(env, argv[4], &job->read_max) != napi_ok || !(job->read_max >= 0) || job->read_max > 1024.0 * 1024 * 1024) bad = 1;
    } else if (t != napi_undefined && t != napi_null) bad = 1;
  }
  if (job->root == NULL || job->rel == NULL || bad) {
    s3b_clear_exception(env);
    walk_free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "walkPath(root: string, rel: string, aclXattr?: string, metaXattr?: string, readMax?: number <= 1 GiB)");
    return NULL;
  }
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:walkPath", walk_execute, walk_complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { walk_free(job); }
  return promise;
}

/* ---- publishFile ---- */

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  char *tmp, *target, *meta_name;
  char *meta;
  size_t meta_len;
  int64_t uid, gid;
  bool sync;
  int err;
  const char *syscall;
} publish_job;

static void publish_execute (napi_env env, void *data) {
  (void)env;
  publish_job *job = (publish_job *)data;
  if (fchown(job->fd, (uid_t)job->uid, (gid_t)job->gid) != 0) { job->err = errno; job->syscall = "fchown"; return; }
  if (job->sync && fsync(job->fd) != 0) { job->err = errno; job->syscall = "fsync"; return; }
  if (fsetxattr(job->fd, job->meta_name, job->meta, job->meta_len, 0) != 0) { job->err = errno; job->syscall = "fsetxattr"; return; }
  /* A FIFO, socket, device or symlink an NFS user made at the key's name is not an object: never replaced by one.
   * (rename(2) of a file never fails with EEXIST otherwise, so the caller can tell.) */
  struct stat there;
  if (fstatat(AT_FDCWD, job->target, &there, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(there.st_mode) && !S_ISDIR(there.st_mode)) {
    job->err = EEXIST; job->syscall = "rename"; return;
  }
  if (rename(job->tmp, job->target) != 0) { job->err = errno; job->syscall = "rename"; return; }
}

static void publish_free (publish_job *job) {
  free(job->tmp); free(job->target); free(job->meta_name); free(job->meta);
  free(job);
}

static void publish_complete (napi_env env, napi_status status, void *data) {
  publish_job *job = (publish_job *)data;
  if (status != napi_ok && job->err == 0) { job->err = EINTR; job->syscall = "rename"; }
  if (job->err != 0) {
    s3b_reject_errno(env, job->deferred, job->err, job->syscall, strcmp(job->syscall, "rename") == 0 ? job->tmp : NULL, NULL);
  } else {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, job->deferred, undef);
  }
  napi_delete_async_work(env, job->work);
  publish_free(job);
}

static napi_value publish_file (napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  publish_job *job = (publish_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "publishFile: out of memory"); return NULL; }
  int32_t fd = -1;
  bool sync = false;
  bool ok = argc == 8 &&
    napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0 &&
    (job->tmp = s3b_string(env, argv[1], 0, NULL)) != NULL &&
    (job->target = s3b_string(env, argv[2], 0, NULL)) != NULL &&
    napi_get_value_int64(env, argv[3], &job->uid) == napi_ok && job->uid >= 0 && job->uid <= UINT32_MAX - 1 &&
    napi_get_value_int64(env, argv[4], &job->gid) == napi_ok && job->gid >= 0 && job->gid <= UINT32_MAX - 1 &&
    (job->meta_name = s3b_string(env, argv[5], 0, NULL)) != NULL &&
    napi_get_value_bool(env, argv[7], &sync) == napi_ok;
  if (ok) {
    void *bytes = NULL;
    size_t len = 0;
    bool is_buffer = false;
    ok = napi_is_buffer(env, argv[6], &is_buffer) == napi_ok && is_buffer &&
      napi_get_buffer_info(env, argv[6], &bytes, &len) == napi_ok &&
      (job->meta = (char *)malloc(len ? len : 1)) != NULL;
    if (ok) { memcpy(job->meta, bytes, len); job->meta_len = len; }
  }
  if (!ok) {
    s3b_clear_exception(env);
    publish_free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "publishFile(fd, tmp, target, uid, gid, metaXattr, metaValue: Buffer, fsync: boolean)");
    return NULL;
  }
  job->fd = fd;
  job->sync = sync;
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:publishFile", publish_execute, publish_complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { publish_free(job); }
  return promise;
}

/* ---- openFolders ---- */

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *root, *rel, *acl_name, *every_name, *last_name;
  uint32_t count;
  int stop_errno;
  int32_t *fds;
  int64_t *stats;
  int32_t *acl_lens, *every_lens;
  bytes acls, every, last;
  int32_t last_len;
  int err;
} folders_job;

static void folders_execute (napi_env env, void *data) {
  (void)env;
  folders_job *job = (folders_job *)data;
  job->last_len = -2;
  size_t most = 2;
  for (const char *c = job->rel; *c; c++) if (*c == '/') most++;
  if (most > MAX_COMPONENTS) { job->err = ENAMETOOLONG; return; }
  job->fds = (int32_t *)malloc(most * sizeof *job->fds);
  job->stats = (int64_t *)malloc(most * STAT_FIELDS * sizeof *job->stats);
  job->acl_lens = (int32_t *)malloc(most * sizeof *job->acl_lens);
  job->every_lens = (int32_t *)malloc(most * sizeof *job->every_lens);
  if (job->fds == NULL || job->stats == NULL || job->acl_lens == NULL || job->every_lens == NULL) { job->err = ENOMEM; return; }
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(job->root, flags);
  if (fd < 0) { job->err = errno; return; }
  const char *next = job->rel;
  char name[NAME_MAX + 1];
  for (;;) {
    struct stat st;
    if (fstat(fd, &st) != 0) { /* cannot happen on an open descriptor; report it as the name's failure */
      job->stop_errno = errno;
      close(fd);
      break;
    }
    uint32_t i = job->count++;
    job->fds[i] = fd;
    put_stat(job->stats + i * STAT_FIELDS, &st);
    job->acl_lens[i] = job->acl_name != NULL && (st.st_mode & 0070) != 0 ? append_attr(&job->acls, NULL, fd, job->acl_name) : -2;
    job->every_lens[i] = job->every_name != NULL && i > 0 ? append_attr(&job->every, NULL, fd, job->every_name) : -2;
    while (*next == '/') next++;
    if (*next == '\0') break;
    const char *end = strchr(next, '/');
    size_t len = end ? (size_t)(end - next) : strlen(next);
    if (len > NAME_MAX) { job->stop_errno = ENAMETOOLONG; break; }
    memcpy(name, next, len);
    name[len] = '\0';
    next += len;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) { job->stop_errno = EINVAL; break; }
    fd = openat(job->fds[i], name, flags);
    if (fd < 0) { job->stop_errno = errno; break; }
  }
  if (job->last_name != NULL && job->count > 0) job->last_len = append_attr(&job->last, NULL, job->fds[job->count - 1], job->last_name);
}

static void folders_free (folders_job *job) {
  free(job->root); free(job->rel); free(job->acl_name); free(job->every_name); free(job->last_name);
  free(job->fds); free(job->stats); free(job->acl_lens); free(job->every_lens);
  free(job->acls.data); free(job->every.data); free(job->last.data);
  free(job);
}

static void folders_complete (napi_env env, napi_status status, void *data) {
  folders_job *job = (folders_job *)data;
  if (status != napi_ok && job->err == 0) job->err = EINTR;
  napi_value result, v;
  if (job->err != 0) {
    s3b_reject_errno(env, job->deferred, job->err, "open", job->root, NULL);
  } else if (napi_create_object(env, &result) == napi_ok &&
             napi_create_uint32(env, job->count, &v) == napi_ok && napi_set_named_property(env, result, "count", v) == napi_ok &&
             napi_create_int32(env, job->stop_errno, &v) == napi_ok && napi_set_named_property(env, result, "stopErrno", v) == napi_ok &&
             (v = s3b_typed(env, napi_int32_array, job->count, sizeof(int32_t), job->fds)) != NULL && napi_set_named_property(env, result, "fds", v) == napi_ok &&
             (v = s3b_typed(env, napi_bigint64_array, job->count * STAT_FIELDS, sizeof(int64_t), job->stats)) != NULL && napi_set_named_property(env, result, "stats", v) == napi_ok &&
             (v = s3b_typed(env, napi_int32_array, job->count, sizeof(int32_t), job->acl_lens)) != NULL && napi_set_named_property(env, result, "aclLens", v) == napi_ok &&
             (v = buffer_of(env, job->acls.data, job->acls.used)) != NULL && napi_set_named_property(env, result, "acls", v) == napi_ok &&
             (v = s3b_typed(env, napi_int32_array, job->count, sizeof(int32_t), job->every_lens)) != NULL && napi_set_named_property(env, result, "everyLens", v) == napi_ok &&
             (v = buffer_of(env, job->every.data, job->every.used)) != NULL && napi_set_named_property(env, result, "every", v) == napi_ok &&
             napi_create_int32(env, job->last_len, &v) == napi_ok && napi_set_named_property(env, result, "lastLen", v) == napi_ok &&
             (v = buffer_of(env, job->last.data, job->last.used)) != NULL && napi_set_named_property(env, result, "last", v) == napi_ok) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    /* Nobody will own the descriptors: close them here. */
    for (uint32_t i = 0; i < job->count; i++) close(job->fds[i]);
    s3b_clear_exception(env);
    s3b_reject_code(env, job->deferred, "ENOMEM", "openFolders: cannot build the result");
  }
  napi_delete_async_work(env, job->work);
  folders_free(job);
}

static napi_value open_folders (napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  folders_job *job = (folders_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "openFolders: out of memory"); return NULL; }
  int bad = argc != 5;
  if (!bad) {
    job->root = s3b_string(env, argv[0], 0, NULL);
    job->rel = s3b_string(env, argv[1], 0, NULL);
    job->acl_name = opt_string(env, argv[2], &bad);
    job->every_name = opt_string(env, argv[3], &bad);
    job->last_name = opt_string(env, argv[4], &bad);
  }
  if (bad || job->root == NULL || job->rel == NULL) {
    s3b_clear_exception(env);
    folders_free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "openFolders(root: string, rel: string, aclXattr: string | null, everyXattr: string | null, lastXattr: string | null)");
    return NULL;
  }
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:openFolders", folders_execute, folders_complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { folders_free(job); }
  return promise;
}

void register_object_path (napi_env env, napi_value exports) {
  s3b_export(env, exports, "openFolders", open_folders);
  s3b_export(env, exports, "walkPath", walk_path);
  s3b_export(env, exports, "readObject", read_object);
  s3b_export(env, exports, "publishFile", publish_file);
}
