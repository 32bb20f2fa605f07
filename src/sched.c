/*
** sched: the coroutine scheduler over one libuv loop. See sched.h.
**
** A task is a coroutine anchored in the registry (co_ref) plus the C
** bookkeeping below. Its states:
**   READY    queued to be resumed with 'nargs' values on its stack
**   RUNNING  being resumed right now (ld_sched_current)
**   WAITING  yielded by ld_task_wait; an operation will wake it
** A finished task is released at once: done() is called, the coroutine is
** unanchored and the struct freed. Every live task is on the scheduler's
** list (for ld_sched_cancel_all) and at most on one group's list.
*/
#include "sched.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "error.h"
#include "term.h"
#include "vm.h"

enum { READY, RUNNING, WAITING };

struct ld_task {
  ld_sched *s;
  lua_State *co;
  int co_ref;
  int state;
  int nargs;                  /* values to resume with, when READY */
  int armed;                  /* ld_task_wait was called during this resume */
  int cancelled;              /* level-triggered: every wait raises */
  int shield;                 /* > 0: inside core shield(): cancellation waits until it ends */
  uint64_t deadline;          /* uv_hrtime by which it must end, checked by its hook (0: none) */
  int timed_out;              /* cancelled for passing the deadline */
  int nowait;                 /* > 0: inside a user coroutine resumed where the task cannot yield */
  int aborted;                /* the current wait was stopped by cancellation */
  STAILQ_ENTRY(ld_task) next; /* the ready queue */
  ld_task *lnext, *lprev;     /* all live tasks */
  ld_group *group;            /* NULL, or the group it belongs to */
  ld_task *gnext, *gprev;     /* that group's list */
  ld_op_cancel_fn cancel;     /* the pending operation's cancel hook */
  void *op;
  lua_KFunction k; /* the waiting primitive's continuation */
  lua_KContext kctx;
  int wait_base; /* stack top when it waited */
  ld_task_done_fn done;
  void *ud;
};

struct ld_sched {
  lua_State *L; /* the main thread: done callbacks and deferred work run on it */
  uv_loop_t *loop;
  ld_task *current;
  STAILQ_HEAD(, ld_task) ready;
  ld_task *live_head;
  STAILQ_HEAD(, ld_defer) deferred;
  int live; /* tasks not yet finished */
  int cancelling;
  ld_group *interrupt;
};

/* --- stop signals ----------------------------------------------------------- */

#define LD_SCHED_HOOK_COUNT 10000

static struct {
  ld_sched *s;
  ld_signal_fn on_signal;
  uv_async_t async;
  int ready;
  volatile sig_atomic_t delivered[NSIG]; /* counted by the handler */
  int handled[NSIG];                     /* counted by process_signals */
  struct sigaction old[NSIG];
  int caught[NSIG];
} SIG;

/* Hands each delivery not yet handled to on_signal. Runs in the loop or
** in the hook, never in the handler. */
static void process_signals(void) {
  for (int sig = 1; sig < NSIG; sig++)
    while (SIG.handled[sig] < SIG.delivered[sig]) {
      SIG.handled[sig]++;
      SIG.on_signal(sig);
    }
}

static void on_signal_async(uv_async_t *h) {
  (void)h;
  process_signals();
}

/* The hook the handler sets on a running task: handle the signals, then
** stop the task if it is now cancelled (and not shielded). It stays while
** the task is cancelled, so a pcall that swallows the error gains nothing. */
static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (SIG.ready) process_signals();
  ld_task *t = SIG.s ? SIG.s->current : NULL;
  if (t && t->deadline && !t->cancelled && uv_hrtime() >= t->deadline) { /* computing past its time */
    t->timed_out = 1;
    ld_task_cancel(t);
  }
  if (!t || !t->cancelled || t->shield) {
    if (t && t->deadline) /* a watched task keeps its watch, at the watch's pace */
      lua_sethook(L, stop_hook, LUA_MASKCOUNT, LD_SCHED_HOOK_COUNT);
    else
      lua_sethook(L, NULL, 0, 0);
    return;
  }
  lua_sethook(L, stop_hook, LUA_MASKCOUNT, LD_SCHED_HOOK_COUNT);
  ld_error_raisef(L, "cancelled", "cancelled");
}

