/*
** sse: event-stream framing. See sse.h.
*/
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

void ld_sse_init(ld_sse *p, size_t max) {
  memset(p, 0, sizeof *p);
  p->max = max;
}

void ld_sse_free(ld_sse *p) {
  ld_buf_free(&p->line);
  ld_buf_free(&p->data);
}

void ld_sse_reset(ld_sse *p) {
  ld_buf_clear(&p->line);
  ld_buf_clear(&p->data);
  p->event[0] = '\0';
  p->has_data = p->after_cr = 0;
}

/* A line or an event's data, with its NUL, stays below max bytes. */
static size_t limit(const ld_sse *p) { return p->max > 1 ? p->max - 1 : 1; }

static void dispatch(ld_sse *p, ld_sse_emit emit, void *ud) {
  if (p->has_data) {
    const char *ev = p->event[0] ? p->event : "message";
    emit(ud, ev, strlen(ev), p->data.p ? p->data.p : "", p->data.n);
  }
  ld_buf_clear(&p->data);
  p->has_data = 0;
  p->event[0] = '\0';
}

/* Handles one complete line (without its end). */
static int line(ld_sse *p, ld_sse_emit emit, void *ud) {
  const char *s = p->line.p ? p->line.p : "";
  size_t n = p->line.n;
  if (n == 0) {
    dispatch(p, emit, ud);
    return 0;
  }
  if (s[0] == ':') return 0; /* a comment (keep-alive) */
  const char *colon = memchr(s, ':', n);
  size_t flen = colon ? (size_t)(colon - s) : n;
  const char *v = colon ? colon + 1 : s + n;
  size_t vlen = colon ? n - flen - 1 : 0;
  if (vlen > 0 && *v == ' ') v++, vlen--;
  if (flen == 4 && memcmp(s, "data", 4) == 0) {
    if (ld_buf_reserve(&p->data, vlen + (p->has_data ? 1 : 0), limit(p)) != 0) return -1;
    if (p->has_data) ld_buf_add(&p->data, "\n", 1, 0);
    ld_buf_add(&p->data, v, vlen, 0);
    p->has_data = 1;
  } else if (flen == 5 && memcmp(s, "event", 5) == 0) {
    size_t m = vlen < sizeof p->event - 1 ? vlen : sizeof p->event - 1;
    memcpy(p->event, v, m);
    p->event[m] = '\0';
  }
  return 0; /* id, retry and unknown fields are ignored */
}

int ld_sse_feed(ld_sse *p, const char *bytes, size_t n, ld_sse_emit emit, void *ud) {
  for (size_t i = 0; i < n; i++) {
    char c = bytes[i];
    if (c == '\n' && p->after_cr) {
      p->after_cr = 0;
      continue;
    }
    p->after_cr = c == '\r';
    if (c == '\n' || c == '\r') {
      if (line(p, emit, ud) != 0) return -1;
      ld_buf_clear(&p->line);
      continue;
    }
    /* copy the run up to the next line end in one go */
    size_t j = i;
    while (j < n && bytes[j] != '\n' && bytes[j] != '\r') j++;
    if (ld_buf_add(&p->line, bytes + i, j - i, limit(p)) != 0) return -1;
    i = j - 1;
  }
  return 0;
}

int ld_sse_finish(ld_sse *p, ld_sse_emit emit, void *ud) {
  if (p->line.n > 0 && line(p, emit, ud) != 0) return -1;
  ld_buf_clear(&p->line);
  dispatch(p, emit, ud);
  return 0;
}

/* --- core.http.sse_parse: the framer on a whole text (fixture replay, tests) - */

/* The framer's buffers live in a userdata, so a Lua error while an event
** is stored (memory) frees them through __gc. */
typedef struct parse_box {
  ld_sse sse;
  lua_State *L;
  int list;
} parse_box;

static int parse_box_gc(lua_State *L) {
  parse_box *b = lua_touserdata(L, 1);
  ld_sse_free(&b->sse);
  return 0;
}

/* Appends {event=, data=} to the list. [-0, +0, may raise] */
static void parse_emit(void *ud, const char *ev, size_t el, const char *data, size_t dl) {
  parse_box *b = ud;
  lua_State *L = b->L;
  lua_createtable(L, 0, 2);
  lua_pushlstring(L, ev, el);
  lua_setfield(L, -2, "event");
  lua_pushlstring(L, data, dl);
  lua_setfield(L, -2, "data");
  lua_rawseti(L, b->list, (lua_Integer)lua_rawlen(L, b->list) + 1);
}

int l_sse_parse(lua_State *L) {
  size_t n;
  const char *text = luaL_checklstring(L, 1, &n);
  size_t chunk = (size_t)luaL_optinteger(L, 2, (lua_Integer)(n ? n : 1));
  luaL_argcheck(L, chunk > 0, 2, "chunk size must be positive");
  lua_settop(L, 2);
  lua_newtable(L); /* 3: the events */
  parse_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  ld_sse_init(&b->sse, LD_SSE_MAX);
  if (luaL_newmetatable(L, "llmdo.sse_parser")) {
    lua_pushcfunction(L, parse_box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  b->L = L;
  b->list = 3;
  for (size_t i = 0; i < n; i += chunk)
    if (ld_sse_feed(&b->sse, text + i, n - i < chunk ? n - i : chunk, parse_emit, b) != 0)
      return luaL_error(L, "an SSE line or event is too large");
  ld_sse_finish(&b->sse, parse_emit, b);
  lua_pop(L, 1);
  return 1;
}
