/*
 * test_fsutil.c - the safe file layer: atomic writes (replace, mode, no
 * temporary left behind on any error), moves that never replace (numbered
 * names, long names, UTF-8, the link+unlink fallback), directories, the
 * single-instance lock, reading a descriptor.
 *
 * The suite runs as root in CI, where permission bits stop nothing, so the
 * error paths are made with ENOENT, ENOTDIR, EISDIR, EEXIST, ELOOP, EXDEV,
 * RLIMIT_FSIZE (EFBIG) and the fsync fault switch; the one case that needs
 * a non-root user says so when it is skipped.
 */
#define _XOPEN_SOURCE 700	/* nftw */

#include "util/fsutil.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/utf8.h"
#include "tap.h"

static char trash[] = "/tmp/test_fsutil.XXXXXX";
static int ncase;

/* A fresh directory for one case; its descriptor in *fd. */
static char *
case_dir(int *fd)
{
	static char dir[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(dir[i], sizeof(dir[i]), "%s/case%d", trash, ++ncase);
	if (mkdir(dir[i], 0700) == -1 ||
	    (*fd = open(dir[i], O_RDONLY | O_DIRECTORY)) == -1) {
		perror(dir[i]);
		exit(2);
	}
	return dir[i];
}

static char *
path_in(const char *dir, const char *name)
{
	static char p[4][1024];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
put(const char *path, const char *text)
{
	FILE *f;

	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(text, 1, strlen(text), f) != strlen(text) ||
	    fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* Contents of a small file, or "(none)" / "(unreadable)". */
static const char *
get(const char *path)
{
	static char buf[4][512];
	static int i;
	ssize_t n;
	int fd;

	i = (i + 1) % 4;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1)
		return "(none)";
	n = read(fd, buf[i], sizeof(buf[i]) - 1);
	close(fd);
	if (n < 0)
		return "(unreadable)";
	buf[i][n] = '\0';
	return buf[i];
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Entries of dir other than . and .., as "a b c" in sorted order. */
static const char *
listing(const char *dir)
{
	static char out[4096];
	struct dirent **v;
	int n, i;
	size_t o = 0;

	out[0] = '\0';
	if ((n = scandir(dir, &v, NULL, alphasort)) < 0)
		return "(error)";
	for (i = 0; i < n; i++) {
		if (strcmp(v[i]->d_name, ".") != 0 &&
		    strcmp(v[i]->d_name, "..") != 0 && o < sizeof(out) - 1)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
			    o ? " " : "", v[i]->d_name);
		free(v[i]);
	}
	free(v);
	return out;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(p, 0700);
	return remove(p) == -1 ? -1 : 0;
}

static void
test_open_dir(void)
{
	struct stat st;
	char *dir, *p;
	int fd, cfd;

	dir = case_dir(&cfd);
	p = path_in(dir, "new");
	fd = fsutil_open_dir(p, 1);
	CHECK(fd >= 0, "open_dir create: %s", strerror(errno));
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0750,
	    "mode %o", (unsigned)st.st_mode & 07777);
	close(fd);
	fd = fsutil_open_dir(p, 1);		/* exists: fine */
	CHECK(fd >= 0, "open_dir existing: %s", strerror(errno));
	close(fd);
	fd = fsutil_open_dir(path_in(dir, "trail/"), 1);
	CHECK(fd >= 0, "trailing slash: %s", strerror(errno));
	close(fd);

	errno = 0;
	CHECK_INT(fsutil_open_dir(path_in(dir, "missing"), 0), -1);
	CHECK_INT(errno, ENOENT);
	errno = 0;
	CHECK_INT(fsutil_open_dir(path_in(dir, "no/such"), 1), -1);
	CHECK_INT(errno, ENOENT);
	put(path_in(dir, "file"), "x");
	errno = 0;
	CHECK_INT(fsutil_open_dir(path_in(dir, "file"), 0), -1);
	CHECK_INT(errno, ENOTDIR);
	errno = 0;
	CHECK_INT(fsutil_open_dir(path_in(dir, "file"), 1), -1);
	CHECK_INT(errno, ENOTDIR);
	/* A symbolic link to a directory is not followed. */
	CHECK(symlink(p, path_in(dir, "link")) == 0, "symlink");
	errno = 0;
	CHECK_INT(fsutil_open_dir(path_in(dir, "link"), 1), -1);
	/* Linux says ENOTDIR when O_DIRECTORY meets the link first. */
	CHECK(errno == ELOOP || errno == ENOTDIR, "errno %d", errno);
	CHECK_INT(fsutil_fsync_dir(cfd), 0);
	close(cfd);
}

static void
test_write_atomic(void)
{
	struct rlimit rl, old;
	struct stat st;
	char err[256], *dir, big[8192];
	int dfd;
	mode_t um;

	dir = case_dir(&dfd);
	/* Exactly the mode asked for, whatever the umask. */
	um = umask(077);
	CHECK_INT(fsutil_write_atomic(dfd, "r.json", "one", 3, 0640, err,
	    sizeof(err)), FSUTIL_OK);
	umask(um);
	CHECK_STR(get(path_in(dir, "r.json")), "one");
	CHECK(stat(path_in(dir, "r.json"), &st) == 0 &&
	    (st.st_mode & 07777) == 0640, "mode %o",
	    (unsigned)st.st_mode & 07777);
	/* Replacing is what it is for (results are rewritten). */
	CHECK_INT(fsutil_write_atomic(dfd, "r.json", "second", 6, 0600, err,
	    sizeof(err)), FSUTIL_OK);
	CHECK_STR(get(path_in(dir, "r.json")), "second");
	CHECK(stat(path_in(dir, "r.json"), &st) == 0 &&
	    (st.st_mode & 07777) == 0600 && st.st_nlink == 1, "replaced");
	CHECK_INT(fsutil_write_atomic(dfd, "empty", "", 0, 0644, err,
	    sizeof(err)), FSUTIL_OK);
	CHECK_STR(get(path_in(dir, "empty")), "");
	CHECK_STR(listing(dir), "empty r.json");

	/* Names are one component; nothing is created for a bad one. */
	CHECK_INT(fsutil_write_atomic(dfd, "", "x", 1, 0644, err,
	    sizeof(err)), FSUTIL_ERR);
	CHECK_INT(fsutil_write_atomic(dfd, "a/b", "x", 1, 0644, err,
	    sizeof(err)), FSUTIL_ERR);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(fsutil_write_atomic(dfd, "..", "x", 1, 0644, err,
	    sizeof(err)), FSUTIL_ERR);
	CHECK_INT(fsutil_write_atomic(-1, "x", "x", 1, 0644, err,
	    sizeof(err)), FSUTIL_ERR);
	CHECK_INT(errno, EBADF);

	/* Target is a directory: rename fails, the temporary goes. */
	CHECK(mkdir(path_in(dir, "d"), 0700) == 0, "mkdir");
	put(path_in(dir, "d/inside"), "keep");
	CHECK_INT(fsutil_write_atomic(dfd, "d", "x", 1, 0644, err,
	    sizeof(err)), FSUTIL_ERR);
	CHECK(strstr(err, "rename") != NULL, "err: %s", err);
	CHECK_STR(listing(dir), "d empty r.json");
	CHECK_STR(get(path_in(dir, "d/inside")), "keep");

	/* A write that fails half way (EFBIG holds for root too). */
	memset(big, 'x', sizeof(big));
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 1000;
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit");
	CHECK_INT(fsutil_write_atomic(dfd, "r.json", big, sizeof(big), 0644,
	    err, sizeof(err)), FSUTIL_ERR);
	CHECK_INT(errno, EFBIG);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0, "setrlimit back");
	signal(SIGXFSZ, SIG_DFL);
	CHECK(strstr(err, "write") != NULL, "err: %s", err);
	CHECK_STR(get(path_in(dir, "r.json")), "second");
	CHECK_STR(listing(dir), "d empty r.json");

	/* A failed fsync is fatal, and leaves the old file and no temp. */
	fsutil_test_set(FSUTIL_TEST_FAIL_FSYNC);
	CHECK_INT(fsutil_write_atomic(dfd, "r.json", "third", 5, 0644, err,
	    sizeof(err)), FSUTIL_FATAL);
	fsutil_test_set(0);
	CHECK(strstr(err, "fsync") != NULL, "err: %s", err);
	CHECK_STR(get(path_in(dir, "r.json")), "second");
	CHECK_STR(listing(dir), "d empty r.json");

	/* A symlink at the name is replaced, never written through. */
	put(path_in(dir, "secret"), "secret");
	CHECK(symlink("secret", path_in(dir, "ln")) == 0, "symlink");
	CHECK_INT(fsutil_write_atomic(dfd, "ln", "new", 3, 0644, err,
	    sizeof(err)), FSUTIL_OK);
	CHECK_STR(get(path_in(dir, "secret")), "secret");
	CHECK(lstat(path_in(dir, "ln"), &st) == 0 && S_ISREG(st.st_mode),
	    "ln is now a file");

	/* A stale temporary of ours (a crash) is skipped, never reused. */
	{
		char stale[64];
		int i;

		for (i = 0; i < 3; i++) {
			snprintf(stale, sizeof(stale), FSUTIL_TMP_PREFIX
			    "%ld.%d", (long)getpid(), 9 + i);
			put(path_in(dir, stale), "stale");
		}
		for (i = 0; i < 12; i++)
			CHECK_INT(fsutil_write_atomic(dfd, "s", "v", 1, 0644,
			    err, sizeof(err)), FSUTIL_OK);
		CHECK_STR(get(path_in(dir, stale)), "stale");
		/* The next start removes them, and only them. */
		CHECK(mkdir(path_in(dir, FSUTIL_TMP_PREFIX "dir"), 0700) == 0,
		    "mkdir");
		CHECK(symlink("secret", path_in(dir, FSUTIL_TMP_PREFIX
		    "ln")) == 0, "symlink");
		put(path_in(dir, ".spoold-tmp"), "not one of them");
		CHECK_INT(fsutil_remove_tmp(dfd, err, sizeof(err)), 3);
		CHECK_INT(fsutil_remove_tmp(dfd, err, sizeof(err)), 0);
		CHECK(!exists(path_in(dir, stale)), "stale gone");
		CHECK_STR(get(path_in(dir, ".spoold-tmp")), "not one of them");
		CHECK(exists(path_in(dir, FSUTIL_TMP_PREFIX "ln")),
		    "symbolic link kept");
		CHECK(rmdir(path_in(dir, FSUTIL_TMP_PREFIX "dir")) == 0,
		    "directory kept");
		CHECK(unlink(path_in(dir, FSUTIL_TMP_PREFIX "ln")) == 0 &&
		    unlink(path_in(dir, ".spoold-tmp")) == 0, "unlink");
	}

	/* Open writers: one, then none (where the kernel can tell). */
	{
		int w, r;

		w = open(path_in(dir, "open.json"), O_WRONLY | O_CREAT, 0644);
		r = open(path_in(dir, "open.json"), O_RDONLY);
		CHECK(w != -1 && r != -1, "open");
		if (fsutil_writers(r) == -1)
			printf("# skip: %s cannot tell open writers (file "
			    "system or owner)\n", dir);
		else {
			CHECK_INT(fsutil_writers(r), 1);
			close(w);
			w = -1;
			CHECK_INT(fsutil_writers(r), 0);
			/* A read-only opener is no writer. */
			w = open(path_in(dir, "open.json"), O_RDONLY);
			CHECK_INT(fsutil_writers(r), 0);
		}
		close(w);
		close(r);
	}

	/* Permission denied needs a user permission bits apply to. */
	if (geteuid() == 0)
		printf("# skip write into a read-only directory: running as "
		    "root, permission bits do not stop root\n");
	else {
		int rfd;
		char *ro = case_dir(&rfd);

		chmod(ro, 0500);
		CHECK_INT(fsutil_write_atomic(rfd, "x", "x", 1, 0644, err,
		    sizeof(err)), FSUTIL_ERR);
		CHECK_INT(errno, EACCES);
		chmod(ro, 0700);
		CHECK_STR(listing(ro), "");
		close(rfd);
	}
	close(dfd);
}

