/*
** proc: subprocesses through libuv. See proc.h.
**
** The operation owns four or five libuv handles (process, two or three
** pipes, a timer) and is freed when the last of them has closed. libuv
** callbacks only fill C buffers and wake the task; the task's continuation
** turns the buffers into Lua values, so nothing touches Lua outside a task.
*/
#include "proc.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <uv.h>

#include "buf.h"
#include "sched.h"

extern char **environ;

typedef struct out_buf {
  ld_buf b;
  size_t max;
  int truncated;
} out_buf;

typedef struct proc_op {
  uv_process_t proc;
  uv_pipe_t out, err, in;
  uv_timer_t timer;
  uv_write_t write_req;
  ld_task *task; /* NULL once the task stopped waiting (cancelled) */
  out_buf o, e;
  char *input; /* what the child reads on stdin (has_in), NULL if empty */
  size_t input_len;
  uint64_t grace_ms; /* SIGTERM first, SIGKILL this long after; 0: SIGKILL at once */
  int64_t status;
  int signal;
  int exited, out_open, err_open, timed_out, has_in;
  int open_handles; /* handles not yet closed */
  int closing;
  char chunk[65536];
} proc_op;

static void free_op(proc_op *op) {
  ld_buf_free(&op->o.b);
  ld_buf_free(&op->e.b);
  free(op->input);
  free(op);
}

static void on_closed(uv_handle_t *h) {
  proc_op *op = h->data;
  if (--op->open_handles == 0) free_op(op);
}

/* Closes what is still open; the op is freed after the last close. */
static void close_all(proc_op *op) {
  if (op->closing) return;
  op->closing = 1;
  uv_handle_t *hs[] = {(uv_handle_t *)&op->proc, (uv_handle_t *)&op->out, (uv_handle_t *)&op->err,
                       (uv_handle_t *)&op->timer, (uv_handle_t *)&op->in};
  for (int i = 0; i < 4 + op->has_in; i++)
    if (!uv_is_closing(hs[i])) uv_close(hs[i], on_closed);
}

/* stdin was written (or the child stopped reading it: EPIPE, ignored as
** SIGPIPE is): closing the pipe gives the child its EOF. */
static void on_written(uv_write_t *req, int status) {
  (void)status;
  proc_op *op = req->data;
  if (!uv_is_closing((uv_handle_t *)&op->in)) uv_close((uv_handle_t *)&op->in, on_closed);
}

static void maybe_done(proc_op *op) {
  if (!op->exited || op->out_open || op->err_open) return;
  uv_timer_stop(&op->timer);
  if (op->task) {
    ld_task *t = op->task;
    op->task = NULL;
    ld_task_wake(t, 0); /* the continuation reads the buffers, then closes */
  } else {
    close_all(op);
  }
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal) {
  proc_op *op = p->data;
  ld_proc_exited(p);
  op->exited = 1;
  op->status = status;
  op->signal = term_signal;
  maybe_done(op);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  proc_op *op = h->data;
  *buf = uv_buf_init(op->chunk, sizeof op->chunk);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  proc_op *op = s->data;
  out_buf *b = s == (uv_stream_t *)&op->out ? &op->o : &op->e;
  if (nread > 0) {
    size_t n = (size_t)nread, room = b->max - b->b.n;
    if (n > room) n = room, b->truncated = 1;
    if (n > 0 && ld_buf_add(&b->b, buf->base, n, 0) != 0) b->truncated = 1; /* no memory: keep what we have */
    return;
  }
  if (nread == 0) return;
  uv_read_stop(s); /* EOF or an error: this stream is finished */
  if (s == (uv_stream_t *)&op->out)
    op->out_open = 0;
  else
    op->err_open = 0;
  maybe_done(op);
}

/* Also after the child exited while a pipe is still open: whoever holds it
** is most likely a background process it left in its group, which would
** keep the call waiting. (A group with members keeps its id, so the kill
** cannot reach another group unless every member is gone.) */
static void kill_group(proc_op *op, int sig) {
  if (op->proc.pid > 0 && (!op->exited || op->out_open || op->err_open)) kill(-op->proc.pid, sig);
}

/* The timeout: SIGTERM lets the group clean up, SIGKILL follows after the
** grace (this callback again); without a grace, SIGKILL at once. */
static void on_timeout(uv_timer_t *t) {
  proc_op *op = t->data;
  if (!op->timed_out && op->grace_ms > 0) {
    op->timed_out = 1;
    kill_group(op, SIGTERM);
    uv_timer_start(&op->timer, on_timeout, op->grace_ms, 0);
    return;
  }
  op->timed_out = 1;
  kill_group(op, SIGKILL);
}

/* The task was cancelled: kill the group and let go of it at once, so
** nothing waits on it - not even the end of the process. */
static void cancel(void *ud, ld_task *t) {
  proc_op *op = ud;
  op->task = NULL;
  kill_group(op, SIGKILL);
  close_all(op);
  ld_task_abort(t);
}

static void push_out(lua_State *L, out_buf *b, const char *field) {
  lua_pushlstring(L, b->b.p ? b->b.p : "", b->b.n);
  lua_setfield(L, -2, field);
}

