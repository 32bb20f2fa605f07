/*
** toolplane: tool invocation. See toolplane.h.
**
** The plane runs in the calling task and sequences its steps with
** continuations (Lua manual §4.5), so the approval gate and the tool's fn
** may wait (a prompt, an HTTP request, a child worker call) without a C
** frame in the way. Its stack, laid out by l_toolplane_invoke and known
** only to this file (the gate gets its part as an ld_gate):
*/
#include "toolplane.h"

#include <string.h>

#include <lauxlib.h>

#include "approval.h"
#include "prompt.h"
#include "error.h"
#include "events.h"
#include "frame.h"
#include "json.h"
#include "sched.h"
#include "schema.h"
#include "vm.h"

enum {
  P_FRAME = 1, /* the calling frame */
  P_CALL,      /* {id=, name=, args=} */
  P_GATE_ONLY, /* true: decide only (ctx:call_agent), run nothing */
  P_NAME,
  P_ARGS,
  P_TOOL, /* the tool record */
  P_CTX,  /* what fn(args, ctx) and approval(args, ctx) receive */
  P_MSGH, /* message handler of the protected call of fn */
  P_RESULT
};

static const ld_gate GATE = {P_FRAME, P_NAME, P_ARGS, P_TOOL};

enum { K_GATE_FN, K_GATE_PROMPT, K_FN };

/* Pushes a new outcome of 'kind'. [-0, +1] */
static void new_outcome(lua_State *L, const char *kind) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
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
  LD_STACK_ENTER(L);
  int o = lua_gettop(L);
  lua_getfield(L, o, "kind");
  int ok = strcmp(lua_tostring(L, -1), "ok") == 0;
  lua_getfield(L, o, "is_error"); /* a result the tool marked as an error (tool.result) */
  int is_error = !ok || lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (ok)
    lua_getfield(L, o, "value");
  else if (lua_getfield(L, o, "message") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_getfield(L, o, "error");
    ld_error_message(L, -1);
    lua_remove(L, -2);
  }
  ld_event_tool_result(L, P_FRAME, lua_tostring(L, P_NAME) ? lua_tostring(L, P_NAME) : "?", -1, is_error);
  lua_settop(L, o);
  LD_STACK_LEAVE(L, 0);
  return 1;
}

/* "Unknown tool name: 'x'. Available tools: 'a', 'b'" [-0, +1] */
static int unknown_tool(lua_State *L) {
  ld_frame_push(L, P_FRAME, LD_FRAME_TOOLS); /* tools */
  int n = ld_vm_sorted_keys(L, -1);          /* tools names */
  int names = lua_gettop(L);
  luaL_checkstack(L, n + 4, "tool names");
  int base = lua_gettop(L);
  lua_pushfstring(L, "Unknown tool name: '%s'. ", lua_isstring(L, P_NAME) ? lua_tostring(L, P_NAME) : "?");
  lua_pushstring(L, n ? "Available tools: " : "No tools available.");
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, names, i);
    lua_pushfstring(L, "%s'%s'", i > 1 ? ", " : "", lua_tostring(L, -1));
    lua_remove(L, -2);
  }
  lua_concat(L, lua_gettop(L) - base);
  outcome_msg(L, "unknown", lua_tostring(L, -1));
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "refused");
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

static const char result_mt = 'r';

/* tool.result(text, attachments, is_error) -> a result that carries more
** than text: attachments the model sees ({ {type = "attachment",
** media_type =, data = base64}, ... }), and a mark that the model is to
** read it as a tool error (the call goes on). [-3, +1] */
int l_toolplane_result(lua_State *L) {
  luaL_checkstring(L, 1);
  lua_settop(L, 3);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "text");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "attachments");
  lua_pushboolean(L, lua_toboolean(L, 3));
  lua_setfield(L, -2, "is_error");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &result_mt);
  lua_setmetatable(L, -2);
  return 1;
}

/* The outcome of a tool.result: its text is the value and the content. [-0, +1] */
static int rich_outcome(lua_State *L) {
  new_outcome(L, "ok");
  lua_getfield(L, P_RESULT, "text");
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "content");
  lua_setfield(L, -2, "value");
  lua_getfield(L, P_RESULT, "attachments");
  lua_setfield(L, -2, "attachments");
  lua_getfield(L, P_RESULT, "is_error");
  lua_setfield(L, -2, "is_error");
  return reported(L);
}

static int is_rich(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &result_mt);
  int r = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return r;
}

/* After fn: turns its result or error into the outcome. */
static int plane_k(lua_State *L, int status, lua_KContext ctx);

/* The gate said yes: run fn(args, ctx) in this task, protected. */
static int run_fn(lua_State *L) {
  lua_settop(L, P_CTX);
  if (lua_toboolean(L, P_GATE_ONLY)) return 0;
  lua_pushcfunction(L, ld_vm_msghandler); /* P_MSGH */
  lua_getfield(L, P_TOOL, "fn");
  lua_pushvalue(L, P_ARGS);
  lua_pushvalue(L, P_CTX);
  return plane_k(L, lua_pcallk(L, 2, 1, P_MSGH, K_FN, plane_k), K_FN);
}

