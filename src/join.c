/*
** join: parallel and map. See join.h.
**
** The operation (join_op) is malloc'd with one branch record per item and
** freed after it has handed the results to the waiting task. Its Lua side
** - the work, the results, the first error - lives in a registry table
** (ref) with its slots filled in advance, so task callbacks store into it
** without allocating. Branches are started from a deferred, protected
** "pump", never from a task callback.
*/
#include "join.h"

#include <stdlib.h>

#include <lauxlib.h>

#include "error.h"
#include "json.h"
#include "sched.h"
#include "vm.h"

typedef struct join_op join_op;

typedef struct branch {
  join_op *op;
  int index; /* 1-based */
} branch;

struct join_op {
  ld_sched *s;
  ld_task *waiter;
  ld_group group;
  ld_defer pump;
  int ref;  /* { work = list of functions or items, fn = f, results = {...}, err = first error } */
  int map;  /* map(list, fn) rather than parallel(f1, ...) */
  int turn; /* a Ctrl-C target; returns (ok, value) instead of raising */
  int n, limit, started, running;
  int failed, cancelled;
  branch *branches;
  double seconds;    /* timeout(): its limit, and its timer (NULL for the others) */
  uv_timer_t *timer; /* freed by its close callback: the op may be gone by then */
  int timed_out;
};

static void schedule(join_op *op);

static void free_timer(uv_handle_t *h) { free(h); }

static void on_branch_done(ld_task *t, lua_State *L, int ok, int nres, void *ud) {
  (void)t;
  branch *b = ud;
  join_op *op = b->op;
  int v = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, op->ref); /* v state */
  if (ok) {
    lua_getfield(L, -1, "results");
    if (nres > 0)
      lua_pushvalue(L, v - nres + 1);
    else
      lua_pushnil(L);
    lua_rawseti(L, -2, b->index);
  } else if (!op->failed) {
    if (op->timer && ld_task_timed_out(t)) op->timed_out = 1; /* it computed past the limit */
    op->failed = 1;
    lua_pushvalue(L, v);
    lua_setfield(L, -2, "err");
    ld_group_cancel(&op->group); /* the first failure cancels the rest */
  }
  lua_settop(L, v);
  op->running--;
  schedule(op);
}

/* Hands the outcome to the waiting task and frees the operation. Nothing
** here allocates (the "cancelled" error was made with the state), so it
** cannot raise with the operation half released. [-0, +0] */
static void complete(lua_State *L, join_op *op) {
  lua_State *co = ld_task_thread(op->waiter);
  lua_checkstack(co, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, op->ref);
  int ok = !op->failed && !op->cancelled;
  if (op->timer) {
    uv_timer_stop(op->timer);
    uv_close((uv_handle_t *)op->timer, free_timer);
  }
  lua_pushboolean(co, ok);
  lua_getfield(L, -1, ok ? "results" : op->timed_out && !op->cancelled ? "timeout" : "err");
  lua_xmove(L, co, 1);
  lua_pop(L, 1);
  luaL_unref(L, LUA_REGISTRYINDEX, op->ref);
  ld_task *w = op->waiter;
  if (op->turn && ld_sched_interrupt(op->s) == &op->group) ld_sched_set_interrupt(op->s, NULL);
  free(op->branches);
  free(op);
  ld_task_wake(w, 2);
}

/* Starts branches up to the limit; completes when all are done. [-1, +0, raises] */
static int l_pump(lua_State *L) {
  join_op *op = lua_touserdata(L, 1);
  int stop = op->failed || op->cancelled;
  if ((stop || op->started == op->n) && op->running == 0) {
    complete(L, op);
    return 0;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, op->ref); /* 2: state */
  lua_getfield(L, 2, "work");                 /* 3 */
  lua_getfield(L, 2, "fn");                   /* 4 */
  while (!stop && op->started < op->n && op->running < op->limit) {
    int i = ++op->started;
    branch *b = &op->branches[i - 1];
    b->op = op;
    b->index = i;
    int nargs = 0;
    if (op->map) {
      lua_pushvalue(L, 4);
      lua_rawgeti(L, 3, i);
      lua_pushinteger(L, i);
      nargs = 2;
    } else {
      lua_rawgeti(L, 3, i);
      if (op->timer) { /* timeout(seconds, fn, ...): fn's arguments */
        lua_getfield(L, 2, "args");
        nargs = (int)lua_rawlen(L, -1);
        luaL_checkstack(L, nargs, "too many arguments");
        for (int k = 1; k <= nargs; k++) lua_rawgeti(L, -k, k);
        lua_remove(L, -nargs - 1);
      }
    }
    ld_task *t = ld_sched_spawn(op->s, L, nargs, on_branch_done, b, &op->group);
    op->running++;
    if (op->timer) ld_task_watch(t, uv_hrtime() + (uint64_t)(op->seconds * 1e9));
  }
  return 0;
}

static void run_pump(void *ud) {
  join_op *op = ud;
  lua_State *L = ld_sched_state(op->s);
  lua_pushcfunction(L, l_pump);
  lua_pushlightuserdata(L, op);
  if (ld_vm_pcall(L, 1, 0) != LUA_OK) { /* could not start a branch (memory): fail */
    if (!op->failed) {                  /* the pump only spawns before any failure */
      op->failed = 1;
      lua_rawgeti(L, LUA_REGISTRYINDEX, op->ref);
      lua_insert(L, -2);
      lua_setfield(L, -2, "err");
      lua_pop(L, 1);
      ld_group_cancel(&op->group);
      if (op->running == 0) complete(L, op);
    } else {
      lua_pop(L, 1);
    }
  }
}

