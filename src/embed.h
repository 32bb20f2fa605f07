/*
** embed: Lua modules compiled into the binary (see tools/embed.c).
*/
#ifndef LD_EMBED_H
#define LD_EMBED_H

#include <stddef.h>

typedef struct lua_State lua_State;

typedef struct ld_embedded {
  const char *name; /* module name, "llmdo.link" */
  const char *path; /* source path relative to the tree, "lua/llmdo/link.lua"; absolute for a library */
  const char *src;  /* Lua bytecode, compiled at build time */
  size_t len;
} ld_embedded;

extern const ld_embedded ld_embedded_modules[];

const ld_embedded *ld_embed_find(const char *name);

/* Registers a loader for every embedded module: the public "llmdo" in
** package.preload, the others in the table at 'internal' (name -> loader);
** records each chunk's source name in the set at 'sources', so the
** prelude can tell llmdo's own code from a project's. When
** LLMDO_SOURCE_DIR is set, loaders read the module from that source tree
** instead, so Lua changes need no rebuild. [-0, +0, may raise] */
void ld_embed_install(lua_State *L, int internal, int sources);

#endif
