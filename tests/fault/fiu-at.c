/*
 * fiu-at.c - failure points for the directory-relative calls that
 * libfiu's POSIX preload (fiu_posix_preload.so, Debian libfiu 1.1) does
 * not wrap, so that the fault suite's failures reach spoold's own code.
 *
 * spoold opens, creates, renames and removes spool files only relative
 * to directory descriptors (lib/util/fsutil.c): openat, renameat,
 * renameat2, linkat, unlinkat.  libfiu wraps open, rename and unlink but
 * none of these, so "posix/io/oc/open" or "posix/io/dir/rename" would
 * only ever hit SQLite and the configuration reader.  This preload adds
 *	posix/io/oc/openat	posix/io/dir/renameat	posix/io/dir/renameat2
 *	posix/io/dir/linkat	posix/io/dir/unlinkat
 * as ordinary libfiu failure points (enable/disable them with fiu-run -c
 * or fiu-ctrl like the built-in ones; failinfo is the errno, EIO when 0).
 *
 * Built by tests/fault/io_errors.sh and disk_full.sh at run time:
 *	cc -shared -fPIC -o fiu-at.so fiu-at.c -lfiu -ldl
 * and put in LD_PRELOAD after fiu-run's own libraries.  Trusts libfiu;
 * test code only, never linked into spoold.
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

#define FIU_ENABLE 1	/* the real fiu_fail(), not the no-op macro */
#include <fiu.h>

/* fiu_fail() may itself call wrapped functions: never inject there. */
static __thread int in_fiu;

static int
inject(const char *name)
{
	void *info;
	int fail;

	if (in_fiu)
		return 0;
	in_fiu++;
	fail = fiu_fail(name);
	info = fail ? fiu_failinfo() : NULL;
	in_fiu--;
	if (!fail)
		return 0;
	errno = info != NULL ? (int)(long)info : EIO;
	return 1;
}

typedef int (*open_fn)(int, const char *, int, ...);
typedef int (*rename_fn)(int, const char *, int, const char *);
typedef int (*rename2_fn)(int, const char *, int, const char *, unsigned);
typedef int (*link_fn)(int, const char *, int, const char *, int);
typedef int (*unlink_fn)(int, const char *, int);

#define REAL(fn, type) \
	static type real_; \
	if (real_ == NULL) \
		real_ = (type)dlsym(RTLD_NEXT, fn); \
	if (real_ == NULL) { \
		errno = ENOSYS; \
		return -1; \
	}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	REAL("openat", open_fn);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (inject("posix/io/oc/openat"))
		return -1;
	return real_(dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	REAL("openat64", open_fn);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (inject("posix/io/oc/openat"))
		return -1;
	return real_(dirfd, path, flags, mode);
}

int
renameat(int fd1, const char *a, int fd2, const char *b)
{
	REAL("renameat", rename_fn);
	if (inject("posix/io/dir/renameat"))
		return -1;
	return real_(fd1, a, fd2, b);
}

int
renameat2(int fd1, const char *a, int fd2, const char *b, unsigned flags)
{
	REAL("renameat2", rename2_fn);
	if (inject("posix/io/dir/renameat2"))
		return -1;
	return real_(fd1, a, fd2, b, flags);
}

int
linkat(int fd1, const char *a, int fd2, const char *b, int flags)
{
	REAL("linkat", link_fn);
	if (inject("posix/io/dir/linkat"))
		return -1;
	return real_(fd1, a, fd2, b, flags);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	REAL("unlinkat", unlink_fn);
	if (inject("posix/io/dir/unlinkat"))
		return -1;
	return real_(dirfd, path, flags);
}