static void schedule(join_op *op) { ld_sched_defer(op->s, &op->pump, run_pump, op); }

static void cancel_join(void *ud, ld_task *t) {
  (void)t;
  join_op *op = ud;
  op->cancelled = 1;
  ld_group_cancel(&op->group);
  schedule(op);
}

/* timeout(): the limit passed while the function still waits; one that
** computes is stopped by its task's watch (ld_task_watch). */
static void on_timeout(uv_timer_t *timer) {
  join_op *op = timer->data;
  op->timed_out = 1;
  ld_group_cancel(&op->group);
  schedule(op);
}

/* Continuation: (ok, results table | error) pushed by complete(). */
static int join_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  if (ctx == -2) { /* a turn: (ok, first result | error) */
    if (lua_toboolean(L, -2)) lua_rawgeti(L, -1, 1), lua_replace(L, -2);
    return 2;
  }
  if (!lua_toboolean(L, -2)) return lua_error(L);
  if (ctx == -3) { /* timeout: the first result */
    lua_rawgeti(L, -1, 1);
    return 1;
  }
  if (ctx < 0) { /* map: the table, an array even with holes */
    ld_json_mark_array(L, -1);
    return 1;
  }
  int n = (int)ctx, t = lua_gettop(L);
  luaL_checkstack(L, n, "too many results");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, t, i);
  return n;
}

/* Creates the operation over state table on top and waits; with seconds
** > 0, a timeout() of one branch. [-1, +0, yields] */
static int start(lua_State *L, int n, int limit, int map, int turn, double seconds) {
  ld_task *t = ld_task_check(L, map ? "map" : seconds > 0 ? "timeout" : "parallel");
  int ref = luaL_ref(L, LUA_REGISTRYINDEX); /* before allocating: it can raise */
  join_op *op = calloc(1, sizeof *op);
  branch *br = op ? calloc((size_t)n, sizeof *br) : NULL;
  uv_timer_t *timer = op && seconds > 0 ? malloc(sizeof *timer) : NULL;
  if (!op || !br || (seconds > 0 && !timer)) {
    free(op), free(br), free(timer);
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    return luaL_error(L, "not enough memory");
  }
  if (timer) {
    uv_timer_init(ld_sched_loop(ld_sched_get(L)), timer);
    timer->data = op;
    uv_timer_start(timer, on_timeout, (uint64_t)(seconds * 1000 + 0.5), 0);
    op->timer = timer;
    op->seconds = seconds;
  }
  op->ref = ref;
  op->s = ld_sched_get(L);
  op->waiter = t;
  op->n = n;
  op->limit = limit;
  op->map = map;
  op->turn = turn;
  op->branches = br;
  if (turn) ld_sched_set_interrupt(op->s, &op->group);
  schedule(op);
  return ld_task_wait(L, t, cancel_join, op, turn ? -2 : map ? -1 : seconds > 0 ? -3 : n, join_k);
}

/* Pushes { work = work, fn = fn, results = {false, ...}, err = cancelled };
** a failure replaces err. */
static void push_state(lua_State *L, int work, int fn, int n) {
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, work);
  lua_setfield(L, -2, "work");
  if (fn) {
    lua_pushvalue(L, fn);
    lua_setfield(L, -2, "fn");
  }
  lua_createtable(L, n, 0);
  for (int i = 1; i <= n; i++) {
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, i);
  }
  lua_setfield(L, -2, "results");
  ld_error_push(L, "cancelled", "cancelled");
  lua_setfield(L, -2, "err");
}

int l_join_parallel(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) luaL_checktype(L, i, LUA_TFUNCTION);
  if (n == 0) return 0;
  lua_createtable(L, n, 0);
  for (int i = 1; i <= n; i++) {
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, i);
  }
  int work = lua_gettop(L);
  push_state(L, work, 0, n);
  return start(L, n, n, 0, 0, 0);
}

int l_join_timeout(lua_State *L) {
  double seconds = luaL_checknumber(L, 1);
  luaL_argcheck(L, seconds > 0 && seconds <= 1e6, 1, "the limit must be a number of seconds above 0");
  luaL_checktype(L, 2, LUA_TFUNCTION);
  int nargs = lua_gettop(L) - 2;
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 1);
  int work = lua_gettop(L);
  push_state(L, work, 0, 1);
  lua_createtable(L, nargs, 0); /* state.args */
  for (int i = 1; i <= nargs; i++) {
    lua_pushvalue(L, 2 + i);
    lua_rawseti(L, -2, i);
  }
  lua_setfield(L, -2, "args");
  ld_error_push(L, "timeout", lua_pushfstring(L, "timed out after %s s", lua_tostring(L, 1)));
  lua_remove(L, -2);
  lua_setfield(L, -2, "timeout");
  return start(L, 1, 1, 0, 0, seconds);
}

int l_join_turn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  push_state(L, lua_gettop(L), 0, 1);
  return start(L, 1, 1, 0, 1, 0);
}

int l_join_map(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  lua_Integer limit = luaL_optinteger(L, 3, n > 0 ? n : 1);
  luaL_argcheck(L, limit >= 1, 3, "the limit must be at least 1");
  luaL_argcheck(L, n <= 1000000, 1, "too many items");
  if (n == 0) {
    lua_newtable(L);
    ld_json_mark_array(L, -1);
    return 1;
  }
  lua_settop(L, 2);
  push_state(L, 1, 2, (int)n);
  return start(L, (int)n, (int)(limit < n ? limit : n), 1, 0, 0);
}
