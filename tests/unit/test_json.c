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
  lua_newtable(L);
  ld_json_open(L);
  lua_getfield(L, -1, "json_decode");
  lua_setglobal(L, "dec");
  lua_pop(L, 1);
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
  /* keys holding NUL bytes keep them and their values (found by fuzz_json) */
  CHECK_STR(enc(L, "{['a\\0b'] = 1, ['a\\0c'] = 2, a = 3}", "s"),
            "{\"a\":3,\"a\\u0000b\":1,\"a\\u0000c\":2}");
  /* two keys that would both come out as U+FFFD are a collision, not a duplicate key (found by fuzz_json) */
  CHECK(strstr(enc(L, "{['\\xe4'] = 1, ['\\x98'] = 2}", "s"), "two keys that are both") != NULL);
  /* decoding: an array that holds the empty-array sentinel's value keeps it */
  CHECK_STR(enc(L, "dec('{\"a\":[\"\\\\u0000[]\"],\"b\":[],\"c\":[[]]}')", "s"),
            "{\"a\":[\"\\u0000[]\"],\"b\":[],\"c\":[[]]}");
  CHECK_STR(enc(L, "dec('[\"\\\\u0000[]\"]')", "s"), "[\"\\u0000[]\"]");
  /* and empty arrays and integers deeper than the encoder goes are decoded too */
  CHECK_STR(enc(L,
                "(function() local v = dec(('['):rep(130) .. '[], 2.0' .. (']'):rep(130)) "
                "for _ = 1, 129 do v = v[1] end return {v[1], math.type(v[2])} end)()",
                "s"),
            "[[],\"integer\"]");
  lua_close(L);
}
