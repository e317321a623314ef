/*
 * fsutil.c - safe file access (see fsutil.h).
 *
 * SECURITY: paths may name files an attacker controls (a shared inbox).
 * O_NOFOLLOW refuses a final symbolic link; O_NONBLOCK keeps a FIFO from
 * blocking the open; fstat on the descriptor decides, so there is no window
 * between a check and the use. The size cap is applied to st_size and again
 * while reading, in case the file grows underneath us.  Names handed in are
 * single path components (no '/', not "." or ".."), so every create, move
 * and open stays inside the directory whose descriptor the caller holds.
 *
 * Durability (anchors B.1, B.2): a state change of the spool is a rename,
 * and a rename is only durable once its directory is fsynced (redis does
 * the same; Postfix once relied on chattr +S).  So:
 *  1. a file reaches its final name only complete and fsynced (temporary
 *     dotfile, O_EXCL, write, fsync, checked close, rename, directory
 *     fsync: fsutil_write_atomic); a crash can leave the temporary, which
 *     the next start removes (fsutil_remove_tmp, under the spool lock);
 *  2. a move never replaces an entry (renameat2 RENAME_NOREPLACE, or
 *     link+unlink where the file system lacks it: link fails with EEXIST
 *     like Maildir's delivery), and a clash gets a numbered name;
 *  3. the target directory is fsynced before the source directory, so a
 *     crash can leave a file in both (recovered: the start-up scan sees
 *     work/ first) but never in neither;
 *  4. a failed fsync is reported as FSUTIL_FATAL and never retried: after
 *     a failed fsync Linux marks the pages clean, so a retry can succeed
 *     although the data is lost (the 2018 PostgreSQL "fsyncgate").
 */
#define _GNU_SOURCE	/* renameat2() and RENAME_NOREPLACE */

#include "util/fsutil.h"
#include "util/testhook.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE	(1 << 0)
#endif

#define DIR_MODE	0750
#define LOCK_MODE	0600
#define TMP_TRIES	100	/* O_EXCL temporary names tried */
#define SUFFIX_SEQ	1000	/* numbered names tried before clock ones */
#define SUFFIX_CLOCK	16	/* clock-numbered names tried after that */
#define EXT_MAX		16	/* longest ".ext" kept after a suffix */

static int test_flags;

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
		rc = FSREAD_RESOURCE;
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
	case FSREAD_RESOURCE:	return "READ_ERROR";
	}
	return "READ_ERROR";
}

void
fsutil_test_set(int flags)
{
	test_flags = flags;
}

