/*
** events: what a run shows on stderr while it works (features.md §9.2-9.3).
**
**   -v    user message, "Generating response...", each response, tool calls
**         and results, "[OK] Complete", all tagged [worker:depth]
**   -vv   the same plus streamed text as it arrives
**   -vvv  only the message log: every canonical message as indented,
**         ASCII-only JSON {"seq", "worker", "depth", "message"}
** With no -v nothing is shown. Long values are cut: tool arguments at 400
** characters, tool results at 500 characters and 10 lines.
*/
#ifndef LD_EVENTS_H
#define LD_EVENTS_H

#include <stddef.h>

#include <lua.h>

#include "frame.h"

void ld_events_set_verbosity(int v);
int ld_events_verbosity(void);
/* Whether the one-line-per-event view (-v, -vv) is on. */
int ld_events_lines(void);

/* Each takes the frame the event belongs to (for [worker:depth]). */
void ld_event_user(lua_State *L, int frame_idx, const char *text);
void ld_event_text_start(lua_State *L, int frame_idx);
void ld_event_response(lua_State *L, int frame_idx, const char *text, int streamed);
void ld_event_delta(lua_State *L, int frame_idx, const char *text, size_t len);
void ld_event_tool_call(lua_State *L, int frame_idx, const char *name, int args_idx);
void ld_event_tool_result(lua_State *L, int frame_idx, const char *name, int content_idx, int is_error);
void ld_event_server_tool(lua_State *L, int frame_idx, const char *name, int input_idx);
void ld_event_complete(lua_State *L, int frame_idx, const char *stop_reason);
void ld_event_message(lua_State *L, int frame_idx, int msg_idx);

/* Cuts s to max characters plus "... [truncated]"; to max_lines lines plus
** "... (N more lines)". Exposed for unit tests. Returns a malloc'd string. */
char *ld_events_truncate(const char *s, size_t len, size_t max, int max_lines);

/* core.event(kind, frame, ...) and core.set_verbosity(v) for runtime.lua. */
int l_events_emit(lua_State *L);
int l_events_set_verbosity(lua_State *L);
int l_events_chat_stream(lua_State *L);

#endif
