/*
 * test_intake.c - finding and claiming inbox files (interface.md §3,
 * anchors B.12 items 10-14): inotify and scan discovery, the settle rule
 * on an injected clock (no sleeping), ignored names, a real IN_Q_OVERFLOW,
 * the bounded table, and every hostile entry: symbolic and hard links to a
 * secret (proved unread with an inotify watch on the secret's inode), a
 * FIFO (with an alarm: a blocking open would hang), a socket, a device, a
 * directory, a sparse 10 GB file, hostile names and name clashes.
 *
 * Each case has its own inbox and work/ under a mkdtemp trash directory;
 * the log goes to trash/logs, where the cases look for their lines.
 */
#define _XOPEN_SOURCE 700	/* nftw */

#include "spool/intake.h"

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "tap.h"

static char trash[] = "/tmp/test_intake.XXXXXX";
static char logs[300];
static int ncase;

struct tc {
	char		 dir[256], inbox[300], work[300];
	struct intake	*in;
};

static char *
path_in(const char *dir, const char *name)
{
	static char p[8][1024];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* A case with its folders; opts filled in by the caller. */
static struct intake *
tc_open(struct tc *c, struct intake_opts *o)
{
	char err[512];

	snprintf(c->dir, sizeof(c->dir), "%s/case%d", trash, ++ncase);
	snprintf(c->inbox, sizeof(c->inbox), "%s/inbox", c->dir);
	snprintf(c->work, sizeof(c->work), "%s/work", c->dir);
	if (mkdir(c->dir, 0700) == -1) {
		perror(c->dir);
		exit(2);
	}
	o->inbox = c->inbox;
	o->work = c->work;
	o->device = "test";
	c->in = intake_open(o, err, sizeof(err));
	CHECK(c->in != NULL, "intake_open: %s", err);
	if (c->in == NULL)
		exit(1);
	return c->in;
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

static void
append(const char *path, const char *text)
{
	FILE *f;

	if ((f = fopen(path, "ab")) == NULL ||
	    fwrite(text, 1, strlen(text), f) != strlen(text) ||
	    fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Whole file (the log), NUL-terminated, or "". */
static char *
slurp(const char *path)
{
	static char *buf;
	char err[256];
	size_t len;

	free(buf);
	buf = NULL;
	if (fsutil_read_file(path, 64 << 20, &buf, &len, err,
	    sizeof(err)) != FSREAD_OK)
		return (char *)"";
	return buf;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static int
log_count(const char *needle)
{
	return count(slurp(path_in(logs, "fdms.log")), needle);
}

/* Wait up to 2 s for inotify to have something. */
static int
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 2000) == 1;
}

/* An inotify watch on one inode: anything that opens or reads it. */
static int
spy(const char *path)
{
	int fd;

	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(fd, path, IN_OPEN | IN_ACCESS) == -1) {
		perror("inotify");
		exit(2);
	}
	return fd;
}

/* Events the spy saw: 0 means the file was never opened or read. */
static int
spied(int fd)
{
	char buf[4096];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? (int)n : 0;
}

/*
 * Claim everything ready at now, appending "name=result " to out
 * (result: the work/ name, or the reject code, or GONE).
 */
static int
drain(struct intake *in, int64_t now, char *out, size_t outlen)
{
	struct intake_claimed c;
	enum intake_claim rc;
	char name[INTAKE_NAME_MAX];
	int64_t due;
	size_t o = strlen(out);
	int n = 0;

	while (intake_next(in, now, name, sizeof(name), &due) == 1) {
		rc = intake_claim(in, name, &c);
		if (rc == INTAKE_CLAIMED) {
			CHECK(c.fd >= 0, "fd");
			close(c.fd);
		} else
			CHECK_INT(c.fd, -1);
		if (o < outlen)
			o += (size_t)snprintf(out + o, outlen - o, "%s=%s ",
			    name, rc == INTAKE_CLAIMED ? c.name :
			    rc == INTAKE_REJECTED ? c.reject_code :
			    rc == INTAKE_GONE ? "GONE" : "FATAL");
		n++;
		if (n > 100000)
			break;
	}
	return n;
}

static struct intake_opts
opts(bool ino, long settle)
{
	struct intake_opts o;

	memset(&o, 0, sizeof(o));
	o.use_inotify = ino;
	o.settle_ms = settle;
	o.max_file_size = 1 << 20;
	return o;
}

/* Close-after-write and rename-in are final at once (inotify). */
static void
test_events(void)
{
	struct intake_opts o = opts(true, 1000);
	struct intake_claimed c;
	struct tc t;
	char name[INTAKE_NAME_MAX], *buf, err[256];
	size_t len;
	int64_t due;

	tc_open(&t, &o);
	CHECK(intake_fd(t.in) >= 0, "inotify fd");
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 0);
	CHECK_INT(due, -1);
	put(path_in(t.inbox, "a.json"), "{\"a\":1}");
	CHECK(readable(intake_fd(t.in)), "IN_CLOSE_WRITE");
	CHECK_INT(intake_handle_events(t.in, 0), 1);
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 1);
	CHECK_STR(name, "a.json");
	/* It stays next until claimed. */
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 1);
	CHECK_INT(intake_claim(t.in, name, &c), INTAKE_CLAIMED);
	CHECK_STR(c.name, "a.json");
	CHECK_INT(c.size, 7);
	CHECK(c.reject_code == NULL, "no code");
	CHECK_INT(fsutil_read_fd(c.fd, 100, &buf, &len, err, sizeof(err)),
	    FSREAD_OK);
	CHECK_STR(buf, "{\"a\":1}");
	free(buf);
	close(c.fd);
	CHECK(!exists(path_in(t.inbox, "a.json")), "left the inbox");
	CHECK(exists(path_in(t.work, "a.json")), "in work/");
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 0);

	/* The documented protocol: write NAME.tmp, rename to NAME. */
	put(path_in(t.inbox, "b.json.tmp"), "{}");
	CHECK(rename(path_in(t.inbox, "b.json.tmp"),
	    path_in(t.inbox, "b.json")) == 0, "rename");
	CHECK(readable(intake_fd(t.in)), "IN_MOVED_TO");
	CHECK_INT(intake_handle_events(t.in, 5), 1);
	CHECK_INT(intake_next(t.in, 5, name, sizeof(name), &due), 1);
	CHECK_STR(name, "b.json");
	CHECK_INT(intake_claim(t.in, name, &c), INTAKE_CLAIMED);
	close(c.fd);

	/* Events for names that are not receipts mark nothing. */
	put(path_in(t.inbox, ".c.json"), "{}");
	put(path_in(t.inbox, "d.json.part"), "{}");
	put(path_in(t.inbox, "e.txt"), "{}");
	CHECK(readable(intake_fd(t.in)), "events");
	CHECK_INT(intake_handle_events(t.in, 6), 0);
	CHECK_INT(intake_next(t.in, 6, name, sizeof(name), &due), 0);
	/* Nothing pending: a second call reads nothing, harmlessly. */
	CHECK_INT(intake_handle_events(t.in, 6), 0);
	intake_close(t.in);
}