static const char decision_hook = 'd';

/* Tells the run's journal how the gate decided (tool.on_decision): the
** hook gets (frame, name, args, "approved" | "denied", by). Its failure is
** no reason to change the decision: it is dropped. [-0, +0] */
static void tell_decision(lua_State *L, const char *decision, const char *by) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &decision_hook) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, P_FRAME);
  lua_pushvalue(L, P_NAME);
  lua_pushvalue(L, P_ARGS);
  lua_pushstring(L, decision);
  lua_pushstring(L, by);
  if (lua_pcall(L, 5, 0, 0) != LUA_OK) lua_pop(L, 1);
}

/* Acts on a gate decision (approval.h), made by 'by' ("config",
** "function", or one of ld_approval_mode's); may wait for the approval
** function or for a person, continuing in plane_k. */
static int gate(lua_State *L, int decision, const char *by) {
  switch (decision) {
  case LD_APPROVED: tell_decision(L, "approved", by); return run_fn(L);
  case LD_REQUIRED: {
    int d = ld_approval_mode(L, &GATE, &by);
    return gate(L, d, by);
  }
  case LD_CALL_FN:
    lua_getfield(L, P_TOOL, "approval");
    lua_pushvalue(L, P_ARGS);
    lua_pushvalue(L, P_CTX);
    return plane_k(L, lua_pcallk(L, 2, 2, 0, K_GATE_FN, plane_k), K_GATE_FN);
  case LD_PROMPT: { /* the prompt text is on top; it stays there while we wait */
    ld_task *t = ld_task_check(L, "an approval prompt");
    return ld_prompt_ask(L, t, lua_tostring(L, -1), lua_rawlen(L, -1), K_GATE_PROMPT, plane_k);
  }
  default: /* LD_DENIED: the error is on top */
    tell_decision(L, "denied", by);
    if (lua_toboolean(L, P_GATE_ONLY)) return lua_error(L);
    lua_copy(L, -1, P_MSGH); /* the error sits above P_CTX */
    lua_settop(L, P_MSGH);
    if (strcmp(ld_error_kind(L, P_MSGH), "permission") == 0) {
      lua_pop(L, 1);
      outcome_msg(L, "permission", ld_error_message(L, P_MSGH));
      lua_remove(L, -2);
    } else {
      lua_pop(L, 1);
      new_outcome(L, "error");
    }
    lua_pushvalue(L, P_MSGH);
    lua_setfield(L, -2, "error");
    return reported(L);
  }
}

static int plane_k(lua_State *L, int status, lua_KContext ctx) {
  if (ctx == K_GATE_FN) {
    if (status != LUA_OK && status != LUA_YIELD) {
      const char *msg = ld_error_message(L, -1);
      ld_error_push(
          L, "tool",
          lua_pushfstring(L, "Tool '%s': approval function failed: %s", lua_tostring(L, P_NAME), msg));
      return gate(L, LD_DENIED, "function");
    }
    return gate(L, ld_approval_after_fn(L, &GATE, 2), "function");
  }
  if (ctx == K_GATE_PROMPT) { /* text choice note */
    lua_remove(L, -3);
    return gate(L, ld_approval_answer(L, &GATE), "person");
  }
  const char *tool = lua_tostring(L, P_NAME);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (is_rich(L, P_RESULT)) return rich_outcome(L);
    lua_pushcfunction(L, l_content);
    lua_pushvalue(L, P_RESULT);
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
    lua_pushvalue(L, P_RESULT);
    lua_setfield(L, -2, "value");
    return reported(L);
  }
  /* fn raised: the error is on top (P_RESULT) */
  const char *kind = ld_error_kind(L, P_RESULT);
  lua_pop(L, 1);
  if (strcmp(kind, "retry") == 0) {
    outcome_msg(L, "retry", ld_error_message(L, P_RESULT));
    return reported(L);
  }
  if (strcmp(kind, "timeout") == 0) { /* the tool's own limit: the model may try otherwise */
    outcome_msg(L, "retry", lua_pushfstring(L, "Tool '%s' %s", tool, ld_error_message(L, P_RESULT)));
    return reported(L);
  }
  if (strcmp(kind, "permission") == 0) {
    outcome_msg(L, "permission", ld_error_message(L, P_RESULT));
    lua_pushvalue(L, P_RESULT);
    lua_setfield(L, -2, "error");
    return reported(L);
  }
  if (strcmp(kind, "tool") != 0 && strcmp(kind, "cancelled") != 0 && strcmp(kind, "budget") != 0 &&
      strcmp(kind, "exit") != 0) {
    /* name the tool, keep any traceback */
    const char *msg = ld_error_message(L, P_RESULT);
    ld_error_push(L, "tool", lua_pushfstring(L, "Tool '%s' failed: %s", tool, msg));
    if (ld_error_is(L, P_RESULT))
      lua_getfield(L, P_RESULT, "traceback");
    else
      lua_pushnil(L);
    lua_setfield(L, -2, "traceback");
    lua_replace(L, P_RESULT);
    lua_settop(L, P_RESULT);
  }
  new_outcome(L, "error");
  lua_pushvalue(L, P_RESULT);
  lua_setfield(L, -2, "error");
  return reported(L);
}

