/*
** approval: the decisions of the gate every tool call passes before its fn
** runs (features.md §8 and §7.4, DESIGN §6). The tool plane owns the
** control flow (it may wait for the approval function or for a person);
** these functions decide, in this order:
**
**   1. "blocked" from the tool's approval function wins over everything,
**      --approve-all included;
**   2. the tool's configuration: approval = "pre_approved" | "required";
**   3. the tool's approval function: "pre_approved" | "required" |
**      "blocked", reason;
**   4. the run's mode: approve_all, reject_all, or prompt (the session
**      cache first, then a person on the terminal).
** A tool with no approval configuration needs approval. Worker tools follow
** worker_calls_require_approval, worker_attachments_require_approval and
** worker_approval_overrides instead.
**
** Each reads the call it decides through an ld_gate of stack indices and
** leaves the stack as it found it, plus what it says it pushes.
*/
#ifndef LD_APPROVAL_H
#define LD_APPROVAL_H

#include <lua.h>

/* The call being decided: stack indices of its parts. */
typedef struct ld_gate {
  int frame; /* the frame of the calling worker (or entry) */
  int name;  /* the tool's name */
  int args;  /* its arguments (a table) */
  int tool;  /* the tool record: kind, approval, describe */
} ld_gate;

enum {
  LD_APPROVED, /* run the tool */
  LD_REQUIRED, /* ask the run's mode: ld_approval_mode */
  LD_CALL_FN,  /* call tool.approval(args, ctx), then ld_approval_after_fn */
  LD_DENIED,   /* a permission error was pushed */
  LD_PROMPT    /* ask a person: the prompt text was pushed */
};

/* The tool's configuration and the worker-call rules. [-0, +(0|1)] */
int ld_approval_first(lua_State *L, const ld_gate *g);

/* The approval function's results are the nres values on top (popped).
** [-nres, +(0|1)] */
int ld_approval_after_fn(lua_State *L, const ld_gate *g, int nres);

/* A call that needs approval, under the run's mode. *by says who decides:
** "approve_all", "reject_all", "session" (an earlier "for the session"
** answer) or "person" (LD_PROMPT). [-0, +(0|1)] */
int ld_approval_mode(lua_State *L, const ld_gate *g, const char **by);

/* The person's answer (choice, note) is on top (popped). [-2, +(0|1)] */
int ld_approval_answer(lua_State *L, const ld_gate *g);

#endif
