/*
 * A large GetObject's body sent by the kernel (sendfile(2)) from the object's descriptor to the client's socket,
 * as nginx serves files: no read into the daemon and no write back out of it (lib/storage/file-body.ts).
 *
 * socketDescriptor(fd): a private duplicate (F_DUPFD_CLOEXEC) of the connection's descriptor, taken on the event
 *   loop while Node's own is known to be open. Node may close its descriptor at any time (client gone, idle
 *   timeout); the number could then be reused by the next open() and a job still running would send the object's
 *   bytes into an unrelated file or connection. The duplicate keeps the socket itself; the caller closes it.
 * sendFile(sock, fd, offset, count): one pool job sending up to `count` bytes of fd from `offset` into the
 *   (non-blocking) socket, until they are sent, the socket's buffer is full (EAGAIN), the file ends (fewer bytes
 *   than asked: the caller decides) or an error. Resolves { sent, errno } (errno 0, EAGAIN or the failure's);
 *   the job never waits on the socket, so slow clients cannot hold the pool's threads.
 * waitWritable(sock, timeoutMs): resolves true once the socket can take more bytes, false after timeoutMs. A
 *   uv_poll on the event loop (epoll on our duplicate, beside Node's registration of its own descriptor).
 * shutdownSocket(sock): ends the connection for both sides (below).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "common.h"
#include "send_file.h"

/* One job returns at least this often: the caller sees a client gone and keeps the idle timer alive, and a pool
 * thread is held no longer than a few of the streamed path's 1 MiB reads would hold it. */
#define JOB_MAX_BYTES (8LL * 1024 * 1024)

/* The one descriptor argument of socketDescriptor and shutdownSocket; false (a TypeError thrown) when missing. */
static bool descriptor_arg (napi_env env, napi_callback_info info, const char *message, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  *fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < 1 || napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  return true;
}

static napi_value socket_descriptor (napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!descriptor_arg(env, info, "socketDescriptor takes a descriptor", &fd)) return NULL;
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0) {
    napi_throw_error(env, s3b_errno_code(errno), "socketDescriptor: fcntl(F_DUPFD_CLOEXEC) failed");
    return NULL;
  }
  napi_value out;
  napi_create_int32(env, dup_fd, &out);
  return out;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int sock, fd;
  int64_t offset, count, sent;
  int err;
} send_job;

static void send_execute (napi_env env, void *data) {
  (void)env;
  send_job *job = (send_job *)data;
  off_t off = (off_t)job->offset;
  int64_t left = job->count < JOB_MAX_BYTES ? job->count : JOB_MAX_BYTES;
  while (left > 0) {
    size_t ask = left > 0x7ffff000LL ? 0x7ffff000 : (size_t)left;
    ssize_t n = sendfile(job->sock, job->fd, &off, ask);
    if (n < 0) {
      if (errno == EINTR) continue;
      job->err = errno; /* EAGAIN: the socket's buffer is full */
      break;
    }
    if (n == 0) break; /* the file ends here */
    job->sent += n;
    left -= n;
  }
}

static void send_complete (napi_env env, napi_status status, void *data) {
  send_job *job = (send_job *)data;
  napi_value out, sent, err;
  if (status == napi_ok && napi_create_object(env, &out) == napi_ok) {
    napi_create_double(env, (double)job->sent, &sent);
    napi_create_int32(env, job->err, &err);
    napi_set_named_property(env, out, "sent", sent);
    napi_set_named_property(env, out, "errno", err);
    napi_resolve_deferred(env, job->deferred, out);
  } else {
    s3b_clear_exception(env);
    s3b_reject_code(env, job->deferred, "EINTR", "sendFile: the job did not run");
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value send_file (napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t sock = -1, fd = -1;
  int64_t offset = -1, count = -1;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_value_int32(env, argv[1], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], &count) != napi_ok ||
      sock < 0 || fd < 0 || offset < 0 || count < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "sendFile(sock, fd, offset >= 0, count >= 0)");
    return NULL;
  }
  send_job *job = (send_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "sendFile: out of memory"); return NULL; }
  job->sock = sock;
  job->fd = fd;
  job->offset = offset;
  job->count = count;
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:sendFile", send_execute, send_complete, job, &job->work, &job->deferred, &queued);
  if (!queued) free(job);
  return promise;
}

/* ---- waitWritable ---- */

typedef struct {
  uv_poll_t poll;
  uv_timer_t timer;
  napi_env env;
  napi_deferred deferred;
  napi_async_context context;
  int open_handles;
} wait_job;

