/*
** schema: JSON Schema validation. See schema.h.
**
** validate() walks schema and value together on the Lua stack. Messages
** name the offending location as a path ("items[2].name") so a model's
** retry prompt and a user's input error both point at the field. Branches
** of anyOf/oneOf/not/if are evaluated "quietly" (no messages recorded).
** Compiled regular expressions are Lua-owned (see push_regex), so an error
** raised mid-way leaks nothing.
*/
#include "schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <lauxlib.h>
#include <pcre2.h>

#include "json.h"
#include "vm.h"

#define MAX_ERRORS 8
#define MAX_DEPTH  64

enum { J_NULL, J_BOOL, J_INT, J_NUM, J_STR, J_ARR, J_OBJ, J_EMPTY, J_OTHER };

typedef struct vctx {
  lua_State *L;
  int root, errs;
  int nerr, quiet, depth;
  char path[512];
  size_t plen;
} vctx;

static int validate(vctx *c, int s, int v);

/* --- values -------------------------------------------------------------- */

static int jtype(lua_State *L, int v) {
  switch (lua_type(L, v)) {
  case LUA_TNIL: return J_NULL;
  case LUA_TLIGHTUSERDATA: return lua_touserdata(L, v) == NULL ? J_NULL : J_OTHER;
  case LUA_TBOOLEAN: return J_BOOL;
  case LUA_TNUMBER: return lua_isinteger(L, v) ? J_INT : J_NUM;
  case LUA_TSTRING: return J_STR;
  case LUA_TTABLE: break;
  default: return J_OTHER;
  }
  lua_Integer n;
  switch (ld_json_table_kind(L, v, &n)) {
  case LD_JSON_ARRAY: return J_ARR;
  case LD_JSON_OBJECT: return J_OBJ;
  default: return J_EMPTY;
  }
}

static const char *jname(int t) {
  static const char *const names[] = {"null",  "boolean", "integer",     "number",        "string",
                                      "array", "object",  "empty table", "non-JSON value"};
  return names[t];
}

static int is_integral(lua_State *L, int v) {
  if (lua_isinteger(L, v)) return 1;
  double d = lua_tonumber(L, v);
  return isfinite(d) && d == floor(d);
}

static int equal(lua_State *L, int a, int b, int depth);

/* Is every key of table a found in table b with an equal value? */
static int subset(lua_State *L, int a, int b, int depth) {
  lua_pushnil(L);
  while (lua_next(L, a)) {
    lua_pushvalue(L, -2);
    lua_rawget(L, b);
    int same = equal(L, lua_gettop(L) - 1, lua_gettop(L), depth + 1);
    lua_pop(L, 2);
    if (!same) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return 1;
}

static int equal(lua_State *L, int a, int b, int depth) {
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  int ta = jtype(L, a), tb = jtype(L, b);
  if (depth > MAX_DEPTH) return 0;
  if ((ta == J_INT || ta == J_NUM) && (tb == J_INT || tb == J_NUM)) return lua_compare(L, a, b, LUA_OPEQ);
  if (ta == J_EMPTY && tb == J_EMPTY) return 1;
  if (ta == J_EMPTY || tb == J_EMPTY) return (ta == J_EMPTY ? tb : ta) == J_EMPTY;
  if (ta != tb) return 0;
  if (ta == J_ARR || ta == J_OBJ) {
    if (ta == J_ARR && lua_rawlen(L, a) != lua_rawlen(L, b)) return 0;
    luaL_checkstack(L, 6, "JSON nesting");
    return subset(L, a, b, depth) && subset(L, b, a, depth);
  }
  return lua_rawequal(L, a, b);
}

/* --- messages and paths ----------------------------------------------------- */

static int fail(vctx *c, const char *fmt, ...) {
  if (c->quiet || c->nerr >= MAX_ERRORS) {
    c->nerr += !c->quiet;
    return 0;
  }
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  lua_pushfstring(c->L, "%s: %s", c->plen ? c->path : "(input)", msg);
  lua_rawseti(c->L, c->errs, ++c->nerr);
  return 0;
}

static size_t push_key(vctx *c, const char *k) {
  size_t old = c->plen;
  int n = snprintf(c->path + old, sizeof c->path - old, old ? ".%s" : "%s", k);
  if (n > 0) c->plen = old + (size_t)n < sizeof c->path ? old + (size_t)n : sizeof c->path - 1;
  return old;
}

static size_t push_index(vctx *c, lua_Integer i) {
  size_t old = c->plen;
  int n = snprintf(c->path + old, sizeof c->path - old, "[%lld]", (long long)(i - 1));
  if (n > 0) c->plen = old + (size_t)n < sizeof c->path ? old + (size_t)n : sizeof c->path - 1;
  return old;
}

static void pop_path(vctx *c, size_t old) {
  c->plen = old;
  c->path[old] = '\0';
}

/* --- keyword helpers ------------------------------------------------------------ */

/* Pushes schema[key]; returns its Lua type. */
static int kw(vctx *c, int s, const char *key) { return lua_getfield(c->L, s, key); }

static int number_kw(vctx *c, int s, const char *key, double *out) {
  int t = kw(c, s, key);
  if (t == LUA_TNUMBER) *out = lua_tonumber(c->L, -1);
  lua_pop(c->L, 1);
  return t == LUA_TNUMBER;
}

static size_t utf8_len(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) count++;
  return count;
}

