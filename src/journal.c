/*
** journal: journal files. See journal.h.
*/
#define _GNU_SOURCE /* memmem */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "buf.h"
#include "digest.h"
#include "json.h"

extern char **environ;

/* ---- secrets ---- */

/* Parts of an environment variable's name that make its value a secret. */
static const char *const SECRET_WORDS[] = {"KEY",    "TOKEN",      "SECRET", "PASSWORD",
                                           "PASSWD", "CREDENTIAL", "AUTH",   NULL};
enum { SECRET_MIN = 8, SECRETS_MAX = 512 }; /* shorter values would redact ordinary words */

static struct {
  int loaded, n;
  char *value[SECRETS_MAX];
  char *mark[SECRETS_MAX];
} S;

static int secret_name(const char *name, size_t len) {
  char up[256];
  if (len >= sizeof up) len = sizeof up - 1;
  for (size_t i = 0; i < len; i++) up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
  up[len] = 0;
  for (const char *const *w = SECRET_WORDS; *w; w++)
    if (strstr(up, *w)) return 1;
  return 0;
}

/* Adds one secret (and, when JSON escaping changes it, its escaped form:
** lines are JSON), longest first, so a secret that contains another is
** redacted whole. A value seen already is not added twice. */
static void add_secret(const char *name, size_t namelen, const char *value) {
  char esc[1024];
  size_t e = 0;
  for (const char *p = value; *p && e + 7 < sizeof esc; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\')
      esc[e++] = '\\', esc[e++] = (char)ch;
    else if (ch < 0x20)
      e += (size_t)snprintf(esc + e, sizeof esc - e, "\\u%04x", ch);
    else
      esc[e++] = (char)ch;
  }
  esc[e] = '\0';
  const char *forms[2] = {value, strcmp(esc, value) != 0 ? esc : NULL};
  for (int f = 0; f < 2 && forms[f]; f++) {
    const char *v0 = forms[f];
    if (strlen(v0) < SECRET_MIN || S.n >= SECRETS_MAX) continue;
    int seen = 0;
    for (int i = 0; i < S.n && !seen; i++) seen = strcmp(S.value[i], v0) == 0;
    if (seen) continue;
    char *v = strdup(v0), *m = malloc(namelen + 13);
    if (!v || !m) {
      free(v), free(m);
      continue;
    }
    sprintf(m, "[redacted:%.*s]", (int)namelen, name);
    int i = S.n++;
    while (i > 0 && strlen(S.value[i - 1]) < strlen(v))
      S.value[i] = S.value[i - 1], S.mark[i] = S.mark[i - 1], i--;
    S.value[i] = v, S.mark[i] = m;
  }
}

/* Reads the secrets of the environment once (it does not change under a run). */
static void load_secrets(void) {
  if (S.loaded) return;
  S.loaded = 1;
  for (char **e = environ; *e; e++) {
    const char *eq = strchr(*e, '=');
    if (eq && secret_name(*e, (size_t)(eq - *e))) add_secret(*e, (size_t)(eq - *e), eq + 1);
  }
}

static const char *bytes(lua_State *L, int idx, size_t *n);

/* journal.has_secret(s | buffer) -> whether s holds a secret the journal
** redacts. [-1, +1] */
static int l_journal_has_secret(lua_State *L) {
  size_t n;
  const char *p = bytes(L, 1, &n);
  load_secrets();
  int found = 0;
  for (int i = 0; i < S.n && !found; i++) found = memmem(p, n, S.value[i], strlen(S.value[i])) != NULL;
  lua_pushboolean(L, found);
  return 1;
}

/* journal.add_secret(name, value): a value handed to something outside
** (an MCP server's env or headers, a provider's key) is redacted from
** journals whatever its variable is called. [-2, +0] */
static int l_journal_add_secret(lua_State *L) {
  size_t n;
  const char *name = luaL_checklstring(L, 1, &n);
  const char *value = luaL_checkstring(L, 2);
  load_secrets();
  add_secret(name, n, value);
  return 0;
}

int ld_journal_scrub(const char *s, size_t n, const char *const *secrets, const char *const *marks,
                     int nsecrets, char **out, size_t *outn) {
  ld_buf b = {0};
  const char *cur = s, *end = s + n;
  int hit = 0;
  while (cur < end) {
    const char *best = NULL;
    int bi = -1;
    for (int i = 0; i < nsecrets; i++) { /* the earliest match; at a tie, the longest (listed first) */
      const char *m = memmem(cur, (size_t)(end - cur), secrets[i], strlen(secrets[i]));
      if (m && (!best || m < best)) best = m, bi = i;
    }
    if (!best) break;
    hit = 1;
    if (ld_buf_add(&b, cur, (size_t)(best - cur), 0) || ld_buf_add(&b, marks[bi], strlen(marks[bi]), 0)) {
      ld_buf_free(&b);
      return -1;
    }
    cur = best + strlen(secrets[bi]);
  }
  if (!hit) return 0;
  if (ld_buf_add(&b, cur, (size_t)(end - cur), 0)) {
    ld_buf_free(&b);
    return -1;
  }
  *out = b.p, *outn = b.n;
  return 1;
}

