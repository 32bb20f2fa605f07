/*
** own: a C allocation owned by Lua for a moment. While C code turns a
** buffer into Lua values, any of those calls may raise (out of memory) and
** jump past the free() that would follow. Pushed into an "own" userdata
** first, the buffer is freed by the garbage collector in that case; on the
** normal path it is freed at once with ld_own_free. (The pattern of
** lauxlib's UBox and mpv's "PITA" helper.)
*/
#ifndef LD_OWN_H
#define LD_OWN_H

#include <lua.h>

typedef void (*ld_own_free_fn)(void *p);

/* Pushes a userdata that owns p (freed with f when collected). [-0, +1, may raise] */
void ld_own_push(lua_State *L, void *p, ld_own_free_fn f);

/* Frees what the userdata at idx owns, now, and removes the userdata from
** the stack. [-0, -1] */
void ld_own_free(lua_State *L, int idx);

#endif
