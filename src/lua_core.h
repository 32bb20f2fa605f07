/*
** lua_core: the 'llmdo.core' module - the C primitives under the llmdo
** Lua module. Each area contributes its functions here.
*/
#ifndef LD_LUA_CORE_H
#define LD_LUA_CORE_H

#include <lua.h>

int luaopen_llmdo_core(lua_State *L);

#endif
