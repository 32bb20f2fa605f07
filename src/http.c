/*
** http: libcurl multi-socket on libuv. See http.h.
**
** Ownership: a transfer (xfer) is malloc'd and pointed to by its Lua
** handle (a userdata holding the pointer). Closing the handle - h:close(),
** <close>, or garbage collection - detaches the transfer from curl and
** frees it once its backoff timer has closed. curl callbacks never touch
** Lua; they fill buffers and wake the waiting task, which then reads the
** buffers itself in a continuation.
*/
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "buf.h"
#include "error.h"
#include "events.h"
#include "json.h"
#include "retry.h"
#include "sched.h"
#include "sse.h"
#include "term.h"

#define HTTP_MT     "llmdo.Http"
#define MAX_BODY    (64u << 20) /* a response body */
#define QUEUE_MAX   (4u << 20)  /* undelivered events before the transfer pauses */
#define MAX_HEADERS (1u << 20)  /* the kept header block of a response */

typedef struct sock_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
} sock_ctx;

typedef struct xfer xfer;

/* An admission queue: at most H.limit of its transfers are active at once;
** the others wait, in order, holding no curl handle and no connection
** (10 000 calls in flight cost their Lua state, not 10 000 curl handles and
** sockets). */
typedef struct pool {
  int active;
  STAILQ_HEAD(, xfer) waiting;
} pool;

/* Model requests and tool authors' requests (llmdo.http) queue apart, with
** the same limit each: a tool fetching a slow page never holds a slot a
** model turn waits for, and 64 long model streams never stall a tool. */
static struct {
  CURLM *multi;
  uv_loop_t *loop;
  uv_timer_t timer;
  int ready;
  int limit;
  pool model, tool;
} H = {.limit = LD_HTTP_DEFAULT_ACTIVE,
       .model = {.waiting = STAILQ_HEAD_INITIALIZER(H.model.waiting)},
       .tool = {.waiting = STAILQ_HEAD_INITIALIZER(H.tool.waiting)}};

typedef struct event_node {
  STAILQ_ENTRY(event_node) link;
  char *event, *data;
  size_t data_len;
} event_node;

enum { XS_RUNNING, XS_BACKOFF, XS_DONE, XS_QUEUED };

struct xfer {
  CURL *easy; /* made when the transfer gets its slot, freed when it is done */
  char *url;
  char *method; /* NULL: GET, or POST with a body */
  long connect_ms;
  long max_redirs; /* redirects followed; 0: none */
  pool *pool;
  int has_slot; /* counted in pool->active */
  int queued;   /* on pool->waiting */
  STAILQ_ENTRY(xfer) wait_link;
  struct curl_slist *headers;
  const char *body; /* the request body: the Lua string the handle's user value holds */
  size_t body_len;
  int stream, max_retries, attempt, state, in_multi;
  long status;
  double retry_after; /* seconds, -1 when absent */
  int retry_after_ms; /* retry_after came from retry-after-ms, which wins over retry-after */
  int should_retry;   /* x-should-retry: 1 true, 0 false, -1 absent */
  ld_buf resp;
  size_t max_body;
  int too_big;
  int keep_headers; /* keep the final response's header lines for h:headers() */
  ld_buf hdrs;
  ld_buf retry_log; /* one line per retry, for h:retries() (the journal) */
  int hdrs_too_big;
  ld_sse sse;
  int sse_error;
  STAILQ_HEAD(, event_node) queue; /* SSE events not yet taken by h:next() */
  size_t qbytes;
  int paused;
  int delivered; /* events handed to Lua during this attempt */
  /* A 2xx answer to a streaming request that is no event stream (a JSON
  ** content type, or a body opening with '{') is kept whole for h:wait():
  ** a server that ignored "stream" must not look like an empty stream. */
  int json_type, sniffed, plain;
  int reset_pending;
  char *error;            /* why the transfer failed for good */
  const char *error_kind; /* "timeout", "too_big", "cancelled" or "failed" */
  ld_task *waiter;        /* the task in h:next() or h:wait() */
  uv_timer_t backoff;
  uv_timer_t idle; /* no byte received for idle_ms: the attempt failed */
  uint64_t idle_ms;
  uint64_t deadline; /* loop time by which the request, retries included, must end */
  uint64_t total_ms;
  int timed_out; /* the idle timer (or the deadline) ended the attempt */
  int past_deadline;
  int closing; /* timers still to close before the struct is freed */
  char errbuf[CURL_ERROR_SIZE];
};

