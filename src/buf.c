/*
** buf: the growable byte buffer. See buf.h.
*/
#include "buf.h"

#include <stdlib.h>
#include <string.h>

int ld_buf_grow(ld_buf *b, size_t extra, size_t max) {
  if (extra > (size_t)-1 / 2 - b->n || (max && b->n + extra > max)) return -1;
  size_t need = b->n + extra + 1;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) return -1;
  b->p = p;
  b->cap = cap;
  return 0;
}

void ld_buf_clear(ld_buf *b) {
  b->n = 0;
  if (b->p) b->p[0] = '\0';
}

void ld_buf_free(ld_buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}
