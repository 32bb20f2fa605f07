/*
** chan: JSON-RPC lines to a long-lived child. See chan.h.
**
** Ownership: the channel is malloc'd and pointed to by its Lua handle; it
** owns five libuv handles (process, three pipes, a timer) and is freed
** when the handle has let go of it (close, or garbage collection) and the
** last libuv handle has closed. A waiting call is a malloc'd waiter on the
** channel's list, owned by the waiting task: its continuation or its
** cancel hook frees it. libuv callbacks only move bytes, route lines to
** waiters and wake tasks; nothing touches Lua outside a task.
*/
#include "chan.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <lauxlib.h>
#include <uv.h>

#include "buf.h"
#include "events.h"
#include "jsonrpc.h"
#include "proc.h"
#include "sched.h"
#include "term.h"

#define CHAN_MT  "llmdo.Chan"
#define MAX_LINE (64u << 20) /* one message; a longer line fails the waiting calls */
#define TAIL     2048        /* the stderr bytes kept for error messages */
#define EXIT_MS  250         /* output ended: how long to wait for the exit status */

typedef struct chan chan;

typedef struct waiter {
  TAILQ_ENTRY(waiter) link;
  chan *c;
  ld_task *t;
  long long id;
  char *line; /* the response, once it came */
  size_t len;
  const char *kind; /* why it failed: "exited", "malformed", "closed"; NULL if not */
  char *why;
  int quiet; /* a cancelled wait sends no notifications/cancelled (initialize must not be) */
} waiter;

struct chan {
  uv_process_t proc;
  uv_pipe_t in, out, err;
  uv_timer_t timer;
  int open_handles; /* libuv handles not yet closed */
  int handles_closing;
  int reap;  /* the handles are closed but the child has not exited: its exit closes the process handle */
  int boxed; /* the Lua handle still points here */
  int exited, out_open, err_open, in_open, ended;
  int64_t status;
  int signal;
  int stage; /* ch:close: 1 stdin closed, 2 SIGTERM sent, 3 SIGKILL sent */
  uint64_t grace_ms, kill_ms;
  ld_task *closer; /* the task in ch:close() */
  TAILQ_HEAD(, waiter) waiters;
  ld_buf line, errline; /* the partial lines of stdout and stderr */
  int skipping;         /* a stdout line past MAX_LINE: dropped to its end */
  char tail[TAIL];
  size_t tail_n;
  char name[64];
  char chunk[65536];
};

typedef struct wreq {
  uv_write_t req;
  char data[];
} wreq;

static void maybe_free(chan *c) {
  if (c->boxed || c->open_handles > 0) return;
  ld_buf_free(&c->line);
  ld_buf_free(&c->errline);
  free(c);
}

static void on_closed(uv_handle_t *h) {
  chan *c = h->data;
  c->open_handles--;
  maybe_free(c);
}

/* Closes the channel's handles. The process handle of a child that has not
** exited yet stays open until it does: closing it would stop libuv from
** reaping the child, which would stay a zombie (it has been sent SIGKILL). */
static void close_handles(chan *c) {
  if (c->handles_closing) return;
  c->handles_closing = 1;
  uv_handle_t *hs[] = {(uv_handle_t *)&c->in, (uv_handle_t *)&c->out, (uv_handle_t *)&c->err,
                       (uv_handle_t *)&c->timer};
  for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
    if (!uv_is_closing(hs[i])) uv_close(hs[i], on_closed);
  if (c->exited || c->proc.pid <= 0)
    uv_close((uv_handle_t *)&c->proc, on_closed);
  else
    c->reap = 1;
  c->in_open = c->out_open = c->err_open = 0;
}

/* As proc.c: the group is signalled while its leader runs or a member still
** holds a pipe (then the group id cannot have been reused). */
static void kill_group(chan *c, int sig) {
  if (c->proc.pid > 0 && (!c->exited || c->out_open || c->err_open)) kill(-c->proc.pid, sig);
}

static void on_written(uv_write_t *req, int status) {
  (void)status; /* EPIPE: the server is gone, which its reader reports */
  free(req->data);
}

/* What may wait in the queue to a server's stdin: a server that never
** reads (while it floods llmdo with requests to answer) is cut off here. */
#define WRITE_QUEUE_MAX (16u << 20)