/* Without events: only a scan finds it, and only after settle_ms. */
static void
test_settle(void)
{
	struct intake_opts o = opts(false, 1000);
	struct timespec ts[2];
	struct tc t;
	char name[INTAKE_NAME_MAX];
	int64_t due;

	tc_open(&t, &o);
	CHECK_INT(intake_fd(t.in), -1);
	put(path_in(t.inbox, "a.json"), "{}");
	CHECK_INT(intake_next(t.in, 10000, name, sizeof(name), &due), 0);
	CHECK_INT(due, 11000);
	CHECK_INT(intake_next(t.in, 10999, name, sizeof(name), &due), 0);
	CHECK_INT(due, 11000);
	CHECK_INT(intake_next(t.in, 11000, name, sizeof(name), &due), 1);
	CHECK_STR(name, "a.json");
	unlink(path_in(t.inbox, "a.json"));
	/* Gone: a claim says so, and the name is forgotten. */
	{
		struct intake_claimed c;

		CHECK_INT(intake_claim(t.in, "a.json", &c), INTAKE_GONE);
		CHECK_INT(c.fd, -1);
	}

	/* A file that grows between two scans starts over. */
	put(path_in(t.inbox, "g.json"), "{");
	CHECK_INT(intake_rescan(t.in, 20000), 1);
	append(path_in(t.inbox, "g.json"), "\"a\":");
	CHECK_INT(intake_rescan(t.in, 20600), 1);
	CHECK_INT(intake_next(t.in, 21000, name, sizeof(name), &due), 0);
	CHECK_INT(due, 21600);
	/* ... and one that grows after the last scan: the due-time look. */
	append(path_in(t.inbox, "g.json"), "1");
	CHECK_INT(intake_next(t.in, 21600, name, sizeof(name), &due), 0);
	CHECK_INT(due, 22600);
	append(path_in(t.inbox, "g.json"), "}");
	CHECK_INT(intake_next(t.in, 22600, name, sizeof(name), &due), 0);
	CHECK_INT(intake_next(t.in, 23600, name, sizeof(name), &due), 1);
	CHECK_STR(name, "g.json");
	unlink(path_in(t.inbox, "g.json"));

	/* Same size, new mtime (a rewrite): not stable either. */
	put(path_in(t.inbox, "m.json"), "AAAA");
	CHECK_INT(intake_rescan(t.in, 30000), 1);
	ts[0].tv_sec = ts[1].tv_sec = 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	CHECK(utimensat(AT_FDCWD, path_in(t.inbox, "m.json"), ts, 0) == 0,
	    "utimensat");
	CHECK_INT(intake_next(t.in, 31000, name, sizeof(name), &due), 0);
	CHECK_INT(due, 32000);
	/* Replaced by a rename (a new inode): starts over too. */
	put(path_in(t.inbox, "m.tmp"), "BBBB");
	CHECK(rename(path_in(t.inbox, "m.tmp"), path_in(t.inbox, "m.json"))
	    == 0, "rename");
	CHECK_INT(intake_rescan(t.in, 31500), 1);
	CHECK_INT(intake_next(t.in, 32000, name, sizeof(name), &due), 0);
	CHECK_INT(due, 32500);
	CHECK_INT(intake_next(t.in, 32500, name, sizeof(name), &due), 1);
	unlink(path_in(t.inbox, "m.json"));
	/* The next scan forgets what is gone. */
	CHECK_INT(intake_rescan(t.in, 33000), 0);
	CHECK_INT(intake_next(t.in, 33000, name, sizeof(name), &due), 0);
	CHECK_INT(due, -1);

	/* A new file is not seen before a scan; a requested one finds it. */
	put(path_in(t.inbox, "r.json"), "{}");
	CHECK_INT(intake_next(t.in, 40000, name, sizeof(name), &due), 0);
	CHECK_INT(due, -1);
	intake_request_rescan(t.in);
	CHECK_INT(intake_next(t.in, 40000, name, sizeof(name), &due), 0);
	CHECK_INT(due, 41000);

	/* The name buffer must be able to hold any name. */
	CHECK_INT(intake_next(t.in, 41000, name, 3, &due), -1);
	intake_close(t.in);

	/* settle_ms 0: a scan's find is ready at once. */
	o = opts(false, 0);
	tc_open(&t, &o);
	put(path_in(t.inbox, "z.json"), "{}");
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 1);
	intake_close(t.in);
}

