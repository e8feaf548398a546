/*
 * s3bridge listing stats: statEntries(dirPath, names, xattrName, aclXattrName?, aclSkipUid?) -> Promise<StatBatch>.
 *
 * `names` is one string of entry names joined by '/' (a name never holds '/'). In ONE libuv worker job (never on
 * the event loop) the directory is opened (O_PATH, so only search permission is needed, as for lstat of a path
 * inside it) and, for each name, fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) runs; for regular files and
 * directories the extended attribute `xattrName` is read with getxattrat(dirfd, name, AT_SYMLINK_NOFOLLOW) where
 * the kernel has it (6.13+), else with lgetxattr on "dirPath/name". A listing that used
 * lstat + getxattr per key paid two thread-pool hand-offs per key; this pays one per batch.
 *
 * The promise resolves to parallel arrays, entry i at index i:
 *   kinds:    Uint8Array      0 missing (or unreadable), 1 regular file, 2 directory, 3 other (symlink, fifo...)
 *   stats:    BigInt64Array   7 per entry: size, mtimeNs, dev, ino, uid, gid, mode (as Node's bigint stats)
 *   metaLens: Int32Array      byte length of the entry's attribute value in `meta`, or -1 when it has none
 *   aclLens:  Int32Array      with aclXattrName: byte length of a regular file's access ACL in `meta`, right after
 *                             its metadata; -1 none, -2 not read (not a file; no metadata, so no digest to
 *                             guard; group bits --- so the kernel ignores any ACL; or owned by aclSkipUid, whose
 *                             owner class decides without it),
 *                             -3 unknown (it could not be read, or the file changed under the look-ups).
 *                             The listing needs it to know who may read a file.
 *   meta:     Buffer          the values back to back, in entry order (an entry's metadata, then its ACL)
 * A missing attribute (ENODATA), a filesystem without user xattrs (ENOTSUP) or any other failure to read it
 * is "none". A directory that cannot be opened makes every entry missing. Plain C against node_api.h only.
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
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <sys/xattr.h>
/* getxattrat(2) (Linux 6.13): the attribute of a name relative to the open directory, without walking dirPath
 * again for every entry. Same number on every architecture (the unified syscall table); ENOSYS on older kernels,
 * which then get lgetxattr on the joined path. */
#if !defined(SYS_getxattrat) && (defined(__x86_64__) || defined(__aarch64__))
#define SYS_getxattrat 464
#endif
#endif

#include "common.h"
#include "stat_entries.h"

#define STAT_FIELDS 7
/* Listing asks for at most ~1000 names at a time; refuse absurd batches rather than allocate without bound. */
#define MAX_NAMES 100000
#define XATTR_STACK 4096

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *dir;            /* dirPath, then '/', then room for one name (the lgetxattr path) */
  size_t dir_len;
  char *xattr;          /* NULL: no attribute wanted */
  char *acl_xattr;      /* NULL: no ACLs wanted */
  int64_t acl_skip_uid; /* >= 0: no ACL read for files this uid owns (their owner class decides without it) */
  char *names;          /* the joined names, '/' replaced by NUL */
  uint32_t n;
  uint32_t *name_off;   /* start of each name in `names` */
  uint8_t *kinds;
  int64_t *stats;
  int32_t *meta_lens;
  int32_t *acl_lens;
  char *meta;
  size_t meta_used;
  size_t meta_cap;
  int err;              /* ENOMEM only: everything else is per entry */
} stat_job;

static void job_free (stat_job *job) {
  if (job == NULL) return;
  free(job->dir);
  free(job->xattr);
  free(job->acl_xattr);
  free(job->names);
  free(job->name_off);
  free(job->kinds);
  free(job->stats);
  free(job->meta_lens);
  free(job->acl_lens);
  free(job->meta);
  free(job);
}

static int meta_append (stat_job *job, const char *data, size_t len) {
  if (job->meta_used + len > job->meta_cap) {
    size_t cap = job->meta_cap ? job->meta_cap : 16384;
    while (cap < job->meta_used + len) cap *= 2;
    char *m = (char *)realloc(job->meta, cap);
    if (m == NULL) return 0;
    job->meta = m;
    job->meta_cap = cap;
  }
  if (len > 0) memcpy(job->meta + job->meta_used, data, len);
  job->meta_used += len;
  return 1;
}

#ifdef __linux__
#ifdef SYS_getxattrat
struct s3b_xattr_args { uint64_t value; uint32_t size; uint32_t flags; };
/* 1 until the kernel (or a seccomp filter) refuses the call: then lgetxattr for good. */
static volatile int have_getxattrat = 1;
#endif

