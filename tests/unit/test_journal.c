/* journal: SHA-256 against FIPS 180-4's vectors, and secret scrubbing. */
#include <stdlib.h>

#include "digest.h"
#include "journal.h"
#include "unit.h"

static const char *sha(const char *s, size_t n) {
  static char out[65];
  ld_digest_sha256_hex(s, n, out);
  return out;
}

static void check_sha256(void) {
  CHECK_STR(sha("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_STR(sha("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: padding spills */
  CHECK_STR(sha(two, strlen(two)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  char *million = malloc(1000000);
  memset(million, 'a', 1000000);
  CHECK_STR(sha(million, 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(million);
}

static const char *scrubbed(const char *s) {
  static char buf[256];
  const char *const secrets[] = {"sk-long-secret", "sk-long", "hunter22"};
  const char *const marks[] = {"[redacted:A]", "[redacted:B]", "[redacted:C]"};
  char *out = NULL;
  size_t n = 0;
  int r = ld_journal_scrub(s, strlen(s), secrets, marks, 3, &out, &n);
  if (r == 0) return "(clean)";
  snprintf(buf, sizeof buf, "%.*s", (int)n, out);
  free(out);
  return buf;
}

static void check_scrub(void) {
  CHECK_STR(scrubbed("nothing here"), "(clean)");
  CHECK_STR(scrubbed("key=sk-long-secret;"), "key=[redacted:A];");                    /* the longest wins */
  CHECK_STR(scrubbed("sk-long and sk-long-secret"), "[redacted:B] and [redacted:A]"); /* each where it is */
  CHECK_STR(scrubbed("hunter22hunter22"), "[redacted:C][redacted:C]");
  CHECK_STR(scrubbed("x\"hunter22\""), "x\"[redacted:C]\"");
}

/* A growing body, fed turn by turn, hashes as if hashed whole, and the
** shared prefix is found (then moved back by the margin). */
static void check_tracker(void) {
  ld_bodytrack t = {0};
  enum { N = 3 * LD_DIGEST_SNAP + 100 };
  char *body = malloc(N + 1);
  for (int i = 0; i < N; i++) body[i] = (char)('a' + (i * 7) % 26);
  char got[65], want[65];
  size_t sizes[] = {10, LD_DIGEST_SNAP + 5, 2 * LD_DIGEST_SNAP, N, 50}, k = 0;
  for (int i = 0; i < 5; i++) {
    size_t n = sizes[i];
    k = ld_bodytrack_feed(&t, body, n, 0, got);
    ld_digest_sha256_hex(body, n, want);
    CHECK_STR(got, want);
    if (i > 0) CHECK(k == (sizes[i - 1] < n ? sizes[i - 1] : n));
  }
  body[LD_DIGEST_SNAP + 3] ^= 1; /* a change inside the second snapshot interval */
  k = ld_bodytrack_feed(&t, body, N, 0, got);
  ld_digest_sha256_hex(body, N, want);
  CHECK_STR(got, want);
  CHECK(k == 50);
  k = ld_bodytrack_feed(&t, body, N, 8, got);
  CHECK(k == N - 8);
  char utf8[] = "xx\xc3\xa9\xc3\xa9"; /* xxéé */
  ld_bodytrack_free(&t);
  ld_bodytrack_feed(&t, utf8, 6, 0, got);
  utf8[5] = (char)0xa8;                       /* xxéè */
  k = ld_bodytrack_feed(&t, utf8, 6, 0, got); /* shares 5 bytes; byte 5 is inside the second é */
  CHECK(k == 4);
  ld_bodytrack_free(&t);
  free(body);
}

void suite_journal(void) {
  check_sha256();
  check_tracker();
  check_scrub();
}
