/* jsonrpc: the envelope of a message - its kind, id and method - found
** without decoding; nested values skipped, malformed lines refused. */
#include "jsonrpc.h"
#include "unit.h"

static int scan(const char *s, ld_jsonrpc_msg *m) { return ld_jsonrpc_scan(s, strlen(s), m); }

/* The id's text and the method as "id|method" (- when absent). */
static const char *shown(const ld_jsonrpc_msg *m) {
  static char buf[256];
  snprintf(buf, sizeof buf, "%.*s|%.*s", m->id ? (int)m->id_len : 1, m->id ? m->id : "-",
           m->method ? (int)m->method_len : 1, m->method ? m->method : "-");
  return buf;
}

void suite_jsonrpc(void) {
  ld_jsonrpc_msg m;
  CHECK(scan("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"id\":9,\"method\":\"x\"}}", &m) == 0);
  CHECK(m.kind == LD_JSONRPC_RESPONSE && m.int_id && m.id_value == 7);
  CHECK_STR(shown(&m), "7|-");
  /* members in any order, white space, nested strings holding brackets and quotes */
  CHECK(scan(" {\"result\" : [1, \"]}\\\"\", {\"a\": [[]]}], \"id\" : -12 }\r\n", &m) == 0);
  CHECK(m.kind == LD_JSONRPC_RESPONSE && m.id_value == -12);
  CHECK(scan("{\"id\":\"abc\",\"error\":{\"code\":-32601,\"message\":\"no\"}}", &m) == 0);
  CHECK(m.kind == LD_JSONRPC_RESPONSE && !m.int_id);
  CHECK_STR(shown(&m), "\"abc\"|-");
  CHECK(scan("{\"id\":1.5,\"result\":{}}", &m) == 0 && !m.int_id); /* matches no id llmdo sends */
  CHECK(scan("{\"id\":01,\"result\":{}}", &m) == 0 && !m.int_id);  /* 01 is no JSON number */
  CHECK(scan("{\"id\":-01,\"result\":{}}", &m) == 0 && !m.int_id);
  static const char nul[] = "{\"id\":1\0,\"result\":{}}";
  CHECK(ld_jsonrpc_scan(nul, sizeof nul - 1, &m) != 0); /* a NUL is no part of a token */
  CHECK(scan("{\"id\":null,\"error\":{\"code\":-32700}}", &m) == 0 && m.kind == LD_JSONRPC_RESPONSE && !m.id);
  CHECK(scan("{\"jsonrpc\":\"2.0\",\"id\":\"p1\",\"method\":\"ping\"}", &m) == 0);
  CHECK(m.kind == LD_JSONRPC_REQUEST);
  CHECK_STR(shown(&m), "\"p1\"|ping");
  CHECK(scan("{\"method\":\"notifications/message\",\"params\":{\"id\":3}}", &m) == 0);
  CHECK(m.kind == LD_JSONRPC_NOTIFICATION);
  CHECK_STR(shown(&m), "-|notifications/message");
  /* not messages */
  const char *bad[] = {"",
                       "this is not JSON-RPC",
                       "[{\"id\":1,\"result\":{}}]",
                       "{}",
                       "{\"id\":1}",
                       "{\"id\":1,\"result\":{}",
                       "{\"id\":1,\"result\":{}} x",
                       "{\"id\":1,\"result\":{]}",
                       "{\"id\":1,\"result\":\"open}",
                       "{\"method\":3}",
                       "{id:1,\"result\":1}",
                       "{\"id\":1,,\"result\":1}",
                       "{\"id\":99999999999999999999999,\"result\":1,}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(scan(bad[i], &m) == -1);
  CHECK(scan("{\"id\":99999999999999999999999,\"result\":1}", &m) == 0 && !m.int_id);
  /* nesting deeper than the scanner follows is refused, not overflowed */
  char deep[4100] = "{\"id\":1,\"result\":";
  size_t n = strlen(deep);
  for (int i = 0; i < 2000; i++) deep[n++] = '[';
  deep[n] = '\0';
  CHECK(scan(deep, &m) == -1);
}
