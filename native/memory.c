/*
 * trimMemory(): hands the free pages that glibc's malloc keeps in its arenas back to the kernel (malloc_trim).
 *
 * Requests allocate from the main thread's arena and from one arena per libuv pool thread; after a burst (a
 * million-key listing, a few large transfers) the freed memory stays mapped, so the daemon's RSS never comes
 * back down. malloc_trim walks every arena and takes each one's lock in turn: it costs 10-100 ms, so it runs as
 * a pool job and the event loop only waits if it allocates from the arena being trimmed at that moment.
 * Resolves to whether any memory was released.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include "common.h"
#include "memory.h"

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int released;
} trim_job;

static void trim_execute (napi_env env, void *data) {
  (void)env;
  trim_job *job = (trim_job *)data;
  job->released = malloc_trim(0);
}

static void trim_complete (napi_env env, napi_status status, void *data) {
  trim_job *job = (trim_job *)data;
  napi_value v;
  if (status == napi_ok && napi_get_boolean(env, job->released == 1, &v) == napi_ok) napi_resolve_deferred(env, job->deferred, v);
  else s3b_reject_code(env, job->deferred, "EINTR", "trimMemory: the job did not run");
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value trim_memory (napi_env env, napi_callback_info info) {
  (void)info;
  trim_job *job = (trim_job *)calloc(1, sizeof *job);
  if (job == NULL) { napi_throw_error(env, "ENOMEM", "trimMemory: out of memory"); return NULL; }
  bool queued;
  napi_value promise = s3b_start(env, "s3bridge:trimMemory", trim_execute, trim_complete, job, &job->work, &job->deferred, &queued);
  if (!queued) free(job);
  return promise;
}

void register_memory (napi_env env, napi_value exports) {
  s3b_export(env, exports, "trimMemory", trim_memory);
}
