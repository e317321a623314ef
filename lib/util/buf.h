/*
 * buf.h - growable byte buffer with a hard maximum (curl's dynbuf idea).
 *
 * Every buffer is created with the most it may ever hold; appends past it
 * fail (return -1) and leave the buffer unchanged, so size limits on
 * untrusted data need no checks at the call sites. The content is always
 * NUL-terminated.
 */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <stddef.h>

struct buf {
	char	*p;
	size_t	 len, cap, max;
};

void	buf_init(struct buf *, size_t max);
void	buf_free(struct buf *);
void	buf_reset(struct buf *);
int	buf_add(struct buf *, const void *, size_t);
int	buf_adds(struct buf *, const char *);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
const char *buf_str(const struct buf *);	/* "" when empty */

#endif
