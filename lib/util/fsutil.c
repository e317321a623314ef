/*
 * fsutil.c - safe file access (see fsutil.h).
 *
 * SECURITY: paths may name files an attacker controls (a shared inbox).
 * O_NOFOLLOW refuses a final symbolic link; O_NONBLOCK keeps a FIFO from
 * blocking the open; fstat on the descriptor decides, so there is no window
 * between a check and the use. The size cap is applied to st_size and again
 * while reading, in case the file grows underneath us.
 */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum fsread_status
fsutil_read_file(const char *path, size_t max, char **out, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, saved;
	enum fsread_status rc = FSREAD_IO;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return saved == ELOOP ? FSREAD_SYMLINK : FSREAD_OPEN;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		rc = FSREAD_NOT_REGULAR;
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		snprintf(err, errlen, "%s: %lld bytes, the limit is %zu", path,
		    (long long)st.st_size, max);
		rc = FSREAD_TOO_LARGE;
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* Read one byte past st_size to notice a file that grew. */
	for (;;) {
		n = read(fd, p + got, (size_t)st.st_size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: read: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			snprintf(err, errlen, "%s: file grew while read", path);
			goto out;
		}
	}
	if (got != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: file shrank while read", path);
		goto out;
	}
	p[got] = '\0';
	*out = p;
	*len = got;
	p = NULL;
	rc = FSREAD_OK;
out:
	free(p);
	/* Read-only descriptor: close cannot lose data; still checked. */
	if (close(fd) == -1 && rc == FSREAD_OK) {
		snprintf(err, errlen, "%s: close: %s", path, strerror(errno));
		free(*out);
		*out = NULL;
		*len = 0;
		rc = FSREAD_IO;
	}
	return rc;
}

const char *
fsread_code(enum fsread_status st)
{
	switch (st) {
	case FSREAD_OK:		return "OK";
	case FSREAD_OPEN:	return "UNREADABLE";
	case FSREAD_SYMLINK:	return "SYMLINK";
	case FSREAD_NOT_REGULAR: return "NOT_REGULAR_FILE";
	case FSREAD_TOO_LARGE:	return "TOO_LARGE";
	case FSREAD_IO:		return "READ_ERROR";
	}
	return "READ_ERROR";
}
