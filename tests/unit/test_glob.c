/* glob: matching as compatible_models and list_files use it. */
#include "glob.h"
#include "unit.h"

void suite_glob(void) {
  /* compatible_models: case-insensitive full-string globs */
  CHECK(ld_glob_match("anthropic:*", "anthropic:claude-haiku-4-5", LD_GLOB_CASEFOLD));
  CHECK(ld_glob_match("ANTHROPIC:Claude-*", "anthropic:claude-haiku-4-5", LD_GLOB_CASEFOLD));
  CHECK(!ld_glob_match("anthropic:claude", "anthropic:claude-haiku-4-5", LD_GLOB_CASEFOLD));
  CHECK(!ld_glob_match("ANTHROPIC:*", "anthropic:x", 0));
  CHECK(ld_glob_match("*", "", 0));
  CHECK(ld_glob_match("*", "anything/at:all", 0));
  CHECK(!ld_glob_match("?", "", 0));
  CHECK(ld_glob_match("openai:gpt-4?-mini", "openai:gpt-4o-mini", 0));
  CHECK(ld_glob_match("[ab]*", "beta", 0));
  CHECK(!ld_glob_match("[!ab]*", "beta", 0));
  CHECK(ld_glob_match("[^ab]*", "gamma", 0));
  CHECK(ld_glob_match("v[0-9]", "v7", 0));
  CHECK(ld_glob_match("[A-Z]x", "qx", LD_GLOB_CASEFOLD));
  CHECK(ld_glob_match("a[b", "a[b", 0)); /* unclosed class: literal */
  CHECK(ld_glob_match("[]]", "]", 0));
  CHECK(ld_glob_match("*a*b*c", "xxaxxbxxc", 0));
  CHECK(!ld_glob_match("*a*b*c", "xxaxxbxx", 0));
  /* pathological pattern stays fast */
  CHECK(!ld_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b",
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0));
  /* pathname mode: '*' stays in a segment, '**' spans segments */
  CHECK(ld_glob_match("*.pdf", "deck.pdf", LD_GLOB_PATHNAME));
  CHECK(!ld_glob_match("*.pdf", "input/deck.pdf", LD_GLOB_PATHNAME));
  CHECK(ld_glob_match("**/*.pdf", "input/deck.pdf", LD_GLOB_PATHNAME));
  CHECK(ld_glob_match("**/*.pdf", "deck.pdf", LD_GLOB_PATHNAME));
  CHECK(ld_glob_match("**/*.pdf", "a/b/c/deck.pdf", LD_GLOB_PATHNAME));
  CHECK(ld_glob_match("a/**/z", "a/z", LD_GLOB_PATHNAME));
  CHECK(ld_glob_match("a/**/z", "a/b/c/z", LD_GLOB_PATHNAME));
  CHECK(!ld_glob_match("a/**/z", "b/z", LD_GLOB_PATHNAME));
  CHECK(ld_glob_match("**", "a/b/c", LD_GLOB_PATHNAME));
  CHECK(!ld_glob_match("?", "/", LD_GLOB_PATHNAME));
}
