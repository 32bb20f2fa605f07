/*
** json: the encoder. See json.h.
**
** The output buffer lives in a userdata whose __gc frees it, so errors
** raised mid-way (a function value, a cycle) leak nothing. The decoder
** builds its strings in luaL_Buffers, so it holds nothing of its own.
*/
#include "json.h"

#include "buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#define MAX_DEPTH 128
#define ARRAY_MT  "llmdo.json.array"

/* The encoder's output: an ld_buf in a userdata, so an error while
** encoding (a bad value, no memory) leaves it to the collector. */
typedef ld_buf jbuf;

static int jbuf_gc(lua_State *L) {
  ld_buf_free(lua_touserdata(L, 1));
  return 0;
}

/* #buf: its bytes. [-1, +1] */
static int jbuf_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)((jbuf *)luaL_checkudata(L, 1, LD_JSON_BUF_MT))->n);
  return 1;
}

/* tostring(buf): its bytes as a string (a copy). [-1, +1] */
static int jbuf_tostring(lua_State *L) {
  jbuf *b = luaL_checkudata(L, 1, LD_JSON_BUF_MT);
  lua_pushlstring(L, b->p ? b->p : "", b->n);
  return 1;
}

const char *ld_json_buffer(lua_State *L, int idx, size_t *len) {
  jbuf *b = luaL_testudata(L, idx, LD_JSON_BUF_MT);
  if (!b) return NULL;
  *len = b->n;
  return b->p ? b->p : "";
}

static void put(lua_State *L, jbuf *b, const char *s, size_t n) {
  if (ld_buf_add(b, s, n, 0) != 0) luaL_error(L, "not enough memory");
}

#define PUTS(L, b, lit) put(L, b, lit, sizeof(lit) - 1)

static void put_newline(lua_State *L, jbuf *b, int flags, int depth) {
  if (!(flags & LD_JSON_PRETTY)) return;
  PUTS(L, b, "\n");
  for (int i = 0; i < depth; i++) PUTS(L, b, "  ");
}

size_t ld_json_utf8_char(const unsigned char *s, size_t n, unsigned *cp) {
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
  snprintf(tmp, sizeof tmp, "\\u%04x", u & 0xFFFFu); /* callers pass one UTF-16 unit */
  put(L, b, tmp, 6);
}

/* Writes a JSON string; each byte that is not part of valid UTF-8 becomes
** U+FFFD (providers take nothing else). */
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
      size_t len = ld_json_utf8_char(s + i, n - i, &cp);
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

typedef struct jkey {
  const char *s;
  size_t n;
  int slot; /* stack index of the key (the fast path keeps keys on the stack) */
} jkey;

/* Byte order, a key that is a prefix of another first: keys may hold NULs. */
static int cmp_keys(const void *a, const void *b) {
  const jkey *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int valid_utf8(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  unsigned cp;
  for (size_t i = 0, len; i < n; i += len)
    if (!(len = ld_json_utf8_char(s + i, n - i, &cp))) return 0;
  return 1;
}

/* The i-th member's key of an object at depth, and its colon. */
static void put_key(lua_State *L, jbuf *b, int i, const char *key, size_t n, int flags, int depth) {
  if (i) PUTS(L, b, ",");
  put_newline(L, b, flags, depth + 1);
  put_string(L, b, key, n, flags);
  if (flags & LD_JSON_PRETTY)
    PUTS(L, b, ": ");
  else
    PUTS(L, b, ":");
}

#define FAST_KEYS 64

/* The common object: at most FAST_KEYS keys, all strings. Keys are kept on
** the stack while they are sorted and their values fetched, so no table is
** made and no string interned. Returns 0, doing nothing, for other objects.
** [-0, +0, raises] */
static int encode_small_object(lua_State *L, jbuf *b, int idx, int flags, int depth) {
  jkey names[FAST_KEYS];
  int base = lua_gettop(L), n = 0;
  luaL_checkstack(L, FAST_KEYS + 4, "JSON object");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING || n == FAST_KEYS) {
      lua_settop(L, base);
      return 0;
    }
    lua_pushvalue(L, -1); /* keep the key; iterate with the copy */
    names[n].slot = lua_gettop(L) - 1;
    names[n].s = lua_tolstring(L, -1, &names[n].n);
    if (!valid_utf8(names[n].s, names[n].n))
      luaL_error(L, "cannot encode the key \"%s\" in JSON: it is not valid UTF-8", names[n].s);
    n++;
  }
  if (flags & LD_JSON_SORTED) qsort(names, (size_t)n, sizeof *names, cmp_keys);
  PUTS(L, b, "{");
  for (int i = 0; i < n; i++) {
    put_key(L, b, i, names[i].s, names[i].n, flags, depth);
    lua_pushvalue(L, names[i].slot);
    lua_rawget(L, idx);
    encode(L, b, lua_gettop(L), flags, depth + 1);
    lua_pop(L, 1);
  }
  if (n) put_newline(L, b, flags, depth);
  PUTS(L, b, "}");
  lua_settop(L, base);
  return 1;
}