/* Move a file named name (content text) from a to b; the final name. */
static const char *
move_new(int afd, const char *adir, int bfd, const char *name,
    const char *text, int want)
{
	static char final[4][NAME_MAX + 1];
	static int i;
	char err[512];
	int rc;

	i = (i + 1) % 4;
	put(path_in(adir, name), text);
	rc = fsutil_move(afd, name, bfd, name, final[i], sizeof(final[i]),
	    err, sizeof(err));
	CHECK(rc == want, "move %s: %d, want %d: %s", name, rc, want, err);
	return rc == FSUTIL_OK ? final[i] : "(failed)";
}

static int
valid_utf8(const char *s)
{
	size_t n = strlen(s), k;

	while (n > 0) {
		if ((k = utf8_decode((const unsigned char *)s, n, NULL)) == 0)
			return 0;
		s += k;
		n -= k;
	}
	return 1;
}

static void
test_move(void)
{
	struct stat st;
	char *a, *b, err[512], name[NAME_MAX + 2], small[8];
	const char *f;
	int afd, bfd, i;

	a = case_dir(&afd);
	b = case_dir(&bfd);
	CHECK_STR(move_new(afd, a, bfd, "sale.json", "1", FSUTIL_OK),
	    "sale.json");
	CHECK(!exists(path_in(a, "sale.json")), "source gone");
	CHECK_STR(get(path_in(b, "sale.json")), "1");
	/* Never replaces: numbered before the extension. */
	CHECK_STR(move_new(afd, a, bfd, "sale.json", "2", FSUTIL_OK),
	    "sale.1.json");
	CHECK_STR(move_new(afd, a, bfd, "sale.json", "3", FSUTIL_OK),
	    "sale.2.json");
	CHECK_STR(get(path_in(b, "sale.json")), "1");
	CHECK_STR(get(path_in(b, "sale.1.json")), "2");
	CHECK_STR(get(path_in(b, "sale.2.json")), "3");
	CHECK_STR(listing(a), "");
	/* Names without an extension, dotfiles, odd dots. */
	move_new(afd, a, bfd, "README", "x", FSUTIL_OK);
	CHECK_STR(move_new(afd, a, bfd, "README", "y", FSUTIL_OK),
	    "README.1");
	move_new(afd, a, bfd, ".x", "x", FSUTIL_OK);
	CHECK_STR(move_new(afd, a, bfd, ".x", "y", FSUTIL_OK), ".x.1");
	move_new(afd, a, bfd, "a.b.json", "x", FSUTIL_OK);
	CHECK_STR(move_new(afd, a, bfd, "a.b.json", "y", FSUTIL_OK),
	    "a.b.1.json");
	move_new(afd, a, bfd, "x.", "x", FSUTIL_OK);
	CHECK_STR(move_new(afd, a, bfd, "x.", "y", FSUTIL_OK), "x..1");
	move_new(afd, a, bfd, "a.this-is-not-an-extension", "x", FSUTIL_OK);
	CHECK_STR(move_new(afd, a, bfd, "a.this-is-not-an-extension", "y",
	    FSUTIL_OK), "a.this-is-not-an-extension.1");
	/* Case differs: a different name, no suffix. */
	CHECK_STR(move_new(afd, a, bfd, "SALE.json", "4", FSUTIL_OK),
	    "SALE.json");

	/* Within one directory (a new name there). */
	put(path_in(a, "one"), "1");
	put(path_in(a, "two"), "2");
	CHECK_INT(fsutil_move(afd, "one", afd, "two", name, sizeof(name), err,
	    sizeof(err)), FSUTIL_OK);
	CHECK_STR(name, "two.1");
	CHECK_STR(get(path_in(a, "two")), "2");
	CHECK_STR(listing(a), "two two.1");

	/* 255 bytes: the stem gives way, the extension stays. */
	memset(name, 'n', NAME_MAX);
	memcpy(name + NAME_MAX - 5, ".json", 6);
	CHECK_INT(strlen(name), 255);
	CHECK_STR(move_new(afd, a, bfd, name, "1", FSUTIL_OK), name);
	f = move_new(afd, a, bfd, name, "2", FSUTIL_OK);
	CHECK_INT(strlen(f), 255);
	CHECK(strncmp(f, name, 248) == 0 && strcmp(f + 248, ".1.json") == 0,
	    "long: %s", f);
	CHECK_STR(get(path_in(b, name)), "1");
	/* ... never inside a UTF-8 sequence (U+20AC is 3 bytes). */
	name[0] = '\0';
	for (i = 0; i < 83; i++)
		strncat(name, "\xe2\x82\xac", sizeof(name) - strlen(name) - 1);
	strncat(name, "x.json", sizeof(name) - strlen(name) - 1);
	CHECK_INT(strlen(name), 255);
	move_new(afd, a, bfd, name, "1", FSUTIL_OK);
	f = move_new(afd, a, bfd, name, "2", FSUTIL_OK);
	CHECK(valid_utf8(f), "cut inside a sequence");
	CHECK_INT(strlen(f), 82 * 3 + 7);
	CHECK(strcmp(f + 246, ".1.json") == 0, "utf8: %s", f + 240);

	/* The name buffer must hold the name used; nothing moves if not. */
	put(path_in(a, "sale.json"), "5");
	CHECK_INT(fsutil_move(afd, "sale.json", bfd, "sale.json", small,
	    sizeof(small), err, sizeof(err)), FSUTIL_ERR);
	CHECK_INT(errno, ENAMETOOLONG);
	CHECK_STR(get(path_in(a, "sale.json")), "5");
	/* final may be NULL. */
	CHECK_INT(fsutil_move(afd, "sale.json", bfd, "sale.json", NULL, 0,
	    err, sizeof(err)), FSUTIL_OK);
	CHECK_STR(get(path_in(b, "sale.3.json")), "5");

	/* Missing source, bad names. */
	CHECK_INT(fsutil_move(afd, "nope", bfd, "nope", NULL, 0, err,
	    sizeof(err)), FSUTIL_ERR);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(fsutil_move(afd, "../x", bfd, "x", NULL, 0, err,
	    sizeof(err)), FSUTIL_ERR);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(fsutil_move(afd, "x", bfd, ".", NULL, 0, err, sizeof(err)),
	    FSUTIL_ERR);
	CHECK_INT(errno, EINVAL);

	/* A symbolic link moves as itself; the target is not touched. */
	put(path_in(a, "secret"), "secret");
	CHECK(symlink(path_in(a, "secret"), path_in(a, "ln.json")) == 0,
	    "symlink");
	CHECK_INT(fsutil_move(afd, "ln.json", bfd, "ln.json", name,
	    sizeof(name), err, sizeof(err)), FSUTIL_OK);
	CHECK(lstat(path_in(b, "ln.json"), &st) == 0 && S_ISLNK(st.st_mode),
	    "still a link");
	CHECK_STR(get(path_in(a, "secret")), "secret");
	/* So does a FIFO (never opened) and a directory. */
	CHECK(mkfifo(path_in(a, "f.json"), 0600) == 0, "mkfifo");
	CHECK_INT(fsutil_move(afd, "f.json", bfd, "f.json", name,
	    sizeof(name), err, sizeof(err)), FSUTIL_OK);
	CHECK(lstat(path_in(b, "f.json"), &st) == 0 && S_ISFIFO(st.st_mode),
	    "fifo moved");
	CHECK(mkdir(path_in(a, "d.json"), 0700) == 0, "mkdir");
	CHECK(mkdir(path_in(b, "d.json"), 0700) == 0, "mkdir");
	CHECK_INT(fsutil_move(afd, "d.json", bfd, "d.json", name,
	    sizeof(name), err, sizeof(err)), FSUTIL_OK);
	CHECK_STR(name, "d.1.json");

	/* Without RENAME_NOREPLACE: link+unlink, the same guarantees. */
	fsutil_test_set(FSUTIL_TEST_NO_RENAMEAT2);
	CHECK_STR(move_new(afd, a, bfd, "sale.json", "6", FSUTIL_OK),
	    "sale.4.json");
	CHECK_STR(get(path_in(b, "sale.json")), "1");
	CHECK(stat(path_in(b, "sale.4.json"), &st) == 0 && st.st_nlink == 1,
	    "one link");
	CHECK(!exists(path_in(a, "sale.json")), "source gone");
	CHECK_STR(move_new(afd, a, bfd, "fresh.xml", "7", FSUTIL_OK),
	    "fresh.xml");
	/* Directories cannot be linked: refused, left where they were. */
	CHECK(mkdir(path_in(a, "dir2"), 0700) == 0, "mkdir");
	CHECK_INT(fsutil_move(afd, "dir2", bfd, "dir2", name, sizeof(name),
	    err, sizeof(err)), FSUTIL_ERR);
	CHECK(exists(path_in(a, "dir2")) && !exists(path_in(b, "dir2")),
	    "dir2 stays");
	fsutil_test_set(0);

	/* The move happened, but its fsync failed: fatal. */
	fsutil_test_set(FSUTIL_TEST_FAIL_FSYNC);
	move_new(afd, a, bfd, "late.json", "8", FSUTIL_FATAL);
	fsutil_test_set(0);

	/* Across file systems rename cannot work: said, nothing moved. */
	{
		struct stat s1, s2;
		char shm[] = "/dev/shm/test_fsutil.XXXXXX";
		int sfd;

		if (mkdtemp(shm) == NULL || stat(shm, &s1) == -1 ||
		    stat(a, &s2) == -1) {
			printf("# skip EXDEV: no /dev/shm to test with\n");
		} else if (s1.st_dev == s2.st_dev) {
			printf("# skip EXDEV: /dev/shm and %s are one file "
			    "system\n", trash);
			rmdir(shm);
		} else {
			sfd = open(shm, O_RDONLY | O_DIRECTORY);
			put(path_in(a, "x.json"), "x");
			CHECK_INT(fsutil_move(afd, "x.json", sfd, "x.json",
			    NULL, 0, err, sizeof(err)), FSUTIL_ERR);
			CHECK_INT(errno, EXDEV);
			CHECK_STR(get(path_in(a, "x.json")), "x");
			close(sfd);
			rmdir(shm);
		}
	}
	close(afd);
	close(bfd);
}