/* --- buffers and events --------------------------------------------------------- */

static void clear_queue(xfer *x) {
  event_node *e;
  while ((e = STAILQ_FIRST(&x->queue))) {
    STAILQ_REMOVE_HEAD(&x->queue, link);
    free(e->event);
    free(e->data);
    free(e);
  }
  x->qbytes = 0;
}

static void wake(xfer *x) {
  if (!x->waiter) return;
  ld_task *t = x->waiter;
  x->waiter = NULL;
  ld_task_wake(t, 0);
}

static void on_sse_event(void *ud, const char *ev, size_t el, const char *data, size_t dl) {
  xfer *x = ud;
  event_node *e = calloc(1, sizeof *e);
  if (e) e->event = strndup(ev, el);
  if (e && e->event) e->data = malloc(dl + 1);
  if (!e || !e->event || !e->data) {
    if (e) free(e->event), free(e);
    x->sse_error = 1;
    return;
  }
  memcpy(e->data, data, dl);
  e->data[dl] = '\0';
  e->data_len = dl;
  STAILQ_INSERT_TAIL(&x->queue, e, link);
  x->qbytes += dl + el;
  wake(x);
}

static int success(const xfer *x) { return x->status >= 200 && x->status < 300; }

static void on_idle(uv_timer_t *t);

/* Bytes arrived: the idle clock starts over - but never runs past the
** request's deadline. */
static void touch(xfer *x) {
  uint64_t now = uv_now(H.loop), ms = x->idle_ms;
  uint64_t left = x->deadline > now ? x->deadline - now : 0;
  if (left < ms) ms = left;
  uv_timer_start(&x->idle, on_idle, ms, 0);
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  touch(x);
  if (!x->status) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
  if (x->stream && success(x) && !x->sniffed && n > 0) {
    x->sniffed = 1;
    x->plain = x->json_type || p[0] == '{';
  }
  if (x->stream && success(x) && !x->plain) {
    if (x->qbytes > QUEUE_MAX) { /* the reader is behind: hold the bytes */
      x->paused = 1;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (ld_sse_feed(&x->sse, p, n, on_sse_event, x) != 0 || x->sse_error) {
      x->sse_error = 1;
      return 0;
    }
    return n;
  }
  if (x->resp.n + n > x->max_body) {
    x->too_big = 1;
    return 0;
  }
  return ld_buf_add(&x->resp, p, n, 0) == 0 ? n : 0;
}

/* If the header line p (n bytes) is 'name', copies its value, trimmed, into
** v (size vn) and returns 1. */
static int header_value(const char *p, size_t n, const char *name, char *v, size_t vn) {
  size_t k = strlen(name);
  if (n < k || strncasecmp(p, name, k) != 0) return 0;
  p += k, n -= k;
  while (n && (*p == ' ' || *p == '\t')) p++, n--;
  while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ')) n--;
  if (n > vn - 1) n = vn - 1;
  memcpy(v, p, n);
  v[n] = '\0';
  return 1;
}

/* Keeps the header lines of the last response (a redirect's or a 100's are
** dropped when the next status line arrives). 0, or -1 past MAX_HEADERS. */
static int keep_header(xfer *x, const char *p, size_t n) {
  if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
    ld_buf_clear(&x->hdrs);
    return 0;
  }
  if (n <= 2 && (p[0] == '\r' || p[0] == '\n')) return 0; /* the blank line that ends the block */
  if (ld_buf_add(&x->hdrs, p, n, MAX_HEADERS) == 0) return 0;
  x->hdrs_too_big = 1;
  return -1;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  touch(x);
  if (x->keep_headers && n > 0 && keep_header(x, p, n) != 0) return 0;
  char v[128];
  if (n > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after a 100, say) */
    x->retry_after = -1;
    x->retry_after_ms = 0;
    x->should_retry = -1;
    x->status = 0;
    x->json_type = x->sniffed = x->plain = 0;
  } else if (header_value(p, n, "content-type:", v, sizeof v)) {
    x->json_type = strstr(v, "json") != NULL;
  } else if (header_value(p, n, "retry-after-ms:", v, sizeof v)) {
    char *end;
    double ms = strtod(v, &end);
    if (end != v && ms >= 0) x->retry_after = ms / 1000.0, x->retry_after_ms = 1;
  } else if (!x->retry_after_ms && header_value(p, n, "retry-after:", v, sizeof v)) {
    x->retry_after = ld_retry_parse_after(v, (long)time(NULL));
  } else if (header_value(p, n, "x-should-retry:", v, sizeof v)) {
    x->should_retry = strncasecmp(v, "true", 4) == 0 ? 1 : strncasecmp(v, "false", 5) == 0 ? 0 : -1;
  }
  return n;
}

