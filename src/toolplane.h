/*
** toolplane: the one road to a tool (DESIGN §3).
**
** Every tool invocation - a model's tool call or ctx:call_tool from Lua -
** is l_toolplane_invoke, run in the calling task: look the tool up in the
** frame's tools, validate the arguments against its JSON Schema (filling
** defaults), pass the approval gate, report the call, run fn(args, ctx)
** under a protected call, and turn the result or the error into an
** outcome. Nothing else calls a tool's fn.
**
** An outcome is a table { kind =, value =, content =, message =, error = }.
** kind: "ok" (value, and content: the text the model receives), "retry"
** (message: back to the model as a retry prompt, counted against the
** tool's budget), "unknown" (no such tool; message), "permission"
** (message, error), "error" (error: fails the worker call). A tool.result
** value gives an "ok" outcome with attachments and is_error (the model
** reads it as a tool error; the call goes on). refused = true
** marks a call turned away before the gate (unknown tool, arguments that
** are not valid), so fn never ran.
*/
#ifndef LD_TOOLPLANE_H
#define LD_TOOLPLANE_H

#include <lua.h>

/* tool.invoke(frame, call {id=, name=, args=}) -> outcome. [-2, +1, yields] */
int l_toolplane_invoke(lua_State *L);

/* tool.gate_agent(frame, name, input): the worker-call gate for
** ctx:call_agent, as if the worker were called as a tool. Returns nothing
** or raises the denial. [-3, +0, yields, raises] */
int l_toolplane_gate_agent(lua_State *L);

/* tool.result(text [, attachments [, is_error]]): see toolplane.c. [-3, +1] */
int l_toolplane_result(lua_State *L);

/* tool.on_decision(fn | nil): fn(frame, name, args, decision, by) is told
** each gate decision ("approved" | "denied"; by: "config", "function",
** "approve_all", "reject_all", "session", "person"); its errors are
** dropped. [-1, +0] */
int l_toolplane_on_decision(lua_State *L);

/* Pushes the metatable of every tool's ctx (its methods are Lua's). [-0, +1] */
void ld_toolplane_open(lua_State *L);

#endif
