/*
 * Writing an upload and computing its MD5 (the ETag) in the same libuv job.
 *
 *   md5Open()                       -> a hash handle, or undefined when this node exports no OpenSSL digest API
 *   md5Write(fd, buffers, handle)   -> Promise<bytes written>: writev of every byte at the file offset (going on
 *                                      after short writes and EINTR), then the MD5 of the same bytes
 *   md5Digest(handle)               -> the hex digest; the handle takes no more writes after it
 *
 * Why: a 256 MiB PUT profile spent ~12% of the daemon's samples waking threads: a pool job per 64 KiB socket read
 * for the write, and messages to a worker thread for the hash (plus a copy of every byte into the buffer sent to
 * it). One job per ~1 MiB does both, on the pool thread, while the bytes are still in its cache.
 *
 * The digest comes from the OpenSSL that node links in and exports for addons (EVP_*). It is looked up with dlsym
 * when the addon loads rather than linked, so a node without those symbols loses only this job (md5Open answers
 * undefined and lib/storage/hashed-write.ts streams as before), not the whole addon.
 *
 * A handle is used by one upload, one job at a time (the caller's Writable never has two writes in flight); a
 * second job on a busy handle is refused rather than racing on the context.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "common.h"
#include "md5_write.h"

typedef struct evp_md_ctx EVP_MD_CTX;
typedef struct evp_md EVP_MD;
static EVP_MD_CTX *(*ctx_new) (void);
static void (*ctx_free) (EVP_MD_CTX *);
static const EVP_MD *(*md_md5) (void);
static int (*digest_init) (EVP_MD_CTX *, const EVP_MD *, void *);
static int (*digest_update) (EVP_MD_CTX *, const void *, size_t);
static int (*digest_final) (EVP_MD_CTX *, unsigned char *, unsigned int *);

static bool have_digest (void) {
  static int state = 0; /* 0 not looked up, 1 present, -1 missing */
  if (state == 0) {
    ctx_new = (EVP_MD_CTX *(*)(void))dlsym(RTLD_DEFAULT, "EVP_MD_CTX_new");
    ctx_free = (void (*)(EVP_MD_CTX *))dlsym(RTLD_DEFAULT, "EVP_MD_CTX_free");
    md_md5 = (const EVP_MD *(*)(void))dlsym(RTLD_DEFAULT, "EVP_md5");
    digest_init = (int (*)(EVP_MD_CTX *, const EVP_MD *, void *))dlsym(RTLD_DEFAULT, "EVP_DigestInit_ex");
    digest_update = (int (*)(EVP_MD_CTX *, const void *, size_t))dlsym(RTLD_DEFAULT, "EVP_DigestUpdate");
    digest_final = (int (*)(EVP_MD_CTX *, unsigned char *, unsigned int *))dlsym(RTLD_DEFAULT, "EVP_DigestFinal_ex");
    state = ctx_new && ctx_free && md_md5 && digest_init && digest_update && digest_final ? 1 : -1;
  }
  return state == 1;
}

typedef struct {
  EVP_MD_CTX *ctx;
  bool busy;     /* a job is using ctx */
  bool finished; /* md5Digest was called */
  bool failed;   /* a write or update failed: the digest would not be of the bytes written */
} md5_handle;

static void handle_finalize (napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  md5_handle *h = (md5_handle *)data;
  if (h->ctx != NULL) ctx_free(h->ctx);
  free(h);
}

static napi_value md5_open (napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  if (!have_digest()) { napi_get_undefined(env, &out); return out; }
  md5_handle *h = (md5_handle *)calloc(1, sizeof *h);
  if (h == NULL || (h->ctx = ctx_new()) == NULL) {
    free(h);
    napi_throw_error(env, "ENOMEM", "md5Open: could not make a digest context");
    return NULL;
  }
  if (digest_init(h->ctx, md_md5(), NULL) != 1) {
    /* No MD5 from this OpenSSL (a FIPS configuration): the caller's fallback decides what happens. */
    ctx_free(h->ctx);
    free(h);
    napi_get_undefined(env, &out);
    return out;
  }
  if (napi_create_external(env, h, handle_finalize, NULL, &out) != napi_ok) {
    ctx_free(h->ctx);
    free(h);
    return NULL;
  }
  return out;
}

static md5_handle *get_handle (napi_env env, napi_value v) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return (md5_handle *)data;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  md5_handle *h;
  napi_ref handle_ref;
  int fd;
  uint32_t count;
  struct iovec *iov;   /* the caller's buffers, kept alive by refs */
  napi_ref *refs;
  size_t total;
  size_t written;
  int err;
  const char *syscall;
} write_job;

static void write_execute (napi_env env, void *data) {
  (void)env;
  write_job *job = (write_job *)data;
  /* writev advances through a copy of the vector, so the hash below still sees every buffer whole. */
  struct iovec *v = (struct iovec *)malloc(sizeof(struct iovec) * (job->count ? job->count : 1));
  if (v == NULL) { job->err = ENOMEM; job->syscall = "writev"; return; }
  memcpy(v, job->iov, sizeof(struct iovec) * job->count);
  uint32_t at = 0;
  while (at < job->count) {
    if (v[at].iov_len == 0) { at++; continue; }
    int n = (int)(job->count - at);
    if (n > IOV_MAX) n = IOV_MAX;
    ssize_t w = writev(job->fd, v + at, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      job->err = errno;
      job->syscall = "writev";
      break;
    }
    if (w == 0) { job->err = EIO; job->syscall = "writev"; break; } /* a regular file never writes 0 of >0 bytes */
    job->written += (size_t)w;
    size_t left = (size_t)w;
    while (left > 0 && at < job->count) {
      if (left >= v[at].iov_len) { left -= v[at].iov_len; at++; continue; }
      v[at].iov_base = (char *)v[at].iov_base + left;
      v[at].iov_len -= left;
      left = 0;
    }
  }
  free(v);
  if (job->err != 0) { job->h->failed = true; return; }
  for (uint32_t i = 0; i < job->count; i++) {
    if (job->iov[i].iov_len > 0 && digest_update(job->h->ctx, job->iov[i].iov_base, job->iov[i].iov_len) != 1) {
      job->h->failed = true;
      job->err = EIO;
      job->syscall = "EVP_DigestUpdate";
      return;
    }
  }
}

