/*
** frame: call frames. The entry runs in the root frame (depth 0, no model,
** no tools); every worker call gets a child frame one deeper, with its own
** tools, budgets and usage counters.
**
** A frame is a full userdata ("llmdo.Frame") so Lua owns its memory: the
** agent loop (lua/llmdo/agent.lua) holds it in a local for the length of
** the call and closes it when the call ends; children keep their parents
** alive through a user value. The same userdata is the 'rt' an entry
** receives and what a tool's ctx refers to. The Lua objects a frame needs
** hang off its user values, reached only through ld_frame_push (C) and the
** named functions of the internal module llmdo.core.frame (Lua).
*/
#ifndef LD_FRAME_H
#define LD_FRAME_H

#include <lua.h>

#define LD_FRAME_MT "llmdo.Frame"

/* What a frame refers to (its user values). */
typedef enum {
  LD_FRAME_DEF = 1, /* the worker definition (root: the entry definition) */
  LD_FRAME_RUN,     /* the run: project, options, run-scoped state */
  LD_FRAME_TOOLS,   /* tool name -> tool, for this call */
  LD_FRAME_PARENT,  /* the parent frame, kept alive by its children */
  LD_FRAME_HISTORY, /* root only: the entry's conversation so far */
  LD_FRAME_NFIELDS = LD_FRAME_HISTORY
} ld_frame_field;

typedef struct ld_frame ld_frame;

struct ld_frame {
  ld_frame *parent; /* valid while this frame is open: children pin parents */
  ld_frame *root;
  int depth;
  int max_depth;
  int closed; /* the call ended; methods refuse to run */
  /* budgets (0: none); sub_* count this call and its nested calls */
  long max_requests, max_tool_calls, max_total_requests;
  long sub_requests, sub_tool_calls;
  /* usage of this call; the root's counts the whole run */
  long requests, input_tokens, output_tokens, cache_read, cache_write;
};

ld_frame *ld_frame_check(lua_State *L, int idx);

/* Pushes field 'which' of the frame at idx. [-0, +1] */
int ld_frame_push(lua_State *L, int idx, ld_frame_field which);

/* Registers the frame metatable and pushes the table of methods every
** frame has (rt:call_agent and the rest, added by lua/llmdo/run.lua).
** [-0, +1] */
void ld_frame_open(lua_State *L);

/* Lua (llmdo.core.frame): see frame.c. */
int l_frame_root(lua_State *L);
int l_frame_new(lua_State *L);
int l_frame_get(lua_State *L);
int l_frame_set_tools(lua_State *L);
int l_frame_count(lua_State *L);
int l_frame_add_usage(lua_State *L);
int l_frame_usage(lua_State *L);
int l_frame_close(lua_State *L);

#endif
