/*
** toolplane: tool invocation. See toolplane.h.
**
** The body runs inside its own task and sequences its steps with
** continuations (Lua manual §4.5), so the approval gate and the tool's fn
** may wait (a prompt, an HTTP request, a child worker call) without a C
** frame in the way. Stack of the body:
**   1 frame  2 call  3 index  4 name  5 args  6 tool  7 ctx  8 msgh  9 result
*/
#include "toolplane.h"

#include <string.h>

#include <lauxlib.h>

#include "agent.h"
#include "approval.h"
#include "prompt.h"
#include "error.h"
#include "events.h"
#include "frame.h"
#include "json.h"
#include "sched.h"
#include "schema.h"
#include "vm.h"

enum { K_GATE_FN, K_GATE_PROMPT, K_FN };

/* Slot 3 (index) of a gate-only invocation: ctx:call_agent's approval. */
#define GATE_ONLY (-1)

/* Pushes a new outcome of 'kind' for the call in slot 2. [-0, +1] */
static void new_outcome(lua_State *L, const char *kind) {
  lua_createtable(L, 0, 8);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "outcome");
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_getfield(L, 2, "id");
  lua_setfield(L, -2, "id");
  lua_pushvalue(L, 4);
  lua_setfield(L, -2, "tool");
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, "index");
}

/* Returns an outcome with a message. [-0, +1] */
static int outcome_msg(lua_State *L, const char *kind, const char *msg) {
  lua_pushstring(L, msg);
  new_outcome(L, kind);
  lua_insert(L, -2);
  lua_setfield(L, -2, "message");
  return 1;
}

/* Reports the outcome on top as a tool-result event and returns it. [-0, +0] */
static int reported(lua_State *L) {
  if (!ld_events_lines()) return 1; /* nothing to show: skip making the text */
  int o = lua_gettop(L);
  lua_getfield(L, o, "kind");
  int ok = strcmp(lua_tostring(L, -1), "ok") == 0;
  if (ok)
    lua_getfield(L, o, "value");
  else if (lua_getfield(L, o, "message") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_getfield(L, o, "error");
    ld_error_message(L, -1);
    lua_remove(L, -2);
  }
  ld_event_tool_result(L, 1, lua_tostring(L, 4) ? lua_tostring(L, 4) : "?", -1, !ok);
  lua_settop(L, o);
  return 1;
}

/* "Unknown tool name: 'x'. Available tools: 'a', 'b'" [-0, +1] */
static int unknown_tool(lua_State *L) {
  lua_getiuservalue(L, 1, LD_UV_TOOLS); /* tools */
  int n = ld_vm_sorted_keys(L, -1);     /* tools names */
  int names = lua_gettop(L);
  luaL_checkstack(L, n + 4, "tool names");
  int base = lua_gettop(L);
  lua_pushfstring(L, "Unknown tool name: '%s'. ", lua_isstring(L, 4) ? lua_tostring(L, 4) : "?");
  lua_pushstring(L, n ? "Available tools: " : "No tools available.");
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, names, i);
    lua_pushfstring(L, "%s'%s'", i > 1 ? ", " : "", lua_tostring(L, -1));
    lua_remove(L, -2);
  }
  lua_concat(L, lua_gettop(L) - base);
  outcome_msg(L, "unknown", lua_tostring(L, -1));
  return reported(L);
}

/* Converts the value at idx into the text the model receives. [-0, +1, raises] */
static int l_content(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING)
    lua_pushvalue(L, 1);
  else
    ld_json_encode(L, 1, LD_JSON_SORTED);
  return 1;
}

/* After fn: turns its result or error into the outcome. */
static int plane_k(lua_State *L, int status, lua_KContext ctx);

/* The gate said yes: run fn(args, ctx) in this task, protected. */
static int run_fn(lua_State *L) {
  lua_settop(L, 7);
  if (lua_tointeger(L, 3) == GATE_ONLY) return 0;
  lua_pushcfunction(L, ld_vm_msghandler); /* 8 */
  lua_getfield(L, 6, "fn");
  lua_pushvalue(L, 5);
  lua_pushvalue(L, 7);
  return plane_k(L, lua_pcallk(L, 2, 1, 8, K_FN, plane_k), K_FN);
}

