/*
** main: the llmdo process. Builds the Lua state and the loop, runs
** llmdo.cli.main(argv) as the first task (it parses the command line:
** lua/llmdo/args.lua), prints its result to stdout or its error to
** stderr, and maps the outcome to an exit status.
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <lauxlib.h>
#include <uv.h>

#include "error.h"
#include "http.h"
#include "json.h"
#include "lineedit.h"
#include "proc.h"
#include "prompt.h"
#include "sched.h"
#include "term.h"
#include "vm.h"

typedef struct outcome {
  int done, ok;
  int ref;    /* the result or error value */
  int status; /* the exit status the command asked for with its result (0: none) */
} outcome;

/* Ctrl-C, SIGTERM and SIGHUP: the first cancels the whole tree (cleanups
** still run, children are killed) and the run ends with 128 + the signal's
** number; a second leaves at once. In chat, Ctrl-C stops only the turn. */
static int stop_signal; /* the signal that is stopping the run, or 0 */
static ld_sched *the_sched;

static void say_stopped(int signum) {
  fputs(signum == SIGINT    ? "\nAborted by user\n"
        : signum == SIGTERM ? "\nTerminated (SIGTERM)\n"
                            : "\nHangup (SIGHUP)\n",
        stderr);
}

static void on_signal(int signum) {
  ld_group *turn = ld_sched_interrupt(the_sched);
  if (signum == SIGINT && !stop_signal) {
    if (turn && !turn->cancelled) { /* chat: only the current turn */
      ld_group_cancel(turn);
      return;
    }
    if (!turn && ld_lineedit_active()) { /* chat, at the prompt: a fresh line */
      ld_lineedit_interrupt();
      return;
    }
  }
  if (stop_signal || (signum == SIGINT && turn)) {
    ld_proc_kill_all(); /* no cleanup runs now: the children go with us */
    say_stopped(signum);
    fflush(stderr);
    _exit(128 + signum);
  }
  stop_signal = signum;
  ld_sched_cancel_all(the_sched);
}

/* A standard stream closed by whoever started us is opened on /dev/null,
** so no file we open later lands on fd 0, 1 or 2 (and libuv, which
** asserts on them, never sees a closed one). */
static void ensure_std_streams(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (n >= 0 && n != fd) { /* cannot happen: open takes the lowest free fd */
      dup2(n, fd);
      close(n);
    }
  }
}

static void on_main_done(ld_task *t, lua_State *L, int ok, int nres, void *ud) {
  (void)t;
  outcome *o = ud;
  o->done = 1;
  o->ok = ok;
  if (ok && nres >= 2 && lua_isinteger(L, -nres + 1)) o->status = (int)lua_tointeger(L, -nres + 1);
  if (nres == 0)
    lua_pushnil(L);
  else
    lua_pushvalue(L, -nres);
  o->ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Pushes the command line as a list: the arguments after the program's
** name at 1.., the name at 0. [-0, +1] */
static void push_args(lua_State *L, int argc, char **argv) {
  lua_createtable(L, argc > 1 ? argc - 1 : 0, 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
}

/* Writes the result: a string as is (newline-terminated), a table as JSON. */
static void print_result(lua_State *L, int idx) {
  size_t n;
  const char *s;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: return;
  case LUA_TTABLE:
    ld_json_encode(L, idx, LD_JSON_PRETTY | LD_JSON_SORTED); /* the same bytes in every process */
    s = lua_tolstring(L, -1, &n);
    break;
  default: s = luaL_tolstring(L, idx, &n); break;
  }
  fwrite(s, 1, n, stdout);
  if (n == 0 || s[n - 1] != '\n') fputc('\n', stdout);
  lua_pop(L, 1);
}

/* Flushes stdout. A reader that went away (EPIPE) ends the run quietly with
** the status a shell shows for SIGPIPE, as other Unix tools do; any other
** failure (a full disk) is an error. Returns the exit status. */
static int flush_stdout(int status) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return status;
  if (errno == EPIPE) return LD_EXIT_PIPE;
  fprintf(stderr, "Error: cannot write the result to standard output: %s\n", strerror(errno));
  return status == LD_EXIT_OK ? LD_EXIT_RUN : status;
}

/* Writes "Error: message", escaped; one line unless flags keep newlines. */
static void error_line(const char *msg, size_t n, int flags) {
  fputs("Error: ", stderr);
  ld_term_write(stderr, msg, n, flags);
  fputc('\n', stderr);
}

