/*
** embed: loaders for the Lua sources compiled into llmdo.
*/
#include "embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

const ld_embedded *ld_embed_find(const char *name) {
  for (const ld_embedded *m = ld_embedded_modules; m->name; m++)
    if (strcmp(m->name, name) == 0) return m;
  return NULL;
}

/*
** Loads the chunk of module 'm', from LLMDO_SOURCE_DIR when set (development,
** as source) or from the bytecode compiled into the binary. The chunk name is
** the source path, so tracebacks read "lua/llmdo/link.lua:12:" either way.
** [-0, +1, may raise]
*/
static void load_module(lua_State *L, const ld_embedded *m) {
  const char *dev = getenv("LLMDO_SOURCE_DIR");
  int status;
  if (dev && *dev && m->path[0] != '/') {      /* a library from outside the tree stays embedded */
    lua_pushfstring(L, "%s/%s", dev, m->path); /* path */
    status = luaL_loadfilex(L, lua_tostring(L, -1), "t");
    lua_remove(L, -2); /* chunk or message */
  } else {
    lua_pushfstring(L, "@%s", m->path); /* chunk name */
    status = luaL_loadbufferx(L, m->src, m->len, lua_tostring(L, -1), "b");
    lua_remove(L, -2);
  }
  if (status != LUA_OK) lua_error(L);
}

/* loader(name): runs the module chunk. [-1, +1, may raise] */
static int l_embed_loader(lua_State *L) {
  const ld_embedded *m = lua_touserdata(L, lua_upvalueindex(1));
  load_module(L, m);
  lua_pushstring(L, m->name);
  lua_call(L, 1, 1);
  return 1;
}

void ld_embed_install(lua_State *L, int internal, int sources) {
  internal = lua_absindex(L, internal);
  sources = lua_absindex(L, sources);
  const char *dev = getenv("LLMDO_SOURCE_DIR");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE); /* preload */
  for (const ld_embedded *m = ld_embedded_modules; m->name; m++) {
    lua_pushlightuserdata(L, (void *)m);
    lua_pushcclosure(L, l_embed_loader, 1);
    lua_setfield(L, strcmp(m->name, "llmdo") == 0 ? -2 : internal, m->name);
    if (dev && *dev && m->path[0] != '/')
      lua_pushfstring(L, "@%s/%s", dev, m->path);
    else
      lua_pushfstring(L, "@%s", m->path);
    lua_pushboolean(L, 1);
    lua_rawset(L, sources);
  }
  lua_pop(L, 1);
}
