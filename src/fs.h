/*
** fs: file access confined to a base directory, for the filesystem toolset.
**
** Every path is relative to the base and must stay beneath it: it is
** normalised lexically (an absolute path, a NUL byte, an overlong path or
** a ".." that climbs out is refused before any system call), then opened
** with openat2(RESOLVE_BENEATH), so a symlink in any component that leads
** outside is refused by the kernel. Without openat2 (old kernels, some
** sandboxes) each component is opened with O_NOFOLLOW: symlinks are then
** refused altogether. Path strings are never compared to decide.
**
** The work runs on libuv's thread pool; the calling task waits.
**
**   core.fs_read(base, path, max_bytes) -> bytes | nil, kind, message
**   core.fs_write(base, path, bytes, max_bytes) -> true | nil, kind, message
**   core.fs_list(base, path, max_entries) -> { "rel/path", ... } | nil, kind, message
** kind: "escape", "not_found", "not_file", "not_dir", "too_large", "io".
*/
#ifndef LD_FS_H
#define LD_FS_H

#include <stddef.h>

#include <lua.h>

/* Lexical normalisation: folds ".", "..", "//". Writes the result (""
** for the base itself) into out. Returns 0, or -1 when the path is absolute,
** holds a NUL, is too long, or climbs above the base. Exposed for tests. */
int ld_fs_normalize(const char *path, size_t len, char *out, size_t outlen);

/* Opens 'rel' (already normalised) beneath the directory fd 'base'. Returns
** an fd or -1 with errno (EXDEV: it would leave the base). */
int ld_fs_open_beneath(int base, const char *rel, int flags, int mode);

int l_fs_read(lua_State *L);
int l_fs_write(lua_State *L);
int l_fs_list(lua_State *L);

#endif
