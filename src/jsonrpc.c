/*
** jsonrpc: the envelope scanner. See jsonrpc.h.
*/
#include "jsonrpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 1000 /* nesting the skipper follows; deeper is malformed */

typedef struct cursor {
  const char *p, *end;
} cursor;

static void ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* Skips a string whose opening quote is at c->p. Returns 0, or -1. */
static int skip_string(cursor *c) {
  for (c->p++; c->p < c->end; c->p++) {
    if (*c->p == '\\') {
      if (++c->p == c->end) return -1;
    } else if (*c->p == '"') {
      c->p++;
      return 0;
    } else if ((unsigned char)*c->p < 0x20) {
      return -1;
    }
  }
  return -1;
}

/* Skips one value: a scalar by its characters, an object or an array by
** matching its brackets (strings inside are skipped whole). */
static int skip_value(cursor *c) {
  if (c->p == c->end) return -1;
  if (*c->p == '"') return skip_string(c);
  if (*c->p == '{' || *c->p == '[') {
    char stack[MAX_DEPTH];
    int depth = 0;
    while (c->p < c->end) {
      char ch = *c->p;
      if (ch == '"') {
        if (skip_string(c) != 0) return -1;
        continue;
      }
      if (ch == '{' || ch == '[') {
        if (depth == MAX_DEPTH) return -1;
        stack[depth++] = ch == '{' ? '}' : ']';
      } else if (ch == '}' || ch == ']') {
        if (depth == 0 || stack[depth - 1] != ch) return -1;
        if (--depth == 0) {
          c->p++;
          return 0;
        }
      }
      c->p++;
    }
    return -1;
  }
  const char *start = c->p;
  while (c->p < c->end && *c->p && strchr("+-.0123456789eEtrufalsn", *c->p))
    c->p++; /* (strchr finds the NUL) */
  return c->p > start ? 0 : -1;
}

static int key_is(const char *k, size_t n, const char *want) {
  return n == strlen(want) && !memcmp(k, want, n);
}

/* The id token: a string, or an integer (a fraction or an exponent keeps
** it from matching any id we send). */
static void take_id(ld_jsonrpc_msg *m, const char *v, size_t n) {
  m->id = v, m->id_len = n;
  if (n == 0 || n > 20 || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))) return;
  if ((v[0] == '0' && n > 1) || (v[0] == '-' && n > 2 && v[1] == '0')) return; /* 01 is no JSON number */
  char buf[24], *end;
  memcpy(buf, v, n);
  buf[n] = '\0';
  errno = 0;
  long long x = strtoll(buf, &end, 10);
  if (*end == '\0' && errno == 0) m->int_id = 1, m->id_value = x;
}

int ld_jsonrpc_scan(const char *s, size_t n, ld_jsonrpc_msg *m) {
  memset(m, 0, sizeof *m);
  cursor c = {s, s + n};
  int has_result = 0, null_id = 0;
  ws(&c);
  if (c.p == c.end || *c.p != '{') return -1;
  c.p++;
  ws(&c);
  if (c.p < c.end && *c.p == '}') return -1; /* {} is no message */
  for (;;) {
    ws(&c);
    if (c.p == c.end || *c.p != '"') return -1;
    const char *key = c.p + 1;
    if (skip_string(&c) != 0) return -1;
    size_t klen = (size_t)(c.p - 1 - key);
    ws(&c);
    if (c.p == c.end || *c.p != ':') return -1;
    c.p++;
    ws(&c);
    const char *v = c.p;
    if (skip_value(&c) != 0) return -1;
    size_t vlen = (size_t)(c.p - v);
    if (key_is(key, klen, "id")) {
      if (vlen == 4 && !memcmp(v, "null", 4))
        null_id = 1; /* an error about a request that could not be read */
      else
        take_id(m, v, vlen);
    } else if (key_is(key, klen, "method")) {
      if (v[0] != '"') return -1;
      m->method = v + 1, m->method_len = vlen - 2;
    } else if (key_is(key, klen, "result") || key_is(key, klen, "error")) {
      has_result = 1;
    }
    ws(&c);
    if (c.p < c.end && *c.p == ',') {
      c.p++;
      continue;
    }
    if (c.p < c.end && *c.p == '}') break;
    return -1;
  }
  c.p++;
  ws(&c);
  if (c.p != c.end) return -1;
  if (m->method)
    m->kind = m->id ? LD_JSONRPC_REQUEST : LD_JSONRPC_NOTIFICATION;
  else if ((m->id || null_id) && has_result)
    m->kind = LD_JSONRPC_RESPONSE;
  else
    return -1;
  return 0;
}
