/*
** fuzz_sse: event-stream framing. The stream is fed whole and again one
** byte at a time: both must give the same events and the same failure.
** The first byte sets the size limit, small so that it is reached.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sse.h"

typedef struct record {
  char *buf;
  size_t n, cap;
  size_t max;
} record;

static void append(record *r, const void *p, size_t n) {
  if (r->n + n > r->cap) {
    size_t cap = r->cap ? r->cap : 256;
    while (cap < r->n + n) cap *= 2;
    char *q = realloc(r->buf, cap);
    if (!q) fuzz_fail("out of memory");
    r->buf = q;
    r->cap = cap;
  }
  memcpy(r->buf + r->n, p, n);
  r->n += n;
}

static void emit(void *ud, const char *event, size_t event_len, const char *data, size_t data_len) {
  record *r = ud;
  if (event_len == 0 || event_len > 63) fuzz_fail("an event name of %zu bytes", event_len);
  if (memchr(event, '\n', event_len) || memchr(event, '\r', event_len))
    fuzz_fail("a line end in an event name");
  if (data_len > r->max) fuzz_fail("%zu bytes of data, over the limit %zu", data_len, r->max);
  if (memchr(data, '\r', data_len)) fuzz_fail("a carriage return in the data");
  append(r, &event_len, sizeof event_len);
  append(r, event, event_len);
  append(r, &data_len, sizeof data_len);
  append(r, data, data_len);
}

/* Feeds the stream in pieces of 'step' bytes (all of it when 0). */
static int run(const char *s, size_t n, size_t step, record *r) {
  ld_sse p;
  ld_sse_init(&p, r->max);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i += step ? step : n) {
    size_t k = step && n - i > step ? step : n - i;
    rc = ld_sse_feed(&p, s + i, k, emit, r);
  }
  if (rc == 0) rc = ld_sse_finish(&p, emit, r);
  ld_sse_free(&p);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t max = 1 + (size_t)data[0] * 4;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  record whole = {.max = max}, bytes = {.max = max};
  int a = run(s, n, 0, &whole), b = run(s, n, 1, &bytes);
  if (a != b) fuzz_fail("fed whole: %d, byte by byte: %d", a, b);
  if (whole.n != bytes.n || (whole.n && memcmp(whole.buf, bytes.buf, whole.n) != 0))
    fuzz_fail("fed whole and byte by byte, the events differ");
  free(whole.buf);
  free(bytes.buf);
  return 0;
}
