/* fuzz_json: core.json_decode against cjson, and the encoder's round trip
** (props.lua, P.json). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_property("json", (const char *)data, size, 0);
  return 0;
}
