/*
** fs: confined file access. See fs.h.
**
** An operation (fs_op) is malloc'd by the Lua-facing function after all its
** arguments are checked, runs its system calls on the thread pool (no Lua
** there), and is freed in the after-work callback, which hands the results
** to the waiting task - or, if the task was cancelled meanwhile, drops them.
*/
#define _GNU_SOURCE
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lauxlib.h>
#include <uv.h>

#include "buf.h"
#include "error.h"
#include "own.h"
#include "sched.h"

/* --- paths ------------------------------------------------------------------- */

int ld_fs_normalize(const char *path, size_t len, char *out, size_t outlen) {
  if (memchr(path, '\0', len) || (len > 0 && path[0] == '/')) return LD_FS_ESCAPE;
  if (len >= PATH_MAX) return LD_FS_TOO_LONG;
  size_t n = 0, depth = 0;
  size_t starts[PATH_MAX / 2];
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && path[j] != '/') j++;
    size_t clen = j - i;
    const char *c = path + i;
    i = j + 1;
    if (clen == 0 || (clen == 1 && c[0] == '.')) continue;
    if (clen == 2 && c[0] == '.' && c[1] == '.') {
      if (depth == 0) return LD_FS_ESCAPE; /* climbs above the base */
      n = starts[--depth];
      continue;
    }
    if (clen > NAME_MAX) return LD_FS_NAME_TOO_LONG;
    size_t at = n ? n + 1 : 0;
    if (at + clen + 1 > outlen) return LD_FS_TOO_LONG;
    if (n) out[n] = '/';
    starts[depth++] = n;
    memcpy(out + at, c, clen);
    n = at + clen;
  }
  out[n] = '\0';
  return 0;
}

static int have_openat2 = 1;

/* The fallback: one component at a time, never following a symlink. */
static int open_walk(int base, const char *rel, int flags, int mode) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", rel);
  int dir = dup(base);
  if (dir < 0) return -1;
  char *p = buf;
  for (;;) {
    char *slash = strchr(p, '/');
    if (!slash) break;
    *slash = '\0';
    struct stat st;
    if (fstatat(dir, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      close(dir);
      errno = EXDEV;
      return -1;
    }
    int next = openat(dir, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dir);
    if (next < 0) {
      errno = e;
      return -1;
    }
    dir = next;
    p = slash + 1;
  }
  int fd = openat(dir, *p ? p : ".", flags | O_NOFOLLOW | O_CLOEXEC, mode);
  int e = errno;
  if (fd < 0 && e == ELOOP) e = EXDEV; /* the last component is a symlink */
  close(dir);
  errno = e;
  return fd;
}

int ld_fs_open_beneath(int base, const char *rel, int flags, int mode) {
  if (*rel == '\0') rel = ".";
  if (have_openat2) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? (unsigned long long)mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    int fd = (int)syscall(SYS_openat2, base, rel, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS) return fd;
    have_openat2 = 0;
  }
  return open_walk(base, rel, flags, mode);
}

/* --- operations ------------------------------------------------------------------ */

enum { OP_READ, OP_WRITE, OP_LIST };

typedef struct fs_op {
  uv_work_t req;
  ld_task *task;
  int kind;
  char *base, *rel;
  char *data; /* read: the bytes; write: what to write */
  size_t len, max;
  ld_buf names; /* list: the char * of each name, in order */
  const char *err_kind;
  char errmsg[256];
} fs_op;

static void fail(fs_op *op, int e) {
  op->err_kind = e == EXDEV || e == ELOOP ? "escape"
                 : e == ENOENT            ? "not_found"
                 : e == EISDIR            ? "not_file"
                 : e == ENOTDIR           ? "not_dir"
                                          : "io";
  snprintf(op->errmsg, sizeof op->errmsg, "%s", strerror(e));
}

static void too_large(fs_op *op) {
  op->err_kind = "too_large";
  snprintf(op->errmsg, sizeof op->errmsg, "more than %zu bytes", op->max);
}

