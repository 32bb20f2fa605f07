/* json: the encoder (canonical order, arrays, escapes, errors). */
#include <lauxlib.h>
#include <lualib.h>

#include "json.h"
#include "unit.h"

/* Encodes the Lua expression 'expr' with flags; returns the text or the error. */
static const char *enc(lua_State *L, const char *expr, const char *opts) {
  lua_settop(L, 0);
  lua_register(L, "arr", l_json_array);
  char code[512];
  snprintf(code, sizeof code, "return %s", expr);
  if (luaL_dostring(L, code) != LUA_OK) return lua_tostring(L, -1);
  lua_pushcfunction(L, l_json_encode);
  lua_insert(L, 1);
  lua_pushstring(L, opts);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) return lua_tostring(L, -1);
  return lua_tostring(L, -1);
}

void suite_json(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  CHECK_STR(enc(L, "{b = 1, a = {2, 3}, c = 'x'}", "s"), "{\"a\":[2,3],\"b\":1,\"c\":\"x\"}");
  CHECK_STR(enc(L, "{}", ""), "{}");
  CHECK_STR(enc(L, "arr({})", ""), "[]");
  CHECK_STR(enc(L, "1.5", ""), "1.5");
  CHECK_STR(enc(L, "0.1", ""), "0.1");
  CHECK_STR(enc(L, "2.0", ""), "2.0");
  CHECK_STR(enc(L, "-7", ""), "-7");
  CHECK_STR(enc(L, "true", ""), "true");
  CHECK_STR(enc(L, "nil", ""), "null");
  CHECK_STR(enc(L, "'a\"b\\\\c\\n\\t\\1'", ""), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  CHECK_STR(enc(L, "'caf\\u{e9} \\u{1F600}'", "a"), "\"caf\\u00e9 \\ud83d\\ude00\"");
  CHECK_STR(enc(L, "'caf\\u{e9}'", ""), "\"caf\xc3\xa9\"");
  CHECK_STR(enc(L, "'bad\\xff'", ""), "\"bad\xef\xbf\xbd\"");
  CHECK_STR(enc(L, "{[1] = 'a', [3] = 'c'}", "s"), "{\"1\":\"a\",\"3\":\"c\"}");
  CHECK_STR(enc(L, "{a = {}, b = {x = 1}}", "sp"), "{\n  \"a\": {},\n  \"b\": {\n    \"x\": 1\n  }\n}");
  CHECK(strstr(enc(L, "{f = print}", ""), "cannot encode a function") != NULL);
  CHECK(strstr(enc(L, "0/0", ""), "NaN") != NULL);
  CHECK(strstr(enc(L, "(function() local t = {} t.t = t return t end)()", ""), "nested deeper") != NULL);
  lua_close(L);
}
