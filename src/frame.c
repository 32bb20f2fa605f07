/*
** frame: call frames and the 'rt' / 'ctx' object Lua sees. See frame.h.
*/
#include "frame.h"

#include <string.h>

#include <lauxlib.h>

#include "agent.h"
#include "error.h"

static const char methods_key = 'm';

ld_frame *ld_frame_new(lua_State *L, ld_frame *parent, int parent_idx) {
  parent_idx = parent ? lua_absindex(L, parent_idx) : 0;
  ld_frame *f = lua_newuserdatauv(L, sizeof *f, LD_UV_COUNT);
  memset(f, 0, sizeof *f);
  f->self_ref = LUA_NOREF;
  f->shield.shield = 1;
  f->parent = parent;
  f->root = parent ? parent->root : f;
  f->depth = parent ? parent->depth + 1 : 0;
  f->max_depth = parent ? parent->max_depth : 5;
  f->sched = ld_sched_get(L);
  luaL_setmetatable(L, LD_FRAME_MT);
  if (parent) {
    lua_pushvalue(L, parent_idx);
    lua_setiuservalue(L, -2, LD_UV_PARENT);
    lua_getiuservalue(L, parent_idx, LD_UV_RUN);
    lua_setiuservalue(L, -2, LD_UV_RUN);
  }
  return f;
}

ld_frame *ld_frame_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, LD_FRAME_MT); }

void ld_frame_push(lua_State *L, ld_frame *f) { lua_rawgeti(L, LUA_REGISTRYINDEX, f->self_ref); }

void ld_frame_store(lua_State *L, ld_frame *f, int slot) {
  ld_frame_push(L, f); /* value frame */
  lua_insert(L, -2);   /* frame value */
  lua_setiuservalue(L, -2, slot);
  lua_pop(L, 1);
}

/* The name of the frame's worker (root: its entry), or "?". [-0, +1] */
static void push_name(lua_State *L, int idx) {
  lua_getiuservalue(L, idx, LD_UV_DEF);
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
** from the methods table (C methods plus those runtime.lua adds).
** [-2, +1]
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
    lua_getiuservalue(L, 1, LD_UV_RUN);
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

/* core.frame_uv(frame, slot [, value]): user value access for runtime.lua. */
static int l_frame_uv(lua_State *L) {
  ld_frame_check(L, 1);
  int slot = (int)luaL_checkinteger(L, 2);
  luaL_argcheck(L, slot >= 1 && slot <= LD_UV_COUNT, 2, "bad slot");
  if (lua_gettop(L) >= 3) {
    lua_settop(L, 3);
    lua_setiuservalue(L, 1, slot);
    return 0;
  }
  lua_getiuservalue(L, 1, slot);
  return 1;
}

int l_frame_root(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE); /* run */
  lua_settop(L, 2);                 /* run def */
  ld_frame *f = ld_frame_new(L, NULL, 0);
  lua_getfield(L, 1, "max_depth");
  if (lua_isinteger(L, -1)) f->max_depth = (int)lua_tointeger(L, -1);
  lua_getfield(L, 1, "max_total_requests");
  if (lua_isinteger(L, -1)) f->max_total_requests = (long)lua_tointeger(L, -1);
  lua_pop(L, 2);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, LD_UV_RUN);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, LD_UV_DEF);
  lua_newtable(L);
  lua_setiuservalue(L, -2, LD_UV_MESSAGES);
  return 1;
}

int l_frame_close(lua_State *L) {
  ld_frame *f = ld_frame_check(L, 1);
  f->closed = 1;
  return 0;
}

/* core.frame_usage(frame) -> {requests=, input_tokens=, output_tokens=} */
static int l_frame_usage(lua_State *L) {
  ld_frame *f = ld_frame_check(L, 1);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, f->requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, f->input_tokens);
  lua_setfield(L, -2, "input_tokens");
  lua_pushinteger(L, f->output_tokens);
  lua_setfield(L, -2, "output_tokens");
  return 1;
}

void ld_frame_open(lua_State *L) {
  static const luaL_Reg meta[] = {{"__index", l_frame_index}, {"__tostring", l_frame_tostring}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"call_agent", l_agent_call}, {NULL, NULL}};
  luaL_newmetatable(L, LD_FRAME_MT);
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
  luaL_newlib(L, methods);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &methods_key);
  /* core.frame_methods, so runtime.lua can add Lua-written methods */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &methods_key);
  lua_setfield(L, -2, "frame_methods");
  static const luaL_Reg fns[] = {{"frame_root", l_frame_root},
                                 {"frame_close", l_frame_close},
                                 {"frame_uv", l_frame_uv},
                                 {"frame_usage", l_frame_usage},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
