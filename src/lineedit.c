/*
** lineedit: libedit on the loop. See lineedit.h.
*/
#include "lineedit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>
#include <lauxlib.h>
#include <uv.h>

#include "own.h"
#include "sched.h"

static struct {
  uv_poll_t poll;
  int poll_open;
  int active; /* a handler is installed: a prompt is showing */
  ld_task *task;
  char *line;
  int eof;
  char prompt[256];
} E;

static void on_line(char *line) {
  rl_callback_handler_remove();
  E.active = 0;
  uv_poll_stop(&E.poll);
  if (line && *line) add_history(line);
  E.line = line; /* malloc'd by libedit: ours now */
  E.eof = line == NULL;
  if (E.task) {
    ld_task *t = E.task;
    E.task = NULL;
    ld_task_wake(t, 0);
  } else {
    free(line);
    E.line = NULL;
  }
}

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)p, (void)events;
  if (status < 0) {
    on_line(NULL);
    return;
  }
  rl_callback_read_char();
}

int ld_lineedit_active(void) { return E.active; }

void ld_lineedit_interrupt(void) {
  if (!E.active) return;
  rl_callback_handler_remove();
  fputs("^C\n", stdout);
  fflush(stdout);
  rl_callback_handler_install(E.prompt, on_line);
}

void ld_lineedit_close(void) {
  if (E.active) rl_callback_handler_remove();
  E.active = 0;
  if (E.poll_open && !uv_is_closing((uv_handle_t *)&E.poll)) uv_close((uv_handle_t *)&E.poll, NULL);
  E.poll_open = 0;
}

static void cancel(void *op, ld_task *t) {
  (void)op;
  if (E.active) rl_callback_handler_remove();
  E.active = 0;
  uv_poll_stop(&E.poll);
  E.task = NULL;
  ld_task_abort(t);
}

/* Continuation: the line, or nil at the end of input. [-0, +1] */
static int readline_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  char *line = E.line;
  E.line = NULL;
  if (!line) {
    lua_pushnil(L);
    return 1;
  }
  ld_own_push(L, line, free);
  lua_pushstring(L, line);
  ld_own_free(L, -2);
  return 1;
}

int l_lineedit_readline(lua_State *L) {
  const char *prompt = luaL_optstring(L, 1, "> ");
  ld_task *t = ld_task_check(L, "readline");
  if (E.active) return luaL_error(L, "readline is already waiting for a line");
  if (!E.poll_open) {
    if (uv_poll_init(ld_sched_loop(ld_sched_get(L)), &E.poll, STDIN_FILENO) != 0)
      return luaL_error(L, "cannot watch standard input");
    /* libuv made stdin non-blocking; libedit reads it expecting it to block */
    fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) & ~O_NONBLOCK);
    E.poll_open = 1;
  }
  snprintf(E.prompt, sizeof E.prompt, "%s", prompt);
  rl_catch_signals = 0; /* Ctrl-C stays ours */
  rl_callback_handler_install(E.prompt, on_line);
  E.active = 1;
  E.task = t;
  uv_poll_start(&E.poll, UV_READABLE, on_readable);
  lua_settop(L, 0);
  return ld_task_wait(L, t, cancel, NULL, 0, readline_k);
}
