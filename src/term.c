/*
** term: escaping for the terminal. See term.h.
*/
#include "term.h"

#include <string.h>

#include <lauxlib.h>

#include "json.h"

static int hidden(unsigned cp) {
  return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

void ld_term_escape(const char *str, size_t n, int flags, ld_term_sink put, void *ud) {
  const unsigned char *s = (const unsigned char *)str;
  size_t run = 0, i = 0; /* s[run..i) is safe as it is */
  while (i < n) {
    unsigned char c = s[i];
    unsigned cp = c;
    size_t len = 1;
    if (c >= 0x80) len = ld_json_utf8_char(s + i, n - i, &cp);
    if (c == '\t' || (c == '\n' && (flags & LD_TERM_LINES)) || (c >= 0x20 && c < 0x7F) ||
        (len && c >= 0x80 && !hidden(cp))) {
      i += len;
      continue;
    }
    char esc[12];
    if (c == '\n' || c == '\r')
      snprintf(esc, sizeof esc, "\\%c", c == '\n' ? 'n' : 'r');
    else if (len > 1)
      snprintf(esc, sizeof esc, "\\u%04x", cp);
    else
      snprintf(esc, sizeof esc, "\\x%02x", c);
    if (!len) len = 1; /* a byte that is not UTF-8 */
    if (i > run) put(ud, str + run, i - run);
    put(ud, esc, strlen(esc));
    i += len;
    run = i;
  }
  if (i > run) put(ud, str + run, i - run);
}

static void file_sink(void *ud, const char *s, size_t n) { fwrite(s, 1, n, ud); }

void ld_term_write(FILE *f, const char *s, size_t n, int flags) { ld_term_escape(s, n, flags, file_sink, f); }

static void buffer_sink(void *ud, const char *s, size_t n) { luaL_addlstring(ud, s, n); }

void ld_term_push(lua_State *L, const char *s, size_t n, int flags) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  ld_term_escape(s, n, flags, buffer_sink, &b);
  luaL_pushresult(&b);
}

int l_term_escape(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ld_term_push(L, s, n, lua_toboolean(L, 2) ? LD_TERM_LINES : LD_TERM_LINE);
  return 1;
}
