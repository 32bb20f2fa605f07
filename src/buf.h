/*
** buf: the one growable byte buffer. Zero-initialised it is empty; it
** grows by doubling and always keeps a NUL after its bytes, so text can be
** handed to C functions as is. Allocation failure and a size limit are
** reported, never raised: callers decide (a Lua error, a truncation, an
** aborted transfer). Appending is inline, since encoders append a byte at
** a time; only growing is a call.
*/
#ifndef LD_BUF_H
#define LD_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct ld_buf {
  char *p;    /* NULL until the first byte */
  size_t n;   /* bytes held */
  size_t cap; /* bytes allocated (n + 1 at least, once allocated) */
} ld_buf;

/* The slow path of ld_buf_reserve. */
int ld_buf_grow(ld_buf *b, size_t extra, size_t max);

/* Makes room for 'extra' more bytes (and the NUL) without passing 'max'
** bytes held (0: no limit). Returns 0, or -1 (no memory, or over max). */
static inline int ld_buf_reserve(ld_buf *b, size_t extra, size_t max) {
  if (!max && extra < b->cap - b->n) return 0;
  return ld_buf_grow(b, extra, max);
}

/* Appends n bytes. Returns 0, or -1 as ld_buf_reserve (nothing added). */
static inline int ld_buf_add(ld_buf *b, const void *s, size_t n, size_t max) {
  if (ld_buf_reserve(b, n, max) != 0) return -1;
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
  return 0;
}

/* Empties the buffer, keeping its memory. */
void ld_buf_clear(ld_buf *b);

/* Frees the bytes; the buffer is empty and usable again. */
void ld_buf_free(ld_buf *b);

#endif
