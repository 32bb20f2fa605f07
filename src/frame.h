/*
** frame: call frames. The entry runs in the root frame (depth 0, no model,
** no tools); every worker call gets a child frame one deeper, with its own
** messages, usage counters and toolset instances.
**
** A frame is a full userdata ("llmdo.Frame") so Lua owns its memory; the
** Lua objects it depends on hang off its user values. While a worker call
** is in flight the frame is anchored in the registry (self_ref), and
** released exactly once when the call finishes. The same userdata is the
** 'rt' an entry receives.
*/
#ifndef LD_FRAME_H
#define LD_FRAME_H

#include <lua.h>

#include "sched.h"

#define LD_FRAME_MT "llmdo.Frame"

/* User value slots. */
enum {
  LD_UV_DEF = 1,   /* the worker definition (root: the entry definition) */
  LD_UV_MESSAGES,  /* canonical messages of this call */
  LD_UV_TOOLS,     /* tool name -> tool, for this call */
  LD_UV_INSTANCES, /* toolset instances, in creation order */
  LD_UV_RESULT,    /* the call's result or error */
  LD_UV_PARENT,    /* the parent frame, kept alive by its children */
  LD_UV_RUN,       /* the run: project, options, run-scoped state */
  LD_UV_SCRATCH,   /* the outcome of the last task the call waited for */
  LD_UV_STATE,     /* runtime.lua's per-call state: retries, the current turn's calls */
  LD_UV_COUNT = LD_UV_STATE
};

typedef struct ld_frame ld_frame;

struct ld_frame {
  ld_frame *parent; /* valid while this frame is open: children pin parents */
  ld_frame *root;
  ld_sched *sched;
  int depth;
  int max_depth;
  int self_ref; /* registry anchor while a call is in flight, else LUA_NOREF */
  int closed;   /* the call ended; methods refuse to run */
  /* worker-call state machine (agent.c) */
  int phase;
  int ok;          /* outcome, when finished */
  int scratch_ok;  /* outcome of the task in LD_UV_SCRATCH */
  ld_task *waiter; /* the task blocked in call_agent */
  ld_defer step;
  int ncalls;      /* tool calls of the current turn */
  int pending;     /* of those, still running */
  int next_seq;    /* next call to consider in the sequential pass (1-based) */
  int cancelled;   /* the caller was cancelled: start nothing new */
  ld_group group;  /* the call's tasks: build, model turn, tool calls */
  ld_group shield; /* its cleanup task, which cancellation spares */
  /* budgets (0: none); sub_* count this call and its nested calls */
  long max_requests, max_tool_calls, max_total_requests;
  long sub_requests, sub_tool_calls;
  /* usage, summed into the root at the end of each call */
  long requests, input_tokens, output_tokens;
};

/* Creates a frame below 'parent' (NULL for a root) whose userdata, if any,
** is at parent_idx. [-0, +1, may raise] */
ld_frame *ld_frame_new(lua_State *L, ld_frame *parent, int parent_idx);

ld_frame *ld_frame_check(lua_State *L, int idx);

/* Pushes the anchored userdata of an in-flight frame. [-0, +1] */
void ld_frame_push(lua_State *L, ld_frame *f);

/* Pops the value on top into user value 'slot' of in-flight frame f.
** Allocates nothing, so it is safe in task callbacks. [-1, +0] */
void ld_frame_store(lua_State *L, ld_frame *f, int slot);

/* Registers the metatable and the core functions of this area. [-0, +0] */
void ld_frame_open(lua_State *L);

/* Lua: core.frame_root(run) -> rt ; core.frame_close(rt) */
int l_frame_root(lua_State *L);
int l_frame_close(lua_State *L);

#endif