/* --- the multi handle on the loop ------------------------------------------------- */

static void restart(xfer *x);

static void on_backoff(uv_timer_t *t) { restart(t->data); }

static void set_error(xfer *x, const char *kind, const char *msg) {
  free(x->error);
  x->error = strdup(msg);
  x->error_kind = kind;
}

/* One line per retry, "retry 1/4 in 0.5 s: 529 overloaded_error": kept
** for h:retries(), and shown at -v and -vv. */
static void say_retry(xfer *x, CURLcode result, double ms) {
  char why[CURL_ERROR_SIZE + 64];
  if (result != CURLE_OK) {
    if (x->timed_out)
      snprintf(why, sizeof why, "no data for %llu s", (unsigned long long)(x->idle_ms / 1000));
    else
      snprintf(why, sizeof why, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(result));
  } else {
    char type[64];
    ld_retry_error_type(x->resp.p, type, sizeof type);
    snprintf(why, sizeof why, "%ld%s%s", x->status, type[0] ? " " : "", type);
  }
  char line[sizeof why + 64];
  int n = snprintf(line, sizeof line, "retry %d/%d in %.1f s: %s", x->attempt + 1, x->max_retries,
                   ms / 1000.0, why);
  size_t len = n > 0 && (size_t)n < sizeof line ? (size_t)n : strlen(line);
  if (x->retry_log.n < 65536) { /* a log, not a buffer to grow without end; a failed add loses a line */
    if (ld_buf_add(&x->retry_log, line, len, 0) == 0) (void)ld_buf_add(&x->retry_log, "\n", 1, 0);
  }
  if (!ld_events_lines()) return;
  ld_term_write(stderr, line, len, LD_TERM_LINE);
  fputc('\n', stderr);
}

static void release_slot(xfer *x);

static void deadline_message(const xfer *x, char *msg, size_t n) {
  snprintf(msg, n, "timeout: no complete answer within %llu s, retries included (runtime.request_timeout)",
           (unsigned long long)(x->total_ms / 1000));
}

