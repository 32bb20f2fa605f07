/*
** fuzz_glob: wildcard matching. The first byte holds the flags; the rest
** is the pattern, a NUL, and the string. Besides not crashing (and not
** taking long: libFuzzer's timeout), matching must agree with itself
** under case folding and path mode, and with a plain dynamic-programming
** matcher on patterns without classes.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "glob.h"

/* '*' and '?' over whole strings by dynamic programming: the reference. */
static int reference(const char *p, const char *s) {
  size_t np = strlen(p), ns = strlen(s);
  /* row[j]: does p[0..i) match s[0..j)? */
  unsigned char *row = calloc(ns + 1, 1), *next = calloc(ns + 1, 1);
  if (!row || !next) fuzz_fail("out of memory");
  row[0] = 1;
  for (size_t i = 0; i < np; i++) {
    memset(next, 0, ns + 1);
    for (size_t j = 0; j <= ns; j++) {
      if (p[i] == '*')
        next[j] = row[j] || (j > 0 && next[j - 1]);
      else if (j > 0)
        next[j] = row[j - 1] && (p[i] == '?' || p[i] == s[j - 1]);
    }
    unsigned char *t = row;
    row = next;
    next = t;
  }
  int r = row[ns];
  free(row);
  free(next);
  return r;
}

static char *lower(const char *s) {
  char *t = strdup(s);
  if (!t) fuzz_fail("out of memory");
  for (char *q = t; *q; q++) *q = (char)tolower((unsigned char)*q);
  return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int flags = data[0] & (LD_GLOB_CASEFOLD | LD_GLOB_PATHNAME);
  char *buf = malloc(size + 1); /* pattern NUL string NUL */
  if (!buf) fuzz_fail("out of memory");
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = buf[size] = '\0';
  const char *pattern = buf, *str = buf + strlen(buf) + (strlen(buf) < size - 1 ? 1 : 0);
  int r = ld_glob_match(pattern, str, flags);
  if (r != 0 && r != 1) fuzz_fail("glob_match returned %d", r);
  if (flags & LD_GLOB_CASEFOLD) {
    char *lp = lower(pattern), *ls = lower(str);
    int folded = ld_glob_match(lp, ls, flags & ~LD_GLOB_CASEFOLD);
    free(lp);
    free(ls);
    if (folded != r) fuzz_fail("case folding: %d, lower-cased: %d", r, folded);
  }
  if (!strchr(pattern, '/') && !strchr(str, '/')) {
    int other = ld_glob_match(pattern, str, flags ^ LD_GLOB_PATHNAME);
    if (other != r) fuzz_fail("without '/', path mode changed the answer");
  }
  if (!(flags & (LD_GLOB_CASEFOLD | LD_GLOB_PATHNAME)) && !strchr(pattern, '[') && strlen(pattern) <= 64 &&
      strlen(str) <= 64 && reference(pattern, str) != r)
    fuzz_fail("the reference matcher disagrees (glob_match says %d)", r);
  free(buf);
  return 0;
}
