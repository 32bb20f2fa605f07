/*
** prompt: asking a person on the controlling terminal (/dev/tty).
**
** Requests queue; one is shown at a time, numbered "approval 2 of 3"
** within a batch (the numbering restarts when the queue empties). The
** terminal is read through libuv, so the loop keeps running - other tool
** calls, transfers and timers go on while a person decides. The answer is
** one key and Enter: a (approve once), s (approve for this session) or d
** (deny, then an optional note).
*/
#ifndef LD_PROMPT_H
#define LD_PROMPT_H

#include <lua.h>

#include "sched.h"

/* Is there a controlling terminal to ask on? */
int ld_prompt_available(void);

/*
** Queues a question for task t and suspends it. 'text' (len bytes, NULs
** included) is the body shown under the "approval i of n" header, escaped
** for the terminal: it shows what the model chose. The task resumes with (choice, note):
** choice "a", "s" or "d"; note a string or nil. Tail-call it:
** return ld_prompt_ask(L, t, text, len, ctx, k). [-0, +0, yields]
*/
int ld_prompt_ask(lua_State *L, ld_task *t, const char *text, size_t len, lua_KContext ctx, lua_KFunction k);

/* Closes the terminal handle, if open (before the loop closes). */
void ld_prompt_close(void);

int l_prompt_available(lua_State *L);

#endif