static int open_base(fs_op *op) {
  int b = open(op->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (b < 0) {
    op->err_kind = "io";
    snprintf(op->errmsg, sizeof op->errmsg, "the base directory %s: %s", op->base, strerror(errno));
  }
  return b;
}

/* 0 for a regular file with one name; otherwise the op's error, and -1. */
static int check_file(fs_op *op, const struct stat *st) {
  mode_t m = st->st_mode;
  if (S_ISREG(m) && st->st_nlink <= 1) return 0;
  if (S_ISREG(m)) {
    op->err_kind = "hard_link";
    snprintf(op->errmsg, sizeof op->errmsg, "refused: hard-linked file, link count %ju",
             (uintmax_t)st->st_nlink);
  } else if (S_ISDIR(m)) {
    fail(op, EISDIR);
  } else if (S_ISLNK(m)) { /* the fallback walk opened the link itself */
    fail(op, EXDEV);
  } else {
    op->err_kind = "not_regular";
    snprintf(op->errmsg, sizeof op->errmsg, "not a regular file: %s",
             S_ISFIFO(m)   ? "a FIFO"
             : S_ISSOCK(m) ? "a socket"
             : S_ISCHR(m)  ? "a character device"
             : S_ISBLK(m)  ? "a block device"
                           : "of an unknown type");
  }
  return -1;
}

/* Opens rel beneath base and checks what fstat (into st) says of it; -1
** (the op's error set) when that fails or check_file refuses it. */
static int open_checked(fs_op *op, int base, const char *rel, int flags, struct stat *st) {
  int fd = ld_fs_open_beneath(base, rel, flags, 0);
  if (fd < 0) {
    fail(op, errno);
    return -1;
  }
  if (fstat(fd, st) != 0) {
    fail(op, errno);
    close(fd);
    return -1;
  }
  if (check_file(op, st) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int resolve(int base, const char *rel, char *out, size_t outlen);

/*
** 0 if rel still names the file just opened (fd, st) and that is its only
** name, or if fd's file has no name left (replaced by a rename or deleted);
** else the hard-link refusal, and -1. One fstatat reads the name's inode
** and link count at one moment: a hard link to a file outside, swapped in
** for the open and out again before fstat(fd) (which then counts one
** link), is caught here, since at any moment the name and the outside
** name are two links. [no Lua]
*/
static int still_named(fs_op *op, int base, const char *rel, int fd, const struct stat *st) {
  char path[PATH_MAX]; /* rel with its links beneath the base followed, as the open did */
  int e = resolve(base, rel, path, sizeof path);
  if (e) {
    fail(op, e);
    return -1;
  }
  char *slash = strrchr(path, '/');
  const char *name = path;
  int dir = base;
  if (slash) {
    *slash = '\0';
    name = slash + 1;
    dir = ld_fs_open_beneath(base, path[0] ? path : "/", O_PATH | O_DIRECTORY, 0);
    if (dir < 0) {
      fail(op, errno);
      return -1;
    }
  }
  struct stat now, held;
  int r = fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW);
  if (dir != base) close(dir);
  if (r == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino && now.st_nlink == 1) return 0;
  /* Renamed over or deleted since the open (write_file's atomic rename does
  ** that): a file with no name left had no name outside either. */
  if (fstat(fd, &held) == 0 && held.st_nlink == 0) return 0;
  op->err_kind = "hard_link";
  snprintf(op->errmsg, sizeof op->errmsg, "refused: hard-linked file, link count %ju",
           (uintmax_t)(r == 0 && now.st_ino == st->st_ino ? now.st_nlink : 2));
  return -1;
}

static void do_read(fs_op *op, int base) {
  /* First an O_PATH look, which opens nothing: a FIFO or a device is
  ** refused before any open could block or reach its driver. */
  struct stat st;
  int fd = open_checked(op, base, op->rel, O_PATH, &st);
  if (fd < 0) return;
  close(fd);
  /* The name may have been swapped since: O_NONBLOCK keeps a FIFO from
  ** blocking this open, and the file is checked again. */
  fd = open_checked(op, base, op->rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, &st);
  if (fd < 0) return;
  if (still_named(op, base, op->rel, fd, &st) != 0) {
    close(fd);
    return;
  }
  if ((size_t)st.st_size > op->max) {
    close(fd);
    return too_large(op);
  }
  op->data = malloc((size_t)st.st_size + 1);
  if (!op->data) {
    close(fd);
    return fail(op, ENOMEM);
  }
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, op->data + n, (size_t)st.st_size + 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      return fail(op, e);
    }
    if (r == 0) break;
    n += (size_t)r;
    if (n > op->max) { /* it grew while we read */
      close(fd);
      return too_large(op);
    }
    if (n == (size_t)st.st_size + 1) break;
  }
  close(fd);
  op->len = n;
}

