/*
** frontmatter: worker-file splitting and YAML loading. See frontmatter.h.
**
** The libyaml parser lives inside a userdata whose __gc frees it, so an
** error raised half-way through a document (bad YAML, or out of memory in
** a Lua call) leaks nothing.
*/
#include "frontmatter.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <yaml.h>

#define MAX_DEPTH 64

/* --- splitting ----------------------------------------------------------- */

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Is [p, end) a line of three or more dashes, optionally followed by blanks? */
static int is_boundary(const char *p, const char *end) {
  const char *q = p;
  while (q < end && *q == '-') q++;
  if (q - p < 3) return 0;
  while (q < end && is_space(*q)) q++;
  return q == end;
}

static ld_span strip(const char *p, const char *end) {
  while (p < end && is_space(*p)) p++;
  while (end > p && is_space(end[-1])) end--;
  return (ld_span){p, (size_t)(end - p)};
}

int ld_frontmatter_split(const char *text, size_t len, ld_span *yaml, ld_span *body, int *yaml_line) {
  const char *end = text + len, *p = text;
  int line = 1;
  if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* a UTF-8 BOM, as some editors write */
  while (p < end && is_space(*p)) {
    if (*p == '\n') line++;
    p++;
  }
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  if (!eol) eol = end;
  if (!is_boundary(p, eol)) return LD_FM_MISSING;
  const char *start = eol < end ? eol + 1 : end;
  *yaml_line = line + 1;
  for (const char *q = start; q < end;) {
    const char *qe = memchr(q, '\n', (size_t)(end - q));
    if (!qe) qe = end;
    if (is_boundary(q, qe)) {
      *yaml = (ld_span){start, (size_t)(q - start)};
      *body = strip(qe, end);
      return LD_FM_OK;
    }
    q = qe < end ? qe + 1 : end;
  }
  return LD_FM_UNCLOSED;
}

int l_frontmatter_split(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  ld_span yaml, body;
  int line;
  int r = ld_frontmatter_split(text, len, &yaml, &body, &line);
  if (r != LD_FM_OK) {
    lua_pushnil(L);
    lua_pushstring(L, r == LD_FM_MISSING ? "missing" : "unclosed");
    return 2;
  }
  lua_pushlstring(L, yaml.p, yaml.n);
  lua_pushlstring(L, body.p, body.n);
  lua_pushinteger(L, line);
  return 3;
}

/* --- YAML ------------------------------------------------------------------ */

typedef struct yaml_box {
  yaml_parser_t parser;
  yaml_event_t event;
  int has_parser, has_event;
  int first_line;
} yaml_box;

static void box_free(yaml_box *b) {
  if (b->has_event) yaml_event_delete(&b->event);
  if (b->has_parser) yaml_parser_delete(&b->parser);
  b->has_event = b->has_parser = 0;
}

static int box_gc(lua_State *L) {
  box_free(lua_touserdata(L, 1));
  return 0;
}

static int fail_at(lua_State *L, yaml_box *b, const yaml_mark_t *m, const char *what) {
  return luaL_error(L, "line %d, column %d: %s", (int)m->line + b->first_line, (int)m->column + 1, what);
}

/* Reads the next event into b->event, deleting the previous one. */
static void next_event(lua_State *L, yaml_box *b) {
  if (b->has_event) yaml_event_delete(&b->event);
  b->has_event = 0;
  if (!yaml_parser_parse(&b->parser, &b->event)) {
    const char *problem = b->parser.problem ? b->parser.problem : "invalid YAML";
    if (b->parser.context)
      lua_pushfstring(L, "%s %s", problem, b->parser.context);
    else
      lua_pushstring(L, problem);
    fail_at(L, b, &b->parser.problem_mark, lua_tostring(L, -1));
  }
  b->has_event = 1;
}

static int match_word(const char *s, size_t n, const char *const *words) {
  for (; *words; words++)
    if (strlen(*words) == n && memcmp(*words, s, n) == 0) return 1;
  return 0;
}

