/* sse: framing, in every chunking of the input. */
#include <stdlib.h>

#include "sse.h"
#include "unit.h"

typedef struct collected {
  char out[2048];
  size_t n;
} collected;

static void emit(void *ud, const char *ev, size_t el, const char *data, size_t dl) {
  collected *c = ud;
  c->n += (size_t)snprintf(c->out + c->n, sizeof c->out - c->n, "[%.*s|%.*s]", (int)el, ev, (int)dl, data);
}

/* Feeds text in chunks of 'chunk' bytes and returns what came out. */
static const char *frame(const char *text, size_t chunk, collected *c) {
  ld_sse p;
  ld_sse_init(&p, 1 << 20);
  c->n = 0;
  c->out[0] = '\0';
  size_t len = strlen(text);
  for (size_t i = 0; i < len; i += chunk)
    ld_sse_feed(&p, text + i, len - i < chunk ? len - i : chunk, emit, c);
  ld_sse_finish(&p, emit, c);
  ld_sse_free(&p);
  return c->out;
}

static void all_chunkings(const char *text, const char *want) {
  collected c;
  for (size_t chunk = 1; chunk <= strlen(text) + 1; chunk++) CHECK_STR(frame(text, chunk, &c), want);
}

void suite_sse(void) {
  all_chunkings("event: message_start\ndata: {\"a\":1}\n\nevent: ping\ndata: {}\n\n",
                "[message_start|{\"a\":1}][ping|{}]");
  all_chunkings("data: one\r\ndata: two\r\n\r\ndata: x\r\rdata: y\n\n",
                "[message|one\ntwo][message|x][message|y]");
  all_chunkings(": OPENROUTER PROCESSING\n\ndata: {\"ok\":true}\n\ndata: [DONE]\n\n",
                "[message|{\"ok\":true}][message|[DONE]]");
  /* no final blank line, no final newline: flushed at the end */
  all_chunkings("event: message_stop\ndata: {\"type\":\"message_stop\"}",
                "[message_stop|{\"type\":\"message_stop\"}]");
  /* "data" without a colon is an empty data line; a single leading space is dropped */
  all_chunkings("data\ndata:  two spaces\n\n", "[message|\n two spaces]");
  /* an event line alone dispatches nothing; unknown fields are ignored */
  all_chunkings("event: lonely\n\nid: 7\nretry: 100\ndata: z\n\n", "[message|z]");
  /* limits */
  ld_sse p;
  collected c = {0};
  ld_sse_init(&p, 16);
  CHECK(ld_sse_feed(&p, "data: 0123456789abcdefghij\n\n", 28, emit, &c) == -1);
  ld_sse_free(&p);
}