/* close_settle_ms: a quiet time after IN_CLOSE_WRITE as well. */
static void
test_close_settle(void)
{
	struct intake_opts o = opts(true, 1000);
	struct tc t;
	char name[INTAKE_NAME_MAX];
	int64_t due;

	o.close_settle_ms = 500;
	tc_open(&t, &o);
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 0);
	put(path_in(t.inbox, "w.json"), "{");
	CHECK(readable(intake_fd(t.in)), "event");
	CHECK_INT(intake_handle_events(t.in, 100), 1);
	CHECK_INT(intake_next(t.in, 100, name, sizeof(name), &due), 0);
	CHECK_INT(due, 600);
	/* The writer reopens and writes again: the clock restarts. */
	append(path_in(t.inbox, "w.json"), "}");
	CHECK(readable(intake_fd(t.in)), "event");
	CHECK_INT(intake_handle_events(t.in, 400), 1);
	CHECK_INT(intake_next(t.in, 600, name, sizeof(name), &due), 0);
	CHECK_INT(due, 900);
	CHECK_INT(intake_next(t.in, 900, name, sizeof(name), &due), 1);
	CHECK_STR(name, "w.json");
	/* A rename in is still final at once. */
	put(path_in(t.inbox, "v.tmp"), "{}");
	rename(path_in(t.inbox, "v.tmp"), path_in(t.inbox, "v.json"));
	CHECK(readable(intake_fd(t.in)), "event");
	CHECK_INT(intake_handle_events(t.in, 1000), 1);
	{
		char got[256] = "";

		drain(t.in, 1000, got, sizeof(got));
		CHECK_STR(got, "w.json=w.json v.json=v.json ");
	}
	intake_close(t.in);
}

/*
 * Settled is not closed: a file its writer still holds open is reported
 * after the claim (where the kernel can tell), and the writer's later
 * bytes land in work/, where the file is complete once closed.
 */
static void
test_writing(void)
{
	struct intake_opts o = opts(false, 0);
	struct intake_claimed c;
	struct tc t;
	char name[INTAKE_NAME_MAX], *buf, err[256];
	size_t len;
	int64_t due;
	int w;

	tc_open(&t, &o);
	if ((w = open(path_in(t.inbox, "w.json"), O_WRONLY | O_CREAT |
	    O_TRUNC, 0644)) == -1) {
		perror("w.json");
		exit(2);
	}
	CHECK(write(w, "{\"a\":", 5) == 5, "write");
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 1);
	CHECK_INT(intake_claim(t.in, name, &c), INTAKE_CLAIMED);
	CHECK_INT(c.size, 5);
	if (fsutil_writers(c.fd) == -1)
		printf("# skip: %s cannot tell open writers (file system or "
		    "owner)\n", trash);
	else
		CHECK(c.writing, "the writer still has it open");
	close(c.fd);
	CHECK(write(w, "1}", 2) == 2, "write");
	close(w);
	CHECK_INT(intake_reopen(t.in, "w.json", &c), INTAKE_CLAIMED);
	CHECK(!c.writing, "closed: complete");
	CHECK(c.mtime_s > 0, "mtime");
	CHECK_INT(fsutil_read_fd(c.fd, 100, &buf, &len, err, sizeof(err)),
	    FSREAD_OK);
	CHECK_STR(buf, "{\"a\":1}");
	free(buf);
	close(c.fd);
	intake_close(t.in);
}

