/*
** agent: worker calls. See agent.h.
**
** Phases of a call (ld_frame.phase):
**   START        nothing has run: build the toolsets (a task)
**   BUILT        toolsets built (outcome in LD_UV_SCRATCH)
**   TURN         ask the model (a task running runtime.lua's model_turn)
**   MODEL_DONE   its response is in LD_UV_SCRATCH
**   TOOLS        start the turn's tool calls, concurrently
**   PUMP         the concurrent ones finished: run the sequential ones, one by one
**   TOOLS_DONE   every outcome is in; record them, then the next TURN
**   DRAIN        failed while tool calls run: wait for them, then FINISH
**   FINISH       result or error in LD_UV_RESULT: run the cleanups (a task)
**   CLEANED      wake the caller
**   DONE         released
** WAIT_* phases wait for tasks. Every non-waiting phase runs inside step(),
** a protected call made from a deferred callback: an error anywhere fails
** the call (and still runs its cleanups) instead of escaping.
*/
#include "agent.h"

#include <string.h>

#include <lauxlib.h>

#include "error.h"
#include "frame.h"
#include "sched.h"
#include "toolplane.h"
#include "vm.h"

enum {
  START,
  WAIT_BUILD,
  BUILT,
  TURN,
  WAIT_MODEL,
  MODEL_DONE,
  TOOLS,
  WAIT_TOOLS,
  PUMP,
  TOOLS_DONE,
  DRAIN,
  FINISH,
  WAIT_CLEANUP,
  CLEANED,
  DONE
};

static const char hooks_key = 'h';

int l_agent_set_hooks(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hooks_key);
  return 0;
}

void ld_agent_push_hook(lua_State *L, const char *name) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hooks_key);
  if (!lua_istable(L, -1) || lua_getfield(L, -1, name) != LUA_TFUNCTION)
    luaL_error(L, "internal error: runtime hook '%s' is not installed", name);
  lua_remove(L, -2);
}

static void schedule(ld_frame *f);

/* Task callback for the build, model and cleanup tasks: keep the first
** result (or the error) in LD_UV_SCRATCH and advance. */
static void on_task_done(ld_task *t, lua_State *L, int ok, int nres, void *ud) {
  (void)t;
  ld_frame *f = ud;
  if (nres == 0)
    lua_pushnil(L);
  else
    lua_pushvalue(L, -nres);
  ld_frame_store(L, f, LD_UV_SCRATCH);
  f->scratch_ok = ok;
  f->phase = f->phase == WAIT_BUILD ? BUILT : f->phase == WAIT_MODEL ? MODEL_DONE : CLEANED;
  schedule(f);
}