static void write_free (napi_env env, write_job *job) {
  for (uint32_t i = 0; i < job->count; i++) if (job->refs[i] != NULL) napi_delete_reference(env, job->refs[i]);
  if (job->handle_ref != NULL) napi_delete_reference(env, job->handle_ref);
  free(job->refs);
  free(job->iov);
  free(job);
}

static void write_complete (napi_env env, napi_status status, void *data) {
  write_job *job = (write_job *)data;
  job->h->busy = false;
  if (status != napi_ok && job->err == 0) { job->err = EINTR; job->syscall = "writev"; job->h->failed = true; }
  if (job->err == 0) {
    napi_value n;
    napi_create_double(env, (double)job->written, &n);
    napi_resolve_deferred(env, job->deferred, n);
  } else {
    s3b_reject_errno(env, job->deferred, job->err, job->syscall, NULL, NULL);
  }
  napi_delete_async_work(env, job->work);
  write_free(env, job);
}

static napi_value throw_type (napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

/* The bytes of a Buffer, or of any other typed array (a stream stage may pass a plain Uint8Array). */
static bool view_bytes (napi_env env, napi_value v, void **p, size_t *len) {
  bool yes = false;
  if (napi_is_buffer(env, v, &yes) == napi_ok && yes) return napi_get_buffer_info(env, v, p, len) == napi_ok;
  if (napi_is_typedarray(env, v, &yes) != napi_ok || !yes) return false;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, p, &ab, &offset) != napi_ok) return false;
  size_t elem = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    default: elem = 1;
  }
  *len = length * elem;
  return true;
}

static napi_value md5_write (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd = -1;
  bool is_array = false;
  uint32_t count = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_type(env, "md5Write(fd, buffers, handle): bad file descriptor");
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok) {
    return throw_type(env, "md5Write: buffers must be an array of Buffers");
  }
  md5_handle *h = get_handle(env, argv[2]);
  if (h == NULL) return throw_type(env, "md5Write: not a handle from md5Open");
  if (h->busy || h->finished) {
    napi_throw_error(env, "ERR_INVALID_STATE", h->busy ? "md5Write: the handle is in use by another write" : "md5Write: the digest was already taken");
    return NULL;
  }
  write_job *job = (write_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "md5Write: out of memory"); return NULL; }
  job->iov = (struct iovec *)calloc(count ? count : 1, sizeof(struct iovec));
  job->refs = (napi_ref *)calloc(count ? count : 1, sizeof(napi_ref));
  if (job->iov == NULL || job->refs == NULL) { write_free(env, job); napi_throw_error(env, "ENOMEM", "md5Write: out of memory"); return NULL; }
  job->count = count;
  job->fd = fd;
  job->h = h;
  /* Busy from here: reading the array can run JavaScript (a getter), which must not start a second job. */
  h->busy = true;
  for (uint32_t i = 0; i < count; i++) {
    napi_value b;
    void *p = NULL;
    size_t len = 0;
    if (napi_get_element(env, argv[1], i, &b) != napi_ok || !view_bytes(env, b, &p, &len) ||
        napi_create_reference(env, b, 1, &job->refs[i]) != napi_ok) {
      h->busy = false;
      write_free(env, job);
      return throw_type(env, "md5Write: buffers must be an array of Buffers");
    }
    job->iov[i].iov_base = p;
    job->iov[i].iov_len = len;
    job->total += len;
  }
  if (napi_create_reference(env, argv[2], 1, &job->handle_ref) != napi_ok) { h->busy = false; write_free(env, job); return NULL; }
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:md5Write", write_execute, write_complete, job, &job->work, &job->deferred, &queued);
  if (!queued) { h->busy = false; write_free(env, job); }
  return promise;
}

static napi_value md5_digest (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  md5_handle *h = argc < 1 ? NULL : get_handle(env, argv[0]);
  if (h == NULL) return throw_type(env, "md5Digest: not a handle from md5Open");
  if (h->busy || h->finished || h->failed) {
    napi_throw_error(env, "ERR_INVALID_STATE", h->busy ? "md5Digest: a write is still in flight" : h->finished ? "md5Digest: the digest was already taken" : "md5Digest: a write failed");
    return NULL;
  }
  unsigned char md[64];
  unsigned int len = 0;
  h->finished = true;
  if (digest_final(h->ctx, md, &len) != 1 || len != 16) { napi_throw_error(env, "EIO", "md5Digest: EVP_DigestFinal_ex failed"); return NULL; }
  static const char hex[] = "0123456789abcdef";
  char out[33];
  for (unsigned int i = 0; i < 16; i++) { out[2 * i] = hex[md[i] >> 4]; out[2 * i + 1] = hex[md[i] & 15]; }
  napi_value s;
  if (napi_create_string_latin1(env, out, 32, &s) != napi_ok) return NULL;
  return s;
}

void register_md5_write (napi_env env, napi_value exports) {
  s3b_export(env, exports, "md5Open", md5_open);
  s3b_export(env, exports, "md5Write", md5_write);
  s3b_export(env, exports, "md5Digest", md5_digest);
}
