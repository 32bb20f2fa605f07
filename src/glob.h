/*
** glob: shell-style wildcard matching.
**
** '*' any run of characters, '?' one character, '[a-z]' a class ('[!..]' or
** '[^..]' negated, ']' first is literal). There is no escape character, as
** in Python's fnmatch. With LD_GLOB_PATHNAME, wildcards stop at '/' and a
** whole segment '**' matches zero or more segments. Time is bounded by
** pattern length times string length: no exponential backtracking.
*/
#ifndef LD_GLOB_H
#define LD_GLOB_H

#include <lua.h>

enum { LD_GLOB_CASEFOLD = 1, LD_GLOB_PATHNAME = 2 };

int ld_glob_match(const char *pattern, const char *str, int flags);

/* core.glob_match(pattern, str [, "i" | "p" | "ip"]) -> boolean */
int l_glob_match(lua_State *L);

#endif