/* Returns the outcome of a call the plane refused before the gate: the
** message goes back to the model as a retry prompt. [-0, +1] */
static int refused(lua_State *L, const char *fmt, const char *why) {
  outcome_msg(L, "retry", lua_pushfstring(L, fmt, lua_tostring(L, P_NAME), why));
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "refused");
  return reported(L);
}

static const char ctx_mt = 'x';

/* Pushes the ctx of this call: { _frame, config, tool, call_id } with the
** metatable run.lua fills (ctx:call_agent and the rest). [-0, +1] */
static void push_ctx(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, P_FRAME);
  lua_setfield(L, -2, "_frame");
  if (lua_getfield(L, P_TOOL, "config") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
  lua_setfield(L, -2, "config");
  lua_pushvalue(L, P_NAME);
  lua_setfield(L, -2, "tool");
  lua_getfield(L, P_CALL, "id");
  lua_setfield(L, -2, "call_id");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &ctx_mt);
  lua_setmetatable(L, -2);
}

int l_toolplane_invoke(lua_State *L) {
  ld_frame_check(L, P_FRAME);
  luaL_checktype(L, P_CALL, LUA_TTABLE);
  lua_settop(L, P_CALL);
  ld_task_check(L, "a tool call");
  lua_pushboolean(L, 0);           /* P_GATE_ONLY */
  lua_getfield(L, P_CALL, "name"); /* P_NAME */
  lua_getfield(L, P_CALL, "args"); /* P_ARGS */
  const char *name = lua_tostring(L, P_NAME);
  ld_event_tool_call(L, P_FRAME, name ? name : "?", P_ARGS);
  ld_frame_push(L, P_FRAME, LD_FRAME_TOOLS); /* P_TOOL: the tools, then the tool */
  if (!name || !lua_istable(L, P_TOOL) || lua_getfield(L, P_TOOL, name) != LUA_TTABLE) {
    lua_settop(L, P_ARGS);
    return unknown_tool(L);
  }
  lua_replace(L, P_TOOL);
  if (lua_getfield(L, P_CALL, "args_error") == LUA_TSTRING) /* the model's JSON did not parse */
    return refused(L, "Invalid arguments for tool '%s': %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  if (!lua_istable(L, P_ARGS))
    return refused(L, "Invalid arguments for tool '%s': %s", "expected a JSON object");
  lua_pushcfunction(L, l_schema_validate);
  lua_getfield(L, P_TOOL, "parameters");
  lua_pushvalue(L, P_ARGS);
  lua_call(L, 2, 2);
  if (!lua_toboolean(L, -2)) return refused(L, "Invalid arguments for tool '%s': %s", lua_tostring(L, -1));
  lua_settop(L, P_TOOL);
  lua_getfield(L, P_TOOL, "parameters");
  ld_schema_fill_defaults(L, -1, P_ARGS, 1);
  lua_replace(L, P_ARGS);
  lua_pop(L, 1);
  push_ctx(L); /* P_CTX */
  return gate(L, ld_approval_first(L, &GATE), "config");
}

int l_toolplane_gate_agent(lua_State *L) {
  ld_frame_check(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 3);
  ld_task_check(L, "call_agent");
  lua_createtable(L, 0, 1); /* frame name input call */
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "name");
  lua_replace(L, P_CALL); /* frame call input */
  if (lua_istable(L, 3)) {
    lua_pushvalue(L, 3);
  } else {
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "input");
  }
  lua_getfield(L, P_CALL, "name"); /* frame call input args name */
  lua_insert(L, P_NAME);           /* frame call input name args */
  lua_pushboolean(L, 1);
  lua_replace(L, P_GATE_ONLY);
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "worker");
  lua_setfield(L, -2, "kind");
  lua_pushvalue(L, P_NAME);
  lua_setfield(L, -2, "name"); /* P_TOOL */
  lua_pushnil(L);              /* P_CTX */
  return gate(L, ld_approval_first(L, &GATE), "config");
}

/* tool.on_decision(fn | nil): the hook every gate decision is told. [-1, +0] */
int l_toolplane_on_decision(lua_State *L) {
  if (!lua_isnil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &decision_hook);
  return 0;
}

void ld_toolplane_open(lua_State *L) {
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &result_mt);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &ctx_mt);
}
