/*
** join: running Lua functions as concurrent tasks and waiting for all.
**
**   core.parallel(f1, f2, ...) -> r1, r2, ...      (each function's first result)
**   core.map(list, fn [, limit]) -> { fn(list[1], 1), fn(list[2], 2), ... }
**
** Results come back in order. If a branch fails, the others are cancelled
** (their worker calls wind down and run their cleanups), and when all have
** ended the first error is raised. map runs at most 'limit' branches at
** once (default: all). If the waiting task is cancelled, so are the
** branches. These are rt:parallel / rt:map and ctx:parallel / ctx:map.
*/
#ifndef LD_JOIN_H
#define LD_JOIN_H

#include <lua.h>

int l_join_parallel(lua_State *L);
int l_join_map(lua_State *L);

/* core.turn(fn, ...) -> true, result | false, error: runs fn as a task that
** Ctrl-C cancels on its own (a chat turn), instead of the whole process. */
int l_join_turn(lua_State *L);

/* core.timeout(seconds, fn, ...) -> fn(...)'s first result: fn runs as a
** task of its own, cancelled when the time is up - whether it waits or
** computes (its task is watched) - which raises an error of kind "timeout":
** "timed out after N s". [-(n+2), +1, yields] */
int l_join_timeout(lua_State *L);

#endif
