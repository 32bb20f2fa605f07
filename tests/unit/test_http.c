/* http: the retry policy (backoff, retry-after). */
#include <math.h>

#include "retry.h"
#include "unit.h"

void suite_http(void) {
  /* exponential: 0.5 s, 1 s, 2 s, ... capped at 8 s; jitter takes off up to 25 % */
  CHECK(fabs(ld_retry_backoff_ms(0, -1, 0.0) - 500) < 1e-9);
  CHECK(fabs(ld_retry_backoff_ms(1, -1, 0.0) - 1000) < 1e-9);
  CHECK(fabs(ld_retry_backoff_ms(3, -1, 0.0) - 4000) < 1e-9);
  CHECK(fabs(ld_retry_backoff_ms(10, -1, 0.0) - 8000) < 1e-9);
  CHECK(fabs(ld_retry_backoff_ms(0, -1, 1.0) - 375) < 1e-9);
  /* retry-after wins when it is at most a minute */
  CHECK(fabs(ld_retry_backoff_ms(2, 0.05, 0.5) - 50) < 1e-9);
  CHECK(fabs(ld_retry_backoff_ms(2, 0, 0.5) - 0) < 1e-9);
  CHECK(fabs(ld_retry_backoff_ms(0, 120, 0.0) - 500) < 1e-9);
  /* retry-after: seconds (fractional too) or an HTTP date */
  CHECK(ld_retry_parse_after(" 3", 0) == 3);
  CHECK(ld_retry_parse_after("0.25\r\n", 0) == 0.25);
  CHECK(ld_retry_parse_after("soon", 0) == -1);
  long now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
  CHECK(ld_retry_parse_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10);
  CHECK(ld_retry_parse_after("Sun, 06 Nov 1994 08:49:30 GMT", now) == 0);
}
