/*
** io: waiting primitives on the loop - timers and standard input.
*/
#ifndef LD_IO_H
#define LD_IO_H

#include <lua.h>

/* core.sleep(ms): suspends the calling task. [-1, +0, yields] */
int l_io_sleep(lua_State *L);

/* core.read_stdin([limit]) -> text | nil (stdin is a terminal or closed).
** Reads to end of file without blocking the loop. [-(0|1), +1, yields] */
int l_io_read_stdin(lua_State *L);

#endif
