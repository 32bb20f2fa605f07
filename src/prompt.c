/*
** prompt: the approval queue on the terminal. See prompt.h.
**
** One terminal per process, so the state is a single static struct. Each
** request is malloc'd and owned by the queue: freed when answered or when
** its task is cancelled (ld_op_cancel hook), never both.
*/
#include "prompt.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <lauxlib.h>
#include <uv.h>

#include "error.h"
#include "own.h"
#include "term.h"

typedef struct request {
  TAILQ_ENTRY(request) link;
  int queued;
  ld_task *task;
  char *text;
  int stage; /* 0: waiting for a/s/d, 1: waiting for the note */
  char choice[2];
  char *note;
  lua_KFunction k; /* the asker's continuation */
  lua_KContext kctx;
} request;

static struct {
  int fd;
  int open, reading, closed_by_user;
  uv_tty_t tty;
  TAILQ_HEAD(, request) queue; /* the head's prompt is (or is about to be) shown */
  int batch_index, batch_total;
  int showing;      /* the head request's prompt is on the terminal */
  uv_timer_t later; /* shows the head after every request of this turn queued */
  char line[2048];
  size_t n;
} P = {.fd = -1, .queue = TAILQ_HEAD_INITIALIZER(P.queue)};

int ld_prompt_available(void) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return 0;
  close(fd);
  return 1;
}

int l_prompt_available(lua_State *L) {
  lua_pushboolean(L, ld_prompt_available());
  return 1;
}

static void say(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(P.fd, s, n);
    if (w <= 0) return;
    s += w, n -= (size_t)w;
  }
}

static void show(request *r) {
  char head[96];
  P.batch_index++;
  snprintf(head, sizeof head, "\n--- approval %d of %d ---\n", P.batch_index, P.batch_total);
  say(head);
  say(r->text);
  say("\n[a] approve once  [s] approve for this session  [d] deny\n> ");
}

static void free_request(request *r) {
  free(r->text);
  free(r->note);
  free(r);
}

/* Shows the head request from a timer: by then every tool call started in
** the same scheduler turn has queued, so the batch size is right. */
static void show_later_cb(uv_timer_t *t) {
  (void)t;
  if (TAILQ_FIRST(&P.queue) && !P.showing) {
    P.showing = 1;
    show(TAILQ_FIRST(&P.queue));
  }
}

static void show_later(void) { uv_timer_start(&P.later, show_later_cb, 0, 0); }

/* Hands the answer to r's task, drops r, shows the next request. */
static void answer(request *r, const char *choice, const char *note) {
  snprintf(r->choice, sizeof r->choice, "%s", choice);
  r->note = note && *note ? strdup(note) : NULL;
  ld_task_wake(r->task, 0); /* the continuation reads the answer from r, then frees it */
  TAILQ_REMOVE(&P.queue, r, link);
  r->queued = 0;
  P.n = 0;
  P.showing = 0;
  if (TAILQ_FIRST(&P.queue)) {
    show_later();
  } else {
    P.batch_index = P.batch_total = 0;
    if (P.reading) uv_read_stop((uv_stream_t *)&P.tty);
    P.reading = 0;
  }
}