/* A transfer finished one attempt: retry, or settle and wake the reader. */
static void attempt_done(xfer *x, CURLcode result) {
  uv_timer_stop(&x->idle);
  if (x->in_multi) curl_multi_remove_handle(H.multi, x->easy);
  x->in_multi = 0;
  if (!x->status) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
  if (result == CURLE_OK && x->stream && success(x) && !x->plain) ld_sse_finish(&x->sse, on_sse_event, x);
  release_slot(x); /* a retry waits its turn again */
  int failed = result != CURLE_OK && !x->too_big && !x->sse_error && !x->hdrs_too_big;
  double ms = ld_retry_backoff_ms(x->attempt, failed ? -1 : x->retry_after, ld_retry_jitter());
  if (uv_now(H.loop) + (uint64_t)ms >= x->deadline) x->past_deadline = 1;
  /* the server's x-should-retry decides for a status it answered with */
  int retryable =
      failed || (x->should_retry >= 0 && !success(x) ? x->should_retry : ld_retry_status(x->status));
  if (retryable && x->attempt < x->max_retries && !x->past_deadline) {
    say_retry(x, result, ms);
    if (x->delivered) x->reset_pending = 1; /* the reader saw part of a stream */
    clear_queue(x);
    x->state = XS_BACKOFF;
    uv_timer_start(&x->backoff, on_backoff, (uint64_t)ms, 0);
    if (x->reset_pending) wake(x);
    return;
  }
  x->state = XS_DONE;
  curl_easy_cleanup(x->easy); /* its connection stays in the multi's cache for the next request */
  x->easy = NULL;
  if (x->too_big) {
    char msg[64];
    snprintf(msg, sizeof msg, "the response exceeds %zu bytes", x->max_body);
    set_error(x, "too_big", x->max_body == MAX_BODY ? "the response exceeds 64 MiB" : msg);
  } else if (x->sse_error)
    set_error(x, "failed", "an event in the stream exceeds 16 MiB");
  else if (x->hdrs_too_big)
    set_error(x, "failed", "the response headers exceed 1 MiB");
  else if (failed) {
    char msg[CURL_ERROR_SIZE + 128];
    if (x->past_deadline)
      deadline_message(x, msg, sizeof msg);
    else if (x->timed_out)
      snprintf(msg, sizeof msg, "timeout: no data for %llu s", (unsigned long long)(x->idle_ms / 1000));
    else
      snprintf(msg, sizeof msg, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(result));
    if (x->attempt && !x->past_deadline) strncat(msg, " (after retries)", sizeof msg - strlen(msg) - 1);
    /* curl's own connect timeout counts as a timeout too */
    int timeout = x->past_deadline || x->timed_out || result == CURLE_OPERATION_TIMEDOUT;
    set_error(x, timeout ? "timeout" : "failed", msg);
  }
  wake(x);
}

static void check_multi_info(void) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(H.multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    xfer *x = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (x) attempt_done(x, m->data.result);
  }
}

/* The idle timeout fired: this attempt failed like a broken connection. */
static void on_idle(uv_timer_t *t) {
  xfer *x = t->data;
  if (x->queued) { /* its deadline passed before a slot came free */
    char msg[128];
    release_slot(x);
    x->state = XS_DONE;
    x->past_deadline = x->timed_out = 1;
    deadline_message(x, msg, sizeof msg);
    set_error(x, "timeout", msg);
    wake(x);
    return;
  }
  if (!x->in_multi) return;
  x->timed_out = 1;
  attempt_done(x, CURLE_OPERATION_TIMEDOUT);
}

static void on_poll(uv_poll_t *p, int status, int events) {
  sock_ctx *c = p->data;
  int flags = 0, running;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  curl_multi_socket_action(H.multi, c->fd, flags, &running);
  check_multi_info();
}

static void free_sock(uv_handle_t *h) { free(h->data); }

static int on_socket(CURL *e, curl_socket_t s, int action, void *userp, void *socketp) {
  (void)e, (void)userp;
  sock_ctx *c = socketp;
  if (action == CURL_POLL_REMOVE) {
    if (c) {
      uv_poll_stop(&c->poll);
      curl_multi_assign(H.multi, s, NULL);
      uv_close((uv_handle_t *)&c->poll, free_sock);
    }
    return 0;
  }
  if (!c) {
    c = malloc(sizeof *c);
    if (!c) return -1;
    c->fd = s;
    if (uv_poll_init_socket(H.loop, &c->poll, s) != 0) {
      free(c);
      return -1;
    }
    c->poll.data = c;
    curl_multi_assign(H.multi, s, c);
  }
  int ev = 0;
  if (action & CURL_POLL_IN) ev |= UV_READABLE;
  if (action & CURL_POLL_OUT) ev |= UV_WRITABLE;
  uv_poll_start(&c->poll, ev, on_poll);
  return 0;
}