/* Continuation: the process ended and both pipes hit EOF. [-0, +1] */
static int spawn_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  proc_op *op = (proc_op *)ctx;
  close_all(op); /* freed from a later loop callback: the buffers stay valid here */
  lua_createtable(L, 0, 9);
  push_out(L, &op->o, "stdout");
  push_out(L, &op->e, "stderr");
  lua_Integer code = op->timed_out ? -1 : op->signal ? 128 + op->signal : (lua_Integer)op->status;
  lua_pushinteger(L, code);
  lua_setfield(L, -2, "exit_code");
  lua_pushinteger(L, (lua_Integer)op->status);
  lua_setfield(L, -2, "status");
  lua_pushinteger(L, op->signal);
  lua_setfield(L, -2, "signal");
  lua_pushboolean(L, op->o.truncated || op->e.truncated);
  lua_setfield(L, -2, "truncated");
  lua_pushboolean(L, op->o.truncated);
  lua_setfield(L, -2, "stdout_truncated");
  lua_pushboolean(L, op->e.truncated);
  lua_setfield(L, -2, "stderr_truncated");
  lua_pushboolean(L, op->timed_out);
  lua_setfield(L, -2, "timed_out");
  return 1;
}

void ld_proc_check_strings(lua_State *L, int idx, const char *what) {
  for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, idx); i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING) luaL_error(L, "spawn: %s must hold strings", what);
    lua_pop(L, 1);
  }
}

char **ld_proc_strings(lua_State *L, int idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  char **v = calloc((size_t)n + 1, sizeof *v);
  if (!v) return NULL;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    v[i - 1] = (char *)lua_tostring(L, -1); /* anchored by the list */
    lua_pop(L, 1);
  }
  return v;
}

/* The process groups of the children that have not exited: a second
** Ctrl-C ends llmdo with _exit, and takes them along (ld_proc_kill_all). */
static pid_t *live;
static size_t nlive, caplive;

static void remember(pid_t pid) {
  if (nlive == caplive) {
    size_t cap = caplive ? 2 * caplive : 16;
    pid_t *grown = realloc(live, cap * sizeof *live);
    if (!grown) return; /* it is only not killed on a forced exit */
    live = grown, caplive = cap;
  }
  live[nlive++] = pid;
}

void ld_proc_exited(const uv_process_t *p) {
  for (size_t i = 0; i < nlive; i++)
    if (live[i] == p->pid) {
      live[i] = live[--nlive];
      return;
    }
}

void ld_proc_kill_all(void) {
  for (size_t i = 0; i < nlive; i++) kill(-live[i], SIGKILL);
}

int ld_proc_start(uv_loop_t *loop, uv_process_t *p, char **argv, char **env, const char *cwd, uv_pipe_t *in,
                  uv_pipe_t *out, uv_pipe_t *err, uv_exit_cb on_exit) {
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE; /* /dev/null */
  if (in) {
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)in;
  }
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)out;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)err;
  uv_process_options_t opts;
  memset(&opts, 0, sizeof opts);
  opts.file = argv[0];
  opts.args = argv;
  opts.env = env;
  opts.cwd = cwd;
  opts.flags = UV_PROCESS_DETACHED; /* setsid: its own process group, signalled as one */
  opts.stdio_count = 3;
  opts.stdio = stdio;
  opts.exit_cb = on_exit;
  int r = uv_spawn(loop, p, &opts);
  free(argv);
  free(env);
  if (r == 0) remember(p->pid);
  return r;
}

int ld_proc_spawn_failed(lua_State *L, int r) {
  lua_pushnil(L);
  lua_pushstring(L, strerror(-r)); /* libuv's codes are negated errno values on Unix */
  lua_pushstring(L, uv_err_name(r));
  return 3;
}

