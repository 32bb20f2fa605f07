/*
** own: see own.h.
*/
#include "own.h"

#include <lauxlib.h>

#define OWN_MT "llmdo.Own"

typedef struct own {
  void *p;
  ld_own_free_fn f;
} own;

static int l_own_gc(lua_State *L) {
  own *o = lua_touserdata(L, 1);
  if (o->p) o->f(o->p);
  o->p = NULL;
  return 0;
}

/* Makes the box. [-0, +1, raises] */
static int l_own_new(lua_State *L) {
  own *o = lua_newuserdatauv(L, sizeof *o, 0);
  o->p = NULL; /* owns nothing until the metatable is set */
  if (luaL_newmetatable(L, OWN_MT)) {
    lua_pushcfunction(L, l_own_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return 1;
}

void ld_own_push(lua_State *L, void *p, ld_own_free_fn f) {
  if (!lua_checkstack(L, 2)) {
    f(p);
    luaL_error(L, "stack overflow");
  }
  lua_pushcfunction(L, l_own_new);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) { /* out of memory: p is still ours to free */
    f(p);
    lua_error(L);
  }
  own *o = lua_touserdata(L, -1);
  o->p = p;
  o->f = f;
}

void ld_own_free(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  own *o = luaL_checkudata(L, idx, OWN_MT);
  if (o->p) o->f(o->p);
  o->p = NULL;
  lua_remove(L, idx);
}
