/*
** json: JSON text to and from Lua values.
**
** lua-cjson cannot sort keys or mark an empty table as an array, and the
** approval cache needs canonical JSON (sorted keys), the message log needs
** ASCII-only pretty output, and tool schemas need "[]". A table is an array
** when its metatable says __jsontype = "array" or its keys are exactly
** 1..n (n > 0); otherwise an object with string keys. core.null (a NULL
** light userdata, the same value as cjson.null) is null.
*/
#ifndef LD_JSON_H
#define LD_JSON_H

#include <lua.h>

enum { LD_JSON_SORTED = 1, LD_JSON_PRETTY = 2, LD_JSON_ASCII = 4 };

/* Encodes the value at idx and pushes the JSON text. [-0, +1, raises] */
void ld_json_encode(lua_State *L, int idx, int flags);

enum { LD_JSON_EMPTY, LD_JSON_ARRAY, LD_JSON_OBJECT };

/* How the table at idx encodes: an array (its length in *len), an object,
** or LD_JSON_EMPTY for a table with no keys and no __jsontype ("{}").
** The schema validator uses it too, so what validates is what is sent.
** [-0, +0] */
int ld_json_table_kind(lua_State *L, int idx, lua_Integer *len);

/* core.json_encode(v [, opts]): opts has 's' sorted, 'p' pretty, 'a' ASCII. */
int l_json_encode(lua_State *L);

/* Marks the table at idx as a JSON array. [-0, +0] */
void ld_json_mark_array(lua_State *L, int idx);

/* core.json_array([t]) -> t marked as a JSON array (also when empty). */
int l_json_array(lua_State *L);

/* Decodes the UTF-8 sequence that begins s (n > 0 bytes): its length, with
** the code point in *cp, or 0 when it is not valid UTF-8 (overlong forms,
** surrogates and cut sequences included). */
size_t ld_json_utf8_char(const unsigned char *s, size_t n, unsigned *cp);

/* Adds core.json_decode (integers kept, empty arrays marked) to the table on top. */
void ld_json_open(lua_State *L);

/* The metatable of json.encode(v, "b")'s buffers. */
#define LD_JSON_BUF_MT "llmdo.jbuf"

/* The bytes of the buffer at idx (and their count), or NULL when it is not
** one. Valid while the buffer is. [-0, +0] */
const char *ld_json_buffer(lua_State *L, int idx, size_t *len);

#endif
