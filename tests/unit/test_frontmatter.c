/* frontmatter: splitting worker files and loading YAML into Lua values. */
#include <lauxlib.h>
#include <lualib.h>

#include "frontmatter.h"
#include "unit.h"

static int split(const char *text, char *yaml, char *body, int *line) {
  ld_span y, b;
  int r = ld_frontmatter_split(text, strlen(text), &y, &b, line);
  if (r == LD_FM_OK) {
    snprintf(yaml, 256, "%.*s", (int)y.n, y.p);
    snprintf(body, 256, "%.*s", (int)b.n, b.p);
  }
  return r;
}

/* Loads YAML; leaves the value (or the error message) on top. */
static int load(lua_State *L, const char *text) {
  lua_pushcfunction(L, l_yaml_load);
  lua_pushstring(L, text);
  lua_pushinteger(L, 2);
  return lua_pcall(L, 2, 1, 0);
}

static const char *field_str(lua_State *L, const char *k) {
  lua_getfield(L, -1, k);
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);
  return s;
}

static int field_type(lua_State *L, const char *k) {
  int t = lua_getfield(L, -1, k);
  lua_pop(L, 1);
  return t;
}

void suite_frontmatter(void) {
  char yaml[256], body[256];
  int line;
  CHECK(split("---\nname: a\n---\nHello\n", yaml, body, &line) == LD_FM_OK);
  CHECK_STR(yaml, "name: a\n");
  CHECK_STR(body, "Hello");
  CHECK(line == 2);
  /* leading blank lines stripped; longer dash lines; trailing spaces on the boundary */
  CHECK(split("\n\n-----  \nname: a\n----\n\n  body text  \n\n", yaml, body, &line) == LD_FM_OK);
  CHECK_STR(yaml, "name: a\n");
  CHECK_STR(body, "body text");
  CHECK(line == 4);
  CHECK(split("name: a\n", yaml, body, &line) == LD_FM_MISSING);
  CHECK(split("--\nname: a\n--\n", yaml, body, &line) == LD_FM_MISSING);
  CHECK(split("---\nname: a\n", yaml, body, &line) == LD_FM_UNCLOSED);
  CHECK(split("---\n---\n", yaml, body, &line) == LD_FM_OK);
  CHECK_STR(yaml, "");
  CHECK_STR(body, "");
  /* "---x" is not a boundary */
  CHECK(split("---\na: 1\n---x\n---\nrest", yaml, body, &line) == LD_FM_OK);
  CHECK_STR(yaml, "a: 1\n---x\n");
  /* a UTF-8 byte order mark opening the file is skipped; anywhere else it is text */
  CHECK(split("\xEF\xBB\xBF---\nname: a\n---\nHi", yaml, body, &line) == LD_FM_OK);
  CHECK_STR(yaml, "name: a\n");
  CHECK_STR(body, "Hi");
  CHECK(line == 2);
  CHECK(split("\xEF\xBB\xBF\n---\nname: a\n---\n", yaml, body, &line) == LD_FM_OK);
  CHECK(line == 3);
  CHECK(split("\n\xEF\xBB\xBF---\nname: a\n---\n", yaml, body, &line) == LD_FM_MISSING);
  CHECK(split("\xEF\xBB", yaml, body, &line) == LD_FM_MISSING);

  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  CHECK(load(L, "name: main\nentry: true\nmax: 10\nratio: 0.5\nhex: 0x1F\n"
                "off: off\nyes_word: yes\nnothing: ~\nquoted: 'true'\nlist: [a, 'b', 3]\n"
                "nested: {toolset: filesystem, base_path: ./src}\n") == LUA_OK);
  CHECK_STR(field_str(L, "name"), "main");
  lua_getfield(L, -1, "entry");
  CHECK(lua_isboolean(L, -1) && lua_toboolean(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, -1, "max");
  CHECK(lua_isinteger(L, -1) && lua_tointeger(L, -1) == 10);
  lua_pop(L, 1);
  lua_getfield(L, -1, "ratio");
  CHECK(!lua_isinteger(L, -1) && lua_tonumber(L, -1) == 0.5);
  lua_pop(L, 1);
  lua_getfield(L, -1, "hex");
  CHECK(lua_tointeger(L, -1) == 31);
  lua_pop(L, 1);
  lua_getfield(L, -1, "off");
  CHECK(lua_isboolean(L, -1) && !lua_toboolean(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, -1, "yes_word");
  CHECK(lua_isboolean(L, -1) && lua_toboolean(L, -1));
  lua_pop(L, 1);
  CHECK(field_type(L, "nothing") == LUA_TNIL); /* null values leave the key out */
  CHECK_STR(field_str(L, "quoted"), "true");   /* quoted scalars stay strings */
  lua_getfield(L, -1, "list");
  CHECK(lua_rawlen(L, -1) == 3);
  lua_rawgeti(L, -1, 3);
  CHECK(lua_isinteger(L, -1));
  lua_pop(L, 2);
  lua_getfield(L, -1, "nested");
  CHECK_STR(field_str(L, "base_path"), "./src");
  lua_pop(L, 2);

  /* block sequences, null items, anchors and aliases, block scalars */
  CHECK(load(L, "toolsets:\n  - shell_readonly\n  - ~\n  - src: {toolset: fs}\n"
                "a: &x [1, 2]\nb: *x\ntext: |\n  line one\n  line two\n") == LUA_OK);
  lua_getfield(L, -1, "toolsets");
  lua_rawgeti(L, -1, 2);
  CHECK(lua_type(L, -1) == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == NULL);
  lua_pop(L, 2);
  lua_getfield(L, -1, "b");
  CHECK(lua_rawlen(L, -1) == 2);
  lua_pop(L, 1);
  CHECK_STR(field_str(L, "text"), "line one\nline two\n");
  lua_pop(L, 1);

  /* an empty document is null; a scalar document is that scalar */
  CHECK(load(L, "") == LUA_OK);
  CHECK(lua_type(L, -1) == LUA_TLIGHTUSERDATA);
  lua_pop(L, 1);
  CHECK(load(L, "just text") == LUA_OK);
  CHECK_STR(lua_tostring(L, -1), "just text");
  lua_pop(L, 1);

  /* errors carry the file line (first_line = 2 here) */
  CHECK(load(L, "name: a\n  bad: indent\n") != LUA_OK);
  CHECK(strstr(lua_tostring(L, -1), "line 3") != NULL);
  lua_pop(L, 1);
  CHECK(load(L, "a: 1\na: 2\n") != LUA_OK);
  CHECK(strstr(lua_tostring(L, -1), "duplicate key 'a'") != NULL);
  lua_pop(L, 1);
  CHECK(load(L, "a: *nope\n") != LUA_OK);
  lua_pop(L, 1);
  CHECK(load(L, "? [a, b]\n: 1\n") != LUA_OK);
  CHECK(strstr(lua_tostring(L, -1), "mapping keys must be plain scalars") != NULL);
  lua_pop(L, 1);
  CHECK(load(L, "a: 1\n---\nb: 2\n") != LUA_OK);
  lua_pop(L, 1);
  CHECK(lua_gettop(L) == 0);
  lua_close(L);
}
