/*
 * s3bridge folder probes: holdsKeys(dirPath, names, metaXattr, keyRoom) -> Promise<Uint8Array>.
 *
 * For a delimiter listing: whether a key lies beneath each folder `name` of the folder at dirPath (a held
 * /proc/self/fd path), i.e. the folder carries the marker attribute `metaXattr`, or holds a regular file with a
 * UTF-8 name, or such a folder, at any depth (depth first, stopping at the first found). Every folder is opened
 * with openat(O_NOFOLLOW) from the one above it, so a symlink planted over NFS is never followed; entries are read
 * with getdents64 only until the answer is known. One libuv job for the whole batch.
 *
 * The answer, per name: 1 holds a key, or could not be told (a folder that cannot be opened or read: EACCES,
 * EMFILE, too deep), 0 holds none, or is no folder any more (ENOENT, ENOTDIR, ELOOP: gone or swapped meanwhile).
 * `names` is one string of names joined by '/' (a name never holds '/'). `keyRoom` is 1024 less the byte length of
 * dirPath's key: a file whose key would be longer is no key, as the listing skips it. A probe that has opened
 * MAX_FOLDERS_PER_PROBE folders or read MAX_ENTRIES_PER_PROBE entries answers 1 (could not be told).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common.h"
#include "folder_probe.h"

#define MAX_NAMES 100000
/* Work one probe may do before it answers "holds keys" without knowing: a lister must not be able to make the
 * daemon walk an arbitrarily large tree of empty folders (mkdir -p over NFS) on every delimiter listing. */
#define MAX_FOLDERS_PER_PROBE 1000
#define MAX_ENTRIES_PER_PROBE 100000
/* A key is at most 1024 bytes, so no key lies deeper than 512 folders; deeper trees are "could not be told". */
#define MAX_DEPTH 512
/* Small on purpose: the first file usually comes in the first read, and a larger read of a 100-file folder cost
 * the bench's 1,000-folder delimiter listing 69 ms against 37. */
#define DENTS_BUF 2048

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *dir;
  char *names;          /* joined names, '/' replaced by NUL */
  char *xattr;
  int64_t key_room;     /* bytes a key may still have below dirPath (1024 less the folder's key) */
  uint32_t n;
  uint32_t *name_off;
  uint8_t *answers;
  int err;
} probe_job;

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static void job_free (probe_job *job) {
  if (job == NULL) return;
  free(job->dir);
  free(job->names);
  free(job->xattr);
  free(job->name_off);
  free(job->answers);
  free(job);
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF), as Node's isUtf8: a name that is not is no key. */
static bool is_utf8 (const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= len) return false; /* the sequence runs past the name */
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

typedef struct { int folders; long entries; } probe_budget;

/* 1: a key lies beneath the open folder fd (or it could not be told), 0: none. `room`: bytes a key may still have
 * below this folder (a file is a key only if its name fits; a key is at most 1024 bytes). Closes fd. */