static void
test_lock(void)
{
	struct stat st;
	char *dir, *p, err[256], pid[32];
	pid_t child;
	int dfd, fd, fd2, status;

	dir = case_dir(&dfd);
	p = path_in(dir, "spoold.lock");
	CHECK_INT(fsutil_lock(p, &fd, err, sizeof(err)), FSUTIL_OK);
	CHECK(fd >= 0, "fd %d", fd);
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	CHECK_STR(get(p), pid);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 077) == 0, "mode %o",
	    (unsigned)st.st_mode & 0777);
	/* flock is per open file description: a second open conflicts. */
	CHECK_INT(fsutil_lock(p, &fd2, err, sizeof(err)), FSUTIL_LOCKED);
	CHECK_INT(fd2, -1);
	pid[strlen(pid) - 1] = '\0';
	CHECK(strstr(err, pid) != NULL, "err names the holder: %s", err);
	/* And another process is refused. */
	if ((child = fork()) == 0) {
		int cfd;

		_exit(fsutil_lock(p, &cfd, err, sizeof(err)) == FSUTIL_LOCKED ?
		    0 : 1);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "child got the lock");
	/* Released with the descriptor. */
	close(fd);
	CHECK_INT(fsutil_lock(p, &fd, err, sizeof(err)), FSUTIL_OK);
	close(fd);

	/* Not through a symbolic link, not on a directory or FIFO. */
	CHECK(symlink(p, path_in(dir, "ln")) == 0, "symlink");
	CHECK_INT(fsutil_lock(path_in(dir, "ln"), &fd, err, sizeof(err)),
	    FSUTIL_ERR);
	CHECK_INT(errno, ELOOP);
	CHECK_INT(fsutil_lock(dir, &fd, err, sizeof(err)), FSUTIL_ERR);
	CHECK(mkfifo(path_in(dir, "fifo"), 0600) == 0, "mkfifo");
	alarm(10);			/* a blocking open would hang here */
	CHECK_INT(fsutil_lock(path_in(dir, "fifo"), &fd, err, sizeof(err)),
	    FSUTIL_ERR);
	alarm(0);
	CHECK_INT(fsutil_lock(path_in(dir, "no/such"), &fd, err,
	    sizeof(err)), FSUTIL_ERR);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(fd, -1);
	close(dfd);
}

