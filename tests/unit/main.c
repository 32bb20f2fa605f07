/* The unit test runner: every suite, then a summary; exit 1 on failure. */
#include "unit.h"

int unit_failures, unit_checks;

int main(void) {
  suite_frontmatter();
  suite_glob();
  suite_json();
  suite_schema();
  suite_sse();
  suite_http();
  suite_jsonrpc();
  suite_journal();
  printf("unit: %d checks, %d failed\n", unit_checks, unit_failures);
  return unit_failures ? 1 : 0;
}