/* Acts on a gate decision (approval.h); may wait for the approval
** function or for a person, continuing in plane_k. */
static int gate(lua_State *L, int decision) {
  switch (decision) {
  case LD_APPROVED: return run_fn(L);
  case LD_REQUIRED: return gate(L, ld_approval_mode(L));
  case LD_CALL_FN:
    lua_getfield(L, 6, "approval");
    lua_pushvalue(L, 5);
    lua_pushvalue(L, 7);
    return plane_k(L, lua_pcallk(L, 2, 2, 0, K_GATE_FN, plane_k), K_GATE_FN);
  case LD_PROMPT: { /* the prompt text is on top; it stays there while we wait */
    ld_task *t = ld_task_check(L, "an approval prompt");
    return ld_prompt_ask(L, t, lua_tostring(L, -1), lua_rawlen(L, -1), K_GATE_PROMPT, plane_k);
  }
  default: /* LD_DENIED: the error is on top */
    if (lua_tointeger(L, 3) == GATE_ONLY) return lua_error(L);
    lua_copy(L, -1, 8); /* the error sits above slot 7 */
    lua_settop(L, 8);
    if (strcmp(ld_error_kind(L, 8), "permission") == 0) {
      lua_pop(L, 1);
      outcome_msg(L, "permission", ld_error_message(L, 8));
      lua_remove(L, -2);
      lua_pushvalue(L, 8);
      lua_setfield(L, -2, "error");
    } else {
      lua_pop(L, 1);
      new_outcome(L, "error");
      lua_pushvalue(L, 8);
      lua_setfield(L, -2, "error");
    }
    return reported(L);
  }
}

static int plane_k(lua_State *L, int status, lua_KContext ctx) {
  if (ctx == K_GATE_FN) {
    if (status != LUA_OK && status != LUA_YIELD) {
      const char *msg = ld_error_message(L, -1);
      ld_error_push(L, "tool",
                    lua_pushfstring(L, "Tool '%s': approval function failed: %s", lua_tostring(L, 4), msg));
      return gate(L, LD_DENIED);
    }
    return gate(L, ld_approval_after_fn(L, 2));
  }
  if (ctx == K_GATE_PROMPT) { /* text choice note */
    lua_remove(L, -3);
    return gate(L, ld_approval_answer(L));
  }
  const char *tool = lua_tostring(L, 4);
  if (status == LUA_OK || status == LUA_YIELD) {
    lua_pushcfunction(L, l_content);
    lua_pushvalue(L, 9);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      const char *why = lua_tostring(L, -1);
      ld_error_push(L, "tool",
                    lua_pushfstring(L, "Tool '%s' returned a value that is not JSON: %s", tool, why));
      new_outcome(L, "error");
      lua_insert(L, -2);
      lua_setfield(L, -2, "error");
      return reported(L);
    }
    new_outcome(L, "ok"); /* ... result content outcome */
    lua_insert(L, -2);
    lua_setfield(L, -2, "content");
    lua_pushvalue(L, 9);
    lua_setfield(L, -2, "value");
    return reported(L);
  }
  /* fn raised: the error is on top (9) */
  const char *kind = ld_error_kind(L, 9);
  lua_pop(L, 1);
  if (strcmp(kind, "retry") == 0) {
    outcome_msg(L, "retry", ld_error_message(L, 9));
    return reported(L);
  }
  if (strcmp(kind, "permission") == 0) {
    outcome_msg(L, "permission", ld_error_message(L, 9));
    lua_pushvalue(L, 9);
    lua_setfield(L, -2, "error");
    return reported(L);
  }
  if (strcmp(kind, "tool") != 0 && strcmp(kind, "cancelled") != 0 && strcmp(kind, "budget") != 0) {
    /* name the tool, keep any traceback */
    const char *msg = ld_error_message(L, 9);
    ld_error_push(L, "tool", lua_pushfstring(L, "Tool '%s' failed: %s", tool, msg));
    if (ld_error_is(L, 9))
      lua_getfield(L, 9, "traceback");
    else
      lua_pushnil(L);
    lua_setfield(L, -2, "traceback");
    lua_replace(L, 9);
    lua_settop(L, 9);
  }
  new_outcome(L, "error");
  lua_pushvalue(L, 9);
  lua_setfield(L, -2, "error");
  return reported(L);
}

/* Arguments the model left out that declare a default get it, as pydantic
** does - in a copy, so the recorded tool call stays what the model sent.
** [-0, +0] (replaces slot 5) */
static void fill_defaults(lua_State *L) {
  lua_getfield(L, 6, "parameters");
  if (!lua_istable(L, -1) || lua_getfield(L, -1, "properties") != LUA_TTABLE) {
    lua_settop(L, 6);
    return;
  }
  int props = lua_gettop(L), copy = 0;
  lua_pushnil(L);
  while (lua_next(L, props)) {                                              /* key prop */
    if (lua_istable(L, -1) && lua_getfield(L, -1, "default") != LUA_TNIL) { /* key prop default */
      lua_pushvalue(L, -3);
      if (lua_rawget(L, 5) == LUA_TNIL) {
        lua_pop(L, 1);
        if (!copy) { /* copy the arguments once */
          lua_newtable(L);
          lua_pushnil(L);
          while (lua_next(L, 5)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
          }
          lua_replace(L, 5);
          copy = 1;
        }
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -2);
        lua_rawset(L, 5);
      } else {
        lua_pop(L, 1);
      }
    }
    lua_settop(L, props + 1); /* key */
  }
  lua_settop(L, 6);
}