/*
** Patterns are ECMA-262 regular expressions, searched (not anchored). PCRE2
** reads them with the options that bring it closest: UTF-8 patterns and
** subjects (\p{L} works), ASCII \d \w \b as in ECMA-262 (no PCRE2_UCP),
** \uhhhh and \u{h...} escapes, '$' only at the very end, '.' stopping at
** CR and LF, "[]" and "[^]". A subject that is not valid UTF-8 matches
** nothing. Each pattern is compiled once per state: the registry table
** below maps the pattern string to its compiled form (a userdata whose
** __gc frees it) or to the message saying why it does not compile.
*/
#define REGEX_OPTIONS                                                                                        \
  (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS |   \
   PCRE2_NEVER_BACKSLASH_C)
#define REGEX_MT "llmdo.Regex"

static const char regex_cache = 'r';

typedef struct regex {
  pcre2_code *code;
  pcre2_match_data *md;
} regex;

static int l_regex_gc(lua_State *L) {
  regex *r = lua_touserdata(L, 1);
  pcre2_match_data_free(r->md);
  pcre2_code_free(r->code);
  r->md = NULL;
  r->code = NULL;
  return 0;
}

/* Compiles pattern p into the new userdata r (left without code when p does
** not compile); returns NULL or the message. No Lua call in between. */
static const char *compile(regex *r, const char *p, size_t n, char *msg, size_t cap) {
  pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
  if (!cc) return "not enough memory";
  pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
  pcre2_set_newline(cc, PCRE2_NEWLINE_ANYCRLF);
  int code;
  PCRE2_SIZE at;
  r->code = pcre2_compile((PCRE2_SPTR)p, n, REGEX_OPTIONS, &code, &at, cc);
  pcre2_compile_context_free(cc);
  if (!r->code) {
    PCRE2_UCHAR why[200];
    if (pcre2_get_error_message(code, why, sizeof why) < 0)
      snprintf((char *)why, sizeof why, "error %d", code);
    snprintf(msg, cap, "%s at offset %zu", (const char *)why, (size_t)at);
    return msg;
  }
  r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
  return r->md ? NULL : "not enough memory";
}