/* The signal handler: only async-signal-safe work (lua_sethook is, as
** lua.c relies on; so is uv_async_send). */
static void on_os_signal(int sig) {
  int saved = errno;
  SIG.delivered[sig]++;
  ld_sched *s = SIG.s;
  if (s && s->current) lua_sethook(s->current->co, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
  uv_async_send(&SIG.async);
  errno = saved;
}

void ld_task_watch(ld_task *t, uint64_t deadline) {
  t->deadline = deadline;
  lua_sethook(t->co, stop_hook, LUA_MASKCOUNT, LD_SCHED_HOOK_COUNT);
}

int ld_task_timed_out(ld_task *t) { return t->timed_out; }

int ld_sched_catch_signals(ld_sched *s, const int *signums, int n, ld_signal_fn on_signal) {
  SIG.on_signal = on_signal;
  if (uv_async_init(s->loop, &SIG.async, on_signal_async) != 0) return -1;
  uv_unref((uv_handle_t *)&SIG.async); /* waiting for a signal alone keeps nothing alive */
  SIG.ready = 1;
  for (int i = 0; i < n; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_os_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(signums[i], &sa, &SIG.old[signums[i]]) != 0) return -1;
    SIG.caught[signums[i]] = 1;
  }
  return 0;
}

void ld_sched_release_signals(void) {
  if (!SIG.ready) return;
  for (int sig = 1; sig < NSIG; sig++) /* from here a signal acts as it did before us */
    if (SIG.caught[sig]) sigaction(sig, &SIG.old[sig], NULL), SIG.caught[sig] = 0;
  uv_close((uv_handle_t *)&SIG.async, NULL);
  SIG.ready = 0;
}

/* The light userdata host primitives yield; see lua/llmdo/prelude.lua. */
static const char yield_sentinel = 'y';
static const char sched_key = 's';

ld_sched *ld_sched_new(lua_State *L, uv_loop_t *loop) {
  ld_sched *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->L = L;
  STAILQ_INIT(&s->ready);
  STAILQ_INIT(&s->deferred);
  s->loop = loop;
  lua_pushlightuserdata(L, s);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &sched_key);
  SIG.s = s;
  return s;
}

void ld_sched_free(ld_sched *s) {
  if (SIG.s == s) SIG.s = NULL;
  free(s);
}

ld_sched *ld_sched_get(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &sched_key);
  ld_sched *s = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return s;
}

uv_loop_t *ld_sched_loop(ld_sched *s) { return s->loop; }
lua_State *ld_sched_state(ld_sched *s) { return s->L; }
lua_State *ld_task_thread(ld_task *t) { return t->co; }
void ld_sched_set_interrupt(ld_sched *s, ld_group *g) { s->interrupt = g; }
ld_group *ld_sched_interrupt(ld_sched *s) { return s->interrupt; }

/* core.nowait(delta): the prelude marks the stretch where a user coroutine
** runs from a context that cannot yield; waits there are refused. */
static int l_sched_nowait(lua_State *L) {
  ld_sched *s = ld_sched_get(L);
  if (s && s->current) s->current->nowait += (int)luaL_checkinteger(L, 1);
  return 0;
}

/* Continuation of shield: the shielded function returned, raised or was
** resumed after a wait; its results (or error) are on the stack. */
static int shield_k(lua_State *L, int status, lua_KContext ctx) {
  ld_task *t = (ld_task *)ctx;
  if (t) t->shield--;
  if (status != LUA_OK && status != LUA_YIELD) return lua_error(L);
  return lua_gettop(L);
}

/*
** core.shield(fn, ...) -> fn(...): runs fn in this task with cancellation
** held off, as Trio's shielded cancel scope: its waits complete even after
** Ctrl-C, and a cancellation that arrived meanwhile takes effect at the
** task's next wait after it. Cleanups run this way. [-(n), +r, yields]
*/
static int l_sched_shield(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  ld_sched *s = ld_sched_get(L);
  ld_task *t = s ? s->current : NULL;
  if (t) t->shield++;
  return shield_k(L, lua_pcallk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, (lua_KContext)t, shield_k),
                  (lua_KContext)t);
}

/* task.cancelled() -> is the running task cancelled (and not shielded)?
** The prelude's pcall and xpcall let its error through then. [-0, +1] */
static int l_sched_cancelled(lua_State *L) {
  ld_sched *s = ld_sched_get(L);
  ld_task *t = s ? s->current : NULL;
  lua_pushboolean(L, t && t->cancelled && !t->shield);
  return 1;
}

void ld_sched_open(lua_State *L) {
  lua_pushcfunction(L, l_sched_cancelled);
  lua_setfield(L, -2, "cancelled");
  lua_pushcfunction(L, l_sched_nowait);
  lua_setfield(L, -2, "nowait");
  lua_pushcfunction(L, l_sched_shield);
  lua_setfield(L, -2, "shield");
}

int ld_sched_push_sentinel(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&yield_sentinel);
  return 1;
}

static void enqueue(ld_task *t) {
  ld_sched *s = t->s;
  t->state = READY;
  STAILQ_INSERT_TAIL(&s->ready, t, next);
}

