/*
** sysutil: OS queries. See sysutil.h.
*/
#include "sysutil.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <uv.h>

static int fail(lua_State *L, int err) {
  lua_pushnil(L);
  lua_pushstring(L, strerror(err));
  return 2;
}

int l_sys_realpath(lua_State *L) {
  const char *p = luaL_checkstring(L, 1);
  char buf[PATH_MAX];
  if (!realpath(p, buf)) return fail(L, errno);
  lua_pushstring(L, buf);
  return 1;
}

int l_sys_stat(lua_State *L) {
  const char *p = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(p, &st) != 0) {
    /* "missing" apart from the rest (permission denied, a symlink loop), so
    ** that those are not reported as "not found" */
    int e = errno;
    fail(L, e);
    lua_pushboolean(L, e == ENOENT);
    return 3;
  }
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
  return 1;
}

int l_sys_cwd(lua_State *L) {
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf)) return fail(L, errno);
  lua_pushstring(L, buf);
  return 1;
}

int l_sys_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

int l_sys_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)uv_hrtime() / 1e6);
  return 1;
}

/* core.base64(bytes) -> text (RFC 4648, padded). [-1, +1] */
int l_sys_base64(lua_State *L) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, (n + 2) / 3 * 4);
  size_t j = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v =
        (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
    out[j++] = tab[v >> 18 & 63];
    out[j++] = tab[v >> 12 & 63];
    out[j++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
    out[j++] = i + 2 < n ? tab[v & 63] : '=';
  }
  luaL_pushresultsize(&b, j);
  return 1;
}