static void wait_closed (uv_handle_t *h) {
  wait_job *job = (wait_job *)h->data;
  if (--job->open_handles == 0) free(job);
}

/* Resolves the promise (once) from a libuv callback. The handles are stopped and closed first: the promise's
 * reactions run inside the callback scope below and may close the descriptor or wait on it again, which must not
 * find it still registered with the loop (a stale epoll entry on a shared socket spins the loop). The job itself
 * lives until both close callbacks ran. Inside a callback scope, so the reactions and the ticks they queue run
 * before the loop goes on, as after any other callback into JavaScript. */
static void wait_finish (wait_job *job, bool writable) {
  if (job->deferred == NULL) return;
  napi_deferred deferred = job->deferred;
  job->deferred = NULL;
  napi_env env = job->env;
  napi_async_context context = job->context;
  uv_poll_stop(&job->poll);
  uv_timer_stop(&job->timer);
  uv_close((uv_handle_t *)&job->poll, wait_closed);
  uv_close((uv_handle_t *)&job->timer, wait_closed);
  napi_handle_scope handles;
  napi_open_handle_scope(env, &handles);
  napi_value resource, value;
  napi_callback_scope scope = NULL;
  napi_create_object(env, &resource);
  napi_open_callback_scope(env, resource, context, &scope);
  napi_get_boolean(env, writable, &value);
  napi_resolve_deferred(env, deferred, value);
  if (scope != NULL) napi_close_callback_scope(env, scope);
  napi_async_destroy(env, context);
  napi_close_handle_scope(env, handles);
}

static void on_poll (uv_poll_t *h, int status, int events) {
  (void)events;
  /* An error (the socket reset) also ends the wait: the next sendFile reports it. */
  wait_finish((wait_job *)h->data, status < 0 || (events & UV_WRITABLE) != 0);
}

static void on_timer (uv_timer_t *h) {
  wait_finish((wait_job *)h->data, false);
}

static napi_value wait_writable (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t sock = -1;
  int64_t timeout = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_value_int64(env, argv[1], &timeout) != napi_ok ||
      sock < 0 || timeout < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "waitWritable(sock, timeoutMs >= 0)");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  wait_job *job = (wait_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "waitWritable: out of memory"); return NULL; }
  job->env = env;
  napi_value name, promise;
  napi_create_string_utf8(env, "s3bridge:waitWritable", NAPI_AUTO_LENGTH, &name);
  if (napi_async_init(env, NULL, name, &job->context) != napi_ok) { free(job); return NULL; }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) { napi_async_destroy(env, job->context); free(job); return NULL; }
  int r = uv_poll_init(loop, &job->poll, sock);
  if (r != 0) {
    napi_async_destroy(env, job->context);
    s3b_reject_errno(env, job->deferred, -r, "uv_poll_init", NULL, NULL);
    free(job);
    return promise;
  }
  job->poll.data = job;
  job->open_handles = 1;
  uv_timer_init(loop, &job->timer);
  job->timer.data = job;
  job->open_handles = 2;
  r = uv_poll_start(&job->poll, UV_WRITABLE, on_poll);
  if (r == 0) r = uv_timer_start(&job->timer, on_timer, (uint64_t)timeout, 0);
  if (r != 0) {
    napi_async_destroy(env, job->context);
    s3b_reject_errno(env, job->deferred, -r, "uv_poll_start", NULL, NULL);
    job->deferred = NULL;
    uv_close((uv_handle_t *)&job->poll, wait_closed);
    uv_close((uv_handle_t *)&job->timer, wait_closed);
  }
  return promise;
}

/* shutdownSocket(sock): shutdown(2) of both directions. It acts on the connection, not on one descriptor: once
 * Node has closed its own, the client sees the end at once and a job still sending fails with EPIPE instead of
 * going on until it returns. Errors (not connected any more) are ignored. */
static napi_value shutdown_socket (napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!descriptor_arg(env, info, "shutdownSocket takes a descriptor", &fd)) return NULL;
  shutdown(fd, SHUT_RDWR);
  return NULL;
}

void register_send_file (napi_env env, napi_value exports) {
  s3b_export(env, exports, "shutdownSocket", shutdown_socket);
  s3b_export(env, exports, "socketDescriptor", socket_descriptor);
  s3b_export(env, exports, "sendFile", send_file);
  s3b_export(env, exports, "waitWritable", wait_writable);
}