static void on_timeout(uv_timer_t *t) {
  (void)t;
  int running;
  curl_multi_socket_action(H.multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_multi_info();
}

static int on_timer(CURLM *m, long timeout_ms, void *userp) {
  (void)m, (void)userp;
  if (timeout_ms < 0)
    uv_timer_stop(&H.timer);
  else
    uv_timer_start(&H.timer, on_timeout, (uint64_t)timeout_ms, 0); /* 0: on the next turn of the loop */
  return 0;
}

void ld_http_init(uv_loop_t *loop) {
  H.loop = loop;
  ld_retry_seed();
}

/* libcurl (and the TLS library under it) starts on the first request, so
** runs that never make one - scripted models, check - skip that cost. */
static int ensure_multi(void) {
  if (H.ready) return 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  H.multi = curl_multi_init();
  if (!H.multi) return -1;
  uv_timer_init(H.loop, &H.timer);
  curl_multi_setopt(H.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(H.multi, CURLMOPT_TIMERFUNCTION, on_timer);
  H.ready = 1;
  return 0;
}

void ld_http_shutdown(void) {
  if (!H.ready) return;
  curl_multi_cleanup(H.multi);
  uv_close((uv_handle_t *)&H.timer, NULL);
  curl_global_cleanup();
  H.ready = 0;
}

/* --- transfers -------------------------------------------------------------------- */

/* Makes the curl handle of x, when it first gets a slot. 0, or -1 (memory). */
static int setup_easy(xfer *x) {
  CURL *e = x->easy = curl_easy_init();
  if (!e) return -1;
  curl_easy_setopt(e, CURLOPT_URL, x->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, x);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
  if (x->body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
  }
  /* POST with a body and GET without one are curl's own; naming them as a
  ** custom request would keep POST across a 303 */
  if (x->method && strcmp(x->method, "HEAD") == 0)
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if (x->method && strcmp(x->method, x->body ? "POST" : "GET") != 0)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
  if (x->max_redirs > 0) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, x->max_redirs);
  }
  /* never file://, ftp://, ... - neither asked for nor reached by a redirect */
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, x->connect_ms);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "llmdo/" LLMDO_VERSION);
  return 0;
}

static void start(xfer *x);

/* x no longer needs its slot (its attempt ended, or it was cancelled or
** closed): the first waiting transfer takes it. */
static void release_slot(xfer *x) {
  pool *q = x->pool;
  if (x->queued) {
    STAILQ_REMOVE(&q->waiting, x, xfer, wait_link);
    x->queued = 0;
  }
  if (!x->has_slot) return;
  x->has_slot = 0;
  q->active--;
  xfer *next = STAILQ_FIRST(&q->waiting);
  if (next) {
    STAILQ_REMOVE_HEAD(&q->waiting, wait_link);
    next->queued = 0;
    start(next);
  }
}

/* Starts the attempt x is ready for, or queues it until a slot is free. */
static void start(xfer *x) {
  pool *q = x->pool;
  if (!x->has_slot && q->active >= H.limit) {
    x->state = XS_QUEUED;
    x->queued = 1;
    STAILQ_INSERT_TAIL(&q->waiting, x, wait_link);
    uint64_t now = uv_now(H.loop); /* the deadline runs while it waits, too */
    uv_timer_start(&x->idle, on_idle, x->deadline > now ? x->deadline - now : 0, 0);
    return;
  }
  if (!x->has_slot) x->has_slot = 1, q->active++;
  x->state = XS_RUNNING;
  if ((!x->easy && setup_easy(x) != 0) || curl_multi_add_handle(H.multi, x->easy) != CURLM_OK) {
    x->state = XS_DONE;
    set_error(x, "failed", "cannot start the transfer");
    release_slot(x);
    wake(x);
    return;
  }
  x->in_multi = 1;
  touch(x);
}