/* One attribute read of `name` (relative to dfd; `path` is dirPath/name) into buf, as getxattr(2) answers. */
static ssize_t get_attr (const char *attr, int dfd, const char *name, const char *path, void *buf, size_t size) {
#ifdef SYS_getxattrat
  if (have_getxattrat) {
    struct s3b_xattr_args args = { (uint64_t)(uintptr_t)buf, (uint32_t)size, 0 };
    ssize_t n = (ssize_t)syscall(SYS_getxattrat, dfd, name, AT_SYMLINK_NOFOLLOW, attr, &args, sizeof args);
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
    /* ENOSYS: an older kernel. EPERM: maybe a seccomp filter that does not know the call; it was one when
     * lgetxattr answers otherwise. Either way, lgetxattr from now on. */
    int was = errno;
    n = lgetxattr(path, attr, buf, size);
    if (was == ENOSYS || n >= 0 || errno != EPERM) have_getxattrat = 0;
    return n;
  }
#else
  (void)dfd; (void)name;
#endif
  return lgetxattr(path, attr, buf, size);
}

/* Reads the attribute into the job's meta block. Returns its length, -1 when the entry has none (ENODATA, or a
 * filesystem without such attributes), -3 when it could not be read (anything else: raced away, out of memory...).
 * Metadata treats both as none; an ACL that could not be read is "unknown", and the listing hides what it guards. */
static int32_t read_attr (stat_job *job, const char *attr, int dfd, const char *name, const char *path) {
  char stack[XATTR_STACK];
  ssize_t n;
  do { n = get_attr(attr, dfd, name, path, stack, sizeof stack); } while (n < 0 && errno == EINTR);
  if (n >= 0) return meta_append(job, stack, (size_t)n) ? (int32_t)n : -3;
  if (errno != ERANGE) return errno == ENODATA || errno == ENOTSUP ? -1 : -3;
  for (int tries = 0; tries < 4; tries++) {
    ssize_t want = get_attr(attr, dfd, name, path, NULL, 0);
    if (want < 0) { if (errno == EINTR) continue; return errno == ENODATA || errno == ENOTSUP ? -1 : -3; }
    char *buf = (char *)malloc((size_t)want + 1);
    if (buf == NULL) return -3;
    n = get_attr(attr, dfd, name, path, buf, (size_t)want);
    if (n >= 0) {
      int ok = meta_append(job, buf, (size_t)n);
      free(buf);
      return ok ? (int32_t)n : -3;
    }
    free(buf);
    if (errno != ERANGE && errno != EINTR) return errno == ENODATA || errno == ENOTSUP ? -1 : -3; /* grew again between the calls: ask again */
  }
  return -3;
}
#endif

static void execute (napi_env env, void *data) {
  (void)env;
  stat_job *job = (stat_job *)data;
  for (uint32_t i = 0; i < job->n; i++) job->meta_lens[i] = -1;
  if (job->acl_lens != NULL) for (uint32_t i = 0; i < job->n; i++) job->acl_lens[i] = -2;
#ifdef __linux__
  int dfd;
  do { dfd = open(job->dir, O_PATH | O_DIRECTORY | O_CLOEXEC); } while (dfd < 0 && errno == EINTR);
  if (dfd < 0) return; /* kinds stay 0: every entry reads as missing, as lstat of each would */
  job->dir[job->dir_len] = '/'; /* from here on dir holds "dirPath/<name>" for lgetxattr ("//" is harmless) */
  for (uint32_t i = 0; i < job->n; i++) {
    const char *name = job->names + job->name_off[i];
    struct stat st;
    int r;
    do { r = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW); } while (r != 0 && errno == EINTR);
    if (r != 0) continue;
    uint8_t kind = S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : 3;
    job->kinds[i] = kind;
    int64_t *s = job->stats + (size_t)i * STAT_FIELDS;
    s[0] = (int64_t)st.st_size;
    s[1] = s3b_time_ns(&st.st_mtim);
    s[2] = (int64_t)st.st_dev;
    s[3] = (int64_t)st.st_ino;
    s[4] = (int64_t)st.st_uid;
    s[5] = (int64_t)st.st_gid;
    s[6] = (int64_t)st.st_mode;
    if (kind == 3 || (job->xattr == NULL && job->acl_xattr == NULL)) continue;
    size_t len = strlen(name);
    if (job->dir_len + 1 + len + 1 > (size_t)PATH_MAX + 1) continue; /* lgetxattr would say ENAMETOOLONG */
    memcpy(job->dir + job->dir_len + 1, name, len + 1);
    if (job->xattr != NULL) {
      int32_t got = read_attr(job, job->xattr, dfd, name, job->dir);
      job->meta_lens[i] = got < 0 ? -1 : got;
    }
    if (job->acl_xattr == NULL) continue;
    size_t acl_at = job->meta_used;
    /* Only a file with stored metadata has digests to show or hide: one written over NFS costs nothing more. */
    if (kind == 1 && job->meta_lens[i] >= 0 && (st.st_mode & 0070) != 0 && (job->acl_skip_uid < 0 || (int64_t)st.st_uid != job->acl_skip_uid)) job->acl_lens[i] = read_attr(job, job->acl_xattr, dfd, name, job->dir);
    /* The stat, the metadata and the ACL were three look-ups of the name: a file renamed or exchanged over NFS
     * between them pairs one file's digests with another's permissions (review 18). The name must still be the
     * same inode, unchanged since (a rename, out and back, changes its ctime): else the answer is "unknown". */
    if (kind == 1 && (job->meta_lens[i] >= 0 || job->acl_lens[i] >= 0)) {
      struct stat again;
      do { r = fstatat(dfd, name, &again, AT_SYMLINK_NOFOLLOW); } while (r != 0 && errno == EINTR);
      if (r != 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev || again.st_ctim.tv_sec != st.st_ctim.tv_sec || again.st_ctim.tv_nsec != st.st_ctim.tv_nsec) {
        job->meta_used = acl_at; /* the ACL bytes read, if any, are dropped: the reader skips only what aclLens counts */
        job->acl_lens[i] = -3;
      }
    }
  }
  close(dfd);
  job->dir[job->dir_len] = '\0';