/* Follows the symlinks in rel as the kernel would, beneath base, and writes
** the link-free path they lead to into out, so that write_file replaces the
** file a link names rather than the link. Past the first missing name the
** rest is kept as it is (write_file creates it). The opens that follow are
** still confined by the kernel: a link swapped in meanwhile cannot lead
** out. Returns 0 or an errno value. */
static int resolve(int base, const char *rel, char *out, size_t outlen) {
  char todo[PATH_MAX], link[PATH_MAX];
  if (snprintf(todo, sizeof todo, "%s", rel) >= (int)sizeof todo) return ENAMETOOLONG;
  size_t n = 0;
  int links = 0, missing = 0;
  out[0] = '\0';
  char *p = todo;
  while (*p) {
    char *c = p;
    while (*p && *p != '/') p++;
    size_t clen = (size_t)(p - c);
    if (*p) *p++ = '\0';
    if (clen == 0 || strcmp(c, ".") == 0) continue;
    if (strcmp(c, "..") == 0) {
      if (missing) return ENOENT;
      if (n == 0) return EXDEV;
      char *up = strrchr(out, '/');
      n = up ? (size_t)(up - out) : 0;
      out[n] = '\0';
      continue;
    }
    if (!missing) {
      int dir = ld_fs_open_beneath(base, out, O_PATH | O_DIRECTORY, 0);
      if (dir < 0) return errno;
      struct stat st;
      if (fstatat(dir, c, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        close(dir);
        if (e != ENOENT) return e;
        missing = 1;
      } else if (S_ISLNK(st.st_mode)) {
        ssize_t len = have_openat2 && ++links <= 40 ? readlinkat(dir, c, link, sizeof link - 1) : -2;
        int e = errno;
        close(dir);
        if (len == -2) return have_openat2 ? ELOOP : EXDEV;
        if (len < 0) return e;
        if (len == 0 || link[0] == '/') return EXDEV;
        size_t rest = strlen(p);
        if ((size_t)len + 1 + rest + 1 > sizeof todo) return ENAMETOOLONG;
        memmove(todo + len + 1, p, rest + 1);
        memcpy(todo, link, (size_t)len);
        todo[len] = '/';
        p = todo;
        continue;
      } else {
        close(dir);
      }
    }
    size_t at = n ? n + 1 : 0;
    if (at + clen + 1 > outlen) return ENAMETOOLONG;
    if (n) out[n] = '/';
    memcpy(out + at, c, clen + 1);
    n = at + clen;
  }
  return 0;
}

/* Opens (making what is missing) each directory of path beneath base in
** turn; path is cut up in place. Returns the last one, or -1 (error set). */
static int make_dirs(fs_op *op, int base, char *path) {
  int dir = dup(base);
  if (dir < 0) {
    fail(op, errno);
    return -1;
  }
  for (char *p = path, *next; p && *p; p = next) {
    next = strchr(p, '/');
    if (next) *next++ = '\0';
    int fd = ld_fs_open_beneath(dir, p, O_PATH | O_DIRECTORY, 0);
    if (fd < 0 && errno == ENOENT) {
      if (mkdirat(dir, p, 0777) != 0 && errno != EEXIST) {
        fail(op, errno);
        close(dir);
        return -1;
      }
      fd = ld_fs_open_beneath(dir, p, O_PATH | O_DIRECTORY, 0);
    }
    int e = errno;
    close(dir);
    if (fd < 0) {
      fail(op, e);
      return -1;
    }
    dir = fd;
  }
  return dir;
}

/* A name for the temporary file beside 'name', unlikely to be guessed; the
** O_EXCL create is what makes it safe. */
static void temp_name(char *out, const char *name) {
  static _Atomic unsigned long counter;
  unsigned long long v;
  if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
    v = uv_hrtime() ^ ((unsigned long long)getpid() << 40) ^ (unsigned long long)++counter << 20;
  snprintf(out, NAME_MAX + 1, ".%.*s.%016llx.tmp", NAME_MAX - 22, name, v);
}

static int write_all(int fd, const char *p, size_t len) {
  size_t n = 0;
  while (n < len) {
    ssize_t w = write(fd, p + n, len - n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    n += (size_t)w;
  }
  return 0;
}

/* Replaces dir/name atomically: a temporary file beside it, written and
** synced, then renamed over it; the temporary file goes on any failure.
** An existing target must be a writable regular file with one name; its
** permission bits are kept, and its owner and group when the process may
** set them. */
static void replace(fs_op *op, int dir, const char *name) {
  struct stat st;
  int exists = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT) return fail(op, errno);
  if (exists && check_file(op, &st) != 0) return;
  /* a rename needs only the directory writable; keep a read-only file so */
  if (exists && faccessat(dir, name, W_OK, AT_EACCESS) != 0) return fail(op, errno);
  char tmp[NAME_MAX + 1];
  int fd = -1;
  for (int i = 0; i < 8 && fd < 0; i++) {
    temp_name(tmp, name);
    fd = ld_fs_open_beneath(dir, tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0 && errno != EEXIST) return fail(op, errno);
  }
  if (fd < 0) return fail(op, EEXIST);
  int e = 0;
  if (exists) {
    /* keep the owner, else at least the group */
    if ((st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd, st.st_uid, st.st_gid) != 0 &&
        fchown(fd, (uid_t)-1, st.st_gid) != 0) {
      /* neither is permitted: the file is the writer's, as a new one would be */
    }
    if (fchmod(fd, st.st_mode & 0777) != 0) e = errno;
  }
  if (!e) e = write_all(fd, op->data, op->len);
  if (!e && fsync(fd) != 0) e = errno;
  if (close(fd) != 0 && !e) e = errno;
  if (!e && renameat(dir, tmp, dir, name) != 0) e = errno;
  if (e) {
    unlinkat(dir, tmp, 0);
    fail(op, e);
  }
}

static void do_write(fs_op *op, int base) {
  char real[PATH_MAX];
  int e = resolve(base, op->rel, real, sizeof real);
  if (e) return fail(op, e);
  if (real[0] == '\0') return fail(op, EISDIR); /* a link to the base itself */
  char *slash = strrchr(real, '/');
  const char *name = real;
  if (slash) {
    *slash = '\0';
    name = slash + 1;
  }
  int dir = make_dirs(op, base, slash ? real : NULL);
  if (dir < 0) return;
  replace(op, dir, name);
  close(dir);
}

/* The i-th name listed (the buffer holds pointers, unaligned-safe). */
static char *name_at(const fs_op *op, size_t i) {
  char *s;
  memcpy(&s, op->names.p + i * sizeof s, sizeof s);
  return s;
}

static size_t name_count(const fs_op *op) { return op->names.n / sizeof(char *); }

static int add_name(fs_op *op, const char *prefix, const char *name) {
  if (name_count(op) == op->max) return -1;
  size_t len = strlen(prefix) + strlen(name) + 2;
  char *s = malloc(len);
  if (!s || ld_buf_add(&op->names, &s, sizeof s, 0) != 0) {
    free(s);
    return -1;
  }
  snprintf(s, len, "%s%s%s", prefix, *prefix ? "/" : "", name);
  return 0;
}

/* Files beneath the open directory fd (consumed), recursively; symlinks are
** not followed (they could lead out). */
static int walk(fs_op *op, int fd, const char *prefix, int depth) {
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return 0;
  }
  struct dirent *e;
  int r = 0;
  while (r == 0 && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
    }
    if (type == DT_REG) {
      r = add_name(op, prefix, e->d_name);
    } else if (type == DT_DIR && depth < 64) {
      int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) continue;
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name);
      r = walk(op, sub, path, depth + 1);
    }
  }
  closedir(d);
  return r;
}