ld_task *ld_sched_spawn(ld_sched *s, lua_State *from, int nargs, ld_task_done_fn done, void *ud,
                        ld_group *g) {
  lua_State *co = lua_newthread(from);         /* f args... co */
  int ref = luaL_ref(from, LUA_REGISTRYINDEX); /* f args... */
  ld_task *t = calloc(1, sizeof *t);
  if (!t) {
    luaL_unref(from, LUA_REGISTRYINDEX, ref);
    luaL_error(from, "not enough memory");
  }
  t->co_ref = ref;
  lua_xmove(from, co, nargs + 1);
  t->s = s;
  t->co = co;
  t->nargs = nargs;
  t->done = done;
  t->ud = ud;
  t->lnext = s->live_head;
  if (s->live_head) s->live_head->lprev = t;
  s->live_head = t;
  if (g) {
    t->group = g;
    t->gnext = g->head;
    if (g->head) g->head->gprev = t;
    g->head = t;
  }
  /* work started by shielded code (a cleanup's own parallel branches) is
  ** shielded for its whole life, so the cleanup can finish */
  if (s->current && s->current->shield) t->shield = 1;
  t->cancelled = (g && g->cancelled) || s->cancelling;
  s->live++;
  enqueue(t);
  return t;
}

void ld_sched_defer(ld_sched *s, ld_defer *d, ld_defer_fn fn, void *ud) {
  if (d->queued) return;
  d->queued = 1;
  d->fn = fn;
  d->ud = ud;
  STAILQ_INSERT_TAIL(&s->deferred, d, next);
}

ld_task *ld_task_check(lua_State *L, const char *what) {
  ld_sched *s = ld_sched_get(L);
  if (!s || !s->current) ld_error_raisef(L, "run", "%s can only be used while a run is in progress", what);
  if (!lua_isyieldable(L) || s->current->nowait)
    ld_error_raisef(
        L, "run",
        "%s cannot wait here (called across a C boundary such as a metamethod or a sort comparator)", what);
  if (s->current->cancelled && !s->current->shield) ld_error_raisef(L, "cancelled", "cancelled");
  return s->current;
}

static int raise_cancelled(lua_State *L) { return ld_error_raisef(L, "cancelled", "cancelled"); }

/* The continuation of every wait: a cancelled wait raises; otherwise the
** primitive's own continuation (or its caller) gets the results. */
static int wait_k(lua_State *L, int status, lua_KContext ctx) {
  ld_task *t = (ld_task *)ctx;
  if (t->aborted) {
    t->aborted = 0;
    return raise_cancelled(L);
  }
  lua_KFunction k = t->k;
  t->k = NULL;
  if (k) return k(L, status, t->kctx);
  return lua_gettop(L) - t->wait_base;
}

/* An operation still registered on a task that is not waiting for it (it
** can only be a bug): withdraw it, so it never wakes the task. */
static void withdraw(ld_task *t) {
  if (t->cancel) {
    ld_op_cancel_fn hook = t->cancel;
    t->cancel = NULL;
    hook(t->op, NULL);
  }
  t->op = NULL;
}

int ld_task_wait(lua_State *L, ld_task *t, ld_op_cancel_fn cancel, void *op, lua_KContext ctx,
                 lua_KFunction k) {
  if (t->cancelled && !t->shield) { /* ld_task_check raised already: not reachable */
    if (cancel) cancel(op, NULL);
    return raise_cancelled(L);
  }
  withdraw(t);
  t->armed = 1;
  t->cancel = cancel;
  t->op = op;
  t->k = k;
  t->kctx = ctx;
  t->wait_base = lua_gettop(L);
  lua_pushlightuserdata(L, (void *)&yield_sentinel);
  return lua_yieldk(L, 1, (lua_KContext)t, wait_k);
}

void ld_task_wake(ld_task *t, int nargs) {
  if (t->state != WAITING) { /* a stale operation: never wake a task twice */
    fprintf(stderr, "llmdo: internal error: a task was woken while not waiting\n");
    return;
  }
  t->cancel = NULL;
  t->op = NULL;
  t->nargs = nargs;
  enqueue(t);
}

void ld_task_abort(ld_task *t) {
  if (!t) return;
  t->aborted = 1;
  ld_task_wake(t, 0);
}

void ld_task_cancel(ld_task *t) {
  if (t->cancelled) return;
  t->cancelled = 1;
  if (t->state == WAITING && t->cancel && !t->shield) {
    ld_op_cancel_fn hook = t->cancel;
    void *op = t->op;
    t->cancel = NULL;
    hook(op, t);
  }
}

void ld_group_cancel(ld_group *g) {
  g->cancelled = 1;
  for (ld_task *t = g->head, *next; t; t = next) {
    next = t->gnext;
    ld_task_cancel(t);
  }
}

void ld_sched_cancel_all(ld_sched *s) {
  s->cancelling = 1;
  for (ld_task *t = s->live_head, *next; t; t = next) {
    next = t->lnext;
    ld_task_cancel(t);
  }
}