/* fsync(2), or the EIO a test asked for. */
static int
do_fsync(int fd)
{
	if (test_flags & FSUTIL_TEST_FAIL_FSYNC) {
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

/* One path component: no '/', not "." or "..", 1..NAME_MAX bytes. */
static int
valid_name(const char *name)
{
	size_t n;

	if (name == NULL)
		return 0;
	n = strnlen(name, NAME_MAX + 1);
	if (n == 0 || n > NAME_MAX || memchr(name, '/', n) != NULL)
		return 0;
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

enum fsread_status
fsutil_read_fd(int fd, size_t max, char **out, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	char *p;
	size_t got = 0, want;
	ssize_t n;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		return FSREAD_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return FSREAD_NOT_REGULAR;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		snprintf(err, errlen, "%lld bytes, the limit is %zu",
		    (long long)st.st_size, max);
		return FSREAD_TOO_LARGE;
	}
	want = (size_t)st.st_size;
	if ((p = malloc(want + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return FSREAD_RESOURCE;
	}
	/* Ask for one byte past st_size to notice a file that grew. */
	for (;;) {
		n = pread(fd, p + got, want + 1 - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int saved = errno;

			snprintf(err, errlen, "read: %s", strerror(saved));
			free(p);
			return fsutil_errno_is_resource(saved) ?
			    FSREAD_RESOURCE : FSREAD_IO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > want) {
			snprintf(err, errlen, "file grew while read");
			free(p);
			return FSREAD_IO;
		}
	}
	if (got != want) {
		snprintf(err, errlen, "file shrank while read");
		free(p);
		return FSREAD_IO;
	}
	p[got] = '\0';
	*out = p;
	*len = got;
	return FSREAD_OK;
}

int
fsutil_openat_nofollow(int dirfd, const char *name)
{
	if (!valid_name(name)) {
		errno = EINVAL;
		return -1;
	}
	return openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

int
fsutil_fsync_dir(int dirfd)
{
	if (do_fsync(dirfd) == 0)
		return 0;
	/*
	 * EINVAL: this file system cannot sync a directory at all (some
	 * network file systems); there is nothing more we could do, and
	 * refusing to run there would help nobody.  Any other error is real.
	 */
	return errno == EINVAL ? 0 : -1;
}

int
fsutil_writers(int fd)
{
	struct statfs sf;
	int rc, saved;

	if (fstatfs(fd, &sf) == -1)
		return -1;
	switch ((unsigned long)sf.f_type) {
	case EXT4_SUPER_MAGIC:		/* ext2 and ext3 too */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
	case F2FS_SUPER_MAGIC:
	case OVERLAYFS_SUPER_MAGIC:
	case REISERFS_SUPER_MAGIC:
		break;
	default:
		return -1;
	}
	rc = fcntl(fd, F_SETLEASE, F_RDLCK);
	saved = errno;
	if (rc == 0) {
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
		return 0;
	}
	return saved == EAGAIN ? 1 : -1;
}

int
fsutil_open_dir(const char *path, int create)
{
	char parent[PATH_MAX];
	size_t n;
	int pfd, saved;

	if (create) {
		if (mkdir(path, DIR_MODE) == 0) {
			/* The parent's new entry must survive a crash too. */
			n = strlen(path);
			if (n >= sizeof(parent)) {
				errno = ENAMETOOLONG;
				return -1;
			}
			memcpy(parent, path, n + 1);
			while (n > 1 && parent[n - 1] == '/')
				parent[--n] = '\0';
			while (n > 0 && parent[n - 1] != '/')
				n--;
			while (n > 1 && parent[n - 1] == '/')
				n--;
			if (n == 0)
				memcpy(parent, ".", 2);
			else
				parent[n] = '\0';
			pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (pfd == -1)
				return -1;
			if (fsutil_fsync_dir(pfd) == -1) {
				saved = errno;
				(void)close(pfd);	/* read-only */
				errno = saved;
				return -1;
			}
			(void)close(pfd);	/* read-only: nothing to lose */
		} else if (errno != EEXIST)
			return -1;
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int
fsutil_write_atomic(int dirfd, const char *name, const void *data,
    size_t len, mode_t mode, char *err, size_t errlen)
{
	static unsigned long seq;
	char tmp[64];
	const char *p = data, *what;
	size_t off = 0;
	ssize_t n;
	int fd = -1, i, saved, rc = FSUTIL_ERR;

	if (!valid_name(name)) {
		snprintf(err, errlen, "invalid file name");
		errno = EINVAL;
		return FSUTIL_ERR;
	}
	/* O_EXCL: a stale temporary from a crash is skipped, never reused. */
	for (i = 0; i < TMP_TRIES; i++) {
		snprintf(tmp, sizeof(tmp), FSUTIL_TMP_PREFIX "%ld.%lu",
		    (long)getpid(), seq++);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode & 07777);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: create a temporary file: %s", name,
		    strerror(saved));
		errno = saved;
		return FSUTIL_ERR;
	}
	/* Exactly mode, whatever the umask: the POS reads these files. */
	what = "fchmod";
	if (fchmod(fd, mode & 07777) == -1)
		goto fail;
	what = "write";
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0) {		/* cannot happen; never spin on it */
			errno = EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	what = "fsync";
	if (do_fsync(fd) == -1) {
		rc = FSUTIL_FATAL;
		goto fail;
	}
	/* Network file systems may report a lost write only here. */
	what = "close";
	i = close(fd);
	fd = -1;
	if (i == -1)
		goto fail;
	what = "rename";
	if (renameat(dirfd, tmp, dirfd, name) == -1)
		goto fail;
	TESTHOOK_CRASH("write-renamed");
	if (fsutil_fsync_dir(dirfd) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: fsync of the directory: %s", name,
		    strerror(saved));
		errno = saved;
		return FSUTIL_FATAL;
	}
	return FSUTIL_OK;
fail:
	saved = errno;
	if (fd != -1)
		(void)close(fd);	/* the file is being discarded */
	/* Nothing else may find it: a failed write leaves no trace. */
	(void)unlinkat(dirfd, tmp, 0);
	snprintf(err, errlen, "%s: %s: %s", name, what, strerror(saved));
	errno = saved;
	return rc;
}

/*
 * to, with ".n" before its extension, shortened if the result would pass
 * NAME_MAX (see fsutil.h).  n == 0: to itself.  0, or -1 if it cannot fit.
 */
static int
suffixed(const char *to, unsigned long long n, char *out, size_t outlen)
{
	const char *dot;
	char suf[32];
	size_t len, extlen = 0, stemlen, suflen;

	len = strlen(to);
	if (n == 0) {
		if (len >= outlen)
			return -1;
		memcpy(out, to, len + 1);
		return 0;
	}
	/* An extension: after the last dot, not a leading or final dot. */
	dot = strrchr(to, '.');
	if (dot != NULL && dot != to && dot[1] != '\0' &&
	    strlen(dot) <= EXT_MAX)
		extlen = strlen(dot);
	stemlen = len - extlen;
	suflen = (size_t)snprintf(suf, sizeof(suf), ".%llu", n);
	if (stemlen + suflen + extlen > NAME_MAX) {
		if (suflen + extlen >= NAME_MAX)
			return -1;
		stemlen = NAME_MAX - suflen - extlen;
		/* Cut before a UTF-8 sequence, never inside one. */
		while (stemlen > 0 &&
		    ((unsigned char)to[stemlen] & 0xc0) == 0x80)
			stemlen--;
		if (stemlen == 0)
			return -1;
	}
	if (stemlen + suflen + extlen >= outlen)
		return -1;
	memcpy(out, to, stemlen);
	memcpy(out + stemlen, suf, suflen);
	memcpy(out + stemlen + suflen, to + len - extlen, extlen + 1);
	return 0;
}

/* rename that fails with EEXIST instead of replacing (invariant 2). */
static int
noreplace_rename(int fd1, const char *a, int fd2, const char *b)
{
	int saved;

	if (!(test_flags & FSUTIL_TEST_NO_RENAMEAT2)) {
		/*
		 * glibc's wrapper (2.28), not syscall(): the same call, but
		 * one a test's LD_PRELOAD can fail (tests/fault/fiu-at.c).
		 */
		if (renameat2(fd1, a, fd2, b, RENAME_NOREPLACE) == 0)
			return 0;
		/* EINVAL/ENOSYS: the flag is not supported here. */
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
	}
	/*
	 * link() never replaces either.  A crash between the two calls
	 * leaves one file under both names (st_nlink 2); the spool's scans
	 * then refuse it as a hard link, which files it in error/ for a
	 * person: nothing is lost or processed twice.  Directories cannot
	 * be linked (EPERM): they only move where renameat2 works.
	 */
	if (linkat(fd1, a, fd2, b, 0) == -1)
		return -1;
	if (unlinkat(fd1, a, 0) == -1) {
		saved = errno;
		(void)unlinkat(fd2, b, 0);	/* undo: back to one name */
		errno = saved;
		return -1;
	}
	return 0;
}

int
fsutil_remove_tmp(int dirfd, char *err, size_t errlen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, n = 0, saved = 0;

	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		saved = errno;
		if (fd != -1)
			(void)close(fd);	/* a directory */
		snprintf(err, errlen, "read the directory: %s",
		    strerror(saved));
		errno = saved;
		return -1;
	}
	rewinddir(d);		/* the copy shares dirfd's offset */
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			saved = errno;
			if (saved != 0)
				snprintf(err, errlen, "read the directory: %s",
				    strerror(saved));
			break;
		}
		if (strncmp(de->d_name, FSUTIL_TMP_PREFIX,
		    sizeof(FSUTIL_TMP_PREFIX) - 1) != 0 || fstatat(dirfd,
		    de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == -1) {
			saved = errno;
			snprintf(err, errlen, "%s: unlink: %s", de->d_name,
			    strerror(saved));
			break;
		}
		n++;
	}
	(void)closedir(d);		/* read-only */
	/* No directory fsync: one back after a power cut goes next time. */
	if (saved != 0) {
		errno = saved;
		return -1;
	}
	return n;
}

int
fsutil_move(int from_dirfd, const char *from, int to_dirfd, const char *to,
    char *final, size_t finallen, char *err, size_t errlen)
{
	char cand[NAME_MAX + 1];
	struct timespec ts;
	unsigned long long n;
	int i, saved;

	if (!valid_name(from) || !valid_name(to)) {
		snprintf(err, errlen, "invalid file name");
		errno = EINVAL;
		return FSUTIL_ERR;
	}
	for (i = 0; i <= SUFFIX_SEQ + SUFFIX_CLOCK; i++) {
		if (i <= SUFFIX_SEQ)
			n = (unsigned long long)i;
		else {
			/* A thousand clashes: stop counting from 1. */
			(void)clock_gettime(CLOCK_REALTIME, &ts);
			n = (unsigned long long)ts.tv_sec * 1000000000ULL +
			    (unsigned long long)ts.tv_nsec + (unsigned)i;
		}
		if (suffixed(to, n, cand, sizeof(cand)) == -1 ||
		    (final != NULL && strlen(cand) >= finallen)) {
			snprintf(err, errlen, "%s: no room for a unique name",
			    to);
			errno = ENAMETOOLONG;
			return FSUTIL_ERR;
		}
		if (noreplace_rename(from_dirfd, from, to_dirfd, cand) == 0)
			break;
		if (errno != EEXIST) {
			saved = errno;
			snprintf(err, errlen, "%s: move: %s", from,
			    strerror(saved));
			errno = saved;
			return FSUTIL_ERR;
		}
	}
	if (i > SUFFIX_SEQ + SUFFIX_CLOCK) {
		snprintf(err, errlen, "%s: no free name", to);
		errno = EEXIST;
		return FSUTIL_ERR;
	}
	if (final != NULL)
		memcpy(final, cand, strlen(cand) + 1);
	TESTHOOK_CRASH("move-renamed");
	/* Target first: a crash in between leaves two names, never none. */
	if (fsutil_fsync_dir(to_dirfd) == -1 ||
	    (from_dirfd != to_dirfd && fsutil_fsync_dir(from_dirfd) == -1)) {
		saved = errno;
		snprintf(err, errlen, "%s: fsync of a directory: %s", cand,
		    strerror(saved));
		errno = saved;
		return FSUTIL_FATAL;
	}
	return FSUTIL_OK;
}

int
fsutil_move_exact(int from_dirfd, const char *from, int to_dirfd,
    const char *to, char *err, size_t errlen)
{
	int saved;

	if (!valid_name(from) || !valid_name(to)) {
		snprintf(err, errlen, "invalid file name");
		errno = EINVAL;
		return FSUTIL_ERR;
	}
	if (noreplace_rename(from_dirfd, from, to_dirfd, to) == -1) {
		saved = errno;
		if (saved == EEXIST)
			snprintf(err, errlen, "%s: the name is taken", to);
		else
			snprintf(err, errlen, "%s: move: %s", from,
			    strerror(saved));
		errno = saved;
		return FSUTIL_ERR;
	}
	if (fsutil_fsync_dir(to_dirfd) == -1 ||
	    (from_dirfd != to_dirfd && fsutil_fsync_dir(from_dirfd) == -1)) {
		saved = errno;
		snprintf(err, errlen, "%s: fsync of a directory: %s", to,
		    strerror(saved));
		errno = saved;
		return FSUTIL_FATAL;
	}
	return FSUTIL_OK;
}

int
fsutil_unlink(int dirfd, const char *name, char *err, size_t errlen)
{
	int saved;

	if (!valid_name(name)) {
		snprintf(err, errlen, "invalid file name");
		errno = EINVAL;
		return FSUTIL_ERR;
	}
	if (unlinkat(dirfd, name, 0) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: unlink: %s", name, strerror(saved));
		errno = saved;
		return FSUTIL_ERR;
	}
	if (fsutil_fsync_dir(dirfd) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: fsync of the directory: %s", name,
		    strerror(saved));
		errno = saved;
		return FSUTIL_FATAL;
	}
	return FSUTIL_OK;
}

int
fsutil_lock(const char *path, int *fdp, char *err, size_t errlen)
{
	struct stat st;
	char pid[32];
	ssize_t n;
	size_t i;
	int fd, saved;

	*fdp = -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY, LOCK_MODE);
	if (fd == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return FSUTIL_ERR;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		/* A FIFO or device planted under the lock's name. */
		saved = EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		(void)close(fd);	/* nothing written */
		errno = saved;
		return FSUTIL_ERR;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		if (saved != EWOULDBLOCK) {
			snprintf(err, errlen, "%s: flock: %s", path,
			    strerror(saved));
			(void)close(fd);	/* nothing written */
			errno = saved;
			return FSUTIL_ERR;
		}
		/* Name the holder, showing digits only: the file is text. */
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		i = 0;
		while (n > 0 && i < (size_t)n && pid[i] >= '0' && pid[i] <= '9')
			i++;
		pid[i] = '\0';
		snprintf(err, errlen, "%s: held by another process (pid %s)",
		    path, i > 0 ? pid : "unknown");
		(void)close(fd);		/* nothing written */
		errno = saved;
		return FSUTIL_LOCKED;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n) {
		saved = errno;
		snprintf(err, errlen, "%s: write pid: %s", path,
		    strerror(saved));
		(void)close(fd);	/* the pid is only for people */
		errno = saved;
		return FSUTIL_ERR;
	}
	*fdp = fd;
	return FSUTIL_OK;
}