int l_toolplane_body(lua_State *L) {
  lua_settop(L, 3);
  ld_frame_check(L, 1);
  lua_getfield(L, 2, "name"); /* 4 */
  lua_getfield(L, 2, "args"); /* 5 */
  const char *name = lua_tostring(L, 4);
  ld_event_tool_call(L, 1, name ? name : "?", 5);
  lua_getiuservalue(L, 1, LD_UV_TOOLS); /* 6 tools */
  if (!name || !lua_istable(L, 6) || lua_getfield(L, 6, name) != LUA_TTABLE) {
    lua_settop(L, 5);
    return unknown_tool(L);
  }
  lua_replace(L, 6); /* 6 tool */
  if (!lua_istable(L, 5)) {
    outcome_msg(L, "retry",
                lua_pushfstring(L, "Invalid arguments for tool '%s': expected a JSON object", name));
    return reported(L);
  }
  lua_pushcfunction(L, l_schema_validate);
  lua_getfield(L, 6, "parameters");
  lua_pushvalue(L, 5);
  lua_call(L, 2, 2);
  if (!lua_toboolean(L, -2)) {
    outcome_msg(L, "retry",
                lua_pushfstring(L, "Invalid arguments for tool '%s': %s", name, lua_tostring(L, -1)));
    return reported(L);
  }
  lua_settop(L, 6);
  fill_defaults(L);
  ld_agent_push_hook(L, "tool_ctx");
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 6);
  lua_pushvalue(L, 2);
  lua_call(L, 3, 1); /* 7 ctx */
  return gate(L, ld_approval_first(L));
}

/* core.approve_agent(frame, name, input): the gate for ctx:call_agent, as if
** the worker were called as a tool. Returns nothing or raises the denial. */
int l_toolplane_gate_agent(lua_State *L) {
  ld_frame_check(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 3);
  ld_task_check(L, "call_agent");
  lua_createtable(L, 0, 1); /* frame name input call */
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "name");
  lua_replace(L, 2);
  if (lua_istable(L, 3)) {
    lua_pushvalue(L, 3); /* 4: reused below as args */
  } else {
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "input");
  }
  lua_getfield(L, 2, "name"); /* frame call input args name */
  lua_insert(L, 4);           /* frame call input name args */
  lua_pushinteger(L, GATE_ONLY);
  lua_replace(L, 3); /* frame call index name args */
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "worker");
  lua_setfield(L, -2, "kind");
  lua_pushvalue(L, 4);
  lua_setfield(L, -2, "name"); /* 6 tool */
  lua_pushnil(L);              /* 7 ctx */
  return gate(L, ld_approval_first(L));
}

/* --- ctx:call_tool ------------------------------------------------------------ */

static void on_direct_done(ld_task *t, lua_State *L, int ok, int nres, void *ud) {
  (void)t, (void)nres;
  ld_task *waiter = ud;
  lua_State *co = ld_task_thread(waiter);
  lua_checkstack(co, 2);
  lua_pushboolean(co, ok);
  lua_pushvalue(L, -1);
  lua_xmove(L, co, 1);
  ld_task_wake(waiter, 2);
}

/* The caller was cancelled: cancel the tool call; it still reports back. */
static void cancel_direct(void *op, ld_task *t) {
  (void)t;
  ld_task_cancel(op);
}

/* Continuation: (ok, outcome-or-error) pushed by on_direct_done. */
static int call_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  if (!lua_toboolean(L, -2)) return lua_error(L);
  int o = lua_gettop(L);
  lua_getfield(L, o, "kind");
  const char *kind = lua_tostring(L, -1);
  if (strcmp(kind, "ok") == 0) {
    lua_getfield(L, o, "value");
    return 1;
  }
  if (strcmp(kind, "error") == 0 || strcmp(kind, "permission") == 0) {
    lua_getfield(L, o, "error");
    return lua_error(L);
  }
  lua_getfield(L, o, "message");
  return ld_error_raisef(L, "run", "%s", lua_tostring(L, -1));
}

int l_toolplane_call(lua_State *L) {
  ld_frame *f = ld_frame_check(L, 1);
  luaL_checkstring(L, 2);
  if (lua_isnoneornil(L, 3)) {
    lua_settop(L, 2);
    lua_newtable(L);
  }
  lua_settop(L, 3);
  ld_task *t = ld_task_check(L, "call_tool");
  if (f->closed) return ld_error_raisef(L, "run", "call_tool on a frame whose call has ended");
  static unsigned long next_id;
  lua_pushcfunction(L, l_toolplane_body);
  lua_pushvalue(L, 1);
  lua_createtable(L, 0, 3);
  lua_pushfstring(L, "call_%d", (int)(++next_id % 100000000));
  lua_setfield(L, -2, "id");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "name");
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, "args");
  lua_pushinteger(L, 0);
  ld_task *plane = ld_sched_spawn(ld_sched_get(L), L, 3, on_direct_done, t, NULL);
  return ld_task_wait(L, t, cancel_direct, plane, 0, call_k);
}
