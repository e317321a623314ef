/*
 * fsutil.h - the only place that opens, reads and writes files directly.
 *
 * Reading untrusted files: never through a symbolic link, never blocking
 * on a FIFO or device, only regular files, with a size cap checked on the
 * open descriptor (so a file swapped after a check is still the one read).
 */
#ifndef UTIL_FSUTIL_H
#define UTIL_FSUTIL_H

#include <stddef.h>

enum fsread_status {
	FSREAD_OK = 0,
	FSREAD_OPEN,		/* cannot open (errno in message) */
	FSREAD_SYMLINK,		/* a symbolic link: refused */
	FSREAD_NOT_REGULAR,	/* FIFO, device, socket, directory */
	FSREAD_TOO_LARGE,
	FSREAD_IO		/* read error or file changed size */
};

/*
 * Read a whole file of at most max bytes into a NUL-terminated malloc'd
 * buffer. On error *out is NULL and err holds a message naming the file.
 */
enum fsread_status fsutil_read_file(const char *path, size_t max, char **out,
		    size_t *len, char *err, size_t errlen);
/* Stable code for error files: NOT_REGULAR_FILE, TOO_LARGE, ... */
const char	*fsread_code(enum fsread_status);

#endif
