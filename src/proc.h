/*
** proc: running a program as a task operation, for the shell toolset.
**
**   core.spawn{ argv = {...}, cwd =, env = { "K=V", ... }, timeout_ms =, max_output = }
**     -> { stdout =, stderr =, exit_code =, truncated =, stdout_truncated =,
**          stderr_truncated =, timed_out = }
**
** argv is executed directly (never through /bin/sh) in its own process
** group, with stdin from /dev/null. stdout and stderr are read through the
** loop, each kept up to max_output bytes (the rest is read and dropped).
** On timeout - or when the waiting task is cancelled - the whole process
** group is killed. exit_code: the status; 128+N for signal N; -1 on
** timeout; 127 when the program is not found; 126 when it cannot be run.
*/
#ifndef LD_PROC_H
#define LD_PROC_H

#include <lua.h>

int l_proc_spawn(lua_State *L);

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