/* Task callback for a tool call: file its outcome under its index. The
** outcomes table was filled with 'false' beforehand, so nothing allocates. */
static void on_tool_done(ld_task *t, lua_State *L, int ok, int nres, void *ud) {
  (void)t, (void)nres;
  ld_frame *f = ud;
  int v = lua_gettop(L);
  lua_Integer i = 0;
  if (ok && lua_istable(L, v)) {
    lua_getfield(L, v, "index");
    i = lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  ld_frame_push(L, f);
  lua_getiuservalue(L, -1, LD_UV_STATE); /* v frame state */
  lua_getfield(L, -1, "turn");           /* v frame state turn */
  if (i > 0) {
    lua_getfield(L, -1, "outcomes");
    lua_pushvalue(L, v);
    lua_rawseti(L, -2, i);
  } else { /* the plane itself failed: that fails the call */
    lua_pushvalue(L, v);
    lua_setfield(L, -2, "failure");
  }
  lua_settop(L, v);
  if (--f->pending == 0) {
    f->phase = f->phase == DRAIN ? FINISH : PUMP;
    schedule(f);
  }
}

/* Spawns a task running hook(frame) in group g. [-0, +0, raises] */
static void spawn_hook(lua_State *L, ld_frame *f, const char *hook, int next_phase, ld_group *g) {
  ld_agent_push_hook(L, hook);
  ld_frame_push(L, f);
  f->phase = next_phase;
  ld_sched_spawn(f->sched, L, 1, on_task_done, f, g);
}

/* Raises if starting 'n' more requests (or tool calls) would break a budget
** of this call, of a call it is nested in, or of the run. [-0, +0, raises] */
static void check_budget(lua_State *L, ld_frame *f, int tools, long n) {
  for (ld_frame *g = f; g && g->depth > 0; g = g->parent) {
    long max = tools ? g->max_tool_calls : g->max_requests;
    long used = tools ? g->sub_tool_calls : g->sub_requests;
    if (max > 0 && used + n > max) {
      ld_frame_push(L, g);
      lua_getfield(L, -1, "worker");
      ld_error_raisef(L, "budget", "Budget exceeded: %s = %d for the call of worker '%s'%s",
                      tools ? "max_tool_calls" : "max_requests", (int)max, lua_tostring(L, -1),
                      g == f ? "" : " (nested calls count towards it)");
    }
  }
  if (!tools && f->root->max_total_requests > 0 && f->root->requests + n > f->root->max_total_requests)
    ld_error_raisef(L, "budget", "Budget exceeded: max_total_requests = %d for this run",
                    (int)f->root->max_total_requests);
  for (ld_frame *g = f; g && g->depth > 0; g = g->parent) {
    if (tools)
      g->sub_tool_calls += n;
    else
      g->sub_requests += n;
  }
}

static int raise_cancelled(lua_State *L) { return ld_error_raisef(L, "cancelled", "cancelled"); }

/* Sets the call's outcome from the value on top; tool calls still in
** flight are waited for (DRAIN) before the cleanups run. [-1, +0] */
static void set_result(lua_State *L, ld_frame *f, int ok) {
  ld_frame_store(L, f, LD_UV_RESULT);
  f->ok = ok;
  f->phase = f->pending > 0 ? DRAIN : FINISH;
}

/* Pushes state.turn.calls[i] and returns whether its tool is sequential.
** [-0, +1] */
static int push_call(lua_State *L, int frame, int i) {
  lua_getiuservalue(L, frame, LD_UV_STATE);
  lua_getfield(L, -1, "turn");
  lua_getfield(L, -1, "calls");
  lua_rawgeti(L, -1, i); /* state turn calls call */
  lua_replace(L, -4);
  lua_pop(L, 2);
  int seq = 0;
  lua_getiuservalue(L, frame, LD_UV_TOOLS);
  lua_getfield(L, -2, "name");
  if (lua_istable(L, -2) && lua_isstring(L, -1) && lua_gettable(L, -2) == LUA_TTABLE) {
    lua_getfield(L, -1, "sequential");
    seq = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return seq;
}

/* Starts the tool call with index i through the tool plane. [-0, +0, raises] */
static void start_tool(lua_State *L, ld_frame *f, int frame, int i) {
  lua_pushcfunction(L, l_toolplane_body);
  lua_pushvalue(L, frame);
  push_call(L, frame, i);
  lua_pushinteger(L, i);
  ld_sched_spawn(f->sched, L, 3, on_tool_done, f, &f->group);
  f->pending++; /* after: a spawn that raises leaves nothing to wait for */
}

/* One step of the state machine. [-1, +0, raises] (light userdata: frame) */
static int l_step(lua_State *L) {
  ld_frame *f = lua_touserdata(L, 1);
  ld_frame_push(L, f); /* 2: the frame */
  if (f->cancelled && f->phase < FINISH) return raise_cancelled(L);
  switch (f->phase) {
  case START: spawn_hook(L, f, "build_toolsets", WAIT_BUILD, &f->group); return 0;
  case BUILT:
    if (!f->scratch_ok) {
      lua_getiuservalue(L, 2, LD_UV_SCRATCH);
      set_result(L, f, 0);
      return 0;
    }
    f->phase = TURN;
    return 0;
  case TURN:
    check_budget(L, f, 0, 1);
    f->requests++, f->root->requests++;
    spawn_hook(L, f, "model_turn", WAIT_MODEL, &f->group);
    return 0;
  case MODEL_DONE: {
    lua_getiuservalue(L, 2, LD_UV_SCRATCH); /* 3: response or error */
    if (!f->scratch_ok) {
      set_result(L, f, 0);
      return 0;
    }
    if (lua_istable(L, 3) && lua_getfield(L, 3, "usage") == LUA_TTABLE) {
      lua_getfield(L, -1, "input_tokens");
      lua_getfield(L, -2, "output_tokens");
      long in = (long)lua_tointeger(L, -2), out = (long)lua_tointeger(L, -1);
      f->input_tokens += in, f->root->input_tokens += in;
      f->output_tokens += out, f->root->output_tokens += out;
    }
    lua_settop(L, 3);
    ld_agent_push_hook(L, "after_turn");
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_call(L, 2, 2); /* action value */
    const char *action = luaL_checkstring(L, -2);
    if (strcmp(action, "final") == 0) {
      set_result(L, f, 1);
    } else if (strcmp(action, "tools") == 0) {
      f->ncalls = (int)lua_tointeger(L, -1);
      f->phase = TOOLS;
    } else {
      return luaL_error(L, "internal error: after_turn returned '%s'", action);
    }
    return 0;
  }
  case TOOLS:
    check_budget(L, f, 1, f->ncalls);
    f->pending = 0;
    f->next_seq = 1;
    f->phase = WAIT_TOOLS;
    for (int i = 1; i <= f->ncalls; i++) {
      int seq = push_call(L, 2, i);
      lua_pop(L, 1);
      if (!seq) start_tool(L, f, 2, i);
    }
    if (f->pending == 0) f->phase = PUMP;
    return 0;
  case PUMP:
    while (f->next_seq <= f->ncalls) {
      int i = f->next_seq++;
      int seq = push_call(L, 2, i);
      lua_pop(L, 1);
      if (seq) {
        f->phase = WAIT_TOOLS;
        start_tool(L, f, 2, i);
        return 0;
      }
    }
    f->phase = TOOLS_DONE;
    return 0;
  case TOOLS_DONE:
    ld_agent_push_hook(L, "after_tools");
    lua_pushvalue(L, 2);
    lua_call(L, 1, 0);
    f->phase = TURN;
    return 0;
  case FINISH: spawn_hook(L, f, "cleanup_call", WAIT_CLEANUP, &f->shield); return 0;
  case CLEANED:
    ld_agent_push_hook(L, "finish_call");
    lua_pushvalue(L, 2);
    lua_pushboolean(L, f->ok);
    lua_call(L, 2, 0);
    return 0;
  default: return 0;
  }
}

/*
** Ends the call: hands (ok, result) to the waiting task and drops the
** anchor. Uses no call that can raise.
*/
static void finish(lua_State *L, ld_frame *f) {
  f->phase = DONE;
  f->closed = 1;
  ld_frame_push(L, f);
  lua_State *co = ld_task_thread(f->waiter);
  lua_checkstack(co, 2);
  lua_pushboolean(co, f->ok);
  lua_getiuservalue(L, -1, LD_UV_RESULT);
  lua_xmove(L, co, 1);
  lua_pop(L, 1);
  luaL_unref(L, LUA_REGISTRYINDEX, f->self_ref);
  f->self_ref = LUA_NOREF;
  ld_task_wake(f->waiter, 2);
  f->waiter = NULL;
}

static int waiting(int phase) {
  return phase == WAIT_BUILD || phase == WAIT_MODEL || phase == WAIT_TOOLS || phase == DRAIN ||
         phase == WAIT_CLEANUP;
}

/* Deferred callback: runs steps until the call waits or ends. */
static void run_step(void *ud) {
  ld_frame *f = ud;
  lua_State *L = ld_sched_state(f->sched);
  while (!waiting(f->phase)) {
    int phase = f->phase;
    lua_pushcfunction(L, l_step);
    lua_pushlightuserdata(L, f);
    int status = ld_vm_pcall(L, 1, 0);
    if (phase == CLEANED) { /* a failing finish_call hook must not lose the result */
      if (status != LUA_OK) lua_pop(L, 1);
      finish(L, f);
      return;
    }
    if (status != LUA_OK) {
      if (phase >= FINISH) { /* the cleanup could not even start: report, finish */
        lua_pop(L, 1);
        f->phase = CLEANED;
        continue;
      }
      set_result(L, f, 0);
    }
  }
}

static void schedule(ld_frame *f) { ld_sched_defer(f->sched, &f->step, run_step, f); }

/* The caller of a worker call was cancelled: wind the call down. It still
** runs its cleanups and then wakes the caller with the "cancelled" error. */
static void cancel_call(void *op, ld_task *t) {
  (void)t;
  ld_frame *f = op;
  f->cancelled = 1;
  ld_group_cancel(&f->group);
  schedule(f);
}

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
  ld_agent_push_hook(L, "prepare_call"); /* rt name input hook */
  lua_insert(L, 1);
  lua_pushvalue(L, 2);
  lua_insert(L, 1);
  lua_call(L, 3, 3);                        /* rt def messages state */
  ld_frame *f = ld_frame_new(L, caller, 1); /* rt def messages state frame */
  lua_getfield(L, -2, "max_requests");
  lua_getfield(L, -3, "max_tool_calls");
  f->max_requests = (long)lua_tointeger(L, -2);
  f->max_tool_calls = (long)lua_tointeger(L, -1);
  lua_pop(L, 2);
  lua_insert(L, 2); /* rt frame def messages state */
  lua_setiuservalue(L, 2, LD_UV_STATE);
  lua_setiuservalue(L, 2, LD_UV_MESSAGES);
  lua_setiuservalue(L, 2, LD_UV_DEF);
  lua_pushvalue(L, 2);
  f->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  f->waiter = t;
  f->phase = START;
  schedule(f);
  return ld_task_wait(L, t, cancel_call, f, 0, call_agent_k);
}