/* Queues text and a newline on the child's stdin. 0, or -1. */
static int write_line(chan *c, const char *text, size_t n) {
  if (!c->in_open || uv_stream_get_write_queue_size((uv_stream_t *)&c->in) > WRITE_QUEUE_MAX) return -1;
  wreq *w = malloc(sizeof *w + n + 1);
  if (!w) return -1;
  memcpy(w->data, text, n);
  w->data[n] = '\n';
  w->req.data = w;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)(n + 1));
  if (uv_write(&w->req, (uv_stream_t *)&c->in, &b, 1, on_written) != 0) {
    free(w);
    return -1;
  }
  return 0;
}

/* One line tagged with the server's name on stderr, at -vv only. */
static void show(chan *c, const char *what, const char *s, size_t n) {
  if (ld_events_verbosity() != 2) return;
  fprintf(stderr, "[mcp %s] %s", c->name, what);
  ld_term_write(stderr, s, n > 2000 ? 2000 : n, LD_TERM_LINE);
  fputc('\n', stderr);
}

static void wake_waiter(waiter *w) {
  TAILQ_REMOVE(&w->c->waiters, w, link);
  w->c = NULL;
  ld_task_wake(w->t, 0);
}

/* Every waiting call fails with kind and why. */
static void fail_all(chan *c, const char *kind, const char *why) {
  waiter *w;
  while ((w = TAILQ_FIRST(&c->waiters))) {
    w->kind = kind;
    w->why = strdup(why);
    wake_waiter(w);
  }
}

/* Answers a request from the server: ping, or "method not found". */
static void answer(chan *c, const ld_jsonrpc_msg *m) {
  char buf[256];
  int ping = m->method_len == 4 && !memcmp(m->method, "ping", 4);
  if (m->id_len > 100) return; /* not an id we could echo safely */
  int n = ping ? snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{}}", (int)m->id_len,
                          m->id)
               : snprintf(buf, sizeof buf,
                          "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"error\":{\"code\":-32601,\"message\":"
                          "\"Method not found\"}}",
                          (int)m->id_len, m->id);
  if (n > 0 && (size_t)n < sizeof buf) write_line(c, buf, (size_t)n);
}

/* Routes one line from stdout. */
static void dispatch(chan *c, const char *s, size_t n) {
  ld_jsonrpc_msg m;
  if (ld_jsonrpc_scan(s, n, &m) != 0) {
    char why[200];
    snprintf(why, sizeof why, "%.120s%s", s, n > 120 ? "..." : "");
    show(c, "malformed: ", s, n);
    fail_all(c, "malformed", why);
    return;
  }
  if (m.kind == LD_JSONRPC_REQUEST) {
    show(c, "request: ", s, n);
    answer(c, &m);
    return;
  }
  if (m.kind == LD_JSONRPC_NOTIFICATION) {
    show(c, "", s, n);
    return;
  }
  if (!m.id) { /* an error with a null id: the server could not read a request */
    char why[200];
    snprintf(why, sizeof why, "%.120s%s", s, n > 120 ? "..." : "");
    fail_all(c, "malformed", why);
    return;
  }
  waiter *w;
  TAILQ_FOREACH(w, &c->waiters, link) {
    if (m.int_id && w->id == m.id_value) break;
  }
  if (!w) return; /* an answer to a call that was cancelled */
  w->line = malloc(n + 1);
  if (w->line) {
    memcpy(w->line, s, n);
    w->line[n] = '\0';
    w->len = n;
  } else {
    w->kind = "malformed", w->why = strdup("not enough memory for the response");
  }
  wake_waiter(w);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  chan *c = h->data;
  *buf = uv_buf_init(c->chunk, sizeof c->chunk);
}

/* The server is gone for its callers: every waiting call fails. */
static void end_output(chan *c) {
  if (c->ended) return;
  c->ended = 1;
  fail_all(c, "exited", "the server closed its output");
}

static void on_exit_wait(uv_timer_t *t) { end_output(t->data); }

/* The output ended, or the server exited: once both have happened - or
** EXIT_MS after the first, so that the message can say how it ended and a
** process left holding the pipe cannot keep calls waiting - its calls fail. */
static void one_end(chan *c) {
  if (c->exited && !c->out_open) {
    if (!c->stage) uv_timer_stop(&c->timer);
    end_output(c);
  } else if (!c->stage) {
    uv_timer_start(&c->timer, on_exit_wait, EXIT_MS, 0);
  }
}

static void maybe_done_closing(chan *c);

