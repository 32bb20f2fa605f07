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
  free(p->line);
  free(p->data);
  p->line = p->data = NULL;
  p->line_n = p->line_cap = p->data_n = p->data_cap = 0;
}

void ld_sse_reset(ld_sse *p) {
  p->line_n = p->data_n = 0;
  p->event[0] = '\0';
  p->has_data = p->after_cr = 0;
}

static int grow(char **buf, size_t *cap, size_t need, size_t max) {
  if (need <= *cap) return 0;
  if (need > max) return -1;
  size_t c = *cap ? *cap : 256;
  while (c < need) c *= 2;
  if (c > max) c = max;
  char *q = realloc(*buf, c);
  if (!q) return -1;
  *buf = q;
  *cap = c;
  return 0;
}

static void dispatch(ld_sse *p, ld_sse_emit emit, void *ud) {
  if (p->has_data) {
    const char *ev = p->event[0] ? p->event : "message";
    emit(ud, ev, strlen(ev), p->data ? p->data : "", p->data_n);
  }
  p->data_n = 0;
  p->has_data = 0;
  p->event[0] = '\0';
}

/* Handles one complete line (without its end). */
static int line(ld_sse *p, ld_sse_emit emit, void *ud) {
  const char *s = p->line ? p->line : "";
  size_t n = p->line_n;
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
    size_t need = p->data_n + vlen + (p->has_data ? 1 : 0) + 1;
    if (grow(&p->data, &p->data_cap, need, p->max) != 0) return -1;
    if (p->has_data) p->data[p->data_n++] = '\n';
    memcpy(p->data + p->data_n, v, vlen);
    p->data_n += vlen;
    p->data[p->data_n] = '\0';
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
      p->line_n = 0;
      continue;
    }
    /* copy the run up to the next line end in one go */
    size_t j = i;
    while (j < n && bytes[j] != '\n' && bytes[j] != '\r') j++;
    if (grow(&p->line, &p->line_cap, p->line_n + (j - i) + 1, p->max) != 0) return -1;
    memcpy(p->line + p->line_n, bytes + i, j - i);
    p->line_n += j - i;
    i = j - 1;
  }
  return 0;
}

int ld_sse_finish(ld_sse *p, ld_sse_emit emit, void *ud) {
  if (p->line_n > 0 && line(p, emit, ud) != 0) return -1;
  p->line_n = 0;
  dispatch(p, emit, ud);
  return 0;
}
