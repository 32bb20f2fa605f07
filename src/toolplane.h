/*
** toolplane: the one road to a tool (DESIGN §3).
**
** Every tool invocation - a model's tool call or ctx:call_tool from Lua -
** runs as a task whose body is l_toolplane_body: look the tool up in the
** call's tools, validate the arguments against its JSON Schema, pass the
** approval gate, report the call, run fn(args, ctx) in this task's own
** coroutine under a protected call, and turn the result or the error into
** an outcome. Nothing else calls a tool's fn.
**
** An outcome is a table:
**   { outcome = true, index =, id =, tool =, kind =, value =, content =, message =, error = }
** kind: "ok" (value, content), "retry" (message: back to the model as a
** retry prompt, counted against the tool's budget), "unknown" (no such
** tool; message), "permission" (message, error), "error" (error: fails the
** worker call).
*/
#ifndef LD_TOOLPLANE_H
#define LD_TOOLPLANE_H

#include <lua.h>

/* Task body: (frame, call {id=, name=, args=}, index) -> outcome. [-3, +1, yields] */
int l_toolplane_body(lua_State *L);

/* core.call_tool(frame, name, args) -> result, for ctx:call_tool. Raises on
** unknown tools, invalid arguments, denials and tool errors. [-3, +1, yields] */
int l_toolplane_call(lua_State *L);

/* core.approve_agent(frame, name, input): the worker-call gate for
** ctx:call_agent. [-3, +0, yields, raises on denial] */
int l_toolplane_gate_agent(lua_State *L);

#endif
