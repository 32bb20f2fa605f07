/*
** frame: call frames and the 'rt' object Lua sees. See frame.h.
*/
#include "frame.h"

#include <string.h>

#include <lauxlib.h>

#include "error.h"
#include "sched.h"

static const char methods_key = 'm';

/* Creates a frame below the frame at parent_idx (0: a root). [-0, +1, may raise] */
static ld_frame *new_frame(lua_State *L, int parent_idx) {
  ld_frame *parent = parent_idx ? ld_frame_check(L, parent_idx) : NULL;
  ld_frame *f = lua_newuserdatauv(L, sizeof *f, LD_FRAME_NFIELDS);
  memset(f, 0, sizeof *f);
  f->parent = parent;
  f->root = parent ? parent->root : f;
  f->depth = parent ? parent->depth + 1 : 0;
  f->max_depth = parent ? parent->max_depth : 5;
  luaL_setmetatable(L, LD_FRAME_MT);
  if (parent) {
    lua_pushvalue(L, parent_idx);
    lua_setiuservalue(L, -2, LD_FRAME_PARENT);
    lua_getiuservalue(L, parent_idx, LD_FRAME_RUN);
    lua_setiuservalue(L, -2, LD_FRAME_RUN);
  }
  return f;
}

ld_frame *ld_frame_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, LD_FRAME_MT); }

int ld_frame_push(lua_State *L, int idx, ld_frame_field which) {
  return lua_getiuservalue(L, idx, (int)which);
}

/* The name of the frame's worker (root: its entry), or "?". [-0, +1] */
static void push_name(lua_State *L, int idx) {
  lua_getiuservalue(L, idx, LD_FRAME_DEF);
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "name");
    lua_remove(L, -2);
  }
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "?");
  }
}

/*
** rt.key: depth, max_depth, worker, project_root, closed; other names come
** from the methods table (rt:call_agent and the rest). [-2, +1]
*/
static int l_frame_index(lua_State *L) {
  ld_frame *f = ld_frame_check(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "depth") == 0)
    lua_pushinteger(L, f->depth);
  else if (strcmp(k, "max_depth") == 0)
    lua_pushinteger(L, f->max_depth);
  else if (strcmp(k, "worker") == 0)
    push_name(L, 1);
  else if (strcmp(k, "closed") == 0)
    lua_pushboolean(L, f->closed);
  else if (strcmp(k, "project_root") == 0) {
    lua_getiuservalue(L, 1, LD_FRAME_RUN);
    lua_getfield(L, -1, "project_root");
  } else {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &methods_key);
    lua_getfield(L, -1, k);
  }
  return 1;
}

static int l_frame_tostring(lua_State *L) {
  ld_frame *f = ld_frame_check(L, 1);
  push_name(L, 1);
  lua_pushfstring(L, "llmdo.Frame(%s, depth %d)", lua_tostring(L, -1), f->depth);
  return 1;
}

/* frame.root(run, def) -> the entry's frame. [-2, +1] */
int l_frame_root(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  ld_frame *f = new_frame(L, 0);
  lua_getfield(L, 1, "max_depth");
  if (lua_isinteger(L, -1)) f->max_depth = (int)lua_tointeger(L, -1);
  lua_getfield(L, 1, "max_total_requests");
  if (lua_isinteger(L, -1)) f->max_total_requests = (long)lua_tointeger(L, -1);
  lua_pop(L, 2);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, 3, LD_FRAME_RUN);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, 3, LD_FRAME_DEF);
  lua_newtable(L);
  lua_setiuservalue(L, 3, LD_FRAME_HISTORY);
  return 1;
}

/*
** frame.new(parent, name, def, max_requests, max_tool_calls) -> frame of
** a worker call. The checks come first, in the reference's order: a call
** needs a task that can wait, an open caller, and depth to spare; with
** def nil only they run. [-5, +(0|1), raises]
*/
int l_frame_new(lua_State *L) {
  ld_frame *parent = ld_frame_check(L, 1);
  const char *name = luaL_checkstring(L, 2);
  ld_task_check(L, "call_agent");
  if (parent->closed) return ld_error_raisef(L, "run", "call_agent on a frame whose call has ended");
  if (parent->depth >= parent->max_depth) {
    push_name(L, 1);
    return ld_error_raisef(L, "run",
                           "max_depth exceeded (depth=%d, max_depth=%d, caller='%s', attempted='%s')",
                           parent->depth, parent->max_depth, lua_tostring(L, -1), name);
  }
  if (lua_isnoneornil(L, 3)) return 0;
  luaL_checktype(L, 3, LUA_TTABLE);
  long max_requests = (long)luaL_optinteger(L, 4, 0), max_tool_calls = (long)luaL_optinteger(L, 5, 0);
  ld_frame *f = new_frame(L, 1);
  f->max_requests = max_requests;
  f->max_tool_calls = max_tool_calls;
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, LD_FRAME_DEF);
  return 1;
}