/* What is a receipt name, what is skipped, what is logged once. */
static void
test_names(void)
{
	static const char *skip[] = { ".h.json", "a.json.tmp", "b.part",
	    "c.json~", "D.TMP", "e.json.PART", NULL };
	static const char *other[] = { "notes.txt", "x.result.json",
	    "y.error.json", "z.result.xml", "Z.RESULT.JSON", "json", "xml",
	    "x.json ", "x.jsonx", "evil\nFAKE LINE.txt", NULL };
	struct intake_opts o = opts(false, 0);
	struct tc t;
	char got[1024] = "";
	int i;

	tc_open(&t, &o);
	for (i = 0; skip[i] != NULL; i++)
		put(path_in(t.inbox, skip[i]), "{}");
	for (i = 0; other[i] != NULL; i++)
		put(path_in(t.inbox, other[i]), "{}");
	mkdir(path_in(t.inbox, "archive"), 0700);
	put(path_in(t.inbox, "UP.JSON"), "{}");
	put(path_in(t.inbox, "m.Xml"), "<a/>");
	drain(t.in, 0, got, sizeof(got));
	CHECK(strstr(got, "UP.JSON=UP.JSON ") != NULL, "got %s", got);
	CHECK(strstr(got, "m.Xml=m.Xml ") != NULL, "got %s", got);
	CHECK_INT(count(got, "="), 2);
	for (i = 0; skip[i] != NULL; i++)
		CHECK(exists(path_in(t.inbox, skip[i])), "%s stays", skip[i]);
	for (i = 0; other[i] != NULL; i++)
		CHECK(exists(path_in(t.inbox, other[i])), "%s stays",
		    other[i]);
	/* Logged once each, even after more scans; skipped ones never. */
	intake_rescan(t.in, 1);
	intake_rescan(t.in, 2);
	CHECK_INT(log_count("notes.txt: not-a-receipt"), 1);
	CHECK_INT(log_count("archive: not-a-receipt"), 1);
	CHECK_INT(log_count("x.result.json: not-a-receipt"), 1);
	CHECK_INT(log_count(".h.json"), 0);
	CHECK_INT(log_count("c.json~"), 0);
	/* A hostile name cannot make a line of its own. */
	CHECK_INT(log_count("evil\\x0aFAKE LINE.txt: not-a-receipt"), 1);
	CHECK_INT(log_count("\nFAKE LINE"), 0);
	/* Gone and back: logged again. */
	unlink(path_in(t.inbox, "notes.txt"));
	intake_rescan(t.in, 3);
	put(path_in(t.inbox, "notes.txt"), "x");
	intake_rescan(t.in, 4);
	CHECK_INT(log_count("notes.txt: not-a-receipt"), 2);
	intake_close(t.in);
}

/* B.12 item 10: flood past max_queued_events; a real IN_Q_OVERFLOW. */
static void
test_overflow(void)
{
	struct intake_opts o = opts(true, 100);
	struct intake_claimed c;
	struct tc t;
	char name[INTAKE_NAME_MAX], *seen;
	long max = 0, n, i, found = 0, dup = 0;
	int64_t now = 0, due;
	FILE *f;
	int fd, r;

	if ((f = fopen("/proc/sys/fs/inotify/max_queued_events", "r")) ==
	    NULL || fscanf(f, "%ld", &max) != 1 || max > 200000) {
		printf("# skip IN_Q_OVERFLOW flood: max_queued_events %ld "
		    "unreadable or too large to flood quickly\n", max);
		if (f != NULL)
			fclose(f);
		return;
	}
	fclose(f);
	n = max + 500;
	tc_open(&t, &o);
	CHECK_INT(intake_next(t.in, now, name, sizeof(name), &due), 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07ld.json", i);
		if ((fd = open(path_in(t.inbox, name), O_WRONLY | O_CREAT,
		    0600)) == -1 || close(fd) == -1) {
			perror(name);
			exit(2);
		}
	}
	CHECK(readable(intake_fd(t.in)), "events");
	r = intake_handle_events(t.in, now);
	CHECK(r > 0 && r < n, "marked %d of %ld", r, n);
	CHECK_INT(log_count("IN_Q_OVERFLOW"), 1);
	/* Every file is found exactly once: by event, or by the rescan. */
	seen = calloc((size_t)n, 1);
	for (i = 0; i < 4 && found < n; i++) {
		while (intake_next(t.in, now, name, sizeof(name), &due) == 1) {
			long k = strtol(name + 1, NULL, 10);

			if (k >= 0 && k < n && !seen[k]++)
				found++;
			else
				dup++;
			unlink(path_in(t.inbox, name));
			if (intake_claim(t.in, name, &c) != INTAKE_GONE)
				dup++;
		}
		now += 100;
	}
	CHECK_INT(found, n);
	CHECK_INT(dup, 0);
	free(seen);
	intake_close(t.in);
}