static void on_out(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  chan *c = s->data;
  if (nread < 0) {
    uv_read_stop(s);
    c->out_open = 0;
    one_end(c);
    maybe_done_closing(c);
    return;
  }
  const char *p = buf->base, *end = p + nread;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)((nl ? nl : end) - p);
    if (!c->skipping && ld_buf_add(&c->line, p, n, MAX_LINE) != 0) {
      c->skipping = 1;
      ld_buf_free(&c->line);
      fail_all(c, "malformed", "a message larger than 64 MiB (or no memory for it)");
    }
    p += n;
    if (!nl) break;
    p++;
    if (!c->skipping) {
      size_t len = c->line.n;
      while (len && (c->line.p[len - 1] == '\r' || c->line.p[len - 1] == ' ')) len--;
      if (len) dispatch(c, c->line.p, len);
    }
    c->skipping = 0;
    ld_buf_clear(&c->line);
  }
}

static void keep_tail(chan *c, const char *s, size_t n) {
  if (n >= TAIL) {
    memcpy(c->tail, s + n - TAIL, TAIL);
    c->tail_n = TAIL;
    return;
  }
  if (c->tail_n + n > TAIL) {
    size_t drop = c->tail_n + n - TAIL;
    memmove(c->tail, c->tail + drop, c->tail_n - drop);
    c->tail_n -= drop;
  }
  memcpy(c->tail + c->tail_n, s, n);
  c->tail_n += n;
}

static void on_err(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  chan *c = s->data;
  if (nread < 0) {
    uv_read_stop(s);
    c->err_open = 0;
    if (c->errline.n) show(c, "stderr: ", c->errline.p, c->errline.n);
    ld_buf_clear(&c->errline);
    maybe_done_closing(c);
    return;
  }
  keep_tail(c, buf->base, (size_t)nread);
  if (ld_events_verbosity() != 2) return;
  const char *p = buf->base, *end = p + nread;
  while (p < end) { /* whole lines at -vv; a line longer than 4 KB is shown in pieces */
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)((nl ? nl : end) - p);
    if (c->errline.n + n > 4096) {
      show(c, "stderr: ", c->errline.p ? c->errline.p : "", c->errline.n);
      ld_buf_clear(&c->errline);
    }
    ld_buf_add(&c->errline, p, n > 4096 ? 4096 : n, 0); /* no memory: a line goes unshown */
    if (nl) {
      show(c, "stderr: ", c->errline.p ? c->errline.p : "", c->errline.n);
      ld_buf_clear(&c->errline);
    }
    p += n + (nl ? 1 : 0);
  }
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal) {
  chan *c = p->data;
  ld_proc_exited(p);
  c->exited = 1;
  c->status = status;
  c->signal = term_signal;
  if (c->reap) { /* reaped at last; nothing else is open */
    c->reap = 0;
    uv_close((uv_handle_t *)&c->proc, on_closed);
    return;
  }
  one_end(c);
  maybe_done_closing(c);
}

/* --- closing ------------------------------------------------------------------- */

/* ch:close is done once the leader exited and its pipes ended - or, after
** SIGKILL, once the leader exited (an escaped process may hold a pipe). */
static void maybe_done_closing(chan *c) {
  if (!c->stage || !c->exited || (c->stage < 3 && (c->out_open || c->err_open))) return;
  uv_timer_stop(&c->timer);
  kill_group(c, SIGKILL); /* members left behind, holding a pipe */
  close_handles(c);
  fail_all(c, "closed", "the server was closed");
  if (c->closer) {
    ld_task *t = c->closer;
    c->closer = NULL;
    ld_task_wake(t, 0);
  }
}

static void on_grace(uv_timer_t *t) {
  chan *c = t->data;
  c->stage++;
  kill_group(c, c->stage == 2 ? SIGTERM : SIGKILL);
  if (c->stage == 2) uv_timer_start(&c->timer, on_grace, c->kill_ms, 0);
  maybe_done_closing(c);
}

static void close_stdin(chan *c) {
  if (!c->in_open) return;
  c->in_open = 0;
  uv_close((uv_handle_t *)&c->in, on_closed); /* the server reads end of file */
}

/* --- Lua ------------------------------------------------------------------------ */

static chan **check_box(lua_State *L) { return luaL_checkudata(L, 1, CHAN_MT); }

static chan *check_open(lua_State *L) {
  chan *c = *check_box(L);
  if (!c) luaL_error(L, "the MCP channel is closed");
  return c;
}

/* The task in ch:call was cancelled: the server is told, the call forgotten. */
static void cancel_call(void *op, ld_task *t) {
  waiter *w = op;
  if (w->c && !w->quiet) {
    char buf[160];
    int n = snprintf(buf, sizeof buf,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
                     "{\"requestId\":%lld,\"reason\":\"cancelled\"}}",
                     w->id);
    write_line(w->c, buf, (size_t)n);
  }
  if (w->c) TAILQ_REMOVE(&w->c->waiters, w, link);
  free(w->line);
  free(w->why);
  free(w);
  ld_task_abort(t);
}

