/*
** fs: file access confined to a base directory, for the filesystem toolset.
**
** Every path is relative to the base and must stay beneath it: it is
** normalised lexically (an absolute path, a NUL byte or a ".." that climbs
** out is an escape, an overlong path is too long, both before any system
** call), then opened with openat2(RESOLVE_BENEATH), so a symlink in any
** component that leads outside is refused by the kernel. Without openat2
** (old kernels, some sandboxes) each component is opened with O_NOFOLLOW:
** symlinks are then refused altogether. Path strings are never compared to
** decide.
**
** Only regular files with a single name are read or replaced: a FIFO would
** block, a device does whatever its driver does on open, and a file with a
** second hard link may also be a name outside the base. Such files are
** looked at through an O_PATH descriptor (never opened for I/O) and refused.
** A write goes to a new temporary file beside the target and is renamed
** over it, so a reader sees the old content or the new, never a mix.
**
** The work runs on libuv's thread pool; the calling task waits.
**
**   core.fs_read(base, path, max_bytes) -> bytes | nil, kind, message
**   core.fs_write(base, path, bytes, max_bytes) -> true | nil, kind, message
**   core.fs_list(base, path, max_entries) -> { "rel/path", ... } | nil, kind, message
** kind: "escape", "too_long", "not_found", "not_file" (a directory),
** "not_regular" (FIFO, socket, device), "hard_link", "not_dir",
** "too_large", "io"; the message says the rest in a few words.
*/
#ifndef LD_FS_H
#define LD_FS_H

#include <stddef.h>

#include <lua.h>

enum { LD_FS_ESCAPE = -1, LD_FS_TOO_LONG = -2, LD_FS_NAME_TOO_LONG = -3 };

/* Lexical normalisation: folds ".", "..", "//". Writes the result (""
** for the base itself) into out. Returns 0; LD_FS_ESCAPE when the path is
** absolute, holds a NUL or climbs above the base; LD_FS_TOO_LONG when it
** is PATH_MAX bytes or more (or outlen is too small); LD_FS_NAME_TOO_LONG
** when one name in it is longer than NAME_MAX. Exposed for tests. */
int ld_fs_normalize(const char *path, size_t len, char *out, size_t outlen);

/* Opens 'rel' (already normalised) beneath the directory fd 'base'. Returns
** an fd or -1 with errno (EXDEV: it would leave the base). */
int ld_fs_open_beneath(int base, const char *rel, int flags, int mode);

int l_fs_read(lua_State *L);
int l_fs_write(lua_State *L);
int l_fs_list(lua_State *L);

#endif