/* A bounded table: a flood of names is taken in turns, none lost. */
static void
test_table_cap(void)
{
	struct intake_opts o = opts(false, 0);
	struct tc t;
	char name[64], got[4096] = "";
	int i;

	o.max_entries = 10;
	tc_open(&t, &o);
	for (i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "s%02d.json", i);
		put(path_in(t.inbox, name), "{}");
	}
	CHECK_INT(intake_rescan(t.in, 0), 10);
	CHECK_INT(log_count("10 names tracked, the limit; 15 more"), 1);
	/* Draining the table brings the next scan by itself. */
	CHECK_INT(drain(t.in, 0, got, sizeof(got)), 25);
	for (i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "s%02d.json", i);
		CHECK(exists(path_in(t.work, name)), "%s claimed", name);
	}
	intake_close(t.in);
}

/* B.12 item 13: links, FIFO, socket, device, directory, size. */
static void
test_hostile_entries(void)
{
	struct intake_opts o = opts(false, 0);
	struct intake_claimed c;
	struct sockaddr_un sa;
	struct stat st;
	struct tc t;
	char secret[400], name[INTAKE_NAME_MAX], big[1 << 16];
	int64_t due;
	int s, sp, fd;

	tc_open(&t, &o);
	snprintf(secret, sizeof(secret), "%s/device.key", t.dir);
	put(secret, "-----BEGIN PRIVATE KEY-----");

	/* A symbolic link to the key: moved as a link, never followed. */
	CHECK(symlink(secret, path_in(t.inbox, "evil.json")) == 0, "symlink");
	sp = spy(secret);
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 1);
	CHECK_INT(intake_claim(t.in, "evil.json", &c), INTAKE_REJECTED);
	CHECK_STR(c.reject_code, "SYMLINK");
	CHECK_INT(c.fd, -1);
	CHECK(lstat(path_in(t.work, "evil.json"), &st) == 0 &&
	    S_ISLNK(st.st_mode), "the link is in work/");
	CHECK_INT(spied(sp), 0);

	/* A hard link to the key: one file, two names: never read. */
	CHECK(link(secret, path_in(t.inbox, "hl.json")) == 0, "link");
	sp = spy(secret);
	CHECK_INT(intake_rescan(t.in, 1), 1);
	CHECK_INT(intake_next(t.in, 1, name, sizeof(name), &due), 1);
	CHECK_INT(intake_claim(t.in, "hl.json", &c), INTAKE_REJECTED);
	CHECK_STR(c.reject_code, "HARD_LINK");
	CHECK_INT(c.fd, -1);
	CHECK_INT(spied(sp), 0);

	/* A FIFO: never opened, so nothing can block. */
	CHECK(mkfifo(path_in(t.inbox, "p.json"), 0666) == 0, "mkfifo");
	alarm(10);
	CHECK_INT(intake_claim(t.in, "p.json", &c), INTAKE_REJECTED);
	alarm(0);
	CHECK_STR(c.reject_code, "NOT_REGULAR_FILE");
	CHECK(strstr(c.reason, "FIFO") != NULL, "reason %s", c.reason);

	/* A socket, a directory. */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
	    path_in(t.inbox, "s.json"));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind");
	CHECK_INT(intake_claim(t.in, "s.json", &c), INTAKE_REJECTED);
	CHECK_STR(c.reject_code, "NOT_REGULAR_FILE");
	close(s);
	CHECK(mkdir(path_in(t.inbox, "d.json"), 0700) == 0, "mkdir");
	put(path_in(t.inbox, "d.json/inner.json"), "{}");
	CHECK_INT(intake_claim(t.in, "d.json", &c), INTAKE_REJECTED);
	CHECK_STR(c.reject_code, "NOT_REGULAR_FILE");
	CHECK(strstr(c.reason, "directory") != NULL, "reason %s", c.reason);
	CHECK(exists(path_in(t.work, "d.json/inner.json")), "moved whole");

	/* A device node (root only): never opened. */
	if (mknod(path_in(t.inbox, "dev.json"), S_IFCHR | 0600,
	    makedev(1, 3)) == -1)
		printf("# skip device node: mknod: %s\n", strerror(errno));
	else {
		CHECK_INT(intake_claim(t.in, "dev.json", &c),
		    INTAKE_REJECTED);
		CHECK_STR(c.reject_code, "NOT_REGULAR_FILE");
		CHECK(strstr(c.reason, "device") != NULL, "reason %s",
		    c.reason);
	}

	/* A sparse 10 GB file: refused on its size, never opened. */
	fd = open(path_in(t.inbox, "big.json"), O_WRONLY | O_CREAT, 0600);
	if (fd == -1 || ftruncate(fd, 10LL << 30) == -1) {
		printf("# skip 10 GB sparse file: %s\n", strerror(errno));
		if (fd != -1)
			close(fd);
	} else {
		close(fd);
		sp = spy(path_in(t.inbox, "big.json"));
		CHECK_INT(intake_claim(t.in, "big.json", &c),
		    INTAKE_REJECTED);
		CHECK_STR(c.reject_code, "TOO_LARGE");
		CHECK(strstr(c.reason, "10737418240 bytes") != NULL,
		    "reason %s", c.reason);
		CHECK_INT(spied(sp), 0);
	}

	/* The limit itself is fine, one byte more is not; empty is fine. */
	memset(big, 'x', sizeof(big));
	fd = open(path_in(t.inbox, "lim.json"), O_WRONLY | O_CREAT, 0600);
	for (s = 0; s < 16; s++)
		CHECK(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big),
		    "write");
	close(fd);
	CHECK_INT(intake_claim(t.in, "lim.json", &c), INTAKE_CLAIMED);
	CHECK_INT(c.size, 1 << 20);
	close(c.fd);
	fd = open(path_in(t.inbox, "lim1.json"), O_WRONLY | O_CREAT, 0600);
	for (s = 0; s < 16; s++)
		CHECK(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big),
		    "write");
	CHECK(write(fd, "x", 1) == 1, "write");
	close(fd);
	CHECK_INT(intake_claim(t.in, "lim1.json", &c), INTAKE_REJECTED);
	CHECK_STR(c.reject_code, "TOO_LARGE");
	put(path_in(t.inbox, "empty.json"), "");
	CHECK_INT(intake_claim(t.in, "empty.json", &c), INTAKE_CLAIMED);
	CHECK_INT(c.size, 0);
	close(c.fd);

	/* Nothing of it was left behind or lost. */
	CHECK_INT(intake_rescan(t.in, 2), 0);
	CHECK_INT(intake_next(t.in, 2, name, sizeof(name), &due), 0);
	intake_close(t.in);
}

