/*
** retry: when and how soon a failed HTTP attempt is tried again - pure
** functions, no I/O, so the policy is tested on its own (tests/unit).
**
** Retried: 429, 500, 502, 503, 504, 529 and connection failures (the
** server's x-should-retry, when sent, decides instead; http.c applies it).
** The wait grows 0.5 s, 1 s, 2 s ... up to 8 s, times a jitter so that
** many processes sharing a key do not retry in step; a retry-after of at
** most 60 s wins.
*/
#ifndef LD_RETRY_H
#define LD_RETRY_H

#include <stddef.h>

/* The backoff before retry 'attempt' (0-based): min(0.5 * 2^attempt, 8) s,
** times a jitter in (0.75, 1]. retry_after (seconds, < 0 if absent) wins
** when it is at most 60 s. In milliseconds. */
double ld_retry_backoff_ms(int attempt, double retry_after, double jitter01);

/* Parses a retry-after value: seconds (may be fractional) or an HTTP date.
** Returns seconds from now, or -1. */
double ld_retry_parse_after(const char *v, long now);

/* Is an HTTP status worth another attempt? */
int ld_retry_status(long status);

/* Seeds the jitter per process (time and pid); then ld_retry_jitter()
** gives numbers in [0, 1). */
void ld_retry_seed(void);
double ld_retry_jitter(void);

/* The error type in a JSON error body ({"error": {"type": "overloaded_error"
** ...}}, as both providers send), copied into out; "" when there is none.
** body may be NULL. For the -v retry line. */
void ld_retry_error_type(const char *body, char *out, size_t outn);

#endif