/* Writes the object at idx; keys must be strings (integers are stringified)
** of valid UTF-8: a key that is not would need replacing, and two such keys
** could become one. */
static void encode_object(lua_State *L, jbuf *b, int idx, int flags, int depth) {
  if (encode_small_object(L, b, idx, flags, depth)) return;
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
      size_t len;
      const char *k = lua_tolstring(L, -1, &len);
      if (!valid_utf8(k, len))
        luaL_error(L, "cannot encode the key \"%s\" in JSON: it is not valid UTF-8", k);
      lua_pushvalue(L, -1);
    } else {
      luaL_error(L, "cannot encode a table with %s keys in JSON", luaL_typename(L, -1));
    }
    lua_pushvalue(L, -1);
    if (lua_rawget(L, keys) != LUA_TNIL)
      luaL_error(L, "cannot encode a table with both %s and \"%s\" as keys in JSON", lua_tostring(L, -2),
                 lua_tostring(L, -2));
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
    names[i].s = lua_tolstring(L, -1, &names[i].n); /* anchored by 'keys' */
    i++;
  }
  if (flags & LD_JSON_SORTED) qsort(names, n, sizeof *names, cmp_keys);
  PUTS(L, b, "{");
  for (i = 0; i < n; i++) {
    put_key(L, b, (int)i, names[i].s, names[i].n, flags, depth);
    lua_pushlstring(L, names[i].s, names[i].n);
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
    if (lua_getmetatable(L, idx)) { /* { text } marked __jsontype = "raw": JSON made earlier, as it stands */
      int raw = lua_getfield(L, -1, "__jsontype") == LUA_TSTRING && strcmp(lua_tostring(L, -1), "raw") == 0;
      lua_pop(L, 2);
      if (raw) {
        size_t len;
        lua_rawgeti(L, idx, 1);
        const char *s = lua_tolstring(L, -1, &len);
        if (!s) luaL_error(L, "a raw JSON value must hold its text");
        put(L, b, s, len);
        lua_pop(L, 1);
        return;
      }
    }
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

/* ld_json_encode with room for 'hint' bytes made up front: a caller that
** knows the size (a request body like the last one) saves the copies of
** growing. [-0, +1, raises] */
static void encode_sized(lua_State *L, int idx, int flags, size_t hint, int as_buffer) {
  idx = lua_absindex(L, idx);
  jbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
  *b = (jbuf){0};
  if (hint) (void)ld_buf_reserve(b, hint, 0); /* no memory: it grows as usual, or fails then */
  if (luaL_newmetatable(L, LD_JSON_BUF_MT)) { /* made once per state */
    static const luaL_Reg meta[] = {{"__gc", jbuf_gc},
                                    {"__close", jbuf_gc},
                                    {"__len", jbuf_len},
                                    {"__tostring", jbuf_tostring},
                                    {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
  }
  lua_setmetatable(L, -2);
  encode(L, b, idx, flags, 0);
  if (as_buffer) { /* the box itself, freed when closed or collected; fitted, as it may wait in a queue */
    char *fit = b->p && b->cap > b->n + 1 ? realloc(b->p, b->n + 1) : NULL;
    if (fit) b->p = fit, b->cap = b->n + 1;
    return;
  }
  lua_pushlstring(L, b->p ? b->p : "", b->n); /* box json */
  ld_buf_free(b);
  lua_remove(L, -2);
}

void ld_json_encode(lua_State *L, int idx, int flags) { encode_sized(L, idx, flags, 0, 0); }

/* json.encode(v [, opts [, size_hint]]) -> text; with "b" in opts, a buffer
** userdata instead (#buf, tostring(buf), closes with <close>), which
** http.request sends as it stands: a request body that never becomes a
** Lua string costs no copy and no collector work. */
int l_json_encode(lua_State *L) {
  const char *opts = luaL_optstring(L, 2, "");
  int flags = (strchr(opts, 's') ? LD_JSON_SORTED : 0) | (strchr(opts, 'p') ? LD_JSON_PRETTY : 0) |
              (strchr(opts, 'a') ? LD_JSON_ASCII : 0);
  lua_Integer hint = luaL_optinteger(L, 3, 0);
  luaL_checkany(L, 1);
  encode_sized(L, 1, flags, hint > 0 && hint < (1 << 30) ? (size_t)hint : 0, strchr(opts, 'b') != NULL);
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
** The decoder. lua-cjson's reads every number as a float, cannot tell "[]"
** from "{}", and passes invalid UTF-8 through; this one keeps integers
** (an integral number such as 2.0 or 1e3 becomes an integer too, so a
** provider's block survives a round trip), marks empty arrays, and takes
** RFC 8259 text only: strings of valid UTF-8 with their control
** characters escaped, no lone surrogates, nesting the encoder takes back
** (MAX_DEPTH). Errors say what and at which
** byte, without a ": " (callers cut a "where: " prefix).
*/
typedef struct jdec {
  lua_State *L;
  const char *start, *end;
} jdec;

static int dec_fail(jdec *d, const char *at, const char *what) {
  return luaL_error(d->L, "%s at byte %d", what, (int)(at - d->start) + 1);
}

static const char *skip_space(jdec *d, const char *p) {
  while (p < d->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

static const char *dec_value(jdec *d, const char *p, int depth);

/* Reads four hex digits at p; -1 if they are not. */
static long hex4(jdec *d, const char *p) {
  if (d->end - p < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int h = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

static void add_utf8(luaL_Buffer *b, unsigned long cp) {
  char u[4];
  size_t n;
  if (cp < 0x80)
    u[0] = (char)cp, n = 1;
  else if (cp < 0x800)
    u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)),
    n = 3;
  else
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
    u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  luaL_addlstring(b, u, n);
}

/* The string whose opening quote is at p: pushes it, returns the byte after
** its closing quote. [-0, +1, raises] */
static const char *dec_string(jdec *d, const char *p) {
  const char *q = ++p; /* most strings are plain ASCII with no escape: push them as they stand */
  while (q < d->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x80) q++;
  if (q < d->end && *q == '"') {
    lua_pushlstring(d->L, p, (size_t)(q - p));
    return q + 1;
  }
  luaL_Buffer b;
  luaL_buffinit(d->L, &b);
  for (;;) {
    const char *run = p;
    while (p < d->end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) {
      if ((unsigned char)*p < 0x80) {
        p++;
        continue;
      }
      unsigned cp;
      size_t len = ld_json_utf8_char((const unsigned char *)p, (size_t)(d->end - p), &cp);
      if (!len) dec_fail(d, p, "invalid UTF-8 in a string");
      p += len;
    }
    luaL_addlstring(&b, run, (size_t)(p - run));
    if (p == d->end) dec_fail(d, p, "unterminated string");
    if (*p == '"') break;
    if (*p != '\\') dec_fail(d, p, "unescaped control character in a string");
    const char *esc = p++;
    if (p == d->end) dec_fail(d, p, "unterminated string");
    char c = *p++;
    switch (c) {
    case '"': luaL_addchar(&b, '"'); break;
    case '\\': luaL_addchar(&b, '\\'); break;
    case '/': luaL_addchar(&b, '/'); break;
    case 'b': luaL_addchar(&b, '\b'); break;
    case 'f': luaL_addchar(&b, '\f'); break;
    case 'n': luaL_addchar(&b, '\n'); break;
    case 'r': luaL_addchar(&b, '\r'); break;
    case 't': luaL_addchar(&b, '\t'); break;
    case 'u': {
      long cp = hex4(d, p);
      if (cp < 0) dec_fail(d, esc, "invalid \\u escape");
      p += 4;
      if (cp >= 0xDC00 && cp <= 0xDFFF) dec_fail(d, esc, "unpaired surrogate");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = d->end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(d, p + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) dec_fail(d, esc, "unpaired surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      }
      add_utf8(&b, (unsigned long)cp);
      break;
    }
    default: dec_fail(d, esc, "invalid escape");
    }
  }
  luaL_pushresult(&b);
  return p + 1;
}

/* The number at p: pushes it, returns the byte after it. [-0, +1, raises] */
static const char *dec_number(jdec *d, const char *p) {
  const char *q = p;
  if (q < d->end && *q == '-') q++;
  if (q < d->end && *q == '0')
    q++;
  else if (q < d->end && *q >= '1' && *q <= '9')
    while (q < d->end && *q >= '0' && *q <= '9') q++;
  else
    dec_fail(d, p, "invalid number");
  if (q < d->end && *q == '.') {
    if (++q == d->end || *q < '0' || *q > '9') dec_fail(d, p, "invalid number");
    while (q < d->end && *q >= '0' && *q <= '9') q++;
  }
  if (q < d->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < d->end && (*q == '+' || *q == '-')) q++;
    if (q == d->end || *q < '0' || *q > '9') dec_fail(d, p, "invalid number");
    while (q < d->end && *q >= '0' && *q <= '9') q++;
  }
  lua_State *L = d->L;
  lua_pushlstring(L, p, (size_t)(q - p));
  if (!lua_stringtonumber(L, lua_tostring(L, -1))) dec_fail(d, p, "invalid number");
  lua_remove(L, -2);
  lua_Integer i;
  if (!lua_isinteger(L, -1) && lua_numbertointeger(lua_tonumber(L, -1), &i) &&
      (lua_Number)i == lua_tonumber(L, -1)) {
    lua_pop(L, 1);
    lua_pushinteger(L, i);
  }
  return q;
}

/* The array or object whose bracket is at p. [-0, +1, raises] */
static const char *dec_container(jdec *d, const char *p, int depth) {
  lua_State *L = d->L;
  int object = *p == '{';
  char close = object ? '}' : ']';
  if (depth >= MAX_DEPTH) dec_fail(d, p, "nested too deeply");
  luaL_checkstack(L, 4, "JSON nesting");
  lua_createtable(L, object ? 0 : 4, object ? 4 : 0); /* room for a small one: no rehash while filling */
  p = skip_space(d, p + 1);
  if (p < d->end && *p == close) {
    if (!object) ld_json_mark_array(L, -1);
    return p + 1;
  }
  for (lua_Integer n = 1;; n++) {
    if (object) {
      if (p == d->end || *p != '"') dec_fail(d, p, "expected a string key");
      p = skip_space(d, dec_string(d, p));
      if (p == d->end || *p != ':') dec_fail(d, p, "expected ':'");
      p = dec_value(d, p + 1, depth + 1);
      lua_rawset(L, -3);
    } else {
      p = dec_value(d, p, depth + 1);
      lua_rawseti(L, -2, n);
    }
    p = skip_space(d, p);
    if (p < d->end && *p == close) return p + 1;
    if (p == d->end || *p != ',') dec_fail(d, p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    p = skip_space(d, p + 1);
  }
}

static int literal(jdec *d, const char *p, const char *word) {
  size_t n = strlen(word);
  return (size_t)(d->end - p) >= n && memcmp(p, word, n) == 0;
}

/* The value at p (after any space). [-0, +1, raises] */
static const char *dec_value(jdec *d, const char *p, int depth) {
  p = skip_space(d, p);
  if (p == d->end) dec_fail(d, p, "unexpected end of text");
  switch (*p) {
  case '"': return dec_string(d, p);
  case '{':
  case '[': return dec_container(d, p, depth);
  case 't':
    if (!literal(d, p, "true")) break;
    lua_pushboolean(d->L, 1);
    return p + 4;
  case 'f':
    if (!literal(d, p, "false")) break;
    lua_pushboolean(d->L, 0);
    return p + 5;
  case 'n':
    if (!literal(d, p, "null")) break;
    lua_pushlightuserdata(d->L, NULL);
    return p + 4;
  default:
    if (*p == '-' || (*p >= '0' && *p <= '9')) return dec_number(d, p);
    break;
  }
  dec_fail(d, p, "unexpected character");
  return p;
}

/* core.json_decode(text) -> value; raises on invalid JSON. [-1, +1, raises] */
static int l_json_decode(lua_State *L) {
  size_t n;
  jdec d;
  d.L = L;
  d.start = luaL_checklstring(L, 1, &n);
  d.end = d.start + n;
  lua_settop(L, 1);
  const char *p = skip_space(&d, dec_value(&d, d.start, 0));
  if (p != d.end) dec_fail(&d, p, "unexpected text after the value");
  return 1;
}

void ld_json_open(lua_State *L) {
  lua_pushcfunction(L, l_json_decode);
  lua_setfield(L, -2, "decode");
}
