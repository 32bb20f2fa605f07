/*
** unit: a minimal test harness. Each suite is a function that runs its
** checks; failures print file:line and the expression, and count.
*/
#ifndef LD_UNIT_H
#define LD_UNIT_H

#include <stdio.h>
#include <string.h>

extern int unit_failures, unit_checks;

#define CHECK(cond)                                                                                          \
  do {                                                                                                       \
    unit_checks++;                                                                                           \
    if (!(cond)) {                                                                                           \
      unit_failures++;                                                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                               \
    }                                                                                                        \
  } while (0)

#define CHECK_STR(got, want)                                                                                 \
  do {                                                                                                       \
    const char *g_ = (got), *w_ = (want);                                                                    \
    unit_checks++;                                                                                           \
    if (!g_ || strcmp(g_, w_) != 0) {                                                                        \
      unit_failures++;                                                                                       \
      fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, g_ ? g_ : "(null)", w_);       \
    }                                                                                                        \
  } while (0)

void suite_frontmatter(void);
void suite_glob(void);
void suite_json(void);
void suite_schema(void);
void suite_sse(void);
void suite_http(void);
void suite_jsonrpc(void);
void suite_journal(void);

#endif
