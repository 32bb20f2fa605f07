/*
** approval: the gate every tool call passes before its fn runs
** (features.md §8, DESIGN §6).
*/
#ifndef LD_APPROVAL_H
#define LD_APPROVAL_H

#include <lua.h>

/*
** Called by the tool plane with its stack (1 frame 2 call 3 index 4 name
** 5 args 6 tool). Either continues with k(L, LUA_OK, ctx) - now, or after
** waiting for a person - or returns a "permission" outcome.
*/
int ld_approval_gate(lua_State *L, lua_KContext ctx, lua_KFunction k);

#endif