#else
  job->err = ENOSYS;
#endif
}

static void complete (napi_env env, napi_status status, void *data) {
  stat_job *job = (stat_job *)data;
  napi_value result = NULL, kinds = NULL, stats = NULL, lens = NULL, acl_lens = NULL, meta = NULL;
  if (status == napi_ok && job->err == 0) {
    kinds = s3b_typed(env, napi_uint8_array, job->n, 1, job->kinds);
    stats = s3b_typed(env, napi_bigint64_array, (size_t)job->n * STAT_FIELDS, 8, job->stats);
    lens = s3b_typed(env, napi_int32_array, job->n, 4, job->meta_lens);
    if (job->acl_lens != NULL) acl_lens = s3b_typed(env, napi_int32_array, job->n, 4, job->acl_lens);
    void *copy;
    if (napi_create_buffer_copy(env, job->meta_used, job->meta_used ? job->meta : "", &copy, &meta) != napi_ok) meta = NULL;
    if (kinds && stats && lens && meta && (job->acl_lens == NULL || acl_lens) && napi_create_object(env, &result) == napi_ok) {
      napi_set_named_property(env, result, "kinds", kinds);
      napi_set_named_property(env, result, "stats", stats);
      napi_set_named_property(env, result, "metaLens", lens);
      napi_set_named_property(env, result, "meta", meta);
      if (acl_lens != NULL) napi_set_named_property(env, result, "aclLens", acl_lens);
    } else {
      result = NULL;
    }
  }
  if (result != NULL) napi_resolve_deferred(env, job->deferred, result);
  else if (job->err == ENOSYS) s3b_reject_code(env, job->deferred, "ENOSYS", "ENOSYS: statEntries needs Linux");
  else s3b_reject_code(env, job->deferred, "ENOMEM", "ENOMEM: statEntries could not build its result");
  napi_delete_async_work(env, job->work);
  job_free(job);
}

