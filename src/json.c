/*
** json: the encoder. See json.h.
**
** The output buffer lives in a userdata whose __gc frees it, so errors
** raised mid-way (a function value, a cycle) leak nothing.
*/
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua-cjson.h>

#define MAX_DEPTH 128
#define ARRAY_MT  "llmdo.json.array"

typedef struct jbuf {
  char *p;
  size_t n, cap;
} jbuf;

static int jbuf_gc(lua_State *L) {
  jbuf *b = lua_touserdata(L, 1);
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
  return 0;
}

static void put(lua_State *L, jbuf *b, const char *s, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) luaL_error(L, "not enough memory");
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

#define PUTS(L, b, lit) put(L, b, lit, sizeof(lit) - 1)

static void put_newline(lua_State *L, jbuf *b, int flags, int depth) {
  if (!(flags & LD_JSON_PRETTY)) return;
  PUTS(L, b, "\n");
  for (int i = 0; i < depth; i++) PUTS(L, b, "  ");
}

/* Decodes one UTF-8 sequence at s; returns its length, or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp) {
  if (s[0] < 0x80) return *cp = s[0], 1;
  size_t len;
  unsigned c, min;
  if ((s[0] & 0xE0) == 0xC0)
    len = 2, c = s[0] & 0x1F, min = 0x80;
  else if ((s[0] & 0xF0) == 0xE0)
    len = 3, c = s[0] & 0x0F, min = 0x800;
  else if ((s[0] & 0xF8) == 0xF0)
    len = 4, c = s[0] & 0x07, min = 0x10000;
  else
    return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

static void put_u(lua_State *L, jbuf *b, unsigned u) {
  char tmp[8];
  snprintf(tmp, sizeof tmp, "\\u%04x", u & 0xFFFFu); /* callers pass UTF-16 units */
  put(L, b, tmp, 6);
}

/* Writes a JSON string; invalid UTF-8 becomes U+FFFD. */
static void put_string(lua_State *L, jbuf *b, const char *str, size_t n, int flags) {
  const unsigned char *s = (const unsigned char *)str;
  PUTS(L, b, "\"");
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c == '"')
      PUTS(L, b, "\\\""), i++;
    else if (c == '\\')
      PUTS(L, b, "\\\\"), i++;
    else if (c == '\n')
      PUTS(L, b, "\\n"), i++;
    else if (c == '\r')
      PUTS(L, b, "\\r"), i++;
    else if (c == '\t')
      PUTS(L, b, "\\t"), i++;
    else if (c == '\b')
      PUTS(L, b, "\\b"), i++;
    else if (c == '\f')
      PUTS(L, b, "\\f"), i++;
    else if (c < 0x20 || c == 0x7f)
      put_u(L, b, c), i++;
    else if (c < 0x80)
      put(L, b, (const char *)s + i, 1), i++;
    else {
      unsigned cp;
      size_t len = utf8_decode(s + i, n - i, &cp);
      if (!len) {
        if (flags & LD_JSON_ASCII)
          put_u(L, b, 0xFFFD);
        else
          PUTS(L, b, "\xEF\xBF\xBD");
        i++;
      } else if (flags & LD_JSON_ASCII) {
        if (cp >= 0x10000) {
          cp -= 0x10000;
          put_u(L, b, 0xD800 + (cp >> 10));
          put_u(L, b, 0xDC00 + (cp & 0x3FF));
        } else {
          put_u(L, b, cp);
        }
        i += len;
      } else {
        put(L, b, (const char *)s + i, len);
        i += len;
      }
    }
  }
  PUTS(L, b, "\"");
}

static void put_number(lua_State *L, jbuf *b, int idx) {
  char tmp[64];
  int len;
  if (lua_isinteger(L, idx)) {
    len = snprintf(tmp, sizeof tmp, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
  } else {
    double d = lua_tonumber(L, idx);
    if (isnan(d) || isinf(d)) luaL_error(L, "cannot encode %s in JSON", isnan(d) ? "NaN" : "infinity");
    /* the shortest form that reads back as the same double */
    for (int prec = 15; prec <= 17; prec++) {
      len = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
      if (strtod(tmp, NULL) == d) break;
    }
    if (!strpbrk(tmp, ".eE")) len += snprintf(tmp + len, sizeof tmp - (size_t)len, ".0");
  }
  put(L, b, tmp, (size_t)len);
}

/* 1 if the table at idx is forced to 'what' ("array"/"object") by __jsontype. */
static int forced(lua_State *L, int idx, const char *what) {
  if (luaL_getmetafield(L, idx, "__jsontype") == LUA_TNIL) return 0;
  int r = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), what) == 0;
  lua_pop(L, 1);
  return r;
}