/* ---- the journal file ---- */

#define JOURNAL_MT "llmdo.journal"

typedef struct journal {
  int fd; /* -1 once closed */
  int failed;
  char *path;
} journal;

/* The bytes of a string or a json.encode(v, "b") buffer at idx. [-0, +0, raises] */
static const char *bytes(lua_State *L, int idx, size_t *n) {
  const char *p = ld_json_buffer(L, idx, n);
  return p ? p : luaL_checklstring(L, idx, n);
}

static journal *check_journal(lua_State *L) { return luaL_checkudata(L, 1, JOURNAL_MT); }

/* Writes all n bytes; returns 0 or an errno. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w, n -= (size_t)w;
  }
  return 0;
}

static void fail_journal(journal *j, int err) {
  j->failed = err ? err : EIO;
  fprintf(stderr, "warning: journal %s: cannot write (%s); the rest of this run is not journaled\n", j->path,
          strerror(j->failed));
}

/* J:write(piece, ...) -> true | false, err. The pieces (strings or
** json.encode(v, "b") buffers) make one line; a newline is added. [-n, +(1|2)] */
static int l_journal_write(lua_State *L) {
  journal *j = check_journal(L);
  if (j->fd < 0 || j->failed) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, j->fd < 0 ? "closed" : strerror(j->failed));
    return 2;
  }
  int top = lua_gettop(L);
  size_t n;
  for (int i = 2; i <= top; i++) bytes(L, i, &n); /* raises, if it must, before anything is held */
  ld_buf line = {0};
  for (int i = 2; i <= top; i++) {
    const char *p = bytes(L, i, &n);
    if (ld_buf_add(&line, p, n, 0)) goto nomem;
  }
  char *clean = NULL;
  size_t cn = 0;
  load_secrets();
  int r = ld_journal_scrub(line.p ? line.p : "", line.n, (const char *const *)S.value,
                           (const char *const *)S.mark, S.n, &clean, &cn);
  if (r < 0) goto nomem;
  if (r == 1) {
    ld_buf_free(&line);
    line.p = clean, line.n = cn, line.cap = cn + 1;
  }
  if (ld_buf_add(&line, "\n", 1, 0)) goto nomem;
  int err = write_all(j->fd, line.p, line.n);
  ld_buf_free(&line);
  if (err) {
    fail_journal(j, err);
    lua_pushboolean(L, 0);
    lua_pushstring(L, strerror(err));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
nomem:
  ld_buf_free(&line);
  return luaL_error(L, "out of memory");
}

/* J:sync(): the lines written so far reach the disk. [-1, +0] */
static int l_journal_sync(lua_State *L) {
  journal *j = check_journal(L);
  if (j->fd >= 0 && !j->failed && fsync(j->fd) != 0 && errno != EINVAL) fail_journal(j, errno);
  return 0;
}

static void close_journal(journal *j) {
  if (j->fd >= 0) {
    if (!j->failed && fsync(j->fd) != 0 && errno != EINVAL) fail_journal(j, errno);
    close(j->fd);
    j->fd = -1;
  }
}

/* J:close() (also __close): synced, then closed; twice is once. [-1, +0] */
static int l_journal_close(lua_State *L) {
  close_journal(check_journal(L));
  return 0;
}

static int l_journal_gc(lua_State *L) {
  journal *j = check_journal(L);
  close_journal(j);
  free(j->path);
  j->path = NULL;
  return 0;
}

/* J.path, J.failed (the error text, or nil). [-2, +1] */
static int l_journal_index(lua_State *L) {
  journal *j = check_journal(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "path") == 0)
    lua_pushstring(L, j->path);
  else if (strcmp(k, "failed") == 0)
    j->failed ? (void)lua_pushstring(L, strerror(j->failed)) : lua_pushnil(L);
  else if (luaL_getmetafield(L, 1, k) == LUA_TNIL)
    lua_pushnil(L);
  return 1;
}

