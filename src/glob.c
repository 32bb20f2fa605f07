/*
** glob: wildcard matching. See glob.h.
*/
#include "glob.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

static int fold(int c, int flags) { return (flags & LD_GLOB_CASEFOLD) ? tolower(c) : c; }

/*
** Matches character c against the class starting after '[' at *pp.
** Returns 1/0 and advances *pp past ']'; -1 if the class is not closed
** (then '[' is an ordinary character, as in fnmatch).
*/
static int match_class(const char **pp, const char *end, int c, int flags) {
  const char *p = *pp;
  int negate = 0, hit = 0;
  if (p < end && (*p == '!' || *p == '^')) negate = 1, p++;
  const char *first = p;
  while (p < end && (*p != ']' || p == first)) {
    int lo = fold((unsigned char)*p, flags), hi = lo;
    if (p + 2 < end && p[1] == '-' && p[2] != ']') {
      hi = fold((unsigned char)p[2], flags);
      p += 2;
    }
    if (c >= lo && c <= hi) hit = 1;
    p++;
  }
  if (p >= end) return -1;
  *pp = p + 1;
  return hit != negate;
}

/*
** Classic wildcard matching of [p, pe) against [s, se) with a single
** backtrack point: correct for '*' and linear-times-linear at worst.
*/
static int match_span(const char *p, const char *pe, const char *s, const char *se, int flags) {
  const char *star_p = NULL, *star_s = NULL;
  while (s < se) {
    if (p < pe && *p == '*') {
      while (p < pe && *p == '*') p++;
      star_p = p;
      star_s = s;
      continue;
    }
    if (p < pe) {
      int c = fold((unsigned char)*s, flags);
      if (*p == '?') {
        p++, s++;
        continue;
      }
      if (*p == '[') {
        const char *q = p + 1;
        int r = match_class(&q, pe, c, flags);
        if (r == 1) {
          p = q, s++;
          continue;
        }
        if (r == -1 && c == '[') {
          p++, s++;
          continue;
        }
      } else if (fold((unsigned char)*p, flags) == c) {
        p++, s++;
        continue;
      }
    }
    if (!star_p) return 0;
    p = star_p;
    s = ++star_s;
  }
  while (p < pe && *p == '*') p++;
  return p == pe;
}

typedef struct seg {
  const char *p;
  size_t n;
} seg;

static size_t split(const char *s, seg *out, size_t cap) {
  size_t n = 0;
  for (;;) {
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    if (n == cap) return (size_t)-1;
    out[n++] = (seg){s, len};
    if (!slash) return n;
    s = slash + 1;
  }
}

#define MAX_SEGS 128

/* Segment-wise matching; memo[i*(ns+1)+j] marks (i, j) already failed. */
static int match_segs(const seg *ps, size_t np, size_t i, const seg *ss, size_t ns, size_t j,
                      unsigned char *memo, int flags) {
  for (;;) {
    if (memo[i * (ns + 1) + j]) return 0;
    if (i == np) return j == ns;
    if (ps[i].n == 2 && memcmp(ps[i].p, "**", 2) == 0) {
      for (size_t k = j; k <= ns; k++)
        if (match_segs(ps, np, i + 1, ss, ns, k, memo, flags)) return 1;
      memo[i * (ns + 1) + j] = 1;
      return 0;
    }
    if (j == ns || !match_span(ps[i].p, ps[i].p + ps[i].n, ss[j].p, ss[j].p + ss[j].n, flags)) {
      memo[i * (ns + 1) + j] = 1;
      return 0;
    }
    i++, j++;
  }
}

int ld_glob_match(const char *pattern, const char *str, int flags) {
  if (!(flags & LD_GLOB_PATHNAME))
    return match_span(pattern, pattern + strlen(pattern), str, str + strlen(str), flags);
  seg ps[MAX_SEGS], ss[MAX_SEGS];
  size_t np = split(pattern, ps, MAX_SEGS), ns = split(str, ss, MAX_SEGS);
  if (np == (size_t)-1 || ns == (size_t)-1) return 0;
  unsigned char *memo = calloc((np + 1) * (ns + 1), 1);
  if (!memo) return 0;
  int r = match_segs(ps, np, 0, ss, ns, 0, memo, flags);
  free(memo);
  return r;
}

int l_glob_match(lua_State *L) {
  const char *pattern = luaL_checkstring(L, 1);
  const char *str = luaL_checkstring(L, 2);
  const char *opts = luaL_optstring(L, 3, "");
  int flags = (strchr(opts, 'i') ? LD_GLOB_CASEFOLD : 0) | (strchr(opts, 'p') ? LD_GLOB_PATHNAME : 0);
  lua_pushboolean(L, ld_glob_match(pattern, str, flags));
  return 1;
}
