/* json: the encoder (canonical order, arrays, escapes, errors) and the decoder. */
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

/* Decodes 'text' and encodes the result sorted; returns that or the error. */
static const char *dec(lua_State *L, const char *text, size_t n) {
  lua_settop(L, 0);
  lua_newtable(L);
  ld_json_open(L);
  lua_getfield(L, 1, "decode");
  lua_pushlstring(L, text, n);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return lua_tostring(L, -1);
  lua_pushcfunction(L, l_json_encode);
  lua_insert(L, -2);
  lua_pushliteral(L, "s");
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) return lua_tostring(L, -1);
  return lua_tostring(L, -1);
}

#define DEC(lit) dec(L, lit, sizeof(lit) - 1)

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
  /* a NUL in a key is escaped, not an end: two keys stay two */
  CHECK_STR(enc(L, "{['a\\0b'] = 1, a = 2}", "s"), "{\"a\":2,\"a\\u0000b\":1}");
  /* keys that are not UTF-8 are refused: replaced, these two would be one */
  CHECK(strstr(enc(L, "{['a\\xff'] = 1, ['a\\xfe'] = 2}", "s"), "is not valid UTF-8") != NULL);

  CHECK_STR(DEC("[\"\\u0000[]\"]"), "[\"\\u0000[]\"]");
  CHECK_STR(DEC("{\"a\\u0000b\": \"x\\u0000\", \"a\": []}"), "{\"a\":[],\"a\\u0000b\":\"x\\u0000\"}");
  CHECK_STR(DEC("[9007199254740993, -0, 2.0, 1e3, 0.5, null, true]"),
            "[9007199254740993,0,2,1000,0.5,null,true]");
  CHECK_STR(DEC("\"\\ud83d\\ude00 \\u00e9\\/\""), "\"\xf0\x9f\x98\x80 \xc3\xa9/\"");
  CHECK_STR(DEC("\"a\xff"
                "b\""),
            "invalid UTF-8 in a string at byte 3");
  CHECK_STR(DEC("\"a\tb\""), "unescaped control character in a string at byte 3");
  CHECK_STR(DEC("\"a\0b\""), "unescaped control character in a string at byte 3");
  CHECK_STR(DEC("\"\\udc00\""), "unpaired surrogate at byte 2");
  CHECK_STR(DEC("[NaN]"), "unexpected character at byte 2");
  CHECK_STR(DEC("[1,]"), "unexpected character at byte 4");
  CHECK_STR(DEC("{\"a\" 1}"), "expected ':' at byte 6");
  CHECK_STR(DEC("[01]"), "expected ',' or ']' at byte 3");
  CHECK_STR(DEC("{} x"), "unexpected text after the value at byte 4");
  char deep[200];
  memset(deep, '[', sizeof deep);
  CHECK(strstr(dec(L, deep, sizeof deep), "nested too deeply") != NULL);
  lua_close(L);
}
