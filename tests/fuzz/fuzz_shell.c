/* fuzz_shell: the shell toolset's word splitting and allow-rules
** (toolsets/shell.lua through props.lua, P.shell). The first byte picks
** the rule set. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  fuzz_property("shell", (const char *)data + 1, size - 1, data[0]);
  return 0;
}
