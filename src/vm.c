/*
** vm: Lua state set-up and the protected-call discipline.
**
** Every call from C into Lua goes through ld_vm_pcall (or a coroutine
** resume in sched.c); nothing runs unprotected, not even initialisation.
*/
#include "vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>

#include "embed.h"
#include "error.h"
#include "lua_core.h"

static const char debug_key = 'd';
static const char require_key = 'r'; /* the prelude's require for llmdo's own modules */
static const char sources_key = 's'; /* chunk source names of llmdo's own Lua -> true */

void ld_vm_set_debug(lua_State *L, int on) {
  lua_pushboolean(L, on);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &debug_key);
}

/* sys.set_debug(on): tracebacks with errors from now on (--debug). [-1, +0] */
int l_vm_set_debug(lua_State *L) {
  ld_vm_set_debug(L, lua_toboolean(L, 1));
  return 0;
}

int ld_vm_debug(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &debug_key);
  int on = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return on;
}

/*
** Decorates the error value on top of L (raised in 'co', which may be L)
** with a traceback when debugging: error objects get a 'traceback' field,
** other values become "message\nstack traceback:...". [-1, +1]
*/
void ld_vm_decorate(lua_State *L, lua_State *co, int level) {
  if (!ld_vm_debug(L)) return;
  if (ld_error_is(L, -1)) { /* the innermost traceback is the one that matters */
    if (lua_getfield(L, -1, "traceback") == LUA_TNIL) {
      luaL_traceback(L, co, NULL, level);
      lua_setfield(L, -3, "traceback");
    }
    lua_pop(L, 1);
    return;
  }
  const char *msg = ld_error_message(L, -1); /* err msg */
  if (strstr(msg, "\nstack traceback:")) {
    lua_pop(L, 1);
    return;
  }
  luaL_traceback(L, co, msg, level); /* err msg tb */
  lua_replace(L, -3);
  lua_pop(L, 1);
}

/* Is the frame described by ar in one of llmdo's own chunks? [-0, +0] */
static int own_frame(lua_State *L, lua_Debug *ar) {
  if (!ar->source || ar->currentline < 0) return 0;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &sources_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  int own = lua_getfield(L, -1, ar->source) != LUA_TNIL;
  lua_pop(L, 2);
  return own;
}

/*
** A string error positioned in llmdo's own Lua ("lua/llmdo/runtime.lua:113:
** bad argument #2 to 'read'") is about what project code passed: the
** position becomes that of the innermost frame of project Lua, so the
** message points at the user's file and line. Runs in the message handler,
** while the stack is still there. [-1, +1]
*/
static void relocate(lua_State *L) {
  if (lua_type(L, -1) != LUA_TSTRING) return;
  const char *msg = lua_tostring(L, -1);
  lua_Debug ar;
  int level = 1;
  for (; lua_getstack(L, level, &ar); level++) { /* the first Lua frame: where the error was placed */
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline >= 0) break;
  }
  if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "Sl", &ar) || !own_frame(L, &ar)) return;
  char where[LUA_IDSIZE + 24];
  int n = snprintf(where, sizeof where, "%s:%d: ", ar.short_src, ar.currentline);
  if (n <= 0 || (size_t)n >= sizeof where || strncmp(msg, where, (size_t)n) != 0) return;
  for (level++; lua_getstack(L, level, &ar); level++) { /* the caller in project code */
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline >= 0 && !own_frame(L, &ar)) {
      lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg + n);
      lua_replace(L, -2);
      return;
    }
  }
}

int ld_vm_msghandler(lua_State *L) {
  relocate(L);
  ld_vm_decorate(L, L, 1);
  return 1;
}

int ld_vm_pcall(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs; /* function index */
  lua_pushcfunction(L, ld_vm_msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  return status;
}

int ld_vm_sorted_keys(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  int keys = lua_gettop(L), n = 0;
  if (lua_istable(L, idx)) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
      }
    }
  }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, keys);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  return n;
}

/* own_caller() -> is the caller of the function calling this one (that
** is, of require) one of llmdo's own chunks? Upvalue 1: their source
** names. Made in C so a require costs no debug.getinfo table. [-0, +1] */
static int l_own_caller(lua_State *L) {
  lua_Debug ar;
  int own = 0;
  if (lua_getstack(L, 2, &ar) && lua_getinfo(L, "S", &ar) && ar.source) {
    lua_pushstring(L, ar.source);
    own = lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL;
  }
  lua_pushboolean(L, own);
  return 1;
}

/*
** Builds the state inside a protected call: the standard libraries, the
** loaders of llmdo's own modules (kept out of package.preload, so only
** the prelude's require can reach them) and the prelude, which gets
** (loaders, own_caller) and returns the require C uses. [-0, +0, may raise]
*/
static int l_vm_init(lua_State *L) {
  luaL_openlibs(L);
  ld_error_init(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  lua_pop(L, 1);
  lua_newtable(L); /* 1: internal loaders */
  lua_newtable(L); /* 2: source names of llmdo's own chunks */
  ld_core_install(L, 1);
  ld_embed_install(L, 1, 2);
  lua_pushvalue(L, 2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &sources_key);
  lua_pushcclosure(L, l_own_caller, 1); /* 2: own_caller, over the sources */
  lua_getfield(L, 1, "llmdo.prelude");
  lua_pushliteral(L, "llmdo.prelude");
  lua_call(L, 1, 1); /* the prelude's chunk runs and returns its set-up */
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &require_key);
  return 0;
}

void ld_vm_require(lua_State *L, const char *name) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &require_key);
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
}

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "llmdo: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
  abort();
  return 0;
}

lua_State *ld_vm_new(void) {
  lua_State *L = luaL_newstate();
  if (!L) return NULL;
  lua_atpanic(L, panic);
  lua_gc(L, LUA_GCSTOP); /* loading makes little garbage: collecting it costs more than it frees */
  lua_pushcfunction(L, l_vm_init);
  int status = ld_vm_pcall(L, 0, 0);
  lua_gc(L, LUA_GCRESTART);
  if (status != LUA_OK) {
    fprintf(stderr, "llmdo: cannot initialise Lua: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}