static void
test_read_fd(void)
{
	char *dir, *buf, err[256];
	size_t len;
	int dfd, fd;

	dir = case_dir(&dfd);
	put(path_in(dir, "r.json"), "{\"a\":1}");
	fd = fsutil_openat_nofollow(dfd, "r.json");
	CHECK(fd >= 0, "openat_nofollow: %s", strerror(errno));
	lseek(fd, 0, SEEK_END);		/* the offset does not matter */
	CHECK_INT(fsutil_read_fd(fd, 100, &buf, &len, err, sizeof(err)),
	    FSREAD_OK);
	CHECK_INT(len, 7);
	CHECK_STR(buf, "{\"a\":1}");
	free(buf);
	CHECK_INT(fsutil_read_fd(fd, 6, &buf, &len, err, sizeof(err)),
	    FSREAD_TOO_LARGE);
	CHECK(buf == NULL && len == 0, "nothing returned");
	CHECK_STR(fsread_code(FSREAD_TOO_LARGE), "TOO_LARGE");
	CHECK_INT(fsutil_read_fd(fd, 7, &buf, &len, err, sizeof(err)),
	    FSREAD_OK);
	free(buf);
	close(fd);
	put(path_in(dir, "empty"), "");
	fd = fsutil_openat_nofollow(dfd, "empty");
	CHECK_INT(fsutil_read_fd(fd, 7, &buf, &len, err, sizeof(err)),
	    FSREAD_OK);
	CHECK(buf != NULL && len == 0 && buf[0] == '\0', "empty");
	free(buf);
	close(fd);

	/* A FIFO opens without blocking and is refused by type. */
	CHECK(mkfifo(path_in(dir, "f"), 0600) == 0, "mkfifo");
	alarm(10);
	fd = fsutil_openat_nofollow(dfd, "f");
	alarm(0);
	CHECK(fd >= 0, "fifo open: %s", strerror(errno));
	CHECK_INT(fsutil_read_fd(fd, 7, &buf, &len, err, sizeof(err)),
	    FSREAD_NOT_REGULAR);
	close(fd);
	CHECK_INT(fsutil_read_fd(-1, 7, &buf, &len, err, sizeof(err)),
	    FSREAD_IO);

	/* Never through a symbolic link; one component only. */
	CHECK(symlink("r.json", path_in(dir, "ln")) == 0, "symlink");
	errno = 0;
	CHECK_INT(fsutil_openat_nofollow(dfd, "ln"), -1);
	CHECK_INT(errno, ELOOP);
	errno = 0;
	CHECK_INT(fsutil_openat_nofollow(dfd, "../r.json"), -1);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK_INT(fsutil_openat_nofollow(dfd, "missing"), -1);
	CHECK_INT(errno, ENOENT);
	close(dfd);
}

