/*
** fuzz_fs: path confinement. The first byte picks the open flags and the
** size of the output buffer; the rest is the path. A path that normalises
** must come out clean (no ".", "..", "//", leading or trailing '/') and
** normalise to itself; whatever ld_fs_open_beneath opens must lie beneath
** the base, a temporary directory holding symlinks that lead out of it
** (to a sibling directory, so that a bug cannot write anywhere that
** matters), within it, to itself, and in a loop.
*/
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "fuzz.h"

static char top[PATH_MAX], base[PATH_MAX];
static int base_fd = -1;

static void must(int ok, const char *what) {
  if (!ok) fuzz_fail("setting up the base: %s", what);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(path);
}

static void cleanup(void) {
  if (nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
    fprintf(stderr, "fuzz_fs: could not remove %s\n", top);
}

static void setup(void) {
  snprintf(top, sizeof top, "%s/llmdo-fuzz-fs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  must(mkdtemp(top) != NULL, "mkdtemp");
  must(realpath(top, base) != NULL, "realpath");
  snprintf(top, sizeof top, "%s", base);
  char outside[PATH_MAX];
  snprintf(outside, sizeof outside, "%s/outside", top);
  must(mkdir(outside, 0700) == 0, "mkdir outside");
  snprintf(base, sizeof base, "%s/base", top);
  must(mkdir(base, 0700) == 0, "mkdir base");
  atexit(cleanup);
  base_fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
  must(base_fd >= 0, "open base");
  must(mkdirat(base_fd, "d", 0700) == 0 && mkdirat(base_fd, "d/e", 0700) == 0, "mkdir d/e");
  const char *files[] = {"f", "d/f", "d/e/g"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    int fd = openat(base_fd, files[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    must(fd >= 0 && write(fd, "x", 1) == 1, files[i]);
    close(fd);
  }
  const char *links[][2] = {
      {"..", "up"},
      {"../outside", "sibling"},
      {outside, "abs"},
      {base, "abs_self"},
      {".", "self"},
      {"loop", "loop"},
      {"../f", "d/back"},
      {"../..", "d/out"},
      {"e/g", "d/down"},
      {"missing", "dangling"},
      {"/proc/self/cwd", "magic"},
  };
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    must(symlinkat(links[i][0], base_fd, links[i][1]) == 0, links[i][1]);
}

/* Is the normalised path clean? */
static void check_clean(const char *out) {
  size_t n = strlen(out);
  if (n == 0) return;
  if (out[0] == '/' || out[n - 1] == '/' || strstr(out, "//")) fuzz_fail("unclean separators: %s", out);
  for (const char *c = out; c;) {
    const char *slash = strchr(c, '/');
    size_t len = slash ? (size_t)(slash - c) : strlen(c);
    if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
      fuzz_fail("a dot component left in %s", out);
    c = slash ? slash + 1 : NULL;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (base_fd < 0) setup();
  static const int modes[] = {O_RDONLY, O_RDONLY | O_DIRECTORY, O_PATH, O_WRONLY | O_CREAT | O_EXCL};
  int flags = modes[data[0] & 3];
  /* exactly the buffer's size, so that ASan sees any write past it */
  size_t outlen = (data[0] & 4) ? 1 + (data[0] >> 3) : PATH_MAX;
  const char *path = (const char *)data + 1;
  size_t len = size - 1;
  char *out = malloc(outlen), *again = malloc(outlen);
  if (!out || !again) fuzz_fail("out of memory");
  if (ld_fs_normalize(path, len, out, outlen) == 0) {
    check_clean(out);
    if (ld_fs_normalize(out, strlen(out), again, outlen) != 0 || strcmp(out, again) != 0)
      fuzz_fail("normalising %s again gave something else", out);
    int fd = ld_fs_open_beneath(base_fd, out, flags | O_NONBLOCK, 0600);
    if (fd >= 0) {
      char proc[64], where[PATH_MAX];
      snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
      ssize_t n = readlink(proc, where, sizeof where - 1);
      if (n < 0) fuzz_fail("readlink %s failed", proc);
      where[n] = '\0';
      size_t bl = strlen(base);
      if (strncmp(where, base, bl) != 0 || (where[bl] != '\0' && where[bl] != '/'))
        fuzz_fail("opened %s for %s, outside the base %s", where, out, base);
      if (flags & O_CREAT) unlink(where);
      close(fd);
    }
  }
  free(out);
  free(again);
  return 0;
}