/* Length n if the table's keys are exactly 1..n, 0 if empty, -1 otherwise. */
static lua_Integer array_length(lua_State *L, int idx) {
  lua_Integer count = 0, max = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
      lua_pop(L, 1);
      return -1;
    }
    lua_Integer k = lua_tointeger(L, -1);
    if (k > max) max = k;
    count++;
  }
  return count == max ? max : -1;
}

int ld_json_table_kind(lua_State *L, int idx, lua_Integer *len) {
  idx = lua_absindex(L, idx);
  *len = 0;
  if (forced(L, idx, "object")) return LD_JSON_OBJECT;
  lua_Integer n = array_length(L, idx);
  if (n < 0) return LD_JSON_OBJECT;
  if (n == 0) return forced(L, idx, "array") ? LD_JSON_ARRAY : LD_JSON_EMPTY;
  *len = n;
  return LD_JSON_ARRAY;
}

static void encode(lua_State *L, jbuf *b, int idx, int flags, int depth);

/* A key as the JSON text holds it; it may contain NUL bytes. */
typedef struct jkey {
  const char *p;
  size_t n;
} jkey;

static int cmp_keys(const void *a, const void *b) {
  const jkey *x = a, *y = b;
  int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Pushes the string at idx with invalid UTF-8 replaced by U+FFFD, as
** put_string writes it: keys that differ only there would come out the
** same. [-0, +1, may raise] */
static void push_key_text(lua_State *L, int idx) {
  size_t n;
  const unsigned char *s = (const unsigned char *)lua_tolstring(L, idx, &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n;) {
    unsigned cp;
    size_t len = s[i] < 0x80 ? 1 : utf8_decode(s + i, n - i, &cp);
    if (len) {
      luaL_addlstring(&b, (const char *)s + i, len);
      i += len;
    } else {
      luaL_addstring(&b, "\xEF\xBF\xBD");
      i++;
    }
  }
  luaL_pushresult(&b);
}

/* Writes the object at idx; keys must be strings (integers are stringified). */
static void encode_object(lua_State *L, jbuf *b, int idx, int flags, int depth) {
  lua_newtable(L); /* keys: string form -> original key */
  int keys = lua_gettop(L);
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    int t = lua_type(L, -1);
    if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
      lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, -1));
    } else if (t == LUA_TSTRING) {
      push_key_text(L, -1);
    } else {
      luaL_error(L, "cannot encode a table with %s keys in JSON", luaL_typename(L, -1));
    }
    lua_pushvalue(L, -1);
    if (lua_rawget(L, keys) != LUA_TNIL) { /* keys key text other */
      if (lua_type(L, -1) == LUA_TSTRING && lua_type(L, -3) == LUA_TSTRING)
        luaL_error(
            L,
            "cannot encode a table with two keys that are both \"%s\" in JSON (invalid UTF-8 becomes U+FFFD)",
            lua_tostring(L, -2));
      luaL_error(L, "cannot encode a table with both %s and \"%s\" as keys in JSON", lua_tostring(L, -2),
                 lua_tostring(L, -2));
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, keys);
    n++;
  }
  jkey *names = lua_newuserdatauv(L, (n ? n : 1) * sizeof *names, 0); /* keys names */
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, keys)) {
    lua_pop(L, 1);
    names[i].p = lua_tolstring(L, -1, &names[i].n); /* anchored by 'keys' */
    i++;
  }
  if (flags & LD_JSON_SORTED) qsort(names, n, sizeof *names, cmp_keys);
  PUTS(L, b, "{");
  for (i = 0; i < n; i++) {
    if (i) PUTS(L, b, ",");
    put_newline(L, b, flags, depth + 1);
    put_string(L, b, names[i].p, names[i].n, flags);
    if (flags & LD_JSON_PRETTY)
      PUTS(L, b, ": ");
    else
      PUTS(L, b, ":");
    lua_pushlstring(L, names[i].p, names[i].n);
    lua_rawget(L, keys); /* original key */
    lua_gettable(L, idx);
    encode(L, b, lua_gettop(L), flags, depth + 1);
    lua_pop(L, 1);
  }
  if (n) put_newline(L, b, flags, depth);
  PUTS(L, b, "}");
  lua_pop(L, 2);
}