/* Names are bytes: nothing is truncated, folded or merged. */
static void
test_hostile_names(void)
{
	char long_name[NAME_MAX + 1];
	const char *names[] = { "a\nb.json", "\x01\x1b[31m.json",
	    "\xff\xfe.json", "Case.json", "case.json", "CASE.JSON",
	    "-lead.json", "CON.json", "NUL.xml", "sp ace .json", "..x.json",
	    long_name, NULL };
	struct intake_opts o = opts(false, 0);
	struct intake_claimed c;
	struct tc t;
	char name[INTAKE_NAME_MAX];
	int64_t due;
	int i, n = 0;

	memset(long_name, 'L', NAME_MAX);
	memcpy(long_name + NAME_MAX - 5, ".json", 6);
	tc_open(&t, &o);
	for (i = 0; names[i] != NULL; i++)
		put(path_in(t.inbox, names[i]), names[i]);
	/* A clash in work/: the 255-byte name gets a number. */
	put(path_in(t.work, long_name), "older");
	while (intake_next(t.in, 0, name, sizeof(name), &due) == 1) {
		CHECK_INT(intake_claim(t.in, name, &c), INTAKE_CLAIMED);
		close(c.fd);
		if (strcmp(name, long_name) == 0) {
			CHECK_INT(strlen(c.name), 255);
			CHECK(strcmp(c.name + 248, ".1.json") == 0,
			    "suffixed: %s", c.name + 240);
		} else
			CHECK(strcmp(name, c.name) == 0, "same name in work/");
		n++;
	}
	/* "..x.json" starts with a dot: skipped like any dotfile. */
	CHECK_INT(n, 11);
	for (i = 0; names[i] != NULL; i++) {
		if (names[i][0] == '.')
			CHECK(exists(path_in(t.inbox, names[i])), "dotfile");
		else if (names[i] != long_name)
			CHECK_STR(slurp(path_in(t.work, names[i])), names[i]);
	}
	CHECK_STR(slurp(path_in(t.work, long_name)), "older");
	intake_close(t.in);
}