int
fsutil_errno_is_resource(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM || e == EIO ||
	    e == ENOSPC || e == ENOBUFS;
}

/* An entry of dirfd with this inode; 1 found, 0 not, -1 error. */
static int
dir_has_inode(int dirfd, dev_t dev, ino_t ino)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd, found = 0;

	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return -1;
	}
	rewinddir(d);
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_ino != ino)
			continue;	/* cheap filter before any stat */
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == dev && st.st_ino == ino)
			found = 1;
	}
	(void)closedir(d);
	return found;
}

int
fsutil_drop_moved_twin(int dirfd, const char *name, const int *targets,
    size_t ntargets, char *err, size_t errlen)
{
	struct stat st;
	size_t i;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode) || st.st_nlink != 2)
		return 0;
	for (i = 0; i < ntargets; i++) {
		if (dir_has_inode(targets[i], st.st_dev, st.st_ino) != 1)
			continue;
		if (unlinkat(dirfd, name, 0) == -1) {
			snprintf(err, errlen, "unlink %s: %s", name,
			    strerror(errno));
			return 0;
		}
		if (fsutil_fsync_dir(dirfd) != FSUTIL_OK) {
			snprintf(err, errlen, "fsync after unlinking %s: %s",
			    name, strerror(errno));
			return FSUTIL_FATAL;
		}
		return 1;
	}
	return 0;
}

