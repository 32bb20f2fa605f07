/*
** error: the structured error objects that cross the C/Lua boundary.
**
** An llmdo error is a table { kind = "...", message = "..." , ... } with the
** metatable "llmdo.Error" (whose __tostring gives the message). The kind
** decides the process exit status:
**   "usage", "project", "input"  -> 2   (bad flags, manifest, worker file, input)
**   "model" with transient = true -> 75  (a rate limit, overload, the network: retry later)
**   "cancelled"                  -> 130
**   "exit" (os.exit(code))       -> the code (true: 0, false: 1)
**   anything else ("run", "permission", "model", "tool", ...) -> 1
** Plain Lua errors (strings) are run errors.
*/
#ifndef LD_ERROR_H
#define LD_ERROR_H

#include <lua.h>

#define LD_ERROR_MT "llmdo.Error"

/* Exit statuses, documented in README.md. */
enum {
  LD_EXIT_OK = 0,
  LD_EXIT_RUN = 1,
  LD_EXIT_USAGE = 2,
  LD_EXIT_TEMPFAIL = 75, /* sysexits' EX_TEMPFAIL: a transient model failure; try the job again later */
  LD_EXIT_INTERRUPT = 130,
  LD_EXIT_PIPE = 141
};

/* Creates the metatable; called once per state. [-0, +0] */
void ld_error_init(lua_State *L);

/* Pushes a new error object. [-0, +1, may raise (memory)] */
void ld_error_push(lua_State *L, const char *kind, const char *msg);

/* Raises a formatted error of 'kind'. [-0, +0, raises] */
int ld_error_raisef(lua_State *L, const char *kind, const char *fmt, ...);

/* Is the value at idx an llmdo error object? [-0, +0] */
int ld_error_is(lua_State *L, int idx);

/* Pushes the error's kind ("run" for plain errors). [-0, +1] */
const char *ld_error_kind(lua_State *L, int idx);

/* Pushes a one-line message for any error value. [-0, +1] */
const char *ld_error_message(lua_State *L, int idx);

/* Exit status for the error value at idx. [-0, +0] */
int ld_error_status(lua_State *L, int idx);

/* core.error.status(err) -> exit status. [-1, +1] */
int l_error_status(lua_State *L);

/* Lua functions: core.error(kind, message [, fields]) and core.is_error(v). */
int l_error_new(lua_State *L);
int l_error_is(lua_State *L);

#endif
