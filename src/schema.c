/*
** schema: JSON Schema validation. See schema.h.
**
** validate() walks schema and value together on the Lua stack. Messages
** name the offending location as a path ("items[2].name") so a model's
** retry prompt and a user's input error both point at the field. Branches
** of anyOf/oneOf/not/if are evaluated "quietly" (no messages recorded).
** The only C resource, a compiled regex, never lives across a Lua call.
*/
#include "schema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include "json.h"

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

/* ECMA-262 escapes POSIX ERE lacks, rewritten; 0 if the result does not fit. */
static int translate_regex(const char *src, char *dst, size_t cap) {
  size_t j = 0;
  for (const char *p = src; *p; p++) {
    const char *rep = NULL;
    char one[3] = {0};
    if (*p == '\\' && p[1]) {
      switch (p[1]) {
      case 'd': rep = "[0-9]"; break;
      case 'D': rep = "[^0-9]"; break;
      case 'w': rep = "[A-Za-z0-9_]"; break;
      case 'W': rep = "[^A-Za-z0-9_]"; break;
      case 's': rep = "[[:space:]]"; break;
      case 'S': rep = "[^[:space:]]"; break;
      default:
        one[0] = '\\', one[1] = p[1];
        rep = one;
        break;
      }
      p++;
    } else {
      one[0] = *p;
      rep = one;
    }
    size_t n = strlen(rep);
    if (j + n + 1 > cap) return 0;
    memcpy(dst + j, rep, n);
    j += n;
  }
  dst[j] = '\0';
  return 1;
}

/* The end of the bracket expression opening at p: its ']' (or the last
** character, when it is not closed: regcomp refuses it then). */
static const char *bracket_end(const char *p) {
  p++;
  if (*p == '^') p++;
  if (*p == ']') p++;
  while (*p && *p != ']') {
    if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
      const char *q = p + 2;
      while (*q && !(q[0] == p[1] && q[1] == ']')) q++;
      if (!*q) return q - 1;
      p = q + 2;
    } else {
      p++;
    }
  }
  return *p ? p : p - 1;
}

/* A group of a regex being sized (see regex_cost). */
typedef struct rgroup {
  double total, last; /* its cost so far, and its last atom's */
  int prefix_null;    /* can its branch before the last atom match the empty string? */
  int last_null;      /* can the last atom (true when there is none)? */
  int alt_null;       /* can one of its earlier branches? */
} rgroup;

static void rgroup_start(rgroup *g) { *g = (rgroup){0, 0, 1, 1, 0}; }

static void rgroup_add(rgroup *g, double cost, int null) {
  g->prefix_null = g->prefix_null && g->last_null;
  g->total += cost;
  g->last = cost;
  g->last_null = null;
}