static void encode(lua_State *L, jbuf *b, int idx, int flags, int depth) {
  if (depth > MAX_DEPTH) luaL_error(L, "cannot encode JSON nested deeper than %d (a cycle?)", MAX_DEPTH);
  luaL_checkstack(L, 8, "JSON nesting");
  switch (lua_type(L, idx)) {
  case LUA_TNIL: PUTS(L, b, "null"); return;
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, idx))
      PUTS(L, b, "true");
    else
      PUTS(L, b, "false");
    return;
  case LUA_TNUMBER: put_number(L, b, idx); return;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    put_string(L, b, s, n, flags);
    return;
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) {
      PUTS(L, b, "null");
      return;
    }
    break;
  case LUA_TTABLE: {
    lua_Integer n;
    int kind = ld_json_table_kind(L, idx, &n);
    if (kind == LD_JSON_EMPTY)
      PUTS(L, b, "{}");
    else if (kind == LD_JSON_OBJECT)
      encode_object(L, b, idx, flags, depth);
    else if (n == 0)
      PUTS(L, b, "[]");
    else {
      PUTS(L, b, "[");
      for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) PUTS(L, b, ",");
        put_newline(L, b, flags, depth + 1);
        lua_rawgeti(L, idx, i);
        encode(L, b, lua_gettop(L), flags, depth + 1);
        lua_pop(L, 1);
      }
      put_newline(L, b, flags, depth);
      PUTS(L, b, "]");
    }
    return;
  }
  default: break;
  }
  luaL_error(L, "cannot encode a %s value in JSON", luaL_typename(L, idx));
}

