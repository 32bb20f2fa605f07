/*
** journal: the file side of a run's journal (docs/journal.md). Lua
** decides what an event says (lua/llmdo/journal.lua); this file owns the
** bytes on disk:
**
**   - one write(2) per line, the line whole, so a run killed at any point
**     leaves a file that reads up to its last complete line;
**   - every secret the process knows (the values of environment variables
**     whose names say KEY, TOKEN, SECRET, PASSWORD, ... ) is replaced by
**     "[redacted:NAME]" before a byte is written, whatever carried it (a
**     request body, a tool's result, an argv);
**   - a failed write (a full disk) stops the journal with one warning on
**     stderr and never fails the run;
**   - files are private (0600, directories 0700), and the directory keeps
**     a bounded number of journals (ld_journal_prune).
*/
#ifndef LD_JOURNAL_H
#define LD_JOURNAL_H

#include <lua.h>
#include <stddef.h>

/* Replaces each occurrence of the secrets in s (n bytes) by its mark,
** appending the result to *out (malloc'd, *outn bytes). Returns 1 when
** something was replaced (and *out was set), 0 when s is clean. */
int ld_journal_scrub(const char *s, size_t n, const char *const *secrets, const char *const *marks,
                     int nsecrets, char **out, size_t *outn);

/* Opens module llmdo.core.journal. [-0, +1] */
int ld_journal_open_module(lua_State *L);

#endif