static napi_value stat_entries (napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "statEntries(dirPath, joinedNames, xattrName?, aclXattrName?) takes strings");
    return NULL;
  }
  stat_job *job = (stat_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "statEntries: out of memory"); return NULL; }
  size_t names_len = 0;
  job->dir = s3b_string(env, argv[0], 1 + PATH_MAX + 1, &job->dir_len);
  job->names = s3b_string(env, argv[1], 0, &names_len);
  if (argc >= 3) {
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t != napi_undefined && t != napi_null) {
      job->xattr = s3b_string(env, argv[2], 0, NULL);
      if (job->xattr == NULL) { job_free(job); napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "statEntries: xattrName must be a string"); return NULL; }
    }
  }
  job->acl_skip_uid = -1;
  if (argc >= 5) {
    napi_valuetype t;
    double uid;
    napi_typeof(env, argv[4], &t);
    if (t == napi_number && napi_get_value_double(env, argv[4], &uid) == napi_ok && uid >= 0 && uid <= 4294967295.0) job->acl_skip_uid = (int64_t)uid;
  }
  if (argc >= 4) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_undefined && t != napi_null) {
      job->acl_xattr = s3b_string(env, argv[3], 0, NULL);
      if (job->acl_xattr == NULL) { job_free(job); napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "statEntries: aclXattrName must be a string"); return NULL; }
    }
  }
  if (job->dir == NULL || job->names == NULL) {
    job_free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "statEntries: dirPath and names must be strings");
    return NULL;
  }
  int split = s3b_split_names(job->names, names_len, MAX_NAMES, &job->name_off, &job->n);
  if (split == ERANGE) { job_free(job); napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "statEntries: too many names in one batch"); return NULL; }
  uint32_t n = job->n;
  job->kinds = (uint8_t *)calloc(n ? n : 1, 1);
  job->stats = (int64_t *)calloc((size_t)(n ? n : 1) * STAT_FIELDS, sizeof(int64_t));
  job->meta_lens = (int32_t *)malloc(sizeof(int32_t) * (n ? n : 1));
  if (job->acl_xattr != NULL) job->acl_lens = (int32_t *)malloc(sizeof(int32_t) * (n ? n : 1));
  if (split != 0 || !job->kinds || !job->stats || !job->meta_lens || (job->acl_xattr != NULL && !job->acl_lens)) { job_free(job); napi_throw_error(env, "ENOMEM", "statEntries: out of memory"); return NULL; }
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:statEntries", execute, complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { job_free(job); }
  return promise;
}

void register_stat_entries (napi_env env, napi_value exports) {
  s3b_export(env, exports, "statEntries", stat_entries);
}

/*
 * readDirSorted(dirPath, skip?) -> Promise<{ keys: Buffer, offsets: Uint32Array, isDir: Uint8Array }>: the folder's
 * files and subfolders as S3 sort keys (a file's name, a folder's name + '/'), sorted in byte order (strcmp, which
 * is S3's UTF-8 order), packed back to back in one Buffer: key i is keys[offsets[i] .. offsets[i + 1]). Symlinks,
 * sockets, devices, FIFOs, "." and ".." and the entry named `skip` are left out; an entry whose d_type is unknown
 * is lstat'ed, as Node's readdir withFileTypes does. Reading, filtering and sorting happen in one worker job, and
 * the event loop gets three values for a whole folder: a million names as JavaScript strings in an array cost
 * ~60 MiB of heap and a second of main-thread sorting, which set the daemon's peak RSS listing huge folders.
 * Rejects with an errno error (ENOENT, EACCES, ENOTDIR...), ENOMEM when the keys pass 4 GiB.
 */
#include <dirent.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *dir;
  char *skip;           /* NULL: nothing to skip */
  char *names;          /* NUL-terminated sort keys as read */
  size_t used, cap;
  size_t *starts;       /* start of each key in `names` */
  size_t count, scap;
  char *packed;         /* sorted keys back to back, no NULs (the Buffer's memory once resolved) */
  size_t packed_len;
  uint32_t *offsets;    /* count + 1 */
  uint8_t *is_dir;
  int err;
} readdir_job;

static int rd_add (readdir_job *job, const char *n, size_t len, int dir) {
  size_t add = len + (dir ? 2 : 1);
  if (job->used + add > job->cap) {
    size_t cap = job->cap ? job->cap : 65536;
    while (cap < job->used + add) cap *= 2;
    char *m = (char *)realloc(job->names, cap);
    if (m == NULL) return 0;
    job->names = m;
    job->cap = cap;
  }
  if (job->count + 1 > job->scap) {
    size_t cap = job->scap ? job->scap * 2 : 4096;
    size_t *t = (size_t *)realloc(job->starts, cap * sizeof *t);
    if (t == NULL) return 0;
    job->starts = t;
    job->scap = cap;
  }
  job->starts[job->count++] = job->used;
  memcpy(job->names + job->used, n, len);
  job->used += len;
  if (dir) job->names[job->used++] = '/';
  job->names[job->used++] = '\0';
  return 1;
}

