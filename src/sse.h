/*
** sse: Server-Sent Events framing (the WHATWG event-stream format).
**
** Bytes go in as they arrive from the network, in chunks of any size;
** complete events come out through a callback. Lines end with \n, \r\n or
** \r (also split across chunks); "data:" lines accumulate, joined by \n;
** "event:" names the event; lines starting with ':' are comments; an empty
** line dispatches. ld_sse_finish flushes an event the stream left without
** its final blank line (real recordings do).
*/
#ifndef LD_SSE_H
#define LD_SSE_H

#include <stddef.h>

#include <lua.h>

#include "buf.h"

/* The limit on one line or one event's data that llmdo uses. */
#define LD_SSE_MAX (16u << 20)

typedef void (*ld_sse_emit)(void *ud, const char *event, size_t event_len, const char *data, size_t data_len);

typedef struct ld_sse {
  ld_buf line; /* the line being assembled */
  ld_buf data; /* data of the event being assembled */
  char event[64];
  int has_data;
  int after_cr; /* the last byte was \r: a following \n belongs to it */
  size_t max;   /* limit on one line or one event's data */
} ld_sse;

void ld_sse_init(ld_sse *p, size_t max);
void ld_sse_free(ld_sse *p);
void ld_sse_reset(ld_sse *p);

/* Feeds bytes; returns 0, or -1 when a line or event exceeds the limit. */
int ld_sse_feed(ld_sse *p, const char *bytes, size_t n, ld_sse_emit emit, void *ud);

/* End of stream: dispatches a pending line and event. */
int ld_sse_finish(ld_sse *p, ld_sse_emit emit, void *ud);

/* core.http.sse_parse(text [, chunk]) -> { {event=, data=}, ... }: the
** framer fed `chunk` bytes at a time (fixture replay, tests). [-2, +1, may raise] */
int l_sse_parse(lua_State *L);

#endif