/* [-1, +1 or +3, yields] See proc.h. */
int l_proc_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "argv");  /* 2 */
  lua_getfield(L, 1, "env");   /* 3 */
  lua_getfield(L, 1, "cwd");   /* 4 */
  lua_getfield(L, 1, "stdin"); /* 5 */
  luaL_argcheck(L, lua_istable(L, 2) && lua_rawlen(L, 2) >= 1, 1, "argv must be a non-empty list");
  const char *cwd = luaL_optstring(L, 4, NULL);
  size_t input_len = 0;
  const char *input = lua_isnil(L, 5) ? NULL : luaL_checklstring(L, 5, &input_len);
  lua_getfield(L, 1, "timeout_ms");
  lua_Integer timeout_ms = luaL_optinteger(L, -1, 0);
  lua_getfield(L, 1, "max_output");
  lua_Integer max_output = luaL_optinteger(L, -1, 51200);
  lua_getfield(L, 1, "grace_ms");
  lua_Integer grace_ms = luaL_optinteger(L, -1, 0);
  lua_pop(L, 3);
  luaL_argcheck(L, max_output >= 0 && timeout_ms >= 0 && grace_ms >= 0, 1, "limits must not be negative");
  luaL_argcheck(L, input_len <= UINT32_MAX, 1, "stdin is larger than 4 GiB");
  lua_getfield(L, 1, "what"); /* who is asking, for the errors: "llmdo.exec" */
  const char *what = luaL_optstring(L, -1, "spawn");
  lua_pop(L, 1); /* the string stays anchored by the options table */
  ld_task *t = ld_task_check(L, what);
  ld_proc_check_strings(L, 2, "argv");
  if (lua_istable(L, 3)) ld_proc_check_strings(L, 3, "env");
  char **argv = ld_proc_strings(L, 2); /* nothing raises until these are freed and op is closed */
  char **env = lua_istable(L, 3) ? ld_proc_strings(L, 3) : NULL;
  proc_op *op = calloc(1, sizeof *op);
  char *in_copy = input && input_len > 0 ? malloc(input_len) : NULL;
  if (!argv || (lua_istable(L, 3) && !env) || !op || (input && input_len > 0 && !in_copy)) {
    free(argv), free(env), free(op), free(in_copy);
    return luaL_error(L, "not enough memory");
  }
  if (in_copy) memcpy(in_copy, input, input_len); /* the string may be collected while the child reads */
  uv_loop_t *loop = ld_sched_loop(ld_sched_get(L));
  op->o.max = op->e.max = (size_t)max_output;
  op->grace_ms = (uint64_t)grace_ms;
  op->input = in_copy;
  op->input_len = input_len;
  op->has_in = input != NULL;
  uv_pipe_init(loop, &op->out, 0);
  uv_pipe_init(loop, &op->err, 0);
  uv_timer_init(loop, &op->timer);
  if (op->has_in) uv_pipe_init(loop, &op->in, 0);
  op->proc.data = op->out.data = op->err.data = op->timer.data = op->in.data = op;
  op->write_req.data = op;
  op->open_handles = 4 + op->has_in;
  int r = ld_proc_start(loop, &op->proc, argv, env, cwd, op->has_in ? &op->in : NULL, &op->out, &op->err,
                        on_exit_cb);
  if (r != 0) { /* not started: the handles still have to be closed */
    op->exited = 1;
    close_all(op);
    return ld_proc_spawn_failed(L, r);
  }
  op->out_open = op->err_open = 1;
  op->task = t;
  uv_read_start((uv_stream_t *)&op->out, on_alloc, on_read);
  uv_read_start((uv_stream_t *)&op->err, on_alloc, on_read);
  if (op->has_in) {
    if (op->input_len > 0) {
      uv_buf_t b = uv_buf_init(op->input, (unsigned)op->input_len);
      if (uv_write(&op->write_req, (uv_stream_t *)&op->in, &b, 1, on_written) != 0)
        uv_close((uv_handle_t *)&op->in, on_closed);
    } else {
      uv_close((uv_handle_t *)&op->in, on_closed);
    }
  }
  if (timeout_ms > 0) uv_timer_start(&op->timer, on_timeout, (uint64_t)timeout_ms, 0);
  lua_settop(L, 0);
  return ld_task_wait(L, t, cancel, op, (lua_KContext)op, spawn_k);
}

int l_proc_environ(lua_State *L) {
  lua_newtable(L);
  lua_Integer i = 0;
  for (char **e = environ; *e; e++) {
    lua_pushstring(L, *e);
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

/* The environment block's bounds, env_start and env_end (fields 50 and 51
** of /proc/self/stat). Returns 0, or -1 when they cannot be read. */
static int env_block(uintptr_t *start, uintptr_t *end) {
  char buf[2048];
  FILE *f = fopen("/proc/self/stat", "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p) return -1;
  p++;
  unsigned long long v[51] = {0};
  for (int field = 3; field <= 51; field++) {
    while (*p == ' ') p++;
    if (field == 3) { /* the state, a letter */
      if (!*p) return -1;
      p++;
      continue;
    }
    char *after;
    v[field - 1] = strtoull(p, &after, 10);
    if (after == p) return -1;
    p = after;
  }
  *start = (uintptr_t)v[49];
  *end = (uintptr_t)v[50];
  return *start < *end ? 0 : -1;
}

/* The loader and libc read these before main and may keep pointers into
** the block: they stay. */
static int read_before_main(const char *kv) {
  return strncmp(kv, "LD_", 3) == 0 || strncmp(kv, "GLIBC_", 6) == 0 || strncmp(kv, "MALLOC_", 7) == 0;
}

static char *sealed; /* the moved strings, for the life of the process */

void ld_proc_seal_environ(void) {
  uintptr_t start, end;
  if (sealed || env_block(&start, &end) != 0) return;
  size_t total = 0;
  for (char **e = environ; *e; e++)
    if ((uintptr_t)*e >= start && (uintptr_t)*e < end) total += strlen(*e) + 1;
  if (total == 0 || !(sealed = malloc(total))) return;
  char *p = sealed;
  for (char **e = environ; *e; e++) {
    if ((uintptr_t)*e < start || (uintptr_t)*e >= end || read_before_main(*e)) continue;
    size_t len = strlen(*e) + 1;
    memcpy(p, *e, len);
    memset(*e, 0, len);
    *e = p;
    p += len;
  }
}
