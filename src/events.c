/*
** events: rendering run events to stderr. See events.h.
*/
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "json.h"
#include "term.h"
#include "vm.h"

static int verbosity;
static long seq;
static int chat;          /* --chat: the entry worker's text streams to stdout */
static size_t chat_bytes; /* how much of it this turn */

void ld_events_set_verbosity(int v) { verbosity = v; }
int ld_events_verbosity(void) { return verbosity; }

int ld_events_lines(void) { return verbosity >= 1 && verbosity <= 2; }

/* Byte length of the first n UTF-8 characters of s (or all of s). */
static size_t utf8_prefix(const char *s, size_t len, size_t n) {
  size_t i = 0, chars = 0;
  while (i < len && chars < n) {
    i++;
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
    chars++;
  }
  return i;
}

char *ld_events_truncate(const char *s, size_t len, size_t max, int max_lines) {
  size_t keep = utf8_prefix(s, len, max);
  int cut = keep < len;
  size_t cap = keep + 64;
  char *out = malloc(cap);
  if (!out) return NULL;
  memcpy(out, s, keep);
  size_t n = keep;
  if (cut) n += (size_t)snprintf(out + n, cap - n, "... [truncated]");
  out[n] = '\0';
  if (max_lines > 0) {
    int lines = 1;
    for (size_t i = 0; i < n; i++) {
      if (out[i] != '\n') continue;
      if (lines == max_lines) {
        int more = 0;
        for (size_t j = i; j < n; j++) more += out[j] == '\n';
        snprintf(out + i + 1, cap - i - 1, "... (%d more lines)", more);
        break;
      }
      lines++;
    }
  }
  return out;
}

/* Writes "[worker:depth]" for the frame at idx. */
static void tag(lua_State *L, int frame_idx) {
  ld_frame *f = ld_frame_check(L, frame_idx);
  lua_getfield(L, frame_idx, "worker");
  fprintf(stderr, "[%s:%d]", lua_tostring(L, -1), f->depth);
  lua_pop(L, 1);
}

/* An ld_term_escape sink for indented(): a line's indent is written with
** its first character, so a final newline gets none. */
static void indent_sink(void *ud, const char *s, size_t n) {
  int *line_start = ud;
  for (size_t i = 0; i < n; i++) {
    if (*line_start) fputs("  ", stderr);
    fputc(s[i], stderr);
    *line_start = s[i] == '\n';
  }
}

/* Writes text escaped, with every line indented by two spaces. */
static void indented(const char *s) {
  int line_start = 0;
  fputs("  ", stderr);
  ld_term_escape(s, strlen(s), LD_TERM_LINES, indent_sink, &line_start);
  fputc('\n', stderr);
}

void ld_event_user(lua_State *L, int frame_idx, const char *text) {
  if (!ld_events_lines()) return;
  tag(L, frame_idx);
  fputs(" You: ", stderr);
  ld_term_write(stderr, text, strlen(text), LD_TERM_LINES);
  fputc('\n', stderr);
}

void ld_event_text_start(lua_State *L, int frame_idx) {
  if (!ld_events_lines()) return;
  tag(L, frame_idx);
  fputs(" Generating response...\n", stderr);
}

/* Is the frame at idx the chat's own worker call (its text goes to stdout)? */
static int chat_top(lua_State *L, int frame_idx) { return chat && ld_frame_check(L, frame_idx)->depth == 1; }

/* Was a streamed text of the frame at idx shown as it arrived (so its
** Response block would repeat it)? */
static int shown_live(lua_State *L, int frame_idx) { return verbosity == 2 || chat_top(L, frame_idx); }

void ld_event_response(lua_State *L, int frame_idx, const char *text, int streamed) {
  if (!ld_events_lines()) return;
  if (streamed && shown_live(L, frame_idx)) { /* said already: end the streamed line */
    if (!chat_top(L, frame_idx)) fputc('\n', stderr);
    return;
  }
  fputc('\n', stderr);
  tag(L, frame_idx);
  fputs(" Response:\n", stderr);
  indented(text);
}

void ld_event_delta(lua_State *L, int frame_idx, const char *text, size_t len) {
  if (chat_top(L, frame_idx)) {
    fwrite(text, 1, len, stdout); /* flushed when the loop next waits (sched.c) */
    chat_bytes += len;
    return;
  }
  if (verbosity != 2) return;
  ld_term_write(stderr, text, len, LD_TERM_LINES); /* flushed when the loop next waits */
}

/* Writes "  Args: <JSON>", cut at 400 characters. */
static void print_args(lua_State *L, int idx) {
  ld_json_encode(L, idx, LD_JSON_SORTED);
  size_t len;
  const char *json = lua_tolstring(L, -1, &len);
  char *cut = ld_events_truncate(json, len, 400, 0);
  fputs("  Args: ", stderr);
  ld_term_write(stderr, cut ? cut : json, cut ? strlen(cut) : len, LD_TERM_LINE);
  fputc('\n', stderr);
  free(cut);
  lua_pop(L, 1);
}