/* journal.open(path [, exclusive]) -> J | nil, err. The file is created
** (0600) or emptied; exclusive: it must not exist. A symbolic link in its
** place is refused. [-(1|2), +(1|2)] */
static int l_journal_openfile(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int flags = lua_toboolean(L, 2) ? O_EXCL : O_TRUNC;
  lua_settop(L, 1);
  journal *j = lua_newuserdatauv(L, sizeof *j, 0);
  j->fd = -1, j->failed = 0, j->path = NULL;
  luaL_setmetatable(L, JOURNAL_MT);
  if (!(j->path = strdup(path))) return luaL_error(L, "out of memory");
  j->fd = open(path, O_WRONLY | O_CREAT | flags | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (j->fd < 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  return 1;
}

/* journal.sha256(s | buffer) -> hex. [-1, +1] */
static int l_journal_sha256(lua_State *L) {
  size_t n;
  const char *p = bytes(L, 1, &n);
  char hex[65];
  ld_digest_sha256_hex(p, n, hex);
  lua_pushlstring(L, hex, 64);
  return 1;
}

/* journal.clock() -> milliseconds since the epoch (wall clock: names and
** times of runs). [-0, +1] */
static int l_journal_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
  return 1;
}

/* journal.mkdirs(path) -> true | nil, err: the directory and its parents,
** made 0700 where missing. [-1, +(1|2)] */
static int l_journal_mkdirs(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *p = strdup(path);
  if (!p) return luaL_error(L, "out of memory");
  int err = 0;
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, 0700) != 0 && errno != EEXIST) err = errno;
      *s = c;
      if (err || c == '\0') break;
    }
  }
  free(p);
  struct stat st;
  if (!err && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) err = errno ? errno : ENOTDIR;
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(err));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

#define DIR_MT "llmdo.journal.dir"

/* The DIR of a listing is owned by a userdata, closed by its __gc: a
** memory error while the entries are pushed leaks nothing. */
static int l_dir_gc(lua_State *L) {
  DIR **box = luaL_checkudata(L, 1, DIR_MT);
  if (*box) closedir(*box), *box = NULL;
  return 0;
}

/* journal.list(dir [, stats]) -> { {name= [, size=, mtime=]}, ... } for
** the regular files named *.jsonl, unsorted; an absent directory lists
** nothing; nil, err on other failures. Without stats no file is stat'ed
** (unless the directory does not tell its entries' types): a run lists
** the journals it keeps at every start. [-(1|2), +(1|2)] */
static int l_journal_list(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1);
  int stats = lua_toboolean(L, 2);
  DIR **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, DIR_MT);
  *box = opendir(dir);
  lua_newtable(L);
  if (!*box) {
    if (errno == ENOENT) return 1;
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  int fd = dirfd(*box);
  lua_Integer i = 0;
  struct dirent *e;
  while ((e = readdir(*box)) != NULL) {
    size_t len = strlen(e->d_name);
    struct stat st;
    if (len < 7 || strcmp(e->d_name + len - 6, ".jsonl") != 0) continue;
    int need_stat = stats || e->d_type == DT_UNKNOWN;
    if (!need_stat && e->d_type != DT_REG) continue;
    if (need_stat && (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)))
      continue;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, e->d_name);
    lua_setfield(L, -2, "name");
    if (stats) {
      lua_pushinteger(L, (lua_Integer)st.st_size);
      lua_setfield(L, -2, "size");
      lua_pushinteger(L, (lua_Integer)st.st_mtime);
      lua_setfield(L, -2, "mtime");
    }
    lua_rawseti(L, -2, ++i);
  }
  closedir(*box);
  *box = NULL;
  return 1;
}

/* journal.stat(path) -> size, mtime | nil. [-1, +(1|2)] */
static int l_journal_stat(lua_State *L) {
  struct stat st;
  if (lstat(luaL_checkstring(L, 1), &st) != 0 || !S_ISREG(st.st_mode)) return lua_pushnil(L), 1;
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_pushinteger(L, (lua_Integer)st.st_mtime);
  return 2;
}

/* ---- body trackers (digest.h) ---- */

#define TRACKER_MT "llmdo.bodytrack"

typedef struct tracker {
  ld_bodytrack t;
  size_t clean; /* a prefix of the last body known to hold no secret */
  int nsecrets; /* how many secrets there were when it was found clean */
} tracker;

static int l_tracker_gc(lua_State *L) {
  tracker *tr = luaL_checkudata(L, 1, TRACKER_MT);
  ld_bodytrack_free(&tr->t);
  return 0;
}

