/* retry: the HTTP retry policy. See retry.h. */
#include "retry.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <uv.h>

double ld_retry_backoff_ms(int attempt, double retry_after, double jitter01) {
  if (retry_after >= 0 && retry_after <= 60) return retry_after * 1000.0;
  double s = 0.5 * pow(2.0, attempt);
  if (s > 8.0) s = 8.0;
  return s * (1.0 - 0.25 * jitter01) * 1000.0;
}

double ld_retry_parse_after(const char *v, long now) {
  while (*v == ' ' || *v == '\t') v++;
  char *end;
  double secs = strtod(v, &end);
  if (end != v) {
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    if (*end == '\0') return secs >= 0 ? secs : -1;
  }
  time_t t = curl_getdate(v, NULL);
  if (t == -1) return -1;
  return t > now ? (double)(t - now) : 0;
}

int ld_retry_status(long s) { return s == 429 || s == 500 || s == 502 || s == 503 || s == 504 || s == 529; }

/* xorshift64*: cheap, and good enough to spread retries apart. */
static uint64_t jitter_state = 1;

void ld_retry_seed(void) {
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  jitter_state =
      ((uint64_t)tv.tv_sec << 20 ^ (uint64_t)tv.tv_usec) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)uv_os_getpid();
  if (!jitter_state) jitter_state = 1;
}

double ld_retry_jitter(void) {
  uint64_t x = jitter_state;
  x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
  jitter_state = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

void ld_retry_error_type(const char *body, char *out, size_t outn) {
  out[0] = '\0';
  const char *e = body ? strstr(body, "\"error\"") : NULL;
  const char *t = e ? strstr(e, "\"type\"") : NULL;
  if (!t) return;
  t += 6;
  while (*t == ' ' || *t == ':') t++;
  if (*t++ != '"') return;
  size_t n = 0;
  while (t[n] && t[n] != '"' && n < outn - 1) n++;
  memcpy(out, t, n);
  out[n] = '\0';
}
