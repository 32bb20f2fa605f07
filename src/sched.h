/*
** sched: one libuv loop and a scheduler of Lua coroutines ("tasks").
**
** Everything that may wait runs in a task: the entry, each worker call's
** model turn, each tool call. A C primitive that waits (a timer, an HTTP
** transfer, a child worker call) registers its operation, then yields the
** task with ld_task_wait. When the operation completes - always from a
** libuv callback - it pushes its results onto the task's thread and calls
** ld_task_wake, which only queues the task. Lua is resumed solely from
** ld_sched_run's own loop, never from inside a libuv or libcurl callback.
**
** Deferred callbacks (ld_sched_defer) give C state machines the same
** guarantee: they run from the scheduler loop, where calling into Lua is safe.
*/
#ifndef LD_SCHED_H
#define LD_SCHED_H

#include <sys/queue.h>

#include <lua.h>
#include <uv.h>

typedef struct ld_sched ld_sched;
typedef struct ld_task ld_task;
typedef struct ld_defer ld_defer;
typedef struct ld_group ld_group;

/* Called once when a task ends. ok: 1 if its function returned (nres results
** on top of L, the main thread), 0 if it raised (the error value on top of L,
** nres == 1). The values are popped after the callback returns. */
typedef void (*ld_task_done_fn)(ld_task *t, lua_State *L, int ok, int nres, void *ud);
/* Asks a pending operation to stop because its task was cancelled. The
** operation must still wake the task: at once with ld_task_abort (the wait
** then raises "cancelled"), or later when its own sub-work has wound down. */
typedef void (*ld_op_cancel_fn)(void *op, ld_task *t);
typedef void (*ld_defer_fn)(void *ud);

/* An intrusive node for ld_sched_defer; embed it in the object it serves. */
struct ld_defer {
  STAILQ_ENTRY(ld_defer) next;
  ld_defer_fn fn;
  void *ud;
  int queued;
};

/* A set of tasks cancelled together (parallel branches, a turn's tool
** calls). Embed it in its owner, zeroed; it must outlive its tasks. */
struct ld_group {
  ld_task *head;
  int cancelled;
};

ld_sched *ld_sched_new(lua_State *L, uv_loop_t *loop);
/* Frees the scheduler; call after lua_close, whose finalizers may use it. */
void ld_sched_free(ld_sched *s);
ld_sched *ld_sched_get(lua_State *L);
uv_loop_t *ld_sched_loop(ld_sched *s);
lua_State *ld_sched_state(ld_sched *s);

/* Starts a task running the function under nargs arguments on top of
** 'from'; they are moved to the new coroutine. The task first runs on the
** next turn of the loop. 'g' may be NULL. A task started in a cancelled
** group, or while everything is being cancelled, starts cancelled.
** [-(nargs+1), +0, may raise (memory)] */
ld_task *ld_sched_spawn(ld_sched *s, lua_State *from, int nargs, ld_task_done_fn done, void *ud, ld_group *g);

/* Cancellation is level-triggered, as in Trio: a cancelled task's current
** wait is stopped and raises an error of kind "cancelled", and so does every
** later wait it attempts. Code that catches it still cannot wait again. */
void ld_task_cancel(ld_task *t);
void ld_group_cancel(ld_group *g);
/* Ctrl-C: every task, now and from now on (shielded code finishes first). */
void ld_sched_cancel_all(ld_sched *s);

/* The group Ctrl-C cancels instead of everything (a chat turn), or NULL. */
void ld_sched_set_interrupt(ld_sched *s, ld_group *g);
ld_group *ld_sched_interrupt(ld_sched *s);

/* For cancel hooks of operations that stop at once: wakes the task so that
** its wait raises "cancelled". */
void ld_task_abort(ld_task *t);

/* Queues fn(ud) to run from the scheduler loop; no-op if d is queued. */
void ld_sched_defer(ld_sched *s, ld_defer *d, ld_defer_fn fn, void *ud);

/* Runs until no task is left. Returns 0, or -1 if tasks are left waiting
** with nothing in the loop that could wake them (a bug, reported to stderr). */
int ld_sched_run(ld_sched *s);

/* The task running the caller; raises when called outside one (at load
** time, or from a non-yieldable C boundary), and "cancelled" when it is
** cancelled, so primitives start nothing for a cancelled task.
** [-0, +0, may raise] */
ld_task *ld_task_check(lua_State *L, const char *what);

/* Suspends the task until ld_task_wake. Must be the tail of a C function:
** return ld_task_wait(L, t, ...). When resumed, k (or, if NULL, the
** function's caller) receives the values the operation pushed. Raises
** "cancelled" instead of waiting if the task is cancelled. */
int ld_task_wait(lua_State *L, ld_task *t, ld_op_cancel_fn cancel, void *op, lua_KContext ctx,
                 lua_KFunction k);

/* The suspended thread onto which a completing operation pushes results. */
lua_State *ld_task_thread(ld_task *t);

/* The operation completed; nargs results were pushed on ld_task_thread. */
void ld_task_wake(ld_task *t, int nargs);

/*
** Stop signals. ld_sched_catch_signals installs handlers for the given
** signals; each delivery is handed to on_signal(signum) from the loop - or,
** when Lua code is busy and the loop cannot run (a `while true do end` in a
** tool), from a hook the handler sets on the running task (as lua.c stops
** its interpreter). The same hook then raises "cancelled" in that task, now
** and every LD_SCHED_HOOK_COUNT instructions while it stays cancelled (the
** prelude's pcall lets that error through). A busy loop inside a user
** coroutine of the task is reached when control returns to the task (a
** second signal leaves at once). Call once, before ld_sched_run.
*/
typedef void (*ld_signal_fn)(int signum);

/* Watches a task that must end by 'deadline' (uv_hrtime): a hook checks
** the clock every LD_SCHED_HOOK_COUNT instructions, so a task that computes
** past its time is cancelled too, not only one that waits. */
void ld_task_watch(ld_task *t, uint64_t deadline);
int ld_task_timed_out(ld_task *t);
int ld_sched_catch_signals(ld_sched *s, const int *signums, int n, ld_signal_fn on_signal);
void ld_sched_release_signals(void);

/* Adds nowait (see lua/llmdo/prelude.lua) and shield to the table on top. */
void ld_sched_open(lua_State *L);

/* Pushes the light userdata host primitives yield (core.YIELD). [-0, +1] */
int ld_sched_push_sentinel(lua_State *L);

#endif
