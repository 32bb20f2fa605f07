/*
** agent: the worker call - the agent loop over canonical messages.
**
** rt:call_agent(name, input) checks depth, lets runtime.lua resolve the
** worker and normalise the input, creates a child frame and yields the
** calling task. The call then advances as a C state machine driven from
** the scheduler loop: model turn (a task running runtime.lua's
** model_turn, which maps canonical messages to the provider and back) ->
** tool calls -> next turn ... -> final text -> cleanup -> the waiting task
** is woken with the result or the error.
*/
#ifndef LD_AGENT_H
#define LD_AGENT_H

#include <lua.h>

/* rt:call_agent(name, input) -> result. [-3, +1, yields, raises] */
int l_agent_call(lua_State *L);

/* Pushes the runtime.lua hook 'name'. [-0, +1, raises if missing] */
void ld_agent_push_hook(lua_State *L, const char *name);

/* core.set_hooks(t): the Lua functions the state machine calls. */
int l_agent_set_hooks(lua_State *L);

#endif
