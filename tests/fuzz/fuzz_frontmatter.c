/*
** fuzz_frontmatter: worker-file splitting, then YAML loading of the block
** it found (or of the whole input when there is none).
*/
#include <string.h>

#include "frontmatter.h"
#include "fuzz.h"

static int blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data, *end = text + size;
  ld_span yaml, body;
  int line = 0;
  int r = ld_frontmatter_split(text, size, &yaml, &body, &line);
  if (r != LD_FM_OK) {
    if (r != LD_FM_MISSING && r != LD_FM_UNCLOSED) fuzz_fail("split returned %d", r);
    fuzz_property("yaml", text, size, 1);
    return 0;
  }
  if (yaml.p < text || yaml.p + yaml.n > end || body.p < yaml.p + yaml.n || body.p + body.n > end)
    fuzz_fail("spans outside the text or out of order");
  if (body.n > 0 && (blank(body.p[0]) || blank(body.p[body.n - 1]))) fuzz_fail("the body is not stripped");
  int newlines = 0;
  for (const char *p = text; p < yaml.p; p++) newlines += *p == '\n';
  if (line != newlines + 1) fuzz_fail("yaml_line %d, but the YAML starts on line %d", line, newlines + 1);
  fuzz_property("yaml", yaml.p, yaml.n, line);
  return 0;
}