/* Ends task t with nres values (or an error) on top of s->L. */
static void finish(ld_task *t, int ok, int nres) {
  ld_sched *s = t->s;
  withdraw(t);
  int base = lua_gettop(s->L) - nres;
  if (t->lprev)
    t->lprev->lnext = t->lnext;
  else
    s->live_head = t->lnext;
  if (t->lnext) t->lnext->lprev = t->lprev;
  if (t->group) {
    if (t->gprev)
      t->gprev->gnext = t->gnext;
    else
      t->group->head = t->gnext;
    if (t->gnext) t->gnext->gprev = t->gprev;
  }
  if (t->done) t->done(t, s->L, ok, nres, t->ud);
  lua_settop(s->L, base);
  luaL_unref(s->L, LUA_REGISTRYINDEX, t->co_ref);
  s->live--;
  free(t);
}

/*
** Closes a dead or stuck coroutine, running its pending to-be-closed
** variables. 'err' is the index on s->L of the error that killed it (0 if
** none). An error from a __close changes nothing - the task's outcome is
** decided - so it is only reported. (Lua 5.4.4's lua_resetthread returns
** the original error again; that one is not a new failure.)
*/
static void close_thread(ld_sched *s, lua_State *co, int err) {
#if LUA_VERSION_RELEASE_NUM >= 50406
  int status = lua_closethread(co, s->L);
#else
  (void)s;
  int status = lua_resetthread(co);
#endif
  if (status != LUA_OK && lua_gettop(co) > 0) {
    lua_xmove(co, s->L, 1);
    if (!err || !lua_rawequal(s->L, -1, err)) {
      fputs("warning: error while closing a task: ", stderr);
      ld_error_message(s->L, -1);
      ld_term_write(stderr, lua_tostring(s->L, -1), lua_rawlen(s->L, -1), LD_TERM_LINE);
      fputc('\n', stderr);
      lua_pop(s->L, 1); /* the message */
    }
    lua_pop(s->L, 1);
  }
  lua_settop(co, 0);
}

static void resume(ld_sched *s, ld_task *t) {
  lua_State *co = t->co;
  int nres = 0;
  ld_task *prev = s->current;
  s->current = t;
  t->state = RUNNING;
  t->armed = 0;
  int status = lua_resume(co, s->L, t->nargs, &nres);
  s->current = prev;
  if (status == LUA_YIELD && t->armed) {
    lua_pop(co, nres); /* the sentinel */
    t->state = WAITING;
    return;
  }
  if (status == LUA_OK) {
    luaL_checkstack(s->L, nres + LUA_MINSTACK, "too many results");
    lua_xmove(co, s->L, nres);
    finish(t, 1, nres);
    return;
  }
  int err = 0;
  if (status == LUA_YIELD) { /* a bare coroutine.yield at the top of a task */
    lua_pop(co, nres);
    ld_error_push(s->L, "run", "coroutine.yield called outside a coroutine (at the top of a task)");
  } else {
    lua_pushvalue(co, -1);
    lua_xmove(co, s->L, 1); /* a copy of the error value */
    err = lua_gettop(s->L);
    lua_pushvalue(s->L, err); /* keep the undecorated one to recognise it */
    lua_insert(s->L, err);
    ld_vm_decorate(s->L, co, 0); /* orig decorated */
  }
  close_thread(s, co, err);
  if (err) lua_remove(s->L, err);
  finish(t, 0, 1);
}

static int drain(ld_sched *s) {
  int worked = 0;
  while (!STAILQ_EMPTY(&s->deferred) || !STAILQ_EMPTY(&s->ready)) {
    worked = 1;
    ld_defer *d;
    while ((d = STAILQ_FIRST(&s->deferred))) {
      STAILQ_REMOVE_HEAD(&s->deferred, next);
      d->queued = 0;
      d->fn(d->ud);
    }
    ld_task *t;
    while ((t = STAILQ_FIRST(&s->ready))) {
      STAILQ_REMOVE_HEAD(&s->ready, next);
      resume(s, t);
      if (!STAILQ_EMPTY(&s->deferred)) break; /* let deferred work advance first */
    }
  }
  return worked;
}

int ld_sched_run(ld_sched *s) {
  for (;;) {
    drain(s);
    if (s->live == 0) return 0;
    /* about to wait: what streamed text was written reaches the terminal
    ** now, in one write per stream, not one per piece */
    fflush(stdout);
    fflush(stderr);
    int alive = uv_run(s->loop, UV_RUN_ONCE);
    if (!alive && STAILQ_EMPTY(&s->deferred) && STAILQ_EMPTY(&s->ready)) {
      fprintf(stderr, "llmdo: internal error: %d task(s) waiting with nothing to wake them\n", s->live);
      return -1;
    }
  }
}
