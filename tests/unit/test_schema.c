/* schema: JSON Schema validation messages (the suite itself runs from tests/lua). */
#include <lauxlib.h>
#include <lualib.h>

#include "schema.h"
#include "unit.h"

/* Validates Lua value 'value' against Lua table 'schema'; "ok" or the message. */
static const char *check(lua_State *L, const char *schema, const char *value) {
  char code[1024];
  lua_settop(L, 0);
  snprintf(code, sizeof code, "return %s, %s", schema, value);
  if (luaL_dostring(L, code) != LUA_OK) return lua_tostring(L, -1);
  lua_pushcfunction(L, l_schema_validate);
  lua_insert(L, 1);
  if (lua_pcall(L, 2, 2, 0) != LUA_OK) return lua_tostring(L, -1);
  return lua_toboolean(L, 1) ? "ok" : lua_tostring(L, 2);
}

void suite_schema(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  const char *obj = "{type='object', properties={a={type='number'}, b={type='string', minLength=2}},"
                    " required={'a'}, additionalProperties=false}";
  CHECK_STR(check(L, obj, "{a=1, b='xy'}"), "ok");
  CHECK_STR(check(L, obj, "{b='xy'}"), "a: required field is missing");
  CHECK_STR(check(L, obj, "{a='1'}"), "a: expected number, got string");
  CHECK_STR(check(L, obj, "{a=1, b='x'}"), "b: must be at least 2 characters long");
  /* a limit of one is singular */
  CHECK_STR(check(L, "{type='string', minLength=1}", "''"), "(input): must be at least 1 character long");
  CHECK_STR(check(L, "{type='array', maxItems=1}", "{1, 2}"), "(input): must have at most 1 item");
  CHECK_STR(check(L, "{type='object', minProperties=1}", "{}"), "(input): must have at least 1 property");
  CHECK_STR(check(L, obj, "{a=1, c=2}"), "c: unknown field");
  CHECK_STR(check(L, obj, "'str'"), "(input): expected object, got string");
  CHECK_STR(check(L, "{type='integer', minimum=0}", "-1"), "(input): must be >= 0, got -1");
  CHECK_STR(check(L, "{type='integer'}", "2.0"), "ok");
  CHECK_STR(check(L, "{type='integer'}", "2.5"), "(input): expected integer, got number");
  CHECK_STR(check(L, "{type='array', items={type='string'}}", "{'a', 3}"),
            "[1]: expected string, got integer");
  CHECK_STR(check(L, "{type='array'}", "{}"), "ok");
  CHECK_STR(check(L, "{enum={'a','b'}}", "'c'"), "(input): is not one of the allowed values");
  CHECK_STR(check(L, "{type='object', properties={p={type='string', pattern='^\\\\d+$'}}}", "{p='12x'}"),
            "p: does not match pattern '^\\d+$'");
  /* fails closed on a pattern it cannot compile; the same from the cache */
  for (int i = 0; i < 2; i++)
    CHECK_STR(check(L, "{type='string', pattern='(?=x'}", "'x'"),
              "(input): invalid pattern '(?=x': missing closing parenthesis at offset 4");
  CHECK_STR(check(L, "{type='string', pattern='^[\\\\d]+$'}", "'12'"), "ok");
  /* patterns found by fuzz_schema to make a backtracking engine blow up
  ** finish: PCRE2's match limits stop them (no hang, no crash) */
  CHECK_STR(check(L, "{pattern='^x((((a|$)+)+)+)+'}", "'b'"),
            "(input): does not match pattern '^x((((a|$)+)+)+)+'");
  CHECK_STR(check(L, "{pattern='^b{1,3000}$'}", "'c'"), "(input): does not match pattern '^b{1,3000}$'");
  CHECK_STR(check(L, "{anyOf={{type='string'},{type='integer'}}}", "true"),
            "(input): does not match any of the allowed forms (anyOf)");
  CHECK_STR(
      check(L, "{properties={n={['$ref']='#/definitions/pos'}}, definitions={pos={minimum=1}}}", "{n=0}"),
      "n: must be >= 1, got 0");
  CHECK_STR(check(L, "{type='object', properties={a={type='object', properties={b={type='boolean'}}}}}",
                  "{a={b=1}}"),
            "a.b: expected boolean, got integer");
  lua_close(L);
}