/* The half of an interrupted link+unlink move is dropped; nothing else. */
static void
test_drop_moved_twin(void)
{
	struct stat st;
	char *dir, err[256];
	int cfd, work, done, other, targets[2];

	dir = case_dir(&cfd);
	CHECK((work = fsutil_open_dir(path_in(dir, "work"), 1)) >= 0, "work");
	CHECK((done = fsutil_open_dir(path_in(dir, "done"), 1)) >= 0, "done");
	CHECK((other = fsutil_open_dir(path_in(dir, "other"), 1)) >= 0,
	    "other");
	targets[0] = done;
	targets[1] = other;
	/* A file moved work -> done, interrupted between link and unlink. */
	put(path_in(dir, "done/sale.json"), "{\"a\":1}");
	CHECK(linkat(done, "sale.json", work, "sale.json", 0) == 0, "link");
	CHECK_INT(fsutil_drop_moved_twin(work, "sale.json", targets, 2, err,
	    sizeof(err)), 1);
	CHECK(fstatat(work, "sale.json", &st, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT, "the work/ name is gone");
	CHECK(fstatat(done, "sale.json", &st, 0) == 0 && st.st_nlink == 1,
	    "the done/ name stays, with one link");
	/* A hard link to a file outside the targets (a hostile one): kept. */
	put(path_in(dir, "secret"), "key");
	CHECK(linkat(cfd, "secret", work, "x.json", 0) == 0, "link secret");
	CHECK_INT(fsutil_drop_moved_twin(work, "x.json", targets, 2, err,
	    sizeof(err)), 0);
	CHECK(fstatat(work, "x.json", &st, 0) == 0, "hostile link kept for error/");
	/* One link: not a leftover. */
	put(path_in(dir, "work/plain.json"), "{}");
	CHECK_INT(fsutil_drop_moved_twin(work, "plain.json", targets, 2, err,
	    sizeof(err)), 0);
	CHECK_INT(fsutil_drop_moved_twin(work, "missing.json", targets, 2, err,
	    sizeof(err)), 0);
	close(work);
	close(done);
	close(other);
	close(cfd);
}

int
main(void)
{
	umask(022);
	if (mkdtemp(trash) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_open_dir();
	test_write_atomic();
	test_move();
	test_lock();
	test_read_fd();
	test_drop_moved_twin();
	nftw(trash, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
