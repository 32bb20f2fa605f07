/*
** fuzz_jsonrpc: the envelope scanner of MCP's stdio lines. Whatever the
** bytes, it stays inside them; the spans it reports lie within the input;
** and white space around a message changes nothing.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jsonrpc.h"

static void within(const char *s, size_t n, const char *p, size_t len, const char *what) {
  if (p && (p < s || p + len > s + n)) fuzz_fail("the %s lies outside the input", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  ld_jsonrpc_msg a, b;
  int ra = ld_jsonrpc_scan(s, size, &a);
  if (ra == 0) {
    if (a.kind < LD_JSONRPC_RESPONSE || a.kind > LD_JSONRPC_NOTIFICATION) fuzz_fail("kind %d", a.kind);
    within(s, size, a.id, a.id_len, "id");
    within(s, size, a.method, a.method_len, "method");
  }
  char *padded = malloc(size + 4);
  if (!padded) fuzz_fail("out of memory");
  memcpy(padded, " \t", 2);
  if (size) memcpy(padded + 2, s, size);
  memcpy(padded + 2 + size, "\r\n", 2);
  int rb = ld_jsonrpc_scan(padded, size + 4, &b);
  if (ra != rb) fuzz_fail("with white space around it: %d, without: %d", rb, ra);
  if (ra == 0 && (a.kind != b.kind || a.id_len != b.id_len || a.int_id != b.int_id ||
                  a.id_value != b.id_value || a.method_len != b.method_len))
    fuzz_fail("white space around the message changed what was found");
  free(padded);
  return 0;
}