/* Writes the error line (and under --debug the traceback, which a plain
** error carries in its message). */
static void print_error(lua_State *L, int idx) {
  size_t n;
  ld_error_message(L, idx);
  const char *msg = lua_tolstring(L, -1, &n);
  error_line(msg, n, ld_vm_debug(L) ? LD_TERM_LINES : LD_TERM_LINE);
  lua_pop(L, 1);
  if (ld_vm_debug(L) && ld_error_is(L, idx) && lua_getfield(L, idx, "traceback") == LUA_TSTRING) {
    msg = lua_tolstring(L, -1, &n);
    ld_term_write(stderr, msg, n, LD_TERM_LINES);
    fputc('\n', stderr);
  }
  lua_settop(L, idx);
}

/*
** The protected main: runs llmdo.cli.main(args) as the first task and
** reports its outcome. Returns the exit status. [-3, +1]
*/
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  ld_sched *s = lua_touserdata(L, 3);
  outcome *o = lua_newuserdatauv(L, sizeof *o, 0);
  memset(o, 0, sizeof *o);
  lua_gc(L, LUA_GCSTOP); /* as in ld_vm_new: loading modules makes little garbage */
  ld_vm_require(L, "llmdo.cli");
  lua_gc(L, LUA_GCRESTART);
  lua_getfield(L, -1, "main"); /* ... cli main */
  push_args(L, argc, argv);
  ld_sched_spawn(s, L, 1, on_main_done, o, NULL);
  lua_pop(L, 1);
  int status = LD_EXIT_RUN;
  int ran = ld_sched_run(s) == 0;
  if (o->done) { /* the outcome's one release; the value stays on the stack */
    lua_rawgeti(L, LUA_REGISTRYINDEX, o->ref);
    luaL_unref(L, LUA_REGISTRYINDEX, o->ref);
  }
  if (ran && o->done) {
    int top = lua_gettop(L);
    if (o->ok && !stop_signal) {
      print_result(L, top);
      status = o->status ? o->status : LD_EXIT_OK;
    } else if (stop_signal) {
      say_stopped(stop_signal);
      status = 128 + stop_signal;
    } else {
      status = ld_error_status(L, top);
      int is_exit = strcmp(ld_error_kind(L, top), "exit") == 0;
      lua_pop(L, 1);
      if (!is_exit) print_error(L, top); /* os.exit says nothing */
    }
    status = flush_stdout(status);
  }
  lua_pushinteger(L, status);
  return 1;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

int main(int argc, char **argv) {
  ensure_std_streams();
  ld_proc_seal_environ();             /* before any thread: it rewrites environ */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* children cannot read our memory, nor /proc/<pid>/environ */
  signal(SIGPIPE, SIG_IGN);
  /* events reach stderr a line per write, not a byte per write */
  static char errbuf[8192];
  setvbuf(stderr, errbuf, _IOLBF, sizeof errbuf);

  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "Error: cannot initialise the event loop\n");
    return LD_EXIT_RUN;
  }
  ld_http_init(&loop);
  lua_State *L = ld_vm_new();
  if (!L) return LD_EXIT_RUN;
  ld_sched *s = ld_sched_new(L, &loop);
  int status = LD_EXIT_RUN;
  static const int signums[3] = {SIGINT, SIGTERM, SIGHUP};
  the_sched = s;
  if (s && ld_sched_catch_signals(s, signums, 3, on_signal) != 0) {
    fprintf(stderr, "Error: cannot catch signals\n");
    return LD_EXIT_RUN;
  }
  if (s) {
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    lua_pushlightuserdata(L, s);
    if (ld_vm_pcall(L, 3, 1) == LUA_OK) {
      status = (int)lua_tointeger(L, -1);
    } else {
      print_error(L, lua_gettop(L));
    }
    lua_settop(L, 0);
  }
  fflush(stdout);
#ifndef LLMDO_FULL_TEARDOWN
  /* The run is over and every cleanup has run: the OS frees the memory.
  ** With 10 000 calls behind it, lua_close alone took longer than the
  ** run's tail. The terminal is put back first. Sanitizer builds free
  ** everything instead, so that a leak shows. */
  ld_prompt_close();
  ld_lineedit_close();
  uv_tty_reset_mode();
  exit(status);
#endif
  lua_close(L); /* finalizers may still close loop handles */
  ld_sched_release_signals();
  ld_sched_free(s);
  ld_prompt_close();
  ld_lineedit_close();
  ld_http_shutdown();
  uv_walk(&loop, close_walk, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return status;
}