static void handle_line(char *line) {
  request *r = TAILQ_FIRST(&P.queue);
  if (!r || !P.showing) return; /* typed ahead of any question */
  size_t n = strlen(line);
  while (n > 0 && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
  char *p = line;
  while (isspace((unsigned char)*p)) p++;
  if (r->stage == 1) {
    answer(r, "d", p);
    return;
  }
  int c = tolower((unsigned char)*p);
  if (c == 'a' || c == 's') {
    answer(r, c == 'a' ? "a" : "s", NULL);
  } else if (c == 'd') {
    r->stage = 1;
    say("note (optional, Enter to skip): ");
  } else {
    say("please answer a, s or d\n> ");
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h, (void)suggested;
  *buf = uv_buf_init(P.line + P.n, (unsigned)(sizeof P.line - 1 - P.n));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)s, (void)buf;
  if (nread < 0) { /* the terminal went away: nobody can answer */
    P.closed_by_user = 1;
    while (TAILQ_FIRST(&P.queue)) answer(TAILQ_FIRST(&P.queue), "d", "no answer (the terminal was closed)");
    return;
  }
  P.n += (size_t)nread;
  P.line[P.n] = '\0';
  char *nl;
  while ((nl = memchr(P.line, '\n', P.n)) != NULL) {
    *nl = '\0';
    size_t used = (size_t)(nl - P.line) + 1;
    char line[sizeof P.line];
    memcpy(line, P.line, used);
    memmove(P.line, P.line + used, P.n - used);
    P.n -= used;
    P.line[P.n] = '\0';
    handle_line(line);
  }
  if (P.n == sizeof P.line - 1) P.n = 0; /* an absurdly long line: drop it */
}

/* Opens the terminal once; 0 on success. */
static int open_tty(uv_loop_t *loop) {
  if (P.open) return 0;
  P.fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (P.fd < 0) return -1;
  if (uv_tty_init(loop, &P.tty, P.fd, 1) != 0) {
    close(P.fd);
    P.fd = -1;
    return -1;
  }
  uv_timer_init(loop, &P.later);
  P.open = 1;
  return 0;
}

static void cancel(void *op, ld_task *t) {
  ld_task_abort(t);
  request *r = op;
  if (!r->queued) return;
  int was_active = r == TAILQ_FIRST(&P.queue);
  TAILQ_REMOVE(&P.queue, r, link);
  free_request(r);
  if (was_active) {
    P.n = 0;
    if (P.showing) say("\n(cancelled)\n");
    P.showing = 0;
    if (TAILQ_FIRST(&P.queue)) show_later();
  }
  if (!TAILQ_FIRST(&P.queue)) {
    P.batch_index = P.batch_total = 0;
    if (P.reading) uv_read_stop((uv_stream_t *)&P.tty);
    P.reading = 0;
  }
}

static void free_any(void *p) { free_request(p); }

/* Continuation: pushes (choice, note) from the answered request, frees it
** and goes on with the asker's continuation. */
static int ask_k(lua_State *L, int status, lua_KContext ctx) {
  request *r = (request *)ctx;
  lua_KFunction k = r->k;
  lua_KContext kctx = r->kctx;
  ld_own_push(L, r, free_any);
  lua_pushstring(L, r->choice);
  if (r->note)
    lua_pushstring(L, r->note);
  else
    lua_pushnil(L);
  ld_own_free(L, -3);
  return k(L, status, kctx);
}

int ld_prompt_ask(lua_State *L, ld_task *t, const char *text, size_t len, lua_KContext ctx, lua_KFunction k) {
  if (P.closed_by_user)
    return ld_error_raisef(L, "permission", "cannot ask for approval: the terminal was closed");
  if (open_tty(ld_sched_loop(ld_sched_get(L))) != 0)
    return ld_error_raisef(L, "permission", "cannot ask for approval: no terminal (/dev/tty)");
  ld_term_push(L, text, len, LD_TERM_LINES);
  request *r = calloc(1, sizeof *r);
  char *copy = r ? strdup(lua_tostring(L, -1)) : NULL;
  lua_pop(L, 1);
  if (!copy) {
    free(r);
    return luaL_error(L, "not enough memory");
  }
  r->task = t;
  r->text = copy;
  r->k = k;
  r->kctx = ctx;
  TAILQ_INSERT_TAIL(&P.queue, r, link);
  r->queued = 1;
  P.batch_total++;
  if (!P.reading) {
    uv_read_start((uv_stream_t *)&P.tty, on_alloc, on_read);
    P.reading = 1;
  }
  if (TAILQ_FIRST(&P.queue) == r) show_later();
  return ld_task_wait(L, t, cancel, r, (lua_KContext)r, ask_k);
}

void ld_prompt_close(void) {
  if (!P.open) return;
  int libuv_fd = -1;
  uv_fileno((uv_handle_t *)&P.tty, &libuv_fd);
  if (!uv_is_closing((uv_handle_t *)&P.tty)) uv_close((uv_handle_t *)&P.tty, NULL);
  if (!uv_is_closing((uv_handle_t *)&P.later)) uv_close((uv_handle_t *)&P.later, NULL);
  if (libuv_fd != P.fd) close(P.fd);
  P.open = 0;
}
