/*
** jsonrpc: the envelope of one JSON-RPC 2.0 message (MCP's framing over
** stdio is one message per line).
**
** ld_jsonrpc_scan looks at the top-level members only - "id", "method",
** "result", "error" - so a channel can route a line to the task waiting
** for its id without decoding it; the waiting task decodes the whole line
** in Lua. Nested values are skipped, not validated (their brackets and
** strings are matched). Pure: no allocation, no Lua.
*/
#ifndef LD_JSONRPC_H
#define LD_JSONRPC_H

#include <stddef.h>

enum { LD_JSONRPC_RESPONSE = 1, LD_JSONRPC_REQUEST, LD_JSONRPC_NOTIFICATION };

typedef struct ld_jsonrpc_msg {
  int kind;
  const char *id; /* the id's JSON text as sent (a number or a string), NULL if absent */
  size_t id_len;
  int int_id; /* the id is an integer that fits in long long */
  long long id_value;
  const char *method; /* the method name's characters between the quotes, NULL if absent */
  size_t method_len;
} ld_jsonrpc_msg;

/* Scans the message s (n bytes; surrounding white space allowed). Returns
** 0 and fills m, or -1 when it is no JSON object or no JSON-RPC message (a
** response needs an id and a result or an error; anything else a method). */
int ld_jsonrpc_scan(const char *s, size_t n, ld_jsonrpc_msg *m);

#endif
