/*
** proc: running a program as a task operation, for the shell toolset and
** llmdo.exec.
**
**   core.spawn{ argv = {...}, cwd =, env = { "K=V", ... }, stdin =,
**               timeout_ms =, grace_ms =, max_output =, what = "llmdo.exec" }
**     -> { stdout =, stderr =, status =, signal =, exit_code =, truncated =,
**          stdout_truncated =, stderr_truncated =, timed_out = }
**     -> nil, strerror, code ("ENOENT", ...) when it cannot be started
**
** argv is executed directly (never through /bin/sh) in its own process
** group; stdin is the given string (then end of file), else /dev/null.
** stdout and stderr are read through the loop, each kept up to max_output
** bytes (the rest is read and dropped). On timeout the whole process group
** gets SIGTERM, then SIGKILL grace_ms later (at once when grace_ms is 0);
** when the waiting task is cancelled, SIGKILL at once. status: the exit
** status; signal: the signal that ended it, or 0; exit_code, for the shell:
** the status, 128+N for signal N, -1 on timeout. `what` names the caller
** in the errors of a call made outside a task.
*/
#ifndef LD_PROC_H
#define LD_PROC_H

#include <lua.h>
#include <uv.h>

int l_proc_spawn(lua_State *L);

/* Starts argv[0] (argv, env: NULL-terminated; both freed here) in its own
** process group (setsid), so it can be signalled as one. stdin is the pipe
** 'in' or /dev/null; stdout and stderr the pipes given (initialised by the
** caller). Returns 0 or a libuv error code. */
int ld_proc_start(uv_loop_t *loop, uv_process_t *p, char **argv, char **env, const char *cwd, uv_pipe_t *in,
                  uv_pipe_t *out, uv_pipe_t *err, uv_exit_cb on_exit);

/* Pushes nil, the reason and its code ("ENOENT") for libuv error r. [-0, +3] */
int ld_proc_spawn_failed(lua_State *L, int r);

/* A child started by ld_proc_start exited: its exit callback says so first. */
void ld_proc_exited(const uv_process_t *p);

/* SIGKILL to the process group of every child that has not exited (a
** forced exit: the second Ctrl-C). */
void ld_proc_kill_all(void);

/* Raises unless the list at idx holds only strings. [-0, +0, may raise] */
void ld_proc_check_strings(lua_State *L, int idx, const char *what);

/* A NULL-terminated malloc'd array of the strings of the checked list at
** idx (they stay anchored by the list), or NULL when memory runs out. [-0, +0] */
char **ld_proc_strings(lua_State *L, int idx);

/* core.environ() -> { "K=V", ... } (the process environment). */
int l_proc_environ(lua_State *L);

/*
** Moves the environment's strings to the heap and clears the block the
** kernel wrote at exec, so /proc/<pid>/environ no longer shows the keys;
** getenv and core.environ() still see them. Call first thing in main,
** before any thread starts.
*/
void ld_proc_seal_environ(void);

#endif