/* Claiming into work/ never replaces what a crash left there. */
static void
test_clash(void)
{
	struct intake_opts o = opts(false, 0);
	struct intake_claimed c;
	struct tc t;

	tc_open(&t, &o);
	put(path_in(t.work, "dup.json"), "old");
	put(path_in(t.work, "dup.1.json"), "old1");
	put(path_in(t.inbox, "dup.json"), "new");
	CHECK_INT(intake_claim(t.in, "dup.json", &c), INTAKE_CLAIMED);
	CHECK_STR(c.name, "dup.2.json");
	close(c.fd);
	CHECK_STR(slurp(path_in(t.work, "dup.json")), "old");
	CHECK_STR(slurp(path_in(t.work, "dup.1.json")), "old1");
	CHECK_STR(slurp(path_in(t.work, "dup.2.json")), "new");
	/* Only receipt names of the inbox itself can be claimed. */
	CHECK_INT(intake_claim(t.in, "../work/dup.json", &c), INTAKE_FATAL);
	CHECK_INT(intake_claim(t.in, ".hidden.json", &c), INTAKE_FATAL);
	CHECK_INT(intake_claim(t.in, "", &c), INTAKE_FATAL);
	CHECK_STR(slurp(path_in(t.work, "dup.json")), "old");
	/* A name that never was: gone, nothing created. */
	CHECK_INT(intake_claim(t.in, "never.json", &c), INTAKE_GONE);
	CHECK(!exists(path_in(t.work, "never.json")), "nothing made");
	intake_close(t.in);
}

struct rec {
	char	list[512];
	int	stop_after;
};

static int
collect(const char *name, void *arg)
{
	struct rec *r = arg;
	size_t o = strlen(r->list);

	snprintf(r->list + o, sizeof(r->list) - o, "%s ", name);
	return --r->stop_after == 0 ? -1 : 0;
}

/* What a crash left in work/ is listed, in name order, and reopened. */
static void
test_recover(void)
{
	struct intake_opts o = opts(false, 0);
	struct intake_claimed c;
	struct rec r;
	struct tc t;

	tc_open(&t, &o);
	memset(&r, 0, sizeof(r));
	CHECK_INT(intake_recover(t.in, collect, &r), 0);
	put(path_in(t.work, "b.json"), "{\"b\":1}");
	put(path_in(t.work, "a.json"), "{}");
	put(path_in(t.work, "c.xml"), "<c/>");
	CHECK(symlink("/etc/passwd", path_in(t.work, "l.json")) == 0,
	    "symlink");
	memset(&r, 0, sizeof(r));
	CHECK_INT(intake_recover(t.in, collect, &r), 4);
	CHECK_STR(r.list, "a.json b.json c.xml l.json ");
	memset(&r, 0, sizeof(r));
	r.stop_after = 2;
	intake_recover(t.in, collect, &r);
	CHECK_STR(r.list, "a.json b.json ");
	CHECK_INT(intake_reopen(t.in, "b.json", &c), INTAKE_CLAIMED);
	CHECK_INT(c.size, 7);
	CHECK_STR(c.name, "b.json");
	close(c.fd);
	CHECK_INT(intake_reopen(t.in, "l.json", &c), INTAKE_REJECTED);
	CHECK_STR(c.reject_code, "SYMLINK");
	CHECK_INT(intake_reopen(t.in, "zz.json", &c), INTAKE_GONE);
	CHECK_INT(intake_reopen(t.in, "../x", &c), INTAKE_REJECTED);
	CHECK_INT(intake_reopen(t.in, "", &c), INTAKE_REJECTED);
	intake_close(t.in);
}

/* Where moving out of the inbox fails. */
static void
test_move_failures(void)
{
	struct intake_opts o = opts(false, 0);
	struct intake_claimed c;
	struct tc t;
	char name[INTAKE_NAME_MAX], got[256] = "";
	int64_t due;

	/*
	 * A directory that cannot be moved (here: no RENAME_NOREPLACE, and
	 * directories cannot be linked) is left in the inbox, logged once,
	 * and not tried again until it changes.
	 */
	tc_open(&t, &o);
	mkdir(path_in(t.inbox, "stuck.json"), 0700);
	fsutil_test_set(FSUTIL_TEST_NO_RENAMEAT2);
	CHECK_INT(intake_next(t.in, 0, name, sizeof(name), &due), 1);
	CHECK_INT(intake_claim(t.in, name, &c), INTAKE_GONE);
	CHECK(c.reason[0] != '\0', "a reason");
	CHECK(exists(path_in(t.inbox, "stuck.json")), "left there");
	CHECK_INT(log_count("stuck.json: intake: a directory cannot be "
	    "moved"), 1);
	CHECK_INT(intake_rescan(t.in, 1), 0);
	CHECK_INT(intake_next(t.in, 1, name, sizeof(name), &due), 0);
	/* Regular files still move by link+unlink. */
	put(path_in(t.inbox, "ok.json"), "{}");
	intake_request_rescan(t.in);
	drain(t.in, 2, got, sizeof(got));
	CHECK_STR(got, "ok.json=ok.json ");
	fsutil_test_set(0);
	/* Changed (chmod: a new ctime): tried again, and now it moves. */
	chmod(path_in(t.inbox, "stuck.json"), 0750);
	intake_request_rescan(t.in);
	got[0] = '\0';
	drain(t.in, 3, got, sizeof(got));
	CHECK_STR(got, "stuck.json=NOT_REGULAR_FILE ");
	CHECK_INT(log_count("cannot be moved"), 1);
	intake_close(t.in);

	/* work/ removed: a regular file cannot be claimed: fatal. */
	tc_open(&t, &o);
	put(path_in(t.inbox, "f.json"), "{}");
	CHECK(rmdir(t.work) == 0, "rmdir");
	CHECK_INT(intake_claim(t.in, "f.json", &c), INTAKE_FATAL);
	CHECK(exists(path_in(t.inbox, "f.json")), "f.json stays");
	intake_close(t.in);

	/* An fsync that fails is fatal. */
	tc_open(&t, &o);
	put(path_in(t.inbox, "s.json"), "{}");
	fsutil_test_set(FSUTIL_TEST_FAIL_FSYNC);
	CHECK_INT(intake_claim(t.in, "s.json", &c), INTAKE_FATAL);
	fsutil_test_set(0);
	CHECK(strstr(c.reason, "fsync") != NULL, "reason %s", c.reason);
	intake_close(t.in);
}