static void restart(xfer *x) {
  x->attempt++;
  x->status = 0;
  x->retry_after = -1;
  x->retry_after_ms = 0;
  x->should_retry = -1;
  ld_buf_clear(&x->resp);
  ld_buf_clear(&x->hdrs);
  x->delivered = 0;
  x->too_big = x->sse_error = x->timed_out = x->hdrs_too_big = 0;
  x->json_type = x->sniffed = x->plain = 0;
  x->errbuf[0] = '\0';
  ld_sse_reset(&x->sse);
  start(x);
}

static void free_xfer(uv_handle_t *h) {
  xfer *x = h->data;
  if (--x->closing > 0) return; /* the other timer is still closing */
  clear_queue(x);
  ld_sse_free(&x->sse);
  ld_buf_free(&x->resp);
  ld_buf_free(&x->hdrs);
  ld_buf_free(&x->retry_log);
  free(x->error);
  free(x->url);
  free(x->method);
  free(x);
}

/* Detaches a transfer from curl and the loop and frees it. A task waiting
** on it is woken: its continuation finds the handle closed and raises. */
static void close_xfer(xfer *x) {
  wake(x);
  if (x->in_multi) curl_multi_remove_handle(H.multi, x->easy);
  x->in_multi = 0;
  release_slot(x);
  if (x->easy) curl_easy_cleanup(x->easy);
  curl_slist_free_all(x->headers);
  x->easy = NULL;
  x->headers = NULL;
  uv_timer_stop(&x->backoff);
  uv_timer_stop(&x->idle);
  x->closing = 2;
  uv_close((uv_handle_t *)&x->backoff, free_xfer);
  uv_close((uv_handle_t *)&x->idle, free_xfer);
}

static xfer **check_box(lua_State *L) { return luaL_checkudata(L, 1, HTTP_MT); }

static xfer *check_open(lua_State *L) {
  xfer *x = *check_box(L);
  if (!x) luaL_error(L, "HTTP handle is closed");
  return x;
}

static int l_http_close(lua_State *L) {
  xfer **box = check_box(L);
  if (*box) {
    xfer *x = *box;
    *box = NULL;
    close_xfer(x);
  }
  return 0;
}

/* The task waiting on a transfer was cancelled: stop the transfer. */
static void cancel_wait(void *op, ld_task *t) {
  xfer *x = op;
  ld_task_abort(t);
  x->waiter = NULL;
  if (x->in_multi) curl_multi_remove_handle(H.multi, x->easy);
  x->in_multi = 0;
  release_slot(x);
  uv_timer_stop(&x->backoff);
  uv_timer_stop(&x->idle);
  x->state = XS_DONE;
  set_error(x, "cancelled", "cancelled");
}

static void resume_if_paused(xfer *x) {
  if (x->paused && x->qbytes < QUEUE_MAX / 2 && x->in_multi) {
    x->paused = 0;
    curl_easy_pause(x->easy, CURLPAUSE_CONT);
  }
}

/* h:next() -> {event=, data=} | "reset" | nil. [-1, +1, yields] */
static int next_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  xfer *x = check_open(L);
  if (x->reset_pending) {
    x->reset_pending = 0;
    lua_pushliteral(L, "reset");
    return 1;
  }
  event_node *e = STAILQ_FIRST(&x->queue);
  if (e) {
    lua_createtable(L, 0, 2); /* built while the node is still queued: these can raise */
    lua_pushstring(L, e->event);
    lua_setfield(L, -2, "event");
    lua_pushlstring(L, e->data, e->data_len);
    lua_setfield(L, -2, "data");
    STAILQ_REMOVE_HEAD(&x->queue, link);
    x->qbytes -= e->data_len + strlen(e->event);
    x->delivered++;
    free(e->event);
    free(e->data);
    free(e);
    resume_if_paused(x);
    return 1;
  }
  if (x->state == XS_DONE) {
    lua_pushnil(L);
    return 1;
  }
  ld_task *t = ld_task_check(L, "http next");
  if (x->waiter) return luaL_error(L, "another task is already waiting on this HTTP handle");
  x->waiter = t;
  return ld_task_wait(L, t, cancel_wait, x, 0, next_k);
}

