/* fuzz_schema: core.schema_validate on a JSON schema and value (props.lua,
** P.schema). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_property("schema", (const char *)data, size, 0);
  return 0;
}
