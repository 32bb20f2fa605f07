/*
** digest: SHA-256 (FIPS 180-4), and a body tracker that hashes a growing
** request body in time proportional to what changed.
**
** A worker call sends the model its whole conversation every turn, and the
** conversation only grows: turn N's body shares a long prefix with turn
** N-1's. The journal records each body's SHA-256 (replay matches on it) and
** the body itself as "the previous body's first K bytes, then these". Done
** naively both cost O(body) per turn, O(turns^2) per call. The tracker keeps
** the previous body and the hash state at every LD_DIGEST_SNAP bytes of it,
** so a new body is compared (memcmp, cheap) and hashed from the last
** snapshot inside the common prefix (SHA-256 is the expensive part).
*/
#ifndef LD_DIGEST_H
#define LD_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define LD_DIGEST_SNAP 1024 /* bytes between hash-state snapshots (a multiple of 64) */

/* SHA-256 of n bytes as 64 lowercase hex digits and a NUL. */
void ld_digest_sha256_hex(const void *data, size_t n, char out[65]);

typedef struct ld_bodytrack {
  ld_buf prev;         /* the last body fed */
  uint32_t (*snap)[8]; /* snap[i]: the state after (i + 1) * LD_DIGEST_SNAP bytes of prev */
  size_t nsnap, capsnap;
  int fed;
} ld_bodytrack;

/* Feeds the next body. Writes its SHA-256 to out and returns K, the length
** of the prefix it shares with the previous body, moved back by 'margin'
** bytes and then to a UTF-8 character boundary (0 for the first body).
** Returns (size_t)-1 when out of memory (the tracker is then reset). */
size_t ld_bodytrack_feed(ld_bodytrack *t, const char *body, size_t n, size_t margin, char out[65]);

void ld_bodytrack_free(ld_bodytrack *t);

#endif