static int l_http_next(lua_State *L) {
  lua_settop(L, 1);
  return next_k(L, LUA_OK, 0);
}

/* h:wait() -> status, body | nil, nil, err, kind (kind: "timeout", "too_big",
** "cancelled" or "failed"). [-1, +(2|4), yields] */
static int wait_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  xfer *x = check_open(L);
  if (x->state != XS_DONE) {
    ld_task *t = ld_task_check(L, "http wait");
    if (x->waiter) return luaL_error(L, "another task is already waiting on this HTTP handle");
    x->waiter = t;
    return ld_task_wait(L, t, cancel_wait, x, 0, wait_k);
  }
  if (x->error) {
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushstring(L, x->error);
    lua_pushstring(L, x->error_kind ? x->error_kind : "failed");
    return 4;
  }
  lua_pushinteger(L, x->status);
  lua_pushlstring(L, x->resp.p ? x->resp.p : "", x->resp.n);
  return 2;
}

static int l_http_wait(lua_State *L) {
  lua_settop(L, 1);
  return wait_k(L, LUA_OK, 0);
}

/* h:retries() -> the retry lines of this transfer so far ("retry 1/4 in
** 0.5 s: 529 overloaded_error", ...), or nil when there were none. [-1, +1] */
static int l_http_retries(lua_State *L) {
  xfer *x = check_open(L);
  if (x->retry_log.n == 0) return lua_pushnil(L), 1;
  lua_newtable(L);
  lua_Integer i = 0;
  for (const char *p = x->retry_log.p, *end = p + x->retry_log.n; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) nl = end;
    lua_pushlstring(L, p, (size_t)(nl - p));
    lua_rawseti(L, -2, ++i);
    p = nl + 1;
  }
  return 1;
}

/* h:headers() -> the header lines of the final response, as sent ("name:
** value\r\n" each), or nil when the request did not keep them. [-1, +1, may raise] */
static int l_http_headers(lua_State *L) {
  xfer *x = check_open(L);
  if (!x->keep_headers) return lua_pushnil(L), 1;
  lua_pushlstring(L, x->hdrs.p ? x->hdrs.p : "", x->hdrs.n);
  return 1;
}

static int opt_int(lua_State *L, int t, const char *k, lua_Integer def) {
  lua_getfield(L, t, k);
  lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : def;
  lua_pop(L, 1);
  return (int)v;
}