/* Copies s without '_' into buf; 0 if it does not fit or is empty. */
static int unscore(const char *s, size_t n, char *buf, size_t cap) {
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '_') continue;
    if (j + 1 >= cap) return 0;
    buf[j++] = s[i];
  }
  buf[j] = '\0';
  return j > 0;
}

/* Pushes the value of an integer literal (YAML 1.1 decimal, 0x, 0o); 0 if s is not one. */
static int push_int(lua_State *L, const char *s, size_t n) {
  char buf[80];
  if (!unscore(s, n, buf, sizeof buf)) return 0;
  const char *p = buf;
  int base = 10;
  if (*p == '-' || *p == '+') p++;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    base = 16;
  else if (p[0] == '0' && p[1] == 'o')
    base = 8;
  else if (p[0] == '0' && p[1] != '\0')
    base = 8; /* YAML 1.1: 017 is octal */
  const char *digits = base == 10 ? p : (p[1] == 'x' || p[1] == 'X' || p[1] == 'o') ? p + 2 : p + 1;
  if (!*digits) return 0;
  for (const char *q = digits; *q; q++) {
    int ok = base == 16  ? isxdigit((unsigned char)*q)
             : base == 8 ? (*q >= '0' && *q <= '7')
                         : isdigit((unsigned char)*q);
    if (!ok) return 0;
  }
  errno = 0;
  long long v = strtoll(digits, NULL, base);
  if (errno == ERANGE) {
    lua_pushnumber(L, strtod(buf, NULL));
    return 1;
  }
  lua_pushinteger(L, buf[0] == '-' ? -v : v);
  return 1;
}

/* Pushes the value of a float literal; 0 if s is not one. */
static int push_float(lua_State *L, const char *s, size_t n) {
  static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
  static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};
  static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
  if (match_word(s, n, inf)) return lua_pushnumber(L, HUGE_VAL), 1;
  if (match_word(s, n, ninf)) return lua_pushnumber(L, -HUGE_VAL), 1;
  if (match_word(s, n, nan)) return lua_pushnumber(L, NAN), 1;
  char buf[80];
  if (!unscore(s, n, buf, sizeof buf)) return 0;
  const char *p = buf;
  if (*p == '-' || *p == '+') p++;
  int digits = 0, dot = 0;
  while (isdigit((unsigned char)*p) || *p == '.') {
    if (*p == '.') {
      if (dot++) return 0;
    } else {
      digits++;
    }
    p++;
  }
  if (!digits) return 0;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '-' || *p == '+') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
  } else if (!dot) {
    return 0;
  }
  if (*p) return 0;
  lua_pushnumber(L, strtod(buf, NULL));
  return 1;
}

/* Pushes a scalar resolved as YAML 1.1 does (plain style only). [-0, +1] */
static void push_scalar(lua_State *L, const yaml_event_t *ev) {
  const char *s = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length;
  const char *tag = (const char *)ev->data.scalar.tag;
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
  static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL};
  static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL};
  int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  if (tag && strcmp(tag, YAML_STR_TAG) == 0) plain = 0;
  if (plain) {
    if (match_word(s, n, nulls)) return lua_pushlightuserdata(L, NULL);
    if (match_word(s, n, yes)) return lua_pushboolean(L, 1);
    if (match_word(s, n, no)) return lua_pushboolean(L, 0);
    if (n > 0 && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.')) {
      if (push_int(L, s, n) || push_float(L, s, n)) return;
    }
  }
  lua_pushlstring(L, s, n);
}