static void do_list(fs_op *op, int base) {
  int fd = ld_fs_open_beneath(base, op->rel, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return fail(op, errno);
  if (walk(op, fd, "", 0) != 0 && name_count(op) == op->max) {
    op->err_kind = "too_large";
    snprintf(op->errmsg, sizeof op->errmsg, "more than %zu files", op->max);
  }
}

static void work(uv_work_t *req) {
  fs_op *op = req->data;
  int base = open_base(op);
  if (base < 0) return;
  if (op->kind == OP_READ)
    do_read(op, base);
  else if (op->kind == OP_WRITE)
    do_write(op, base);
  else
    do_list(op, base);
  close(base);
}

static void free_op(fs_op *op) {
  for (size_t i = 0; i < name_count(op); i++) free(name_at(op, i));
  ld_buf_free(&op->names);
  free(op->data);
  free(op->base);
  free(op->rel);
  free(op);
}

/* Thread-pool completion: wake the task; its continuation reads the op. */
static void free_any(void *p) { free_op(p); }

static void after_work(uv_work_t *req, int status) {
  fs_op *op = req->data;
  ld_task *t = op->task;
  if (!t) { /* cancelled while it ran */
    free_op(op);
    return;
  }
  if (status == UV_ECANCELED) {
    op->err_kind = "io";
    snprintf(op->errmsg, sizeof op->errmsg, "cancelled");
  }
  ld_task_wake(t, 0);
}

/* Continuation: the results, as Lua values. */
static int fs_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  fs_op *op = (fs_op *)ctx;
  ld_own_push(L, op, free_any);
  int base = lua_gettop(L);
  if (op->err_kind) {
    lua_pushnil(L);
    lua_pushstring(L, op->err_kind);
    lua_pushstring(L, op->errmsg);
  } else if (op->kind == OP_READ) {
    lua_pushlstring(L, op->data, op->len);
  } else if (op->kind == OP_WRITE) {
    lua_pushboolean(L, 1);
  } else {
    lua_createtable(L, (int)name_count(op), 0);
    for (size_t i = 0; i < name_count(op); i++) {
      lua_pushstring(L, name_at(op, i));
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
  }
  int n = lua_gettop(L) - base;
  ld_own_free(L, base);
  return n;
}

static void cancel(void *ud, ld_task *t) {
  fs_op *op = ud;
  op->task = NULL; /* after_work frees it; the results are dropped */
  ld_task_abort(t);
}

/* Queues op on the thread pool and waits. Returns early with (nil, "escape"
** or "too_long", message) for a path that fails lexical normalisation. */
static int start(lua_State *L, int kind, const char *what) {
  const char *base = luaL_checkstring(L, 1);
  size_t plen;
  const char *path = luaL_checklstring(L, 2, &plen);
  size_t dlen = 0;
  const char *data = kind == OP_WRITE ? luaL_checklstring(L, 3, &dlen) : NULL;
  lua_Integer max = luaL_checkinteger(L, kind == OP_WRITE ? 4 : 3);
  ld_task *t = ld_task_check(L, what);
  char rel[PATH_MAX];
  int bad = ld_fs_normalize(path, plen, rel, sizeof rel);
  if (bad) {
    lua_pushnil(L);
    if (bad == LD_FS_ESCAPE) {
      lua_pushliteral(L, "escape");
      lua_pushliteral(L, "outside the base directory");
    } else {
      lua_pushliteral(L, "too_long");
      if (bad == LD_FS_NAME_TOO_LONG)
        lua_pushfstring(L, "a name in the path is longer than %d bytes", NAME_MAX);
      else
        lua_pushfstring(L, "the path is %I bytes; the limit is %d", (lua_Integer)plen, PATH_MAX - 1);
    }
    return 3;
  }
  if (kind == OP_WRITE && (size_t)max < dlen) {
    lua_pushnil(L);
    lua_pushliteral(L, "too_large");
    lua_pushfstring(L, "%d bytes, more than the limit", (int)dlen);
    return 3;
  }
  if (kind == OP_WRITE && rel[0] == '\0') {
    lua_pushnil(L);
    lua_pushliteral(L, "not_file");
    lua_pushliteral(L, "the base directory itself");
    return 3;
  }
  fs_op *op = calloc(1, sizeof *op);
  if (!op) return luaL_error(L, "not enough memory");
  op->kind = kind;
  op->max = (size_t)max;
  op->base = strdup(base);
  op->rel = strdup(rel);
  if (data) {
    op->data = malloc(dlen ? dlen : 1);
    if (op->data) memcpy(op->data, data, dlen);
    op->len = dlen;
  }
  if (!op->base || !op->rel || (data && !op->data)) {
    free_op(op);
    return luaL_error(L, "not enough memory");
  }
  op->task = t;
  op->req.data = op;
  int r = uv_queue_work(ld_sched_loop(ld_sched_get(L)), &op->req, work, after_work);
  if (r != 0) {
    free_op(op);
    return luaL_error(L, "cannot queue file work: %s", uv_strerror(r));
  }
  lua_settop(L, 0);
  return ld_task_wait(L, t, cancel, op, (lua_KContext)op, fs_k);
}

int l_fs_read(lua_State *L) { return start(L, OP_READ, "fs_read"); }
int l_fs_write(lua_State *L) { return start(L, OP_WRITE, "fs_write"); }
int l_fs_list(lua_State *L) { return start(L, OP_LIST, "fs_list"); }