/* core.http_request{...} -> handle. Validates everything before allocating.
** The tool form (llmdo.http) adds method=, timeout_ms= (one bound for the
** whole request), max_bytes=, redirects=, pool="tool", response_headers=.
** [-1, +1, may raise] */
static int l_http_request(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (ensure_multi() != 0) return luaL_error(L, "cannot initialise libcurl");
  lua_getfield(L, 1, "url"); /* 2 */
  const char *url = luaL_checkstring(L, 2);
  lua_getfield(L, 1, "body"); /* 3 */
  size_t body_len = 0;
  const char *body = ld_json_buffer(L, 3, &body_len); /* a json.encode(v, "b") buffer, or a string */
  if (!body) body = lua_tolstring(L, 3, &body_len);
  lua_getfield(L, 1, "headers"); /* 4 */
  lua_getfield(L, 1, "stream");  /* 5 */
  int stream = lua_toboolean(L, 5);
  int max_retries = opt_int(L, 1, "max_retries", 4);
  int connect_ms = opt_int(L, 1, "connect_timeout_ms", 10000);
  int idle_s = opt_int(L, 1, "idle_timeout", 120);
  int total_s = opt_int(L, 1, "request_timeout", 600);
  int max_active = opt_int(L, 1, "max_concurrent_requests", 0);
  if (max_active > 0) H.limit = max_active;
  int timeout_ms = opt_int(L, 1, "timeout_ms", 0);
  int max_redirs = opt_int(L, 1, "redirects", 0);
  lua_Integer max_body = 0;
  lua_getfield(L, 1, "max_bytes");
  if (lua_isinteger(L, -1)) max_body = lua_tointeger(L, -1);
  lua_getfield(L, 1, "pool");
  int tool_pool = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "tool") == 0;
  lua_getfield(L, 1, "response_headers");
  int keep_headers = lua_toboolean(L, -1);
  lua_settop(L, 5);

  xfer **box = lua_newuserdatauv(L, sizeof *box, 1); /* 6 */
  *box = NULL;
  lua_pushvalue(L, 3); /* the body lives as long as the handle: curl reads it, uncopied */
  lua_setiuservalue(L, 6, 1);
  luaL_setmetatable(L, HTTP_MT);
  xfer *x = calloc(1, sizeof *x);
  if (!x) return luaL_error(L, "not enough memory");
  *box = x; /* from here on the handle owns x, even if we raise */
  x->pool = tool_pool ? &H.tool : &H.model;
  STAILQ_INIT(&x->queue);
  uv_timer_init(H.loop, &x->backoff);
  uv_timer_init(H.loop, &x->idle);
  x->backoff.data = x->idle.data = x;
  x->idle_ms = (uint64_t)(idle_s > 0 ? idle_s : 120) * 1000;
  x->total_ms = (uint64_t)(total_s > 0 ? total_s : 600) * 1000;
  if (timeout_ms > 0) x->idle_ms = x->total_ms = (uint64_t)timeout_ms; /* one bound for the whole request */
  x->deadline = uv_now(H.loop) + x->total_ms;
  x->retry_after = -1;
  x->should_retry = -1;
  x->stream = stream;
  x->max_retries = max_retries < 0 ? 0 : max_retries;
  ld_sse_init(&x->sse, LD_SSE_MAX);
  x->body = body, x->body_len = body_len;
  x->connect_ms = connect_ms;
  x->max_redirs = max_redirs > 0 ? max_redirs : 0;
  x->max_body = max_body > 0 && (uint64_t)max_body < MAX_BODY ? (size_t)max_body : MAX_BODY;
  x->keep_headers = keep_headers;
  x->url = strdup(url);
  if (!x->url) return luaL_error(L, "not enough memory");
  lua_getfield(L, 1, "method");
  if (lua_type(L, -1) == LUA_TSTRING && !(x->method = strdup(lua_tostring(L, -1))))
    return luaL_error(L, "not enough memory");
  lua_pop(L, 1);
  if (lua_istable(L, 4)) {
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, 4); i++) {
      lua_rawgeti(L, 4, i);
      struct curl_slist *h = curl_slist_append(x->headers, luaL_checkstring(L, -1));
      lua_pop(L, 1);
      if (!h) return luaL_error(L, "not enough memory");
      x->headers = h;
    }
  }
  x->attempt = -1;
  restart(x);
  return 1;
}

/* core.http.limit(n): the transfers each admission queue lets run at once
** (runtime.max_concurrent_requests, set when a run starts). [-1, +0, may raise] */
static int l_http_limit(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n > 0 && n <= 1000000, 1, "expected a positive limit");
  H.limit = (int)n;
  return 0;
}

void ld_http_open(lua_State *L) {
  static const luaL_Reg meta[] = {{"__gc", l_http_close}, {"__close", l_http_close}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"next", l_http_next},       {"wait", l_http_wait},
                                     {"headers", l_http_headers}, {"retries", l_http_retries},
                                     {"close", l_http_close},     {NULL, NULL}};
  luaL_newmetatable(L, HTTP_MT);
  luaL_setfuncs(L, meta, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_http_request);
  lua_setfield(L, -2, "request");
  lua_pushcfunction(L, l_sse_parse);
  lua_setfield(L, -2, "sse_parse");
  lua_pushcfunction(L, l_http_limit);
  lua_setfield(L, -2, "limit");
}
