/*
** io: timers and standard input as task operations. See io.h.
**
** Each operation is a malloc'd struct owned by the operation itself: it
** is freed when it completes (after pushing its results onto the task)
** or when the task is cancelled (through the cancel hook), never both.
*/
#include "io.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <uv.h>

#include "buf.h"
#include "error.h"
#include "own.h"
#include "sched.h"

/* --- sleep ----------------------------------------------------------------- */

typedef struct sleep_op {
  uv_timer_t timer;
  ld_task *task;
} sleep_op;

static void sleep_closed(uv_handle_t *h) { free(h->data); }

static void sleep_fired(uv_timer_t *timer) {
  sleep_op *op = timer->data;
  ld_task_wake(op->task, 0);
  uv_close((uv_handle_t *)&op->timer, sleep_closed);
}

static void sleep_cancel(void *ud, ld_task *t) {
  sleep_op *op = ud;
  uv_timer_stop(&op->timer);
  uv_close((uv_handle_t *)&op->timer, sleep_closed);
  ld_task_abort(t);
}

int l_io_sleep(lua_State *L) {
  lua_Number ms = luaL_checknumber(L, 1);
  luaL_argcheck(L, ms >= 0, 1, "expected a non-negative number of milliseconds");
  ld_task *t = ld_task_check(L, "sleep");
  ld_sched *s = ld_sched_get(L);
  sleep_op *op = malloc(sizeof *op);
  if (!op) return luaL_error(L, "not enough memory");
  uv_update_time(ld_sched_loop(s)); /* the cached loop time may be stale */
  uv_timer_init(ld_sched_loop(s), &op->timer);
  op->timer.data = op;
  op->task = t;
  uv_timer_start(&op->timer, sleep_fired, (uint64_t)ms, 0);
  lua_settop(L, 0);
  return ld_task_wait(L, t, sleep_cancel, op, 0, NULL);
}

/* --- stdin ----------------------------------------------------------------- */

typedef struct stdin_op {
  union {
    uv_pipe_t pipe;
    uv_fs_t fs;
  } u;
  int is_pipe;
  ld_task *task;
  ld_buf buf;
  size_t limit;
  int failed; /* errno-style code, or 0 */
  int too_big;
  char chunk[65536];
} stdin_op;

static void stdin_free(stdin_op *op) {
  ld_buf_free(&op->buf);
  free(op);
}

/* The read ended: hand the buffer over. The op now belongs to the task's
** continuation, which turns it into (text, nil) or (nil, message). */
static void stdin_complete(stdin_op *op) {
  ld_task *t = op->task;
  op->task = NULL;
  ld_task_wake(t, 0);
}

static void stdin_free_any(void *p) { stdin_free(p); }

/* Continuation: (text, nil) or (nil, message). Lua owns the op while the
** values are made (own.h). */
static int stdin_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  stdin_op *op = (stdin_op *)ctx;
  ld_own_push(L, op, stdin_free_any);
  if (op->too_big) {
    lua_pushnil(L);
    lua_pushfstring(L, "standard input exceeds %d MiB", (int)(op->limit >> 20));
  } else if (op->failed) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot read standard input: %s", uv_strerror(op->failed));
  } else {
    lua_pushlstring(L, op->buf.p ? op->buf.p : "", op->buf.n);
    lua_pushnil(L);
  }
  ld_own_free(L, -3);
  return 2;
}

static int stdin_append(stdin_op *op, const char *p, size_t n) {
  if (op->buf.n + n > op->limit) {
    op->too_big = 1;
    return -1;
  }
  if (ld_buf_add(&op->buf, p, n, 0) != 0) {
    op->failed = UV_ENOMEM;
    return -1;
  }
  return 0;
}

static void pipe_closed(uv_handle_t *h) {
  stdin_op *op = h->data;
  if (op->task)
    stdin_complete(op);
  else
    stdin_free(op);
}

static void pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  stdin_op *op = h->data;
  *buf = uv_buf_init(op->chunk, sizeof op->chunk);
}

static void pipe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  stdin_op *op = s->data;
  if (nread > 0 && stdin_append(op, buf->base, (size_t)nread) == 0) return;
  if (nread == 0) return;
  if (nread < 0 && nread != UV_EOF) op->failed = (int)nread;
  uv_read_stop(s);
  uv_close((uv_handle_t *)s, pipe_closed);
}

static void fs_read(uv_fs_t *req);

static void fs_next(stdin_op *op) {
  uv_buf_t b = uv_buf_init(op->chunk, sizeof op->chunk);
  uv_loop_t *loop = op->u.fs.loop;
  uv_fs_req_cleanup(&op->u.fs);
  if (uv_fs_read(loop, &op->u.fs, 0, &b, 1, -1, fs_read) != 0) {
    op->failed = UV_EIO;
    stdin_complete(op);
  }
}

static void fs_read(uv_fs_t *req) {
  stdin_op *op = req->data;
  ssize_t r = req->result;
  if (!op->task) { /* cancelled while the read was in flight */
    uv_fs_req_cleanup(req);
    stdin_free(op);
    return;
  }
  if (r > 0 && stdin_append(op, op->chunk, (size_t)r) == 0) {
    op->u.fs.data = op;
    fs_next(op);
    return;
  }
  if (r < 0) op->failed = (int)r;
  uv_fs_req_cleanup(req);
  stdin_complete(op);
}

static void stdin_cancel(void *ud, ld_task *t) {
  stdin_op *op = ud;
  ld_task_abort(t);
  op->task = NULL; /* completion callbacks now only free */
  if (op->is_pipe) {
    if (uv_is_closing((uv_handle_t *)&op->u.pipe)) return; /* pipe_closed frees it */
    uv_read_stop((uv_stream_t *)&op->u.pipe);
    uv_close((uv_handle_t *)&op->u.pipe, pipe_closed);
  } else {
    uv_cancel((uv_req_t *)&op->u.fs);
  }
}

int l_io_read_stdin(lua_State *L) {
  lua_Integer limit = luaL_optinteger(L, 1, 16 << 20);
  ld_task *t = ld_task_check(L, "read_stdin");
  uv_loop_t *loop = ld_sched_loop(ld_sched_get(L));
  uv_handle_type type = uv_guess_handle(0);
  if (type != UV_FILE && type != UV_NAMED_PIPE) {
    lua_pushnil(L); /* a terminal, or no stdin at all */
    return 1;
  }
  stdin_op *op = calloc(1, sizeof *op);
  if (!op) return luaL_error(L, "not enough memory");
  op->task = t;
  op->limit = (size_t)limit;
  if (type == UV_NAMED_PIPE) {
    op->is_pipe = 1;
    uv_pipe_init(loop, &op->u.pipe, 0);
    op->u.pipe.data = op;
    int r = uv_pipe_open(&op->u.pipe, 0);
    if (r == 0) r = uv_read_start((uv_stream_t *)&op->u.pipe, pipe_alloc, pipe_read);
    if (r != 0) {
      op->task = NULL;
      uv_close((uv_handle_t *)&op->u.pipe, pipe_closed);
      return ld_error_raisef(L, "input", "cannot read standard input: %s", uv_strerror(r));
    }
  } else {
    uv_buf_t b = uv_buf_init(op->chunk, sizeof op->chunk);
    op->u.fs.data = op;
    if (uv_fs_read(loop, &op->u.fs, 0, &b, 1, -1, fs_read) != 0) {
      stdin_free(op);
      return ld_error_raisef(L, "input", "cannot read standard input");
    }
  }
  lua_settop(L, 0);
  return ld_task_wait(L, t, stdin_cancel, op, (lua_KContext)op, stdin_k);
}