/* Pushes a waiter's outcome: the response line, or nil, why, kind. Run
** protected: a memory error must not leak the waiter. [-1, +1|3] */
static int push_outcome(lua_State *L) {
  waiter *w = lua_touserdata(L, 1);
  if (w->line) {
    lua_pushlstring(L, w->line, w->len);
    return 1;
  }
  lua_pushnil(L);
  lua_pushstring(L, w->why ? w->why : "not enough memory");
  lua_pushstring(L, w->kind ? w->kind : "malformed");
  return 3;
}

/* Continuation of ch:call: the response, or why there is none. [-0, +1|3] */
static int call_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  waiter *w = (waiter *)ctx;
  int top = lua_gettop(L);
  lua_pushcfunction(L, push_outcome);
  lua_pushlightuserdata(L, w);
  int st = lua_pcall(L, 1, LUA_MULTRET, 0);
  free(w->line);
  free(w->why);
  free(w);
  if (st != LUA_OK) return lua_error(L);
  return lua_gettop(L) - top;
}

/* nil, why, kind: a call that could not be made. [-0, +3] */
static int failed(lua_State *L, const char *why, const char *kind) {
  lua_pushnil(L);
  lua_pushstring(L, why);
  lua_pushstring(L, kind);
  return 3;
}

/* ch:call(id, text [, quiet]) -> line | nil, why, kind. quiet: a
** cancelled call is not announced to the server. [-(3|4), +1|3, yields] */
static int l_chan_call(lua_State *L) {
  chan *c = check_open(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  size_t n;
  const char *text = luaL_checklstring(L, 3, &n);
  int quiet = lua_toboolean(L, 4);
  ld_task *t = ld_task_check(L, "an MCP request");
  if (c->ended || !c->out_open) return failed(L, "the server closed its output", "exited");
  if (c->stage) return failed(L, "the server was closed", "closed");
  waiter *w = calloc(1, sizeof *w);
  if (!w) return luaL_error(L, "not enough memory");
  if (write_line(c, text, n) != 0) {
    free(w);
    return failed(L, "cannot write to the server", "exited");
  }
  w->c = c, w->t = t, w->id = (long long)id, w->quiet = quiet;
  TAILQ_INSERT_TAIL(&c->waiters, w, link);
  lua_settop(L, 1); /* the handle stays on the stack: the channel outlives the wait */
  return ld_task_wait(L, t, cancel_call, w, (lua_KContext)w, call_k);
}

/* ch:send(text) -> true | nil, why. [-2, +1|2] */
static int l_chan_send(lua_State *L) {
  chan *c = check_open(L);
  size_t n;
  const char *text = luaL_checklstring(L, 2, &n);
  if (write_line(c, text, n) != 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "cannot write to the server");
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static void cancel_close(void *op, ld_task *t) {
  chan *c = op;
  c->closer = NULL;
  c->stage = 3;
  kill_group(c, SIGKILL);
  close_handles(c);
  fail_all(c, "closed", "the server was closed");
  ld_task_abort(t);
}

/* Continuation of ch:close. [-0, +2] */
static int close_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  chan *c = check_open(L);
  lua_pushinteger(L, (lua_Integer)c->status);
  lua_pushinteger(L, c->signal);
  return 2;
}

/* ch:close(term_ms, kill_ms) -> status, signal. [-3, +2, yields] */
static int l_chan_close(lua_State *L) {
  chan *c = check_open(L);
  lua_Integer grace = luaL_optinteger(L, 2, 500), kill_ms = luaL_optinteger(L, 3, 2000);
  luaL_argcheck(L, grace >= 0 && kill_ms >= 0, 2, "grace periods must not be negative");
  lua_settop(L, 1);
  if (c->handles_closing) return close_k(L, LUA_OK, 0);
  ld_task *t = ld_task_check(L, "closing an MCP server");
  if (c->closer) return luaL_error(L, "the MCP server is being closed already");
  if (!c->stage) {
    c->stage = 1;
    c->grace_ms = (uint64_t)grace;
    c->kill_ms = (uint64_t)kill_ms;
    close_stdin(c);
    uv_timer_stop(&c->timer);
    uv_timer_start(&c->timer, on_grace, c->grace_ms, 0);
  }
  maybe_done_closing(c); /* it may have ended already */
  if (c->handles_closing) return close_k(L, LUA_OK, 0);
  c->closer = t;
  return ld_task_wait(L, t, cancel_close, c, 0, close_k);
}

/* __gc / __close: the group is killed at once, nothing waits. [-1, +0] */
static int l_chan_gc(lua_State *L) {
  chan **box = check_box(L);
  chan *c = *box;
  if (!c) return 0;
  *box = NULL;
  if (!c->handles_closing) {
    kill_group(c, SIGKILL);
    close_handles(c);
  }
  c->boxed = 0;
  maybe_free(c);
  return 0;
}

/* ch:alive() -> whether calls can still reach the server. [-1, +1] */
static int l_chan_alive(lua_State *L) {
  chan *c = check_open(L);
  lua_pushboolean(L, !c->ended && !c->exited && !c->stage);
  return 1;
}

/* ch:pid() -> the server's process id (its process group's too). [-1, +1] */
static int l_chan_pid(lua_State *L) {
  lua_pushinteger(L, check_open(L)->proc.pid);
  return 1;
}

/* ch:why() -> how the server ended, or nil while it runs. [-1, +1] */
static int l_chan_why(lua_State *L) {
  chan *c = check_open(L);
  if (!c->exited || c->proc.pid == 0)
    lua_pushnil(L);
  else if (c->signal)
    lua_pushfstring(L, "killed by signal %d", c->signal);
  else
    lua_pushfstring(L, "exited with status %d", (int)c->status);
  return 1;
}

/* ch:stderr() -> the last bytes the server wrote to stderr. [-1, +1] */
static int l_chan_stderr(lua_State *L) {
  chan *c = check_open(L);
  lua_pushlstring(L, c->tail, c->tail_n);
  return 1;
}

/* core.proc.open{ argv =, cwd =, env =, name = } [-1, +1|3, may raise] */
int l_chan_open(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "argv"); /* 2 */
  lua_getfield(L, 1, "env");  /* 3 */
  lua_getfield(L, 1, "cwd");  /* 4 */
  lua_getfield(L, 1, "name"); /* 5 */
  luaL_argcheck(L, lua_istable(L, 2) && lua_rawlen(L, 2) >= 1, 1, "argv must be a non-empty list");
  luaL_argcheck(L, lua_istable(L, 3), 1, "env must be a list of K=V strings");
  const char *cwd = luaL_optstring(L, 4, NULL);
  const char *name = luaL_optstring(L, 5, "server");
  ld_task_check(L, "starting an MCP server");
  chan **box = lua_newuserdatauv(L, sizeof *box, 0); /* 6: closed until the child runs */
  *box = NULL;
  luaL_setmetatable(L, CHAN_MT);
  ld_proc_check_strings(L, 2, "argv");
  ld_proc_check_strings(L, 3, "env");
  char **argv = ld_proc_strings(L, 2); /* nothing raises until these are freed */
  char **env = ld_proc_strings(L, 3);
  chan *c = argv && env ? calloc(1, sizeof *c) : NULL;
  if (!c) {
    free(env), free(argv);
    return luaL_error(L, "not enough memory");
  }
  uv_loop_t *loop = ld_sched_loop(ld_sched_get(L));
  snprintf(c->name, sizeof c->name, "%s", name);
  TAILQ_INIT(&c->waiters);
  uv_pipe_init(loop, &c->in, 0);
  uv_pipe_init(loop, &c->out, 0);
  uv_pipe_init(loop, &c->err, 0);
  uv_timer_init(loop, &c->timer);
  c->proc.data = c->in.data = c->out.data = c->err.data = c->timer.data = c;
  c->open_handles = 5;
  int r = ld_proc_start(loop, &c->proc, argv, env, cwd, &c->in, &c->out, &c->err, on_exit_cb);
  if (r != 0) { /* not started: the handles still have to be closed */
    c->exited = 1;
    close_handles(c);
    return ld_proc_spawn_failed(L, r);
  }
  c->boxed = 1;
  *box = c;
  c->in_open = c->out_open = c->err_open = 1;
  uv_read_start((uv_stream_t *)&c->out, on_alloc, on_out);
  uv_read_start((uv_stream_t *)&c->err, on_alloc, on_err);
  return 1;
}

void ld_chan_init(lua_State *L) {
  static const luaL_Reg meta[] = {{"__gc", l_chan_gc}, {"__close", l_chan_gc}, {NULL, NULL}};
  static const luaL_Reg methods[] = {
      {"call", l_chan_call}, {"send", l_chan_send}, {"close", l_chan_close},   {"alive", l_chan_alive},
      {"pid", l_chan_pid},   {"why", l_chan_why},   {"stderr", l_chan_stderr}, {NULL, NULL}};
  luaL_newmetatable(L, CHAN_MT);
  luaL_setfuncs(L, meta, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