int
fsutil_each_entry(int dirfd, int (*cb)(const char *, void *), void *arg,
    char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0, saved = 0;

	/* A descriptor of our own: fdopendir takes it and its offset. */
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (d = fdopendir(fd)) == NULL) {
		saved = errno;
		if (fd != -1)
			(void)close(fd);	/* a directory */
		snprintf(err, errlen, "read the directory: %s",
		    strerror(saved));
		errno = saved;
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if ((saved = errno) != 0) {
				snprintf(err, errlen, "read the directory: %s",
				    strerror(saved));
				rc = -1;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((rc = cb(de->d_name, arg)) != 0)
			break;
	}
	(void)closedir(d);		/* read-only */
	if (rc == -1 && saved != 0)
		errno = saved;
	return rc;
}

enum fsentry_type
fsutil_entry_type(int dirfd, const char *name)
{
	struct stat st;

	if (!valid_name(name)) {
		errno = EINVAL;
		return FSENTRY_ERROR;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? FSENTRY_NONE : FSENTRY_ERROR;
	return S_ISREG(st.st_mode) ? FSENTRY_REGULAR : FSENTRY_OTHER;
}

enum fsread_status
fsutil_read_at(int dirfd, const char *name, size_t max, char **out,
    size_t *len, char *err, size_t errlen)
{
	enum fsread_status rc;
	char e[256];
	int fd, saved;

	*out = NULL;
	*len = 0;
	if ((fd = fsutil_openat_nofollow(dirfd, name)) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", valid_name(name) ? name :
		    "(invalid name)", strerror(saved));
		errno = saved;
		if (saved == ELOOP)
			return FSREAD_SYMLINK;
		return fsutil_errno_is_resource(saved) ? FSREAD_RESOURCE :
		    FSREAD_OPEN;
	}
	rc = fsutil_read_fd(fd, max, out, len, e, sizeof(e));
	if (rc != FSREAD_OK)
		snprintf(err, errlen, "%s: %s", name, e);
	/* Read-only descriptor: close cannot lose data; still checked. */
	if (close(fd) == -1 && rc == FSREAD_OK) {
		snprintf(err, errlen, "%s: close: %s", name, strerror(errno));
		free(*out);
		*out = NULL;
		*len = 0;
		rc = FSREAD_IO;
	}
	return rc;
}