static void
test_open_errors(void)
{
	struct intake_opts o = opts(true, 0);
	struct intake *in;
	struct stat s1, s2;
	char dir[300], err[512], shm[] = "/dev/shm/test_intake.XXXXXX";

	snprintf(dir, sizeof(dir), "%s/case%d", trash, ++ncase);
	mkdir(dir, 0700);
	put(path_in(dir, "file"), "x");
	o.inbox = path_in(dir, "file");
	o.work = path_in(dir, "work");
	CHECK((in = intake_open(&o, err, sizeof(err))) == NULL, "a file");
	CHECK(strstr(err, "Not a directory") != NULL, "err %s", err);
	o.inbox = o.work = path_in(dir, "same");
	CHECK((in = intake_open(&o, err, sizeof(err))) == NULL, "same");
	CHECK(strstr(err, "same folder") != NULL, "err %s", err);
	o.inbox = NULL;
	CHECK((in = intake_open(&o, err, sizeof(err))) == NULL, "unset");
	if (mkdtemp(shm) == NULL || stat(shm, &s1) == -1 ||
	    stat(dir, &s2) == -1 || s1.st_dev == s2.st_dev)
		printf("# skip inbox and work/ on two file systems: no "
		    "/dev/shm on another one\n");
	else {
		o.inbox = path_in(dir, "inbox");
		o.work = shm;
		CHECK((in = intake_open(&o, err, sizeof(err))) == NULL,
		    "EXDEV");
		CHECK(strstr(err, "different file systems") != NULL, "err %s",
		    err);
	}
	rmdir(shm);
	/* Folders are created (0750) when missing. */
	o.inbox = path_in(dir, "new-inbox");
	o.work = path_in(dir, "new-work");
	CHECK((in = intake_open(&o, err, sizeof(err))) != NULL, "%s", err);
	CHECK(stat(path_in(dir, "new-work"), &s1) == 0 &&
	    (s1.st_mode & 07777) == 0750, "mode");
	/* The inbox renamed under a running daemon: fatal. */
	CHECK(rename(path_in(dir, "new-inbox"), path_in(dir, "moved")) == 0,
	    "rename");
	CHECK(readable(intake_fd(in)), "event");
	CHECK_INT(intake_handle_events(in, 0), -1);
	CHECK_INT(log_count("the inbox was removed, renamed or unmounted"),
	    1);
	/* Removed: no event while we hold it open; the scan sees it. */
	CHECK(rmdir(path_in(dir, "moved")) == 0, "rmdir");
	CHECK_INT(intake_rescan(in, 0), -1);
	CHECK_INT(log_count("the inbox or work/ was removed"), 1);
	{
		char name[INTAKE_NAME_MAX];
		int64_t due;

		intake_request_rescan(in);
		CHECK_INT(intake_next(in, 0, name, sizeof(name), &due), -1);
	}
	intake_close(in);
	intake_close(NULL);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) == -1 ? -1 : 0;
}

int
main(void)
{
	umask(022);
	if (mkdtemp(trash) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(logs, sizeof(logs), "%s/logs", trash);
	if (log_init(logs, 0, 0) == -1) {
		perror("log_init");
		return 2;
	}
	test_events();
	test_settle();
	test_close_settle();
	test_writing();
	test_names();
	test_overflow();
	test_table_cap();
	test_hostile_entries();
	test_hostile_names();
	test_clash();
	test_recover();
	test_move_failures();
	test_open_errors();
	log_close();
	nftw(trash, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