static int probe (int fd, const char *xattr, int depth, int64_t room, probe_budget *budget) {
  if (depth > MAX_DEPTH || ++budget->folders > MAX_FOLDERS_PER_PROBE) { close(fd); return 1; }
  if (room < 0) { close(fd); return 0; }
  char *buf = (char *)malloc(DENTS_BUF);
  if (buf == NULL) { close(fd); return 1; }
  /* Subfolder names, NUL-separated, read only when no file settles it. */
  char *subs = NULL;
  size_t subs_len = 0, subs_cap = 0;
  int answer = 0;
  for (;;) {
    long got = syscall(SYS_getdents64, fd, buf, DENTS_BUF);
    if (got < 0) { answer = 1; goto done; }
    if (got == 0) break;
    for (long off = 0; off < got;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
      off += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      if (++budget->entries > MAX_ENTRIES_PER_PROBE) { answer = 1; goto done; }
      size_t len = strlen(name);
      if (!is_utf8((const unsigned char *)name, len)) continue;
      unsigned char type = d->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
      }
      if (type == DT_REG) {
        if ((int64_t)len <= room) { answer = 1; goto done; }
        continue; /* its key would be longer than 1024 bytes: no key, as the listing skips it */
      }
      if (type != DT_DIR) continue;
      if (subs_len + len + 1 > subs_cap) {
        size_t cap = subs_cap ? subs_cap * 2 : 1024;
        while (cap < subs_len + len + 1) cap *= 2;
        char *grown = (char *)realloc(subs, cap);
        if (grown == NULL) { answer = 1; goto done; }
        subs = grown;
        subs_cap = cap;
      }
      memcpy(subs + subs_len, name, len + 1);
      subs_len += len + 1;
    }
  }
  /* No file here: the folder itself may be a marker (an object "k/"). */
  if (xattr != NULL && fgetxattr(fd, xattr, NULL, 0) >= 0) { answer = 1; goto done; }
  for (size_t at = 0; at < subs_len; at += strlen(subs + at) + 1) {
    int sub = openat(fd, subs + at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
      answer = 1;
      goto done;
    }
    if (probe(sub, xattr, depth + 1, room - (int64_t)strlen(subs + at) - 1, budget)) { answer = 1; goto done; }
  }
done:
  free(subs);
  free(buf);
  close(fd);
  return answer;
}

static void execute (napi_env env, void *data) {
  (void)env;
  probe_job *job = (probe_job *)data;
  int dfd = open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (uint32_t i = 0; i < job->n; i++) {
    if (dfd < 0) { job->answers[i] = 1; continue; }
    int fd = openat(dfd, job->names + job->name_off[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) { job->answers[i] = (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) ? 0 : 1; continue; }
    probe_budget budget = { 0, 0 };
    const char *name = job->names + job->name_off[i];
    job->answers[i] = (uint8_t)probe(fd, job->xattr, 1, job->key_room - (int64_t)strlen(name) - 1, &budget);
  }
  if (dfd >= 0) close(dfd);
}

static void complete (napi_env env, napi_status status, void *data) {
  probe_job *job = (probe_job *)data;
  napi_value result = status == napi_ok ? s3b_typed(env, napi_uint8_array, job->n, 1, job->answers) : NULL;
  if (result != NULL) napi_resolve_deferred(env, job->deferred, result);
  else s3b_reject_code(env, job->deferred, "ENOMEM", "ENOMEM: holdsKeys could not build its result");
  napi_delete_async_work(env, job->work);
  job_free(job);
}

static napi_value holds_keys (napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int64_t room = 0;
  if (argc < 4 || napi_get_value_int64(env, argv[3], &room) != napi_ok) {
    s3b_clear_exception(env);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "holdsKeys(dirPath, joinedNames, metaXattr, keyRoom) takes three strings and a number");
    return NULL;
  }
  probe_job *job = (probe_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "holdsKeys: out of memory"); return NULL; }
  size_t names_len = 0;
  job->key_room = room;
  job->dir = s3b_string(env, argv[0], 0, NULL);
  job->names = s3b_string(env, argv[1], 0, &names_len);
  job->xattr = s3b_string(env, argv[2], 0, NULL);
  if (job->dir == NULL || job->names == NULL || job->xattr == NULL) {
    job_free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "holdsKeys: dirPath, names and metaXattr must be strings");
    return NULL;
  }
  int split = s3b_split_names(job->names, names_len, MAX_NAMES, &job->name_off, &job->n);
  if (split == ERANGE) { job_free(job); napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "holdsKeys: too many names in one batch"); return NULL; }
  job->answers = (uint8_t *)calloc(job->n ? job->n : 1, 1);
  if (split != 0 || !job->answers) { job_free(job); napi_throw_error(env, "ENOMEM", "holdsKeys: out of memory"); return NULL; }
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:holdsKeys", execute, complete, job, &job->work, &job->deferred, &queued);
  if (!queued) job_free(job);
  return promise;
}

void register_folder_probe (napi_env env, napi_value exports) {
  s3b_export(env, exports, "holdsKeys", holds_keys);
}