/* "[w:1] <label>: name" and its arguments on one line. [-0, +0] */
static void call_line(lua_State *L, int frame_idx, const char *label, const char *name, int args_idx) {
  if (!ld_events_lines()) return;
  args_idx = lua_absindex(L, args_idx);
  fputc('\n', stderr);
  tag(L, frame_idx);
  fprintf(stderr, " %s: ", label);
  ld_term_write(stderr, name, strlen(name), LD_TERM_LINE);
  fputc('\n', stderr);
  print_args(L, args_idx);
}

void ld_event_tool_call(lua_State *L, int frame_idx, const char *name, int args_idx) {
  call_line(L, frame_idx, "Tool call", name, args_idx);
}

void ld_event_tool_result(lua_State *L, int frame_idx, const char *name, int content_idx, int is_error) {
  if (!ld_events_lines()) return;
  LD_STACK_ENTER(L);
  content_idx = lua_absindex(L, content_idx);
  fputc('\n', stderr);
  tag(L, frame_idx);
  fprintf(stderr, " %s: ", is_error ? "Tool error" : "Tool result");
  ld_term_write(stderr, name, strlen(name), LD_TERM_LINE);
  fputc('\n', stderr);
  if (lua_istable(L, content_idx))
    ld_json_encode(L, content_idx, LD_JSON_SORTED | LD_JSON_PRETTY);
  else
    luaL_tolstring(L, content_idx, NULL);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  char *cut = ld_events_truncate(s, len, 500, 10);
  indented(cut ? cut : s);
  free(cut);
  lua_pop(L, 1);
  LD_STACK_LEAVE(L, 0);
}

void ld_event_server_tool(lua_State *L, int frame_idx, const char *name, int input_idx) {
  call_line(L, frame_idx, "Server tool", name, input_idx);
}

void ld_event_complete(lua_State *L, int frame_idx, const char *stop_reason) {
  if (!ld_events_lines()) return;
  tag(L, frame_idx);
  fputs(" [OK] Complete", stderr);
  if (stop_reason) { /* the provider's word when it is not a canonical one */
    fputs(" (", stderr);
    ld_term_write(stderr, stop_reason, strlen(stop_reason), LD_TERM_LINE);
    fputc(')', stderr);
  }
  fputc('\n', stderr);
}

void ld_event_message(lua_State *L, int frame_idx, int msg_idx) {
  if (verbosity < 3) return;
  msg_idx = lua_absindex(L, msg_idx);
  ld_frame *f = ld_frame_check(L, frame_idx);
  ld_json_encode(L, msg_idx, LD_JSON_SORTED | LD_JSON_PRETTY | LD_JSON_ASCII); /* msg */
  lua_getfield(L, frame_idx, "worker");                                        /* msg worker */
  ld_json_encode(L, -1, LD_JSON_ASCII);                                        /* msg worker wjson */
  fprintf(stderr, "{\n  \"seq\": %ld,\n  \"worker\": %s,\n  \"depth\": %d,\n  \"message\": ", ++seq,
          lua_tostring(L, -1), f->depth);
  for (const char *p = lua_tostring(L, -3); *p; p++) {
    fputc(*p, stderr);
    if (*p == '\n') fputs("  ", stderr);
  }
  fputs("\n}\n", stderr);
  lua_pop(L, 3);
}

/* term.event(kind, frame, ...): the events the agent loop reports. */
int l_events_emit(lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  ld_frame_check(L, 2);
  if (kind[0] == 'd' && strcmp(kind, "delta") == 0) { /* the hot one: a streamed piece of text */
    size_t len;
    const char *s = luaL_checklstring(L, 3, &len);
    ld_event_delta(L, 2, s, len);
  } else if (strcmp(kind, "user") == 0)
    ld_event_user(L, 2, luaL_checkstring(L, 3));
  else if (strcmp(kind, "text_start") == 0)
    ld_event_text_start(L, 2);
  else if (strcmp(kind, "response") == 0)
    ld_event_response(L, 2, luaL_checkstring(L, 3), lua_toboolean(L, 4));
  else if (strcmp(kind, "message") == 0)
    ld_event_message(L, 2, 3);
  else if (strcmp(kind, "complete") == 0)
    ld_event_complete(L, 2, lua_tostring(L, 3));
  else if (strcmp(kind, "server_tool") == 0)
    ld_event_server_tool(L, 2, luaL_checkstring(L, 3), 4);
  else
    return luaL_argerror(L, 1, "unknown event kind");
  return 0;
}

int l_events_set_verbosity(lua_State *L) {
  ld_events_set_verbosity((int)luaL_checkinteger(L, 1));
  return 0;
}

/* core.chat_stream(on) -> bytes streamed to stdout since the last call. */
int l_events_chat_stream(lua_State *L) {
  chat = lua_toboolean(L, 1);
  lua_pushinteger(L, (lua_Integer)chat_bytes);
  chat_bytes = 0;
  return 1;
}