/* frame.get(f, "def" | "run" | "tools" | "parent" | "history") [-2, +1] */
int l_frame_get(lua_State *L) {
  static const char *const names[] = {"def", "run", "tools", "parent", "history", NULL};
  ld_frame *f = ld_frame_check(L, 1);
  int which = luaL_checkoption(L, 2, NULL, names) + LD_FRAME_DEF;
  if (which == LD_FRAME_HISTORY) { /* the entry's, wherever the frame is */
    while (f->parent) {
      lua_getiuservalue(L, 1, LD_FRAME_PARENT);
      lua_replace(L, 1);
      f = f->parent;
    }
  }
  lua_getiuservalue(L, 1, which);
  return 1;
}

/* frame.set_tools(f, tools): the call's tools, name -> tool. [-2, +0] */
int l_frame_set_tools(lua_State *L) {
  ld_frame_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, LD_FRAME_TOOLS);
  return 0;
}

/*
** frame.count(f, "requests" | "tool_calls", n): counts n more requests
** (or tool calls) against the budgets of this call, of the calls it is
** nested in and of the run; raises a "budget" error, counting nothing, if
** one would be exceeded. [-3, +0, raises]
*/
int l_frame_count(lua_State *L) {
  static const char *const kinds[] = {"requests", "tool_calls", NULL};
  ld_frame *f = ld_frame_check(L, 1);
  int tools = luaL_checkoption(L, 2, NULL, kinds);
  long n = (long)luaL_checkinteger(L, 3);
  for (ld_frame *g = f; g && g->depth > 0; g = g->parent) {
    long max = tools ? g->max_tool_calls : g->max_requests;
    long used = tools ? g->sub_tool_calls : g->sub_requests;
    if (max > 0 && used + n > max) {
      lua_pushvalue(L, 1); /* g is f or an ancestor: walk up to its userdata for the name */
      for (ld_frame *h = f; h != g; h = h->parent) {
        lua_getiuservalue(L, -1, LD_FRAME_PARENT);
        lua_remove(L, -2);
      }
      push_name(L, lua_gettop(L));
      const char *who = lua_tostring(L, -1);
      return ld_error_raisef(L, "budget", "Budget exceeded: %s = %d for the call of worker '%s'%s",
                             tools ? "max_tool_calls" : "max_requests", (int)max, who,
                             g == f ? "" : " (nested calls count towards it)");
    }
  }
  if (!tools && f->root->max_total_requests > 0 && f->root->requests + n > f->root->max_total_requests)
    return ld_error_raisef(L, "budget", "Budget exceeded: max_total_requests = %d for this run",
                           (int)f->root->max_total_requests);
  for (ld_frame *g = f; g && g->depth > 0; g = g->parent) {
    if (tools)
      g->sub_tool_calls += n;
    else
      g->sub_requests += n;
  }
  if (!tools) {
    f->requests += n;
    if (f->root != f) f->root->requests += n;
  }
  return 0;
}

/* The usage counters of a frame, in the order of usage_names. */
static long *counter(ld_frame *f, int i) {
  long *c[] = {&f->input_tokens, &f->output_tokens, &f->cache_read, &f->cache_write};
  return c[i];
}
static const char *const usage_names[] = {"input_tokens", "output_tokens", "cache_read", "cache_write"};
#define NUSAGE 4

/* frame.add_usage(f, usage): a response's {input_tokens=, output_tokens=,
** cache_read=, cache_write=}, counted for the call and for the run.
** [-2, +0] */
int l_frame_add_usage(lua_State *L) {
  ld_frame *f = ld_frame_check(L, 1);
  if (!lua_istable(L, 2)) return 0;
  for (int i = 0; i < NUSAGE; i++) {
    lua_getfield(L, 2, usage_names[i]);
    long n = (long)lua_tointeger(L, -1);
    lua_pop(L, 1);
    *counter(f, i) += n;
    if (f->root != f) *counter(f->root, i) += n;
  }
  return 0;
}

/* frame.usage(f) -> {requests=, input_tokens=, output_tokens=, cache_read=,
** cache_write=} [-1, +1] */
int l_frame_usage(lua_State *L) {
  ld_frame *f = ld_frame_check(L, 1);
  lua_createtable(L, 0, 1 + NUSAGE);
  lua_pushinteger(L, f->requests);
  lua_setfield(L, -2, "requests");
  for (int i = 0; i < NUSAGE; i++) {
    lua_pushinteger(L, *counter(f, i));
    lua_setfield(L, -2, usage_names[i]);
  }
  return 1;
}

/* frame.close(f): the call ended; its methods refuse from now on. [-1, +0] */
int l_frame_close(lua_State *L) {
  ld_frame_check(L, 1)->closed = 1;
  return 0;
}

void ld_frame_open(lua_State *L) {
  static const luaL_Reg meta[] = {{"__index", l_frame_index}, {"__tostring", l_frame_tostring}, {NULL, NULL}};
  luaL_newmetatable(L, LD_FRAME_MT);
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &methods_key);
}
