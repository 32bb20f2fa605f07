/*
** http: HTTP transfers as task operations - libcurl's multi-socket
** interface driven by the libuv loop (as curl's docs/examples/multi-uv.c).
**
** One multi handle serves the process, so connections are reused across
** requests. curl callbacks only move bytes into bounded buffers and frame
** SSE events; tasks are woken, never resumed, from them. Each transfer
** retries by itself, up to its max_retries, by the policy in retry.h. A
** stream that breaks after it delivered events is restarted too, and the reader is told ("reset") so it can
*start over.
** A 2xx answer to a streaming request that is no event stream (a JSON
** content type, or a body opening with '{') is kept whole: h:next() then
** gives nil at once and h:wait() the body.
**
** Lua:
**   h = core.http_request{ url=, headers={ "k: v", ... }, body=, stream=,
**                          max_retries=, connect_timeout=, idle_timeout=,
**                          -- the tool form (llmdo.http):
**                          method=, timeout_ms=, max_bytes=, redirects=,
**                          pool="tool", response_headers=true }
**   ev = h:next()          -- stream: {event=, data=}, "reset", or nil at the end
**   status, body, err, kind = h:wait()  -- the final status and (non-stream,
**                                     non-2xx or not SSE) body; nil, nil, err, kind
**                                     on failure ("timeout", "too_big", "cancelled", "failed")
**   h:headers()            -- the final response's header lines (response_headers=true)
**   h:close()              -- cancel (also on garbage collection)
**   core.limit(n)          -- transfers each admission queue runs at once
**
** Model requests and tool requests (pool="tool") queue apart, each up to
** the limit (runtime.max_concurrent_requests), so neither starves the other.
*/
#ifndef LD_HTTP_H
#define LD_HTTP_H

/* Model requests in flight at once, by default (runtime.max_concurrent_requests). */
#define LD_HTTP_DEFAULT_ACTIVE 64

#include <lua.h>
#include <uv.h>

/* Process-wide set-up and tear-down (libcurl itself starts with the first request). */
void ld_http_init(uv_loop_t *loop);
void ld_http_shutdown(void);

/* Registers core.http_request and the handle's metatable on the table on top. */
void ld_http_open(lua_State *L);

#endif