static int rd_compare (const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void rd_execute (napi_env env, void *data) {
  (void)env;
  readdir_job *job = (readdir_job *)data;
  DIR *d = opendir(job->dir);
  if (d == NULL) { job->err = errno; return; }
  int dfd = dirfd(d);
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (e == NULL) { if (errno != 0) job->err = errno; break; }
    const char *n = e->d_name;
    if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
    if (job->skip != NULL && strcmp(n, job->skip) == 0) continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) continue; /* gone meanwhile */
      type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_LNK;
    }
    if (type != DT_REG && type != DT_DIR) continue; /* not objects */
    if (!rd_add(job, n, strlen(n), type == DT_DIR)) { job->err = ENOMEM; break; }
  }
  closedir(d);
  if (job->err != 0) return;
  /* Sort pointers to the keys, then pack them in that order. */
  size_t n = job->count;
  size_t packed_len = job->used - n; /* less the NULs */
  if (packed_len > UINT32_MAX) { job->err = ENOMEM; return; }
  char **order = (char **)malloc((n ? n : 1) * sizeof *order);
  job->packed = (char *)malloc(packed_len ? packed_len : 1);
  job->offsets = (uint32_t *)malloc((n + 1) * sizeof *job->offsets);
  job->is_dir = (uint8_t *)malloc(n ? n : 1);
  if (order == NULL || job->packed == NULL || job->offsets == NULL || job->is_dir == NULL) {
    free(order);
    job->err = ENOMEM;
    return;
  }
  for (size_t i = 0; i < n; i++) order[i] = job->names + job->starts[i];
  qsort(order, n, sizeof *order, rd_compare);
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(order[i]);
    job->offsets[i] = (uint32_t)at;
    memcpy(job->packed + at, order[i], len);
    at += len;
    job->is_dir[i] = len > 0 && order[i][len - 1] == '/';
  }
  job->offsets[n] = (uint32_t)at;
  job->packed_len = at;
  free(order);
  /* The unsorted copy is no longer needed: free it here, on the worker, not after the event loop took the rest. */
  free(job->names);
  job->names = NULL;
  free(job->starts);
  job->starts = NULL;
}

static void rd_free_packed (napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

static void rd_complete (napi_env env, napi_status status, void *data) {
  readdir_job *job = (readdir_job *)data;
  if (status != napi_ok && job->err == 0) job->err = EINTR;
  napi_value result = NULL, keys, offsets, is_dir;
  int ok = 0;
  if (job->err == 0 &&
      (offsets = s3b_typed(env, napi_uint32_array, job->count + 1, sizeof(uint32_t), job->offsets)) != NULL &&
      (is_dir = s3b_typed(env, napi_uint8_array, job->count, 1, job->is_dir)) != NULL &&
      napi_create_object(env, &result) == napi_ok) {
    /* The packed keys become the Buffer's own memory (no copy of a folder's worth of names). */
    if (napi_create_external_buffer(env, job->packed_len, job->packed, rd_free_packed, NULL, &keys) == napi_ok) {
      job->packed = NULL; /* owned by the Buffer now */
      ok = 1;
    } else {
      s3b_clear_exception(env);
      void *copy = NULL;
      ok = napi_create_buffer_copy(env, job->packed_len, job->packed_len ? job->packed : "", &copy, &keys) == napi_ok;
    }
  }
  if (ok) {
    napi_set_named_property(env, result, "keys", keys);
    napi_set_named_property(env, result, "offsets", offsets);
    napi_set_named_property(env, result, "isDir", is_dir);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    s3b_clear_exception(env);
    s3b_reject_errno(env, job->deferred, job->err ? job->err : ENOMEM, "scandir", job->dir, NULL);
  }
  napi_delete_async_work(env, job->work);
  free(job->dir);
  free(job->skip);
  free(job->names);
  free(job->starts);
  free(job->packed);
  free(job->offsets);
  free(job->is_dir);
  free(job);
}

static napi_value read_dir_sorted (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  readdir_job *job = (readdir_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "readDirSorted: out of memory"); return NULL; }
  job->dir = argc >= 1 ? s3b_string(env, argv[0], 0, NULL) : NULL;
  if (job->dir == NULL) { free(job); napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "readDirSorted(dirPath, skip?) takes a string"); return NULL; }
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t == napi_string) {
    job->skip = s3b_string(env, argv[1], 0, NULL);
    if (job->skip == NULL) { free(job->dir); free(job); napi_throw_error(env, "ENOMEM", "readDirSorted: out of memory"); return NULL; }
  } else if (t != napi_undefined) {
    free(job->dir); free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "readDirSorted: skip must be a string");
    return NULL;
  }
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:readDirSorted", rd_execute, rd_complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { free(job->dir); free(job->skip); free(job); }
  return promise;
}

void register_read_dir_sorted (napi_env env, napi_value exports) {
  s3b_export(env, exports, "readDirSorted", read_dir_sorted);
}
