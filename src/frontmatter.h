/*
** frontmatter: split a .worker file into YAML frontmatter and instructions,
** and load YAML into Lua values with libyaml.
*/
#ifndef LD_FRONTMATTER_H
#define LD_FRONTMATTER_H

#include <stddef.h>

#include <lua.h>

typedef struct ld_span {
  const char *p;
  size_t n;
} ld_span;

enum { LD_FM_OK = 0, LD_FM_MISSING = -1, LD_FM_UNCLOSED = -2 };

/*
** Splits 'text' the way python-frontmatter does: after skipping a UTF-8
** byte order mark and stripping leading whitespace, the text must open with
** a line of three or more dashes; the
** next such line closes the block. 'body' is the rest, stripped.
** 'yaml_line' receives the 1-based line of the file where the YAML starts.
** Returns LD_FM_OK, LD_FM_MISSING (no opening line) or LD_FM_UNCLOSED.
*/
int ld_frontmatter_split(const char *text, size_t len, ld_span *yaml, ld_span *body, int *yaml_line);

/*
** core.yaml_load(text [, first_line]) -> value
** Loads one YAML document. Plain scalars resolve as YAML 1.1 does
** (null, yes/no/true/false/on/off, integers, floats); quoted and block
** scalars are strings. Null sequence items become core.null; null mapping
** values leave the key out. Raises "line L, column C: problem" on bad
** YAML, numbering lines from first_line (default 1).
** [-(1|2), +1, raises]
*/
int l_yaml_load(lua_State *L);

/* core.frontmatter(text) -> yaml, body, yaml_line | nil, "missing"|"unclosed" */
int l_frontmatter_split(lua_State *L);

#endif