/* Pushes the compiled pattern at idx (a regex userdata), or the message
** "invalid pattern '...': why" when it does not compile. [-0, +1, may raise] */
static void push_regex(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &regex_cache) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &regex_cache);
  }
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) != LUA_TNIL) { /* cache compiled */
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  regex *r = lua_newuserdatauv(L, sizeof *r, 0); /* owned by Lua before anything is allocated */
  r->code = NULL;
  r->md = NULL;
  if (luaL_newmetatable(L, REGEX_MT)) {
    lua_pushcfunction(L, l_regex_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  size_t n;
  const char *p = lua_tolstring(L, idx, &n);
  char buf[256];
  const char *why = compile(r, p, n, buf, sizeof buf);
  if (why == buf) { /* cache r */
    lua_pop(L, 1);
    lua_pushfstring(L, "invalid pattern '%s': %s", p, why);
  } else if (why) {
    luaL_error(L, "%s", why);
  }
  lua_pushvalue(L, idx);
  lua_pushvalue(L, -2);
  lua_rawset(L, -4); /* cache value */
  lua_remove(L, -2);
}

/* Searches s for the pattern at idx: 1 match, 0 no match, -1 the pattern
** does not compile (*why is the whole message, anchored by the cache), -2
** the search could not finish (*why says why). [-0, +0, may raise (memory)] */
static int regex_search(lua_State *L, int idx, const char *s, size_t n, const char **why) {
  push_regex(L, idx);
  *why = NULL;
  if (lua_type(L, -1) == LUA_TSTRING) {
    *why = lua_tostring(L, -1); /* anchored by the cache */
    lua_pop(L, 1);
    return -1;
  }
  regex *r = lua_touserdata(L, -1);
  lua_pop(L, 1); /* still anchored by the cache */
  int rc = pcre2_match(r->code, (PCRE2_SPTR)s, n, 0, 0, r->md, NULL);
  if (rc >= 0) return 1;
  if (rc == PCRE2_ERROR_NOMATCH) return 0;
  *why = rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT
             ? "the search takes too long"
             : "the search failed";
  return -2;
}

int l_schema_check_pattern(lua_State *L) {
  luaL_checkstring(L, 1);
  push_regex(L, 1);
  if (lua_type(L, -1) != LUA_TSTRING) lua_pushnil(L);
  return 1;
}

/* A pattern that does not compile, or a search that cannot finish, rejects
** the value: validation fails closed. */
static int fail_pattern(vctx *c, int r, int pat, const char *why) {
  if (r == -1) return fail(c, "%s", why);
  return fail(c, "cannot be checked against pattern '%s': %s", lua_tostring(c->L, pat), why);
}

/* Pushes the schema a "#/a/b" reference names; nil if it names nothing. */
static void resolve_ref(vctx *c, const char *ref) {
  lua_State *L = c->L;
  lua_pushvalue(L, c->root);
  if (strcmp(ref, "#") == 0) return;
  if (strncmp(ref, "#/", 2) != 0) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  const char *p = ref + 2;
  char seg[256];
  while (*p && lua_istable(L, -1)) {
    size_t j = 0;
    while (*p && *p != '/' && j + 1 < sizeof seg) {
      if (p[0] == '~' && p[1] == '0')
        seg[j++] = '~', p += 2;
      else if (p[0] == '~' && p[1] == '1')
        seg[j++] = '/', p += 2;
      else if (p[0] == '%' && p[1] && p[2]) {
        char hex[3] = {p[1], p[2], 0};
        seg[j++] = (char)strtol(hex, NULL, 16);
        p += 3;
      } else
        seg[j++] = *p++;
    }
    seg[j] = '\0';
    if (*p == '/') p++;
    char *end;
    long idx = strtol(seg, &end, 10);
    if (*seg && !*end && lua_rawlen(L, -1) > 0)
      lua_rawgeti(L, -1, idx + 1);
    else
      lua_getfield(L, -1, seg);
    lua_remove(L, -2);
  }
}

/* --- type-specific keywords ------------------------------------------------------- */

static int check_type(vctx *c, int s, int v, int t) {
  lua_State *L = c->L;
  int kt = kw(c, s, "type");
  if (kt == LUA_TNIL) {
    lua_pop(L, 1);
    return 1;
  }
  int ok = 0, tidx = lua_gettop(L);
  char want[128] = "";
  size_t n = kt == LUA_TTABLE ? lua_rawlen(L, tidx) : 1;
  for (size_t i = 1; i <= n; i++) {
    if (kt == LUA_TTABLE)
      lua_rawgeti(L, tidx, (lua_Integer)i);
    else
      lua_pushvalue(L, tidx);
    const char *name = lua_tostring(L, -1);
    if (name) {
      if (strcmp(name, "integer") == 0)
        ok |= t == J_INT || (t == J_NUM && is_integral(L, v));
      else if (strcmp(name, "number") == 0)
        ok |= t == J_INT || t == J_NUM;
      else if (strcmp(name, "array") == 0)
        ok |= t == J_ARR || t == J_EMPTY;
      else if (strcmp(name, "object") == 0)
        ok |= t == J_OBJ || t == J_EMPTY;
      else
        ok |= strcmp(name, jname(t)) == 0;
      size_t w = strlen(want);
      snprintf(want + w, sizeof want - w, "%s%s", w ? " or " : "", name);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (ok) return 1;
  return fail(c, "expected %s, got %s", want, jname(t));
}

static int check_number(vctx *c, int s, int v) {
  double x = lua_tonumber(c->L, v), lim;
  int ok = 1;
  if (number_kw(c, s, "minimum", &lim) && x < lim) ok = fail(c, "must be >= %g, got %g", lim, x);
  if (number_kw(c, s, "maximum", &lim) && x > lim) ok = fail(c, "must be <= %g, got %g", lim, x);
  if (number_kw(c, s, "exclusiveMinimum", &lim) && x <= lim) ok = fail(c, "must be > %g, got %g", lim, x);
  if (number_kw(c, s, "exclusiveMaximum", &lim) && x >= lim) ok = fail(c, "must be < %g, got %g", lim, x);
  if (number_kw(c, s, "multipleOf", &lim) && lim > 0) {
    double q = x / lim;
    if (!isfinite(q) || fabs(q - nearbyint(q)) > 1e-9 * fmax(1.0, fabs(q)))
      ok = fail(c, "must be a multiple of %g", lim);
  }
  return ok;
}

/* "1 character", "2 characters": the limits in messages are counts */
static const char *plural(double n) { return n == 1 ? "" : "s"; }

static int check_string(vctx *c, int s, int v) {
  lua_State *L = c->L;
  size_t n;
  const char *str = lua_tolstring(L, v, &n);
  size_t len = utf8_len(str, n);
  double lim;
  int ok = 1;
  if (number_kw(c, s, "minLength", &lim) && (double)len < lim)
    ok = fail(c, "must be at least %g character%s long", lim, plural(lim));
  if (number_kw(c, s, "maxLength", &lim) && (double)len > lim)
    ok = fail(c, "must be at most %g character%s long", lim, plural(lim));
  if (kw(c, s, "pattern") == LUA_TSTRING) {
    const char *why;
    int r = regex_search(L, -1, str, n, &why);
    if (r == 0) ok = fail(c, "does not match pattern '%s'", lua_tostring(L, -1));
    if (r < 0) ok = fail_pattern(c, r, -1, why);
  }
  lua_pop(L, 1);
  return ok;
}

static int check_array(vctx *c, int s, int v) {
  lua_State *L = c->L;
  lua_Integer n = (lua_Integer)lua_rawlen(L, v), done = 0;
  double lim;
  int ok = 1;
  if (number_kw(c, s, "minItems", &lim) && (double)n < lim)
    ok = fail(c, "must have at least %g item%s", lim, plural(lim));
  if (number_kw(c, s, "maxItems", &lim) && (double)n > lim)
    ok = fail(c, "must have at most %g item%s", lim, plural(lim));
  /* tuple forms: prefixItems (2020-12) or an array-valued items (draft 7) */
  int tuple = kw(c, s, "prefixItems") == LUA_TTABLE;
  if (!tuple) {
    lua_pop(L, 1);
    tuple = kw(c, s, "items") == LUA_TTABLE && jtype(L, lua_gettop(L)) == J_ARR;
    if (!tuple) lua_pop(L, 1);
  }
  const char *rest = "items";
  if (tuple) {
    int tidx = lua_gettop(L);
    lua_Integer tn = (lua_Integer)lua_rawlen(L, tidx);
    for (lua_Integer i = 1; i <= tn && i <= n; i++) {
      lua_rawgeti(L, tidx, i);
      lua_rawgeti(L, v, i);
      size_t old = push_index(c, i);
      if (!validate(c, lua_gettop(L) - 1, lua_gettop(L))) ok = 0;
      pop_path(c, old);
      lua_pop(L, 2);
    }
    done = tn;
    lua_getfield(L, s, "prefixItems");
    rest = lua_isnil(L, -1) ? "additionalItems" : "items";
    lua_pop(L, 2);
  }
  int rt = kw(c, s, rest);
  if (rt == LUA_TTABLE || rt == LUA_TBOOLEAN) {
    int ridx = lua_gettop(L);
    for (lua_Integer i = done + 1; i <= n; i++) {
      lua_rawgeti(L, v, i);
      size_t old = push_index(c, i);
      if (!validate(c, ridx, lua_gettop(L))) ok = 0;
      pop_path(c, old);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (kw(c, s, "uniqueItems") == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
    for (lua_Integer i = 1; i <= n && ok; i++)
      for (lua_Integer j = i + 1; j <= n && ok; j++) {
        lua_rawgeti(L, v, i);
        lua_rawgeti(L, v, j);
        if (equal(L, -2, -1, 0))
          ok = fail(c, "items %lld and %lld are equal", (long long)i - 1, (long long)j - 1);
        lua_pop(L, 2);
      }
  }
  lua_pop(L, 1);
  if (kw(c, s, "contains") != LUA_TNIL) {
    int cidx = lua_gettop(L), found = 0;
    c->quiet++;
    for (lua_Integer i = 1; i <= n && !found; i++) {
      lua_rawgeti(L, v, i);
      found = validate(c, cidx, lua_gettop(L));
      lua_pop(L, 1);
    }
    c->quiet--;
    if (!found) ok = fail(c, "does not contain a matching item");
  }
  lua_pop(L, 1);
  return ok;
}

/* dependencies: {a = {"b", "c"}} (property lists) or {a = schema}. */
static int check_dependencies(vctx *c, int deps, int v) {
  lua_State *L = c->L;
  int ok = 1;
  lua_pushnil(L);
  while (lua_next(L, deps)) { /* name dep */
    lua_pushvalue(L, -2);
    int present = lua_rawget(L, v) != LUA_TNIL;
    lua_pop(L, 1);
    if (present) {
      int d = lua_gettop(L);
      if (lua_istable(L, d) && jtype(L, d) != J_OBJ) { /* a list of names */
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, d); i++) {
          lua_rawgeti(L, d, i);
          lua_pushvalue(L, -1);
          if (lua_rawget(L, v) == LUA_TNIL)
            ok = fail(c, "'%s' requires '%s'", lua_tostring(L, d - 1), lua_tostring(L, -2));
          lua_pop(L, 2);
        }
      } else if (!validate(c, d, v)) {
        ok = 0;
      }
    }
    lua_pop(L, 1);
  }
  return ok;
}

static int check_object(vctx *c, int s, int v) {
  lua_State *L = c->L;
  int ok = 1;
  double lim;
  int count = 0;
  lua_pushnil(L);
  while (lua_next(L, v)) lua_pop(L, 1), count++;
  if (number_kw(c, s, "minProperties", &lim) && count < lim)
    ok = fail(c, "must have at least %g propert%s", lim, lim == 1 ? "y" : "ies");
  if (number_kw(c, s, "maxProperties", &lim) && count > lim)
    ok = fail(c, "must have at most %g propert%s", lim, lim == 1 ? "y" : "ies");
  if (kw(c, s, "required") == LUA_TTABLE) {
    int ridx = lua_gettop(L);
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, ridx); i++) {
      lua_rawgeti(L, ridx, i);
      if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pushvalue(L, -1);
        if (lua_rawget(L, v) == LUA_TNIL) {
          size_t old = push_key(c, lua_tostring(L, -2));
          ok = fail(c, "required field is missing");
          pop_path(c, old);
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (kw(c, s, "dependencies") == LUA_TTABLE && !check_dependencies(c, lua_gettop(L), v)) ok = 0;
  lua_pop(L, 1);
  kw(c, s, "properties");
  kw(c, s, "patternProperties");
  kw(c, s, "additionalProperties");
  kw(c, s, "propertyNames");
  int props = lua_gettop(L) - 3, pats = props + 1, addl = props + 2, names = props + 3;
  lua_pushnil(L);
  while (lua_next(L, v)) { /* key value */
    int key = lua_gettop(L) - 1, val = key + 1;
    if (lua_type(L, key) != LUA_TSTRING) {
      lua_pop(L, 1);
      continue;
    }
    size_t klen;
    const char *k = lua_tolstring(L, key, &klen);
    size_t old = push_key(c, k);
    int matched = 0;
    if (!lua_isnil(L, names)) {
      if (!validate(c, names, key)) ok = 0;
    }
    if (lua_istable(L, props)) {
      lua_pushvalue(L, key);
      if (lua_rawget(L, props) != LUA_TNIL) {
        matched = 1;
        if (!validate(c, lua_gettop(L), val)) ok = 0;
      }
      lua_pop(L, 1);
    }
    if (lua_istable(L, pats)) {
      lua_pushnil(L);
      while (lua_next(L, pats)) {
        const char *why;
        int r = lua_type(L, -2) == LUA_TSTRING ? regex_search(L, -2, k, klen, &why) : 0;
        if (r < 0) ok = fail_pattern(c, r, -2, why);
        if (r == 1) {
          matched = 1;
          if (!validate(c, lua_gettop(L), val)) ok = 0;
        }
        lua_pop(L, 1);
      }
    }
    if (!matched && !lua_isnil(L, addl)) {
      if (lua_isboolean(L, addl) && !lua_toboolean(L, addl))
        ok = fail(c, "unknown field");
      else if (!validate(c, addl, val))
        ok = 0;
    }
    pop_path(c, old);
    lua_pop(L, 1);
  }
  lua_pop(L, 4);
  return ok;
}

/* --- combinators ------------------------------------------------------------------- */

/* Number of schemas in the array schema[key] that v satisfies, quietly. */
static int count_valid(vctx *c, int s, const char *key, int v, int *total) {
  lua_State *L = c->L;
  int n = 0;
  *total = 0;
  if (kw(c, s, key) == LUA_TTABLE) {
    int a = lua_gettop(L);
    *total = (int)lua_rawlen(L, a);
    c->quiet++;
    for (int i = 1; i <= *total; i++) {
      lua_rawgeti(L, a, i);
      n += validate(c, lua_gettop(L), v);
      lua_pop(L, 1);
    }
    c->quiet--;
  }
  lua_pop(L, 1);
  return n;
}

static int check_combinators(vctx *c, int s, int v) {
  lua_State *L = c->L;
  int ok = 1, total;
  if (kw(c, s, "allOf") == LUA_TTABLE) {
    int a = lua_gettop(L);
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, a); i++) {
      lua_rawgeti(L, a, i);
      if (!validate(c, lua_gettop(L), v)) ok = 0;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  int n = count_valid(c, s, "anyOf", v, &total);
  if (total && n == 0) ok = fail(c, "does not match any of the allowed forms (anyOf)");
  n = count_valid(c, s, "oneOf", v, &total);
  if (total && n != 1)
    ok = fail(c, n ? "matches more than one form (oneOf)" : "does not match any form (oneOf)");
  if (kw(c, s, "not") != LUA_TNIL) {
    c->quiet++;
    int r = validate(c, lua_gettop(L), v);
    c->quiet--;
    if (r) ok = fail(c, "matches a schema it must not match (not)");
  }
  lua_pop(L, 1);
  if (kw(c, s, "if") != LUA_TNIL) {
    c->quiet++;
    int r = validate(c, lua_gettop(L), v);
    c->quiet--;
    if (kw(c, s, r ? "then" : "else") != LUA_TNIL && !validate(c, lua_gettop(L), v)) ok = 0;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return ok;
}

/* --- the walk ------------------------------------------------------------------------- */

static int validate(vctx *c, int s, int v) {
  lua_State *L = c->L;
  if (lua_isboolean(L, s)) return lua_toboolean(L, s) ? 1 : fail(c, "no value is allowed here");
  if (!lua_istable(L, s)) return 1;
  if (++c->depth > MAX_DEPTH) {
    c->depth--;
    return fail(c, "schema nested too deeply (a $ref cycle?)");
  }
  luaL_checkstack(L, 20, "JSON Schema nesting");
  int ok = 1, t = jtype(L, v);
  if (kw(c, s, "$ref") == LUA_TSTRING) { /* draft 7: $ref replaces its siblings */
    resolve_ref(c, lua_tostring(L, -1));
    if (lua_isnil(L, -1))
      ok = fail(c, "unsupported $ref '%s'", lua_tostring(L, -2));
    else
      ok = validate(c, lua_gettop(L), v);
    lua_pop(L, 2);
    c->depth--;
    return ok;
  }
  lua_pop(L, 1);
  if (t == J_EMPTY) { /* decide from the declared type when it names one of the two */
    int kt = kw(c, s, "type");
    if (kt == LUA_TSTRING && strcmp(lua_tostring(L, -1), "array") == 0) t = J_ARR;
    lua_pop(L, 1);
  }
  if (!check_type(c, s, v, t)) ok = 0;
  if (kw(c, s, "enum") == LUA_TTABLE) {
    int e = lua_gettop(L), hit = 0;
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, e) && !hit; i++) {
      lua_rawgeti(L, e, i);
      hit = equal(L, -1, v, 0);
      lua_pop(L, 1);
    }
    if (!hit) ok = fail(c, "is not one of the allowed values");
  }
  lua_pop(L, 1);
  if (kw(c, s, "const") != LUA_TNIL && !equal(L, -1, v, 0)) ok = fail(c, "must equal the constant value");
  lua_pop(L, 1);
  if ((t == J_INT || t == J_NUM) && !check_number(c, s, v)) ok = 0;
  if (t == J_STR && !check_string(c, s, v)) ok = 0;
  if ((t == J_ARR || t == J_EMPTY) && !check_array(c, s, v)) ok = 0;
  if ((t == J_OBJ || t == J_EMPTY) && !check_object(c, s, v)) ok = 0;
  if (!check_combinators(c, s, v)) ok = 0;
  c->depth--;
  return ok;
}

int l_schema_validate(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 2);
  vctx c;
  memset(&c, 0, sizeof c);
  c.L = L;
  c.root = 1;
  lua_newtable(L);
  c.errs = lua_gettop(L);
  if (validate(&c, 1, 2)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  luaL_Buffer b;
  int shown = (int)lua_rawlen(L, c.errs);
  luaL_buffinit(L, &b);
  for (int i = 1; i <= shown; i++) {
    if (i > 1) luaL_addstring(&b, "; ");
    lua_rawgeti(L, c.errs, i);
    luaL_addvalue(&b);
  }
  if (c.nerr > shown) luaL_addstring(&b, "; ...");
  luaL_pushresult(&b);
  return 2;
}

static void fill_defaults(lua_State *L, int schema, int args, int copy);

void ld_schema_fill_defaults(lua_State *L, int schema, int args, int copy) {
  LD_STACK_ENTER(L);
  fill_defaults(L, schema, args, copy);
  LD_STACK_LEAVE(L, 1);
}

static void fill_defaults(lua_State *L, int schema, int args, int copy) {
  schema = lua_absindex(L, schema);
  args = lua_absindex(L, args);
  lua_pushvalue(L, args); /* the result, replaced by a copy on the first default */
  int out = lua_gettop(L);
  if (!lua_istable(L, schema) || !lua_istable(L, args)) return;
  if (lua_getfield(L, schema, "properties") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  int props = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, props)) { /* key prop */
    if (lua_istable(L, -1) && lua_getfield(L, -1, "default") != LUA_TNIL) {
      lua_pushvalue(L, -3); /* key prop default key */
      if (lua_rawget(L, out) == LUA_TNIL) {
        if (copy && lua_rawequal(L, out, args)) { /* copy the arguments once */
          lua_newtable(L);
          lua_pushnil(L);
          while (lua_next(L, args)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
          }
          lua_replace(L, out);
        }
        lua_pushvalue(L, -4); /* key prop default nil key */
        lua_pushvalue(L, -3);
        lua_rawset(L, out);
      }
    }
    lua_settop(L, props + 1); /* key */
  }
  lua_settop(L, out);
}

/* core.schema_fill_defaults(schema, args) -> args: in place, for entries
** and schema instances (the tool plane fills a copy). [-2, +1] */
int l_schema_fill_defaults(lua_State *L) {
  lua_settop(L, 2);
  ld_schema_fill_defaults(L, 1, 2, 0);
  return 1;
}
