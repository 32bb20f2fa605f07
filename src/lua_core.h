/*
** lua_core: the C primitives under the Lua runtime, as one internal
** module per area: llmdo.core.error, .json, .sys, .fs, .proc, .http,
** .task, .frame, .tool, .term and .text. They are llmdo's internals: only
** llmdo's own Lua (lua/, toolsets/) may require them; a project's Lua sees
** the documented 'llmdo' module (see ld_core_install).
*/
#ifndef LD_LUA_CORE_H
#define LD_LUA_CORE_H

#include <lua.h>

/* Adds the internal modules' loaders to the table at idx. [-0, +0] */
void ld_core_install(lua_State *L, int idx);

#endif
