/*
** sse: event-stream framing. See sse.h.
*/
#include "sse.h"

#include <stdlib.h>
#include <string.h>

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
