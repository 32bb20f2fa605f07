/*
** embed: Lua modules compiled into the binary (see tools/embed.c).
*/
#ifndef LD_EMBED_H
#define LD_EMBED_H

#include <stddef.h>

typedef struct lua_State lua_State;

typedef struct ld_embedded {
  const char *name; /* module name, "llmdo.link" */
  const char *path; /* source path relative to the tree, "lua/llmdo/link.lua" */
  const char *src;  /* Lua bytecode, compiled at build time */
  size_t len;
} ld_embedded;

extern const ld_embedded ld_embedded_modules[];

const ld_embedded *ld_embed_find(const char *name);

/* Registers a package.preload loader for every embedded module.
** When LLMDO_SOURCE_DIR is set, loaders read the module from that source
** tree instead, so Lua changes need no rebuild. [-0, +0, may raise] */
void ld_embed_install(lua_State *L);

#endif
