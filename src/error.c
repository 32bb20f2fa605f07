/*
** error: structured errors. See error.h for the kinds and exit statuses.
*/
#include "error.h"

#include <stdarg.h>
#include <string.h>

#include <lauxlib.h>

/* __tostring(e): the message field. [-0, +1] */
static int l_error_tostring(lua_State *L) {
  lua_getfield(L, 1, "message");
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "(error without message)");
  }
  return 1;
}

void ld_error_init(lua_State *L) {
  if (luaL_newmetatable(L, LD_ERROR_MT)) {
    lua_pushcfunction(L, l_error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

void ld_error_push(lua_State *L, const char *kind, const char *msg) {
  lua_createtable(L, 0, 3);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, LD_ERROR_MT);
}

int ld_error_raisef(lua_State *L, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap); /* msg */
  va_end(ap);
  ld_error_push(L, kind, lua_tostring(L, -1)); /* msg err */
  lua_remove(L, -2);
  return lua_error(L);
}

int ld_error_is(lua_State *L, int idx) {
  if (!lua_istable(L, idx) || !lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, LD_ERROR_MT);
  int same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

const char *ld_error_kind(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (ld_error_is(L, idx)) {
    if (lua_getfield(L, idx, "kind") == LUA_TSTRING) return lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  lua_pushliteral(L, "run");
  return lua_tostring(L, -1);
}

const char *ld_error_message(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (ld_error_is(L, idx)) {
    lua_getfield(L, idx, "message");
    if (lua_isstring(L, -1)) return lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  if (lua_type(L, idx) == LUA_TSTRING) {
    lua_pushvalue(L, idx);
    return lua_tostring(L, -1);
  }
  if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) { /* a broken __tostring must not raise here */
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

int ld_error_status(lua_State *L, int idx) {
  const char *kind = ld_error_kind(L, idx);
  int status = LD_EXIT_RUN;
  if (strcmp(kind, "usage") == 0 || strcmp(kind, "project") == 0 || strcmp(kind, "input") == 0)
    status = LD_EXIT_USAGE;
  else if (strcmp(kind, "cancelled") == 0)
    status = LD_EXIT_INTERRUPT;
  else if (strcmp(kind, "model") == 0 && lua_istable(L, idx)) {
    lua_getfield(L, idx, "transient");
    if (lua_toboolean(L, -1)) status = LD_EXIT_TEMPFAIL;
    lua_pop(L, 1);
  } else if (strcmp(kind, "exit") == 0 && lua_istable(L, idx)) {
    lua_getfield(L, idx, "code");
    status = lua_isinteger(L, -1) ? (int)(lua_tointeger(L, -1) & 0xff) : lua_toboolean(L, -1) ? 0 : 1;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return status;
}

/* core.error(kind, message [, fields]) -> error object. [-(2|3), +1] */
int l_error_new(lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  const char *msg = luaL_checkstring(L, 2);
  ld_error_push(L, kind, msg);
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, -4); /* err[k] = v, except kind/message already set */
    }
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
  }
  lua_pushvalue(L, 2); /* the whole string, even with a NUL inside */
  lua_setfield(L, -2, "message");
  return 1;
}

/* core.error.status(err) -> the exit status the error means. [-1, +1] */
int l_error_status(lua_State *L) {
  lua_pushinteger(L, ld_error_status(L, 1));
  return 1;
}

/* core.is_error(v) -> boolean. [-1, +1] */
int l_error_is(lua_State *L) {
  lua_pushboolean(L, ld_error_is(L, 1));
  return 1;
}