/* Moves the split k of a body back until no secret can straddle it: the
** part before k was written in an earlier line (as part of the previous
** body), the part after is written in this one, and each was redacted on
** its own. A secret straddles k in either body only if the bytes just
** before k (shared by both) begin it, so those are what is checked. */
static size_t split_outside_secrets(const char *body, size_t n, size_t k) {
  for (int moved = 1; moved && k > 0;) {
    moved = 0;
    for (int i = 0; i < S.n && k > 0; i++) {
      size_t len = strlen(S.value[i]);
      for (size_t j = len - 1 < k ? len - 1 : k; j > 0; j--) {
        if (memcmp(body + k - j, S.value[i], j) == 0) {
          k -= j, moved = 1;
          break;
        }
      }
    }
  }
  while (k > 0 && k < n && ((unsigned char)body[k] & 0xC0) == 0x80) k--; /* not inside a UTF-8 character */
  return k;
}

/* T:feed(body) -> hash, keep, rest. hash: the body's SHA-256; keep: how
** many bytes of the previous body, as the journal wrote it (secrets
** redacted), start this one; rest: the bytes after them (nil, with keep 0,
** when the body must be written whole). [-2, +3] */
static int l_tracker_feed(lua_State *L) {
  tracker *tr = luaL_checkudata(L, 1, TRACKER_MT);
  size_t n;
  const char *body = bytes(L, 2, &n);
  load_secrets();
  char hex[65];
  size_t k = ld_bodytrack_feed(&tr->t, body, n, 0, hex);
  if (k == (size_t)-1) {
    ld_digest_sha256_hex(body, n, hex);
    k = 0;
  }
  k = split_outside_secrets(body, n, k);
  lua_pushlstring(L, hex, 64);
  if (k == 0) {
    tr->clean = 0;
    lua_pushinteger(L, 0);
    lua_pushnil(L);
    return 3;
  }
  /* how many bytes [0, k) takes as written (secrets redacted): only what
  ** lies past the prefix known to hold no secret is searched, so a turn
  ** costs the same whatever the conversation's length */
  if (tr->nsecrets != S.n) tr->clean = 0, tr->nsecrets = S.n;
  if (tr->clean > k) tr->clean = k;
  size_t maxlen = S.n ? strlen(S.value[0]) : 0;
  size_t from = tr->clean > maxlen ? tr->clean - maxlen : 0;
  char *clean = NULL;
  size_t written = k - from;
  int r = ld_journal_scrub(body + from, k - from, (const char *const *)S.value, (const char *const *)S.mark,
                           S.n, &clean, &written);
  free(clean);
  if (r < 0) return luaL_error(L, "out of memory");
  if (r == 0) {
    tr->clean = k, written = k;
  } else { /* a secret in the prefix: count it all */
    r = ld_journal_scrub(body, k, (const char *const *)S.value, (const char *const *)S.mark, S.n, &clean,
                         &written);
    free(clean);
    if (r < 0) return luaL_error(L, "out of memory");
    if (r == 0) written = k;
  }
  lua_pushinteger(L, (lua_Integer)written);
  lua_pushlstring(L, body + k, n - k);
  return 3;
}

/* journal.tracker() -> T, for the request bodies of one worker call. [-0, +1] */
static int l_journal_tracker(lua_State *L) {
  tracker *t = lua_newuserdatauv(L, sizeof *t, 0);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, TRACKER_MT);
  return 1;
}

int ld_journal_open_module(lua_State *L) {
  static const luaL_Reg meta[] = {{"write", l_journal_write},
                                  {"sync", l_journal_sync},
                                  {"close", l_journal_close},
                                  {"__close", l_journal_close},
                                  {"__gc", l_journal_gc},
                                  {"__index", l_journal_index},
                                  {NULL, NULL}};
  static const luaL_Reg fns[] = {{"open", l_journal_openfile},
                                 {"sha256", l_journal_sha256},
                                 {"mkdirs", l_journal_mkdirs},
                                 {"list", l_journal_list},
                                 {"stat", l_journal_stat},
                                 {"clock", l_journal_clock},
                                 {"tracker", l_journal_tracker},
                                 {"add_secret", l_journal_add_secret},
                                 {"has_secret", l_journal_has_secret},
                                 {NULL, NULL}};
  if (luaL_newmetatable(L, JOURNAL_MT)) luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
  if (luaL_newmetatable(L, DIR_MT)) {
    lua_pushcfunction(L, l_dir_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, TRACKER_MT)) {
    static const luaL_Reg tmeta[] = {{"__gc", l_tracker_gc}, {"feed", l_tracker_feed}, {NULL, NULL}};
    luaL_setfuncs(L, tmeta, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_newlib(L, fns);
  return 1;
}
