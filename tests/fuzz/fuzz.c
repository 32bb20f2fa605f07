/*
** fuzz: the shared Lua state and property runner. See fuzz.h.
*/
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "frontmatter.h"
#include "json.h"
#include "schema.h"
#include "vm.h"

void fuzz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz property failed: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

static const char props_key = 'p';

/* Runs props.lua with the functions under test and keeps the table it
** returns in the registry. [-0, +0, raises] */
static int load_props(lua_State *L) {
  if (luaL_loadfile(L, LLMDO_FUZZ_DIR "/props.lua") != LUA_OK) return lua_error(L);
  lua_newtable(L);
  ld_json_open(L);
  static const luaL_Reg fns[] = {
      {"json_encode", l_json_encode},
      {"schema_validate", l_schema_validate},
      {"yaml_load", l_yaml_load},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
  lua_call(L, 1, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &props_key);
  return 0;
}

/* The whole Lua state, made once: the runtime's modules (llmdo.toolsets.*)
** and cjson as well as props.lua. */
static lua_State *vm(void) {
  static lua_State *L;
  if (L) return L;
  setenv("LLMDO_INTERNALS", "1", 1); /* props.lua tests internal modules (llmdo.toolsets.shell) */
  L = ld_vm_new();
  if (!L) fuzz_fail("cannot create the Lua state");
  lua_pushcfunction(L, load_props);
  if (ld_vm_pcall(L, 0, 0) != LUA_OK) fuzz_fail("props.lua: %s", lua_tostring(L, -1));
  return L;
}

/* props[name](bytes, extra) with the arguments as light values, so that
** nothing that can raise runs outside the protected call.
** [-4, +0, raises] */
static int call_property(lua_State *L) {
  const char *name = lua_touserdata(L, 1);
  const char *bytes = lua_touserdata(L, 2);
  size_t n = (size_t)lua_tointeger(L, 3);
  lua_Integer extra = lua_tointeger(L, 4);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &props_key);
  if (lua_getfield(L, -1, name) != LUA_TFUNCTION)
    return luaL_error(L, "props.lua has no function '%s'", name);
  lua_pushlstring(L, bytes, n);
  lua_pushinteger(L, extra);
  lua_call(L, 2, 0);
  return 0;
}

void fuzz_property(const char *name, const char *bytes, size_t n, lua_Integer extra) {
  lua_State *L = vm();
  lua_settop(L, 0);
  lua_pushcfunction(L, call_property);
  lua_pushlightuserdata(L, (void *)name);
  lua_pushlightuserdata(L, (void *)bytes);
  lua_pushinteger(L, (lua_Integer)n);
  lua_pushinteger(L, extra);
  if (ld_vm_pcall(L, 4, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fuzz_fail("%s: %s", name, msg ? msg : "(an error object that is not a string)");
  }
  lua_settop(L, 0);
  /* Free this input's garbage now: libFuzzer counts mallocs against frees
  ** per input and runs a (slow) leak scan whenever they do not balance. */
  lua_gc(L, LUA_GCCOLLECT);
}
