/*
** term: text from outside - a provider's error, a model's reply, the
** arguments it chose - made safe to show on a terminal.
**
** Raw, such text could recolour or retitle the terminal, move the cursor
** over what a person is asked to approve, or break a one-line error into
** several. Escaped: C0 controls and DEL as \xHH (\n \r \t as such), C1
** controls (U+0080-U+009F) and the bidirectional embeddings, overrides and
** isolates (U+202A-U+202E, U+2066-U+2069) as \uHHHH, and each byte that is
** not part of valid UTF-8 as \xHH. With LD_TERM_LINES, newlines and tabs
** stay: text meant to show as several lines. Backslashes stay as they
** are: the result is for reading, not for parsing back. What goes to
** stdout (a run's result) is never escaped.
*/
#ifndef LD_TERM_H
#define LD_TERM_H

#include <stddef.h>
#include <stdio.h>

#include <lua.h>

enum { LD_TERM_LINE = 0, LD_TERM_LINES = 1 };

/* Receives the escaped text piece by piece. */
typedef void (*ld_term_sink)(void *ud, const char *s, size_t n);

/* Escapes s[0..n) into put(ud, ...): the one place that decides. */
void ld_term_escape(const char *s, size_t n, int flags, ld_term_sink put, void *ud);

/* Writes s escaped to f. */
void ld_term_write(FILE *f, const char *s, size_t n, int flags);

/* Pushes s escaped. [-0, +1, may raise (memory)] */
void ld_term_push(lua_State *L, const char *s, size_t n, int flags);

/* core.term_escape(s [, lines]) -> s escaped (keeping newlines when lines). */
int l_term_escape(lua_State *L);

#endif