static int is_null(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

static void parse_node(lua_State *L, yaml_box *b, int anchors, int depth);

/* Records the value on top under the event's anchor, if any. [-0, +0] */
static void remember(lua_State *L, int anchors, const yaml_char_t *anchor) {
  if (!anchor) return;
  lua_pushvalue(L, -1);
  lua_setfield(L, anchors, (const char *)anchor);
}

/* Parses the node whose start event is in b->event. [-0, +1, raises] */
static void parse_node(lua_State *L, yaml_box *b, int anchors, int depth) {
  if (depth > MAX_DEPTH) fail_at(L, b, &b->event.start_mark, "nesting too deep");
  luaL_checkstack(L, 8, "YAML nesting");
  yaml_event_t *ev = &b->event;
  switch (ev->type) {
  case YAML_SCALAR_EVENT:
    push_scalar(L, ev);
    remember(L, anchors, ev->data.scalar.anchor);
    return;
  case YAML_ALIAS_EVENT:
    if (lua_getfield(L, anchors, (const char *)ev->data.alias.anchor) == LUA_TNIL)
      fail_at(L, b, &ev->start_mark, "unknown alias");
    return;
  case YAML_SEQUENCE_START_EVENT: {
    lua_newtable(L);
    remember(L, anchors, ev->data.sequence_start.anchor);
    lua_Integer i = 0;
    for (;;) {
      next_event(L, b);
      if (b->event.type == YAML_SEQUENCE_END_EVENT) return;
      parse_node(L, b, anchors, depth + 1);
      lua_rawseti(L, -2, ++i);
    }
  }
  case YAML_MAPPING_START_EVENT: {
    lua_newtable(L);
    remember(L, anchors, ev->data.mapping_start.anchor);
    for (;;) {
      next_event(L, b);
      if (b->event.type == YAML_MAPPING_END_EVENT) return;
      if (b->event.type != YAML_SCALAR_EVENT)
        fail_at(L, b, &b->event.start_mark, "mapping keys must be plain scalars");
      yaml_mark_t key_mark = b->event.start_mark;
      lua_pushlstring(L, (const char *)b->event.data.scalar.value, b->event.data.scalar.length);
      if (lua_rawget(L, -2) != LUA_TNIL) { /* tbl old */
        lua_pop(L, 1);
        lua_pushfstring(L, "duplicate key '%s'", (const char *)b->event.data.scalar.value);
        fail_at(L, b, &key_mark, lua_tostring(L, -1));
      }
      lua_pop(L, 1);
      lua_pushlstring(L, (const char *)b->event.data.scalar.value, b->event.data.scalar.length);
      next_event(L, b);
      parse_node(L, b, anchors, depth + 1); /* tbl key value */
      if (is_null(L, -1))
        lua_pop(L, 2);
      else
        lua_rawset(L, -3);
    }
  }
  default: fail_at(L, b, &ev->start_mark, "unexpected YAML event");
  }
}

int l_yaml_load(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  int first_line = (int)luaL_optinteger(L, 2, 1);
  lua_settop(L, 1);
  yaml_box *b = lua_newuserdatauv(L, sizeof *b, 0); /* text box */
  b->has_parser = b->has_event = 0;
  b->first_line = first_line;
  if (luaL_newmetatable(L, "llmdo.yaml_parser")) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  if (!yaml_parser_initialize(&b->parser)) return luaL_error(L, "not enough memory");
  b->has_parser = 1;
  yaml_parser_set_input_string(&b->parser, (const unsigned char *)text, len);
  lua_newtable(L); /* text box anchors */
  int anchors = lua_gettop(L);
  lua_pushlightuserdata(L, NULL); /* the result of an empty document */
  for (;;) {
    next_event(L, b);
    yaml_event_type_t t = b->event.type;
    if (t == YAML_STREAM_END_EVENT) break;
    if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT || t == YAML_DOCUMENT_END_EVENT)
      continue;
    if (!is_null(L, -1)) fail_at(L, b, &b->event.start_mark, "expected a single YAML document");
    lua_pop(L, 1);
    parse_node(L, b, anchors, 0);
  }
  box_free(b); /* now, rather than at the next collection */
  return 1;
}
