/*
** sysutil: small OS queries for the Lua half (paths, terminals, time).
*/
#ifndef LD_SYSUTIL_H
#define LD_SYSUTIL_H

#include <lua.h>

int l_sys_realpath(lua_State *L); /* core.realpath(p) -> abs | nil, err */
/* core.stat(p) -> "file"|"directory"|"other" | nil, err, missing (true for ENOENT) */
int l_sys_stat(lua_State *L);
int l_sys_cwd(lua_State *L);    /* core.cwd() -> path */
int l_sys_isatty(lua_State *L); /* core.isatty(fd) -> boolean */
int l_sys_now(lua_State *L);    /* core.now() -> milliseconds (monotonic, float) */
int l_sys_base64(lua_State *L); /* core.base64(bytes) -> text */

#endif
