/*
** agent: worker calls. See agent.h.
**
** Phases of a call (ld_frame.phase):
**   START       the frame exists; nothing has run
**   WAIT_MODEL  a model-turn task is running
**   MODEL_DONE  its outcome is in LD_UV_SCRATCH
**   FINISH      the result or error is in LD_UV_RESULT; wake the caller
**   DONE        released
** Every phase runs inside step(), a protected call made from a deferred
** callback: an error anywhere fails the call instead of escaping.
*/
#include "agent.h"

#include <string.h>

#include <lauxlib.h>

#include "error.h"
#include "frame.h"
#include "sched.h"
#include "vm.h"

enum { START, WAIT_MODEL, MODEL_DONE, FINISH, DONE };

static const char hooks_key = 'h';

int l_agent_set_hooks(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hooks_key);
  return 0;
}

/* Pushes hooks[name]. [-0, +1, raises if missing] */
static void push_hook(lua_State *L, const char *name) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hooks_key);
  if (!lua_istable(L, -1) || lua_getfield(L, -1, name) != LUA_TFUNCTION)
    luaL_error(L, "internal error: runtime hook '%s' is not installed", name);
  lua_remove(L, -2);
}

static void schedule(ld_frame *f);

/* Task callback: a model turn ended; keep its outcome, advance the call. */
static void on_model_done(ld_task *t, lua_State *L, int ok, int nres, void *ud) {
  (void)t;
  ld_frame *f = ud;
  if (nres == 0)
    lua_pushnil(L);
  else
    lua_pushvalue(L, -nres); /* the first result, or the error */
  ld_frame_push(L, f);
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, LD_UV_SCRATCH);
  lua_pop(L, 1);
  f->scratch_ok = ok;
  f->phase = MODEL_DONE;
  schedule(f);
}

/* Sets the call's outcome from the value on top. [-1, +0] */
static void set_result(lua_State *L, ld_frame *f, int ok) {
  ld_frame_push(L, f);
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, LD_UV_RESULT);
  lua_pop(L, 1);
  f->ok = ok;
  f->phase = FINISH;
}

/*
** Ends the call: hands (ok, result) to the waiting task and drops the
** anchor. Uses no call that can raise, so it is safe after a failed step.
*/
static void finish(lua_State *L, ld_frame *f) {
  f->phase = DONE;
  f->closed = 1;
  ld_frame_push(L, f);
  lua_State *co = ld_task_thread(f->waiter);
  lua_pushboolean(co, f->ok);
  lua_getiuservalue(L, -1, LD_UV_RESULT);
  lua_xmove(L, co, 1);
  lua_pop(L, 1);
  luaL_unref(L, LUA_REGISTRYINDEX, f->self_ref);
  f->self_ref = LUA_NOREF;
  ld_task_wake(f->waiter, 2);
  f->waiter = NULL;
}

/* One step of the state machine. [-1, +0, raises] (light userdata: frame) */
static int l_step(lua_State *L) {
  ld_frame *f = lua_touserdata(L, 1);
  ld_sched *s = ld_sched_get(L);
  switch (f->phase) {
  case START:
    push_hook(L, "model_turn");
    ld_frame_push(L, f);
    f->phase = WAIT_MODEL;
    ld_sched_spawn(s, L, 1, on_model_done, f);
    return 0;
  case MODEL_DONE:
    ld_frame_push(L, f); /* frame */
    lua_getiuservalue(L, -1, LD_UV_SCRATCH);
    if (!f->scratch_ok) {
      set_result(L, f, 0);
      return 0;
    }
    push_hook(L, "after_turn"); /* frame response hook */
    lua_insert(L, -3);
    lua_call(L, 2, 2); /* action value */
    const char *action = luaL_checkstring(L, -2);
    if (strcmp(action, "final") == 0) {
      set_result(L, f, 1);
    } else if (strcmp(action, "again") == 0) {
      f->turns++;
      f->phase = START;
    } else {
      return luaL_error(L, "internal error: after_turn returned '%s'", action);
    }
    return 0;
  default: return 0;
  }
}

/* Deferred callback: runs steps until the call waits or ends. */
static void run_step(void *ud) {
  ld_frame *f = ud;
  lua_State *L = ld_sched_state(f->sched);
  int before;
  do {
    before = f->phase;
    if (f->phase == FINISH) {
      finish(L, f);
      return;
    }
    lua_pushcfunction(L, l_step);
    lua_pushlightuserdata(L, f);
    if (ld_vm_pcall(L, 1, 0) != LUA_OK) set_result(L, f, 0);
  } while (f->phase != before && f->phase != WAIT_MODEL);
}

static void schedule(ld_frame *f) { ld_sched_defer(f->sched, &f->step, run_step, f); }

/* Continuation of call_agent: (ok, value) were pushed by finish(). */
static int call_agent_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  if (!lua_toboolean(L, -2)) return lua_error(L);
  return 1;
}

int l_agent_call(lua_State *L) {
  ld_frame *caller = ld_frame_check(L, 1);
  const char *name = luaL_checkstring(L, 2);
  lua_settop(L, 3); /* rt name input */
  ld_task *t = ld_task_check(L, "call_agent");
  if (caller->closed) return ld_error_raisef(L, "run", "call_agent on a frame whose call has ended");
  if (caller->depth >= caller->max_depth) {
    lua_getfield(L, 1, "worker");
    return ld_error_raisef(L, "run",
                           "max_depth exceeded (depth=%d, max_depth=%d, caller='%s', attempted='%s')",
                           caller->depth, caller->max_depth, lua_tostring(L, -1), name);
  }
  push_hook(L, "prepare_call"); /* rt name input hook */
  lua_insert(L, 1);
  lua_pushvalue(L, 2);
  lua_insert(L, 1);
  lua_call(L, 3, 2);                        /* rt def messages */
  ld_frame *f = ld_frame_new(L, caller, 1); /* rt def messages frame */
  lua_insert(L, 2);                         /* rt frame def messages */
  lua_setiuservalue(L, 2, LD_UV_MESSAGES);
  lua_setiuservalue(L, 2, LD_UV_DEF);
  lua_pushvalue(L, 2);
  f->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  f->waiter = t;
  f->phase = START;
  schedule(f);
  return ld_task_wait(L, t, NULL, NULL, 0, call_agent_k);
}