void ld_json_encode(lua_State *L, int idx, int flags) {
  idx = lua_absindex(L, idx);
  jbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->p = NULL;
  b->n = b->cap = 0;
  if (luaL_newmetatable(L, "llmdo.jbuf")) { /* made once per state */
    lua_pushcfunction(L, jbuf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  encode(L, b, idx, flags, 0);
  lua_pushlstring(L, b->p ? b->p : "", b->n); /* box json */
  free(b->p);
  b->p = NULL;
  lua_remove(L, -2);
}

int l_json_encode(lua_State *L) {
  const char *opts = luaL_optstring(L, 2, "");
  int flags = (strchr(opts, 's') ? LD_JSON_SORTED : 0) | (strchr(opts, 'p') ? LD_JSON_PRETTY : 0) |
              (strchr(opts, 'a') ? LD_JSON_ASCII : 0);
  luaL_checkany(L, 1);
  ld_json_encode(L, 1, flags);
  return 1;
}

void ld_json_mark_array(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (luaL_newmetatable(L, ARRAY_MT)) {
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
  }
  lua_setmetatable(L, idx);
}

int l_json_array(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  ld_json_mark_array(L, 1);
  return 1;
}

/*
** lua-cjson reads every number as a float and "[]" as an empty table that
** would go back out as "{}". Before decoding, empty arrays (outside strings)
** are rewritten to hold one sentinel string; after, fix() empties them again
** and marks them as arrays, and turns integral floats into integers - so
** provider blocks survive a round trip and 3 stays 3.
*/
#define EMPTY_SENTINEL       "\\u0000[]"
#define EMPTY_SENTINEL_VALUE "\0[]"
#define DECODE_MAX_DEPTH     1000 /* cjson's own limit */

/* The next empty array "[ ]" outside strings at or after 'from': its '['
** in *start and the byte after its ']' in *end. 0 when there is none. */
static int next_empty_array(const char *s, size_t n, size_t from, size_t *start, size_t *end) {
  int in_str = 0, esc = 0;
  for (size_t i = from; i < n; i++) {
    char c = s[i];
    if (in_str) {
      if (esc)
        esc = 0;
      else if (c == '\\')
        esc = 1;
      else if (c == '"')
        in_str = 0;
    } else if (c == '"') {
      in_str = 1;
    } else if (c == '[') {
      size_t j = i + 1;
      while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
      if (j < n && s[j] == ']') {
        *start = i;
        *end = j + 1;
        return 1;
      }
    }
  }
  return 0;
}

/* Pushes the string at idx with "[ ]" replaced by the sentinel array (the
** string itself when it has none). [-0, +1] */
static void mark_empty_arrays(lua_State *L, int idx) {
  size_t n, at = 0, start, end;
  const char *s = lua_tolstring(L, idx, &n);
  if (!next_empty_array(s, n, 0, &start, &end)) {
    lua_pushvalue(L, idx);
    return;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  do { /* a string state carried across is not needed: each match ends outside a string */
    luaL_addlstring(&b, s + at, start - at);
    luaL_addstring(&b, "[\"" EMPTY_SENTINEL "\"]");
    at = end;
  } while (next_empty_array(s, n, at, &start, &end));
  luaL_addlstring(&b, s + at, n - at);
  luaL_pushresult(&b);
}

static int is_sentinel_array(lua_State *L, int idx) {
  if (lua_rawlen(L, idx) != 1) return 0;
  size_t n;
  lua_rawgeti(L, idx, 1);
  const char *v = lua_tolstring(L, -1, &n);
  int r = v && n == sizeof EMPTY_SENTINEL_VALUE - 1 && memcmp(v, EMPTY_SENTINEL_VALUE, n) == 0;
  lua_pop(L, 1);
  return r;
}

/* Could a string in the text be the sentinel's value? Only with a NUL, raw
** or escaped. */
static int may_hold_sentinel(const char *s, size_t n) {
  if (memchr(s, '\0', n)) return 1;
  for (const char *p = s; (p = memchr(p, '\\', (size_t)(s + n - p))) != NULL; p++)
    if ((size_t)(s + n - p) >= 6 && memcmp(p, "\\u0000", 6) == 0) return 1;
  return 0;
}

static void fix(lua_State *L, int idx, int ref, int depth);

/* Fixes the decoded table at t. 'ref' (0 if none) is the same table as the
** unmarked text decodes it, which tells an empty array from an array that
** really holds the sentinel's value: it has one element there. [-0, +0] */
static void fix_table(lua_State *L, int t, int ref, int depth) {
  if (is_sentinel_array(L, t) && !(ref && lua_rawlen(L, ref) == 1)) {
    lua_pushnil(L);
    lua_rawseti(L, t, 1);
    ld_json_mark_array(L, t);
  } else {
    fix(L, t, ref, depth);
  }
}

static void fix(lua_State *L, int idx, int ref, int depth) {
  if (depth > DECODE_MAX_DEPTH) return;
  luaL_checkstack(L, 8, "JSON nesting");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      lua_Integer i;
      if (lua_numbertointeger(lua_tonumber(L, -1), &i) && (lua_Number)i == lua_tonumber(L, -1)) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, i);
        lua_rawset(L, idx);
      }
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      int t = lua_gettop(L), r = 0;
      if (ref) {
        lua_pushvalue(L, -2);
        lua_rawget(L, ref);
        r = lua_gettop(L);
      }
      fix_table(L, t, r, depth + 1);
      if (r) lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}

/* core.json_decode(text) -> value; raises on invalid JSON. Upvalue 1 is
** cjson.decode. [-1, +1, raises] */
static int l_json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  mark_empty_arrays(L, 1);
  lua_call(L, 1, 1); /* text value */
  int ref = 0;
  if (lua_istable(L, -1) && may_hold_sentinel(s, n)) { /* rare: decode it unmarked too */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_insert(L, -2); /* text plain value */
    ref = lua_gettop(L) - 1;
  }
  if (lua_istable(L, -1)) {
    fix_table(L, lua_gettop(L), ref, 0);
  } else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
    lua_Integer i;
    if (lua_numbertointeger(lua_tonumber(L, -1), &i) && (lua_Number)i == lua_tonumber(L, -1)) {
      lua_pop(L, 1);
      lua_pushinteger(L, i);
    }
  }
  return 1;
}

void ld_json_open(lua_State *L) {
  luaopen_cjson(L); /* core cjson */
  lua_getfield(L, -1, "decode");
  lua_pushcclosure(L, l_json_decode, 1);
  lua_setfield(L, -3, "json_decode");
  lua_pop(L, 1);
}