/*
** A bound on the size of what glibc's regcomp builds for the ERE: it copies
** a repeated atom for each repetition ('+' once more, {m,n} n times), so
** nested or stacked repetitions multiply - "a" and twenty '+' take 700 MB.
** Worse, repeating something that can match the empty string ('$', "()",
** "(a|)") sends it into exponential time - "(((((a|$)+)+)+)+)+" takes 12 s -
** and stacked quantifiers into polynomial time: "a" and 94 '*' take 1.4 s.
** All found by fuzz_schema. Such patterns are unsupported: HUGE_VAL.
** (ECMA-262 refuses stacked quantifiers too, but for one '?' that makes a
** repetition lazy.)
*/
#define REGEX_MAX_COST 2000.0
static double regex_cost(const char *p) {
  rgroup groups[MAX_DEPTH + 1], *g = groups;
  rgroup_start(g);
  int stacked = 0; /* after a quantifier: 1, and 2 when a '?' made it lazy */
  for (; *p; p++) {
    double factor = 0, min = 0; /* a repetition of the last atom */
    if (*p == '(') {
      if (g == groups + MAX_DEPTH) return HUGE_VAL;
      rgroup_start(++g);
      stacked = 0;
      continue;
    } else if (*p == ')' && g > groups) {
      double cost = g->total + 1;
      int null = g->alt_null || (g->prefix_null && g->last_null);
      rgroup_add(--g, cost, null);
      stacked = 0;
      continue;
    } else if (*p == '|') {
      g->alt_null = g->alt_null || (g->prefix_null && g->last_null);
      g->prefix_null = g->last_null = 1;
      g->last = 0;
      stacked = 0;
      continue;
    } else if (*p == '+') {
      factor = 2, min = 1;
    } else if (*p == '*' || *p == '?') {
      factor = 1;
    } else if (*p == '{' && p[1] >= '0' && p[1] <= '9') {
      char *end;
      double n = min = strtod(p + 1, &end);
      if (*end == ',' && end[1] == '}') {
        n = min + 1;
        end++;
      } else if (*end == ',') {
        n = strtod(end + 1, &end);
      }
      if (*end == '}') { /* otherwise not a bound: a plain '{' */
        factor = n > 1 ? n : 1;
        p = end;
      }
    }
    if (factor) {
      if (stacked == 2 || (stacked == 1 && *p != '?')) return HUGE_VAL;
      if (factor >= 2 && g->last_null) return HUGE_VAL;
      stacked++;
      g->total += g->last * (factor - 1);
      g->last *= factor;
      if (min == 0) g->last_null = 1;
      continue;
    }
    int null = 0;
    if (*p == '[') {
      p = bracket_end(p);
    } else if (*p == '^' || *p == '$') {
      null = 1;
    } else if (*p == '\\' && p[1]) {
      p++;
      null = strchr("bB<>`'", *p) != NULL;
    }
    rgroup_add(g, 1, null);
    stacked = 0;
  }
  while (g > groups) { /* regcomp builds unclosed groups too */
    double cost = g->total + 1;
    rgroup_add(--g, cost, 0);
  }
  return g->total;
}

/* 1 match, 0 no match, -1 unsupported pattern. No Lua call in between. */
static int regex_search(const char *pattern, const char *s) {
  char buf[1024];
  regex_t re;
  if (!translate_regex(pattern, buf, sizeof buf) || regex_cost(buf) > REGEX_MAX_COST) return -1;
  if (regcomp(&re, buf, REG_EXTENDED | REG_NOSUB) != 0) return -1;
  int r = regexec(&re, s, 0, NULL, 0) == 0;
  regfree(&re);
  return r;
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

static int check_string(vctx *c, int s, int v) {
  lua_State *L = c->L;
  size_t n;
  const char *str = lua_tolstring(L, v, &n);
  size_t len = utf8_len(str, n);
  double lim;
  int ok = 1;
  if (number_kw(c, s, "minLength", &lim) && (double)len < lim)
    ok = fail(c, "must be at least %g characters long", lim);
  if (number_kw(c, s, "maxLength", &lim) && (double)len > lim)
    ok = fail(c, "must be at most %g characters long", lim);
  if (kw(c, s, "pattern") == LUA_TSTRING) {
    const char *pat = lua_tostring(L, -1);
    if (regex_search(pat, str) == 0) ok = fail(c, "does not match pattern '%s'", pat);
  }
  lua_pop(L, 1);
  return ok;
}

static int check_array(vctx *c, int s, int v) {
  lua_State *L = c->L;
  lua_Integer n = (lua_Integer)lua_rawlen(L, v), done = 0;
  double lim;
  int ok = 1;
  if (number_kw(c, s, "minItems", &lim) && (double)n < lim) ok = fail(c, "must have at least %g items", lim);
  if (number_kw(c, s, "maxItems", &lim) && (double)n > lim) ok = fail(c, "must have at most %g items", lim);
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
    ok = fail(c, "must have at least %g properties", lim);
  if (number_kw(c, s, "maxProperties", &lim) && count > lim)
    ok = fail(c, "must have at most %g properties", lim);
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
    const char *k = lua_tostring(L, key);
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
        if (lua_type(L, -2) == LUA_TSTRING && regex_search(lua_tostring(L, -2), k) == 1) {
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
