/*
 * intake.c - discovery and claiming for one inbox (see intake.h).
 *
 * Design.  inotify events are hints, the directory scan is the truth
 * (anchors B.8; Postfix pickup and qmgr wake on triggers but trust their
 * scans).  Each receipt name the inbox holds is an entry in a bounded
 * table, either SETTLING (in a heap ordered by the time it may be ready)
 * or READY (in a FIFO).  The daemon takes READY names with intake_next
 * and claims them with intake_claim, which renames the file into work/:
 * from that instant the POS cannot rename it, swap it or add a link to
 * it, because work/ is writable by spoold only.  Everything that decides
 * whether a file may be read happens after that rename, on work/.  Only
 * a writer that still holds the file open can still change it (a settle
 * time is a guess about a writer's pauses): check_work asks the kernel
 * whether anyone has it open for writing, and says so to the caller.
 *
 * State of a name (the function making each move):
 *	(new)    --scan finds it (scan_one)------------------> SETTLING
 *	(new)    --IN_MOVED_TO / IN_CLOSE_WRITE (on_event)---> READY
 *	SETTLING --identity changed (scan_one, intake_next)--> SETTLING again
 *	SETTLING --due, unchanged on a fresh lstat (intake_next)--> READY
 *	READY    --IN_CLOSE_WRITE with close_settle_ms-------> SETTLING
 *	any      --claimed (intake_claim), or missing from a
 *		   complete scan (sweep)-----------------------> forgotten
 *
 * SECURITY.  The inbox is written by the POS share user, so every name
 * and entry in it is hostile until proved otherwise (anchors B.5):
 *  - names are opaque bytes: compared and copied whole (never truncated:
 *    readdir gives at most 255 bytes, and we hold 255), never parsed
 *    beyond their ending, logged only through log.h, which escapes them;
 *  - nothing in the inbox is opened, only lstat'ed (fstatat with
 *    AT_SYMLINK_NOFOLLOW), so a symlink to the device key, a FIFO or a
 *    device node in the inbox cannot make us read or block;
 *  - rename moves the entry itself, never what a link points to;
 *  - in work/, lstat decides before any open (a FIFO or device node is
 *    never opened at all, so an open cannot block or have side effects),
 *    and the open itself is O_NOFOLLOW|O_NONBLOCK with the same checks
 *    repeated on the descriptor, which must be the inode lstat saw;
 *  - st_nlink must be 1: a hard link to the key or the journal looks like
 *    a regular file, and only the link count gives it away;
 *  - memory is bounded: max_entries receipt names and NOTED_MAX others are
 *    remembered; names beyond that wait for a scan after the table drains.
 *
 * Invariants.
 *  1. An entry is in exactly one of the heap (SETTLING) and the ready
 *     FIFO (READY), and in the hash table, until it is forgotten.
 *  2. A name found by a scan becomes READY only after a fresh lstat at
 *     least settle_ms after its identity (size, mtime, ctime, inode, link
 *     count, type) last changed shows that identity unchanged.
 *  3. intake_claim forgets the name whatever happens, so a name that
 *     fails is found again only by a later scan (no busy loop).
 *  4. A move out of the inbox fails fatally only for what concerns the
 *     whole spool (the inbox or work/ unusable, an fsync failed); an
 *     entry that alone cannot be moved (a directory we may not rename) is
 *     left in the inbox and logged once.
 */
#include "spool/intake.h"

#include <sys/inotify.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/testhook.h"

#define NOTED_MAX	1024	/* non-receipt and stuck names remembered */
#define EVENT_BUF	65536	/* one read(2) of inotify events */
#define EVENT_READS	64	/* reads per call; then back to poll() */

enum name_kind { NAME_SKIP, NAME_OTHER, NAME_RECEIPT };
enum ent_state { ST_NEW, ST_SETTLING, ST_READY };

/* What must not change while a file settles. */
struct fid {
	long long	 size;
	struct timespec	 mtim, ctim;
	ino_t		 ino;
	dev_t		 dev;
	nlink_t		 nlink;
	mode_t		 mode;
};

struct ent {
	struct ent		*hnext;		/* hash chain */
	TAILQ_ENTRY(ent)	 rlink;		/* READY: in t->ready */
	enum ent_state		 state;
	size_t			 heap_idx;	/* SETTLING: in t->heap */
	int64_t			 due;		/* SETTLING: may be ready */
	long			 window;	/* settle time it is under */
	unsigned long long	 seq;		/* first come, first served */
	unsigned		 gen;		/* the last scan that saw it */
	int			 stuck;		/* noted: cannot be moved */
	struct fid		 fid;
	char			 name[];
};

struct tab {
	struct ent	**b;
	size_t		  nb;		/* a power of two */
	size_t		  n, max;
};

struct intake {
	int			 inbox_fd, work_fd, ino_fd;
	long			 settle_ms, close_settle_ms;
	long long		 max_size;
	char			*device;
	struct tab		 cand;		/* receipt names */
	struct tab		 noted;		/* logged once: other names */
	struct ent		**heap;		/* SETTLING, by (due, seq) */
	size_t			 nheap;
	TAILQ_HEAD(, ent)	 ready;
	unsigned		 gen;
	unsigned long long	 seq;
	int			 rescan_pending;
	int			 deferred;	/* names did not fit */
	int			 noted_full;	/* said so already */
	char			*evbuf;
};

static void
ctx_of(const struct intake *t, const char *file, struct log_ctx *ctx)
{
	ctx->device = t->device;
	ctx->file = file;
	ctx->operation_id = NULL;
}

/* ASCII-only, whatever the locale: names are bytes, not text. */
static int
ends_with(const char *name, size_t n, const char *suffix)
{
	size_t k = strlen(suffix), i;
	unsigned char c;

	if (n < k)
		return 0;
	for (i = 0; i < k; i++) {
		c = (unsigned char)name[n - k + i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)suffix[i])
			return 0;
	}
	return 1;
}

/* The naming rules of intake.h. */
static enum name_kind
classify(const char *name)
{
	size_t n = strlen(name);

	/* In progress by convention ('.' also covers "." and ".."). */
	if (n == 0 || name[0] == '.' || name[n - 1] == '~' || ends_with(name, n, ".tmp")
	    || ends_with(name, n, ".part"))
		return NAME_SKIP;
	/* Our reply names are never a receipt's. */
	if (ends_with(name, n, ".result.json") ||
	    ends_with(name, n, ".result.xml") ||
	    ends_with(name, n, ".error.json"))
		return NAME_OTHER;
	if (ends_with(name, n, ".json") || ends_with(name, n, ".xml"))
		return NAME_RECEIPT;
	return NAME_OTHER;
}

/* lstat in the inbox: never follows, never opens. */
static int
stat_name(const struct intake *t, const char *name, struct fid *f)
{
	struct stat st;

	if (fstatat(t->inbox_fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	memset(f, 0, sizeof(*f));
	f->size = (long long)st.st_size;
	f->mtim = st.st_mtim;
	f->ctim = st.st_ctim;
	f->ino = st.st_ino;
	f->dev = st.st_dev;
	f->nlink = st.st_nlink;
	f->mode = st.st_mode;
	return 0;
}

static int
fid_eq(const struct fid *a, const struct fid *b)
{
	return a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec &&
	    a->ctim.tv_sec == b->ctim.tv_sec &&
	    a->ctim.tv_nsec == b->ctim.tv_nsec && a->ino == b->ino &&
	    a->dev == b->dev && a->nlink == b->nlink && a->mode == b->mode;
}

/* ---- the name table: chained hash, fixed bucket array ---- */

static size_t
hash(const char *s)
{
	unsigned long long h = 14695981039346656037ULL;	/* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static int
tab_init(struct tab *tb, size_t max)
{
	tb->nb = 16;
	while (tb->nb < max)
		tb->nb *= 2;
	tb->n = 0;
	tb->max = max;
	tb->b = calloc(tb->nb, sizeof(*tb->b));
	return tb->b == NULL ? -1 : 0;
}

static struct ent *
tab_find(const struct tab *tb, const char *name)
{
	struct ent *e;

	for (e = tb->b[hash(name) & (tb->nb - 1)]; e != NULL; e = e->hnext)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* A new entry, or NULL when the table is full (or memory is short). */
static struct ent *
tab_add(struct tab *tb, const char *name)
{
	struct ent *e;
	size_t n = strlen(name), h;

	if (tb->n >= tb->max || (e = calloc(1, sizeof(*e) + n + 1)) == NULL)
		return NULL;
	memcpy(e->name, name, n + 1);
	h = hash(name) & (tb->nb - 1);
	e->hnext = tb->b[h];
	tb->b[h] = e;
	tb->n++;
	return e;
}

static void
tab_del(struct tab *tb, struct ent *e)
{
	struct ent **pp;

	for (pp = &tb->b[hash(e->name) & (tb->nb - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			tb->n--;
			free(e);
			return;
		}
}

static void
tab_free(struct tab *tb)
{
	struct ent *e, *next;
	size_t i;

	if (tb->b == NULL)
		return;
	for (i = 0; i < tb->nb; i++)
		for (e = tb->b[i]; e != NULL; e = next) {
			next = e->hnext;
			free(e);
		}
	free(tb->b);
	tb->b = NULL;
}

/* ---- the settling heap: a binary min-heap on (due, seq) ---- */

static int
before(const struct ent *a, const struct ent *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_put(struct intake *t, size_t i, struct ent *e)
{
	t->heap[i] = e;
	e->heap_idx = i;
}

static void
heap_up(struct intake *t, size_t i)
{
	struct ent *e = t->heap[i];
	size_t p;

	while (i > 0 && before(e, t->heap[p = (i - 1) / 2])) {
		heap_put(t, i, t->heap[p]);
		i = p;
	}
	heap_put(t, i, e);
}

static void
heap_down(struct intake *t, size_t i)
{
	struct ent *e = t->heap[i];
	size_t c;

	while ((c = 2 * i + 1) < t->nheap) {
		if (c + 1 < t->nheap && before(t->heap[c + 1], t->heap[c]))
			c++;
		if (!before(t->heap[c], e))
			break;
		heap_put(t, i, t->heap[c]);
		i = c;
	}
	heap_put(t, i, e);
}

static void
heap_remove(struct intake *t, struct ent *e)
{
	size_t i = e->heap_idx;
	struct ent *last = t->heap[--t->nheap];

	if (last != e) {
		heap_put(t, i, last);
		heap_up(t, i);
		heap_down(t, last->heap_idx);
	}
}

/* ---- entry states (invariant 1) ---- */

static void
unlink_state(struct intake *t, struct ent *e)
{
	if (e->state == ST_SETTLING)
		heap_remove(t, e);
	else if (e->state == ST_READY)
		TAILQ_REMOVE(&t->ready, e, rlink);
	e->state = ST_NEW;
}

static void
make_ready(struct intake *t, struct ent *e)
{
	if (e->state == ST_READY)
		return;
	unlink_state(t, e);
	e->state = ST_READY;
	TAILQ_INSERT_TAIL(&t->ready, e, rlink);
}

/* (Re)start the settle clock: identity f seen at now. */
static void
make_settling(struct intake *t, struct ent *e, int64_t now, long window,
    const struct fid *f)
{
	e->fid = *f;
	e->window = window;
	/* Nothing to wait for: a zero window needs no second look. */
	if (window <= 0) {
		make_ready(t, e);
		return;
	}
	e->due = now + window;
	if (e->state == ST_SETTLING) {
		heap_up(t, e->heap_idx);
		heap_down(t, e->heap_idx);
		return;
	}
	unlink_state(t, e);
	e->state = ST_SETTLING;
	/* The heap holds cand.max pointers: a table entry always fits. */
	heap_put(t, t->nheap++, e);
	heap_up(t, e->heap_idx);
}

static struct ent *
ent_new(struct intake *t, const char *name)
{
	struct ent *e;

	if ((e = tab_add(&t->cand, name)) == NULL)
		return NULL;
	e->state = ST_NEW;
	e->gen = t->gen;
	e->seq = t->seq++;
	return e;
}

static void
ent_forget(struct intake *t, struct ent *e)
{
	unlink_state(t, e);
	tab_del(&t->cand, e);
}

/* ---- opening ---- */

static void
watch_inbox(struct intake *t, const char *inbox)
{
	struct log_ctx ctx;
	char self[64];
	uint32_t mask;
	int fd;

	ctx_of(t, NULL, &ctx);
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn(&ctx, "inotify", "inotify_init1; finding files by "
		    "rescans only");
		return;
	}
	mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
	    IN_ONLYDIR;
	/* Watch the directory we hold open, not whatever the path is now. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", t->inbox_fd);
	if (inotify_add_watch(fd, self, mask) == -1 &&
	    inotify_add_watch(fd, inbox, mask | IN_DONT_FOLLOW) == -1) {
		log_warn(&ctx, "inotify", "cannot watch the inbox; finding "
		    "files by rescans only");
		(void)close(fd);
		return;
	}
	if ((t->evbuf = malloc(EVENT_BUF)) == NULL) {
		log_warnx(&ctx, "inotify", "out of memory; finding files by "
		    "rescans only");
		(void)close(fd);
		return;
	}
	t->ino_fd = fd;
}

struct intake *
intake_open(const struct intake_opts *o, char *err, size_t errlen)
{
	struct stat si, sw;
	struct intake *t;
	size_t max;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->inbox_fd = t->work_fd = t->ino_fd = -1;
	TAILQ_INIT(&t->ready);
	if (o->inbox == NULL || o->work == NULL) {
		snprintf(err, errlen, "inbox and work folders must be set");
		goto fail;
	}
	if ((t->inbox_fd = fsutil_open_dir(o->inbox, 1)) == -1) {
		snprintf(err, errlen, "%s: %s", o->inbox, strerror(errno));
		goto fail;
	}
	if ((t->work_fd = fsutil_open_dir(o->work, 1)) == -1) {
		snprintf(err, errlen, "%s: %s", o->work, strerror(errno));
		goto fail;
	}
	if (fstat(t->inbox_fd, &si) == -1 || fstat(t->work_fd, &sw) == -1) {
		snprintf(err, errlen, "%s: %s", o->inbox, strerror(errno));
		goto fail;
	}
	/* Claiming is a rename; found out now, not at the first file. */
	if (si.st_dev != sw.st_dev) {
		snprintf(err, errlen, "%s and %s are on different file "
		    "systems: files are claimed by rename, which cannot cross "
		    "them", o->inbox, o->work);
		goto fail;
	}
	if (si.st_ino == sw.st_ino) {
		snprintf(err, errlen, "%s and %s are the same folder",
		    o->inbox, o->work);
		goto fail;
	}
	t->settle_ms = o->settle_ms > 0 ? o->settle_ms : 0;
	t->close_settle_ms = o->close_settle_ms > 0 ? o->close_settle_ms : 0;
	t->max_size = o->max_file_size > 0 ? o->max_file_size :
	    INTAKE_MAX_FILE_SIZE;
	max = o->max_entries > 0 ? (size_t)o->max_entries : INTAKE_MAX_ENTRIES;
	if (tab_init(&t->cand, max) == -1 ||
	    tab_init(&t->noted, NOTED_MAX) == -1 ||
	    (t->heap = calloc(max, sizeof(*t->heap))) == NULL ||
	    (o->device != NULL && (t->device = strdup(o->device)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Watch first, then scan: a file arriving in between is seen. */
	if (o->use_inotify)
		watch_inbox(t, o->inbox);
	t->rescan_pending = 1;
	return t;
fail:
	intake_close(t);
	return NULL;
}

void
intake_close(struct intake *t)
{
	if (t == NULL)
		return;
	/* Directories and inotify: read-only descriptors, nothing lost. */
	if (t->ino_fd != -1)
		(void)close(t->ino_fd);
	if (t->inbox_fd != -1)
		(void)close(t->inbox_fd);
	if (t->work_fd != -1)
		(void)close(t->work_fd);
	tab_free(&t->cand);
	tab_free(&t->noted);
	free(t->heap);
	free(t->evbuf);
	free(t->device);
	free(t);
}

int
intake_fd(const struct intake *t)
{
	return t->ino_fd;
}

int
intake_work_fd(const struct intake *t)
{
	return t->work_fd;
}

void
intake_request_rescan(struct intake *t)
{
	t->rescan_pending = 1;
}

/* ---- events ---- */

static int
on_event(struct intake *t, const char *name, uint32_t mask, int64_t now)
{
	struct ent *e;
	struct fid f;

	if (classify(name) != NAME_RECEIPT)
		return 0;
	if ((e = tab_find(&t->cand, name)) == NULL &&
	    (e = ent_new(t, name)) == NULL) {
		t->deferred = 1;	/* a scan after the table drains */
		return 0;
	}
	if ((mask & IN_MOVED_TO) || t->close_settle_ms == 0) {
		make_ready(t, e);
		return 1;
	}
	/* A writer that closes again was not done: the clock restarts. */
	if (stat_name(t, name, &f) == -1) {
		ent_forget(t, e);
		return 0;
	}
	make_settling(t, e, now, t->close_settle_ms, &f);
	return 1;
}

int
intake_handle_events(struct intake *t, int64_t now_ms)
{
	const struct inotify_event *ev;
	struct log_ctx ctx;
	size_t off, nlen;
	ssize_t n;
	int i, marked = 0;

	if (t->ino_fd == -1)
		return 0;
	ctx_of(t, NULL, &ctx);
	for (i = 0; i < EVENT_READS; i++) {
		n = read(t->ino_fd, t->evbuf, EVENT_BUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			log_warn(&ctx, "inotify", "read");
			return -1;
		}
		for (off = 0; off + sizeof(*ev) <= (size_t)n;
		    off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)
			    (t->evbuf + off);
			if (off + sizeof(*ev) + ev->len > (size_t)n)
				break;
			if (ev->mask & IN_Q_OVERFLOW) {
				log_warnx(&ctx, "inotify", "IN_Q_OVERFLOW: "
				    "events were lost; rescanning the inbox");
				t->rescan_pending = 1;
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF |
			    IN_UNMOUNT | IN_IGNORED)) {
				log_error(&ctx, "inotify", "the inbox was "
				    "removed, renamed or unmounted");
				return -1;
			}
			nlen = ev->len > 0 ? strnlen(ev->name, ev->len) : 0;
			if (nlen == 0 || nlen == ev->len || nlen > NAME_MAX)
				continue;
			marked += on_event(t, ev->name, ev->mask, now_ms);
		}
	}
	return marked;
}

/* ---- scans ---- */

/* Log a name that is not a receipt, once while it stays. */
static void
note(struct intake *t, const char *name)
{
	struct log_ctx ctx;
	struct ent *e;

	if ((e = tab_find(&t->noted, name)) != NULL) {
		e->gen = t->gen;
		return;
	}
	ctx_of(t, NULL, &ctx);
	if ((e = tab_add(&t->noted, name)) == NULL) {
		if (!t->noted_full) {
			log_warnx(&ctx, "intake", "more than %d entries in "
			    "the inbox are not receipts; no longer naming each",
			    NOTED_MAX);
			t->noted_full = 1;
		}
		return;
	}
	e->gen = t->gen;
	ctx.file = name;
	log_warnx(&ctx, "not-a-receipt", "left in the inbox: only names "
	    "ending in .json or .xml are receipts");
}

static void
scan_one(struct intake *t, const char *name, int64_t now, size_t *deferred)
{
	struct ent *e;
	struct fid f;

	switch (classify(name)) {
	case NAME_SKIP:
		return;
	case NAME_OTHER:
		note(t, name);
		return;
	case NAME_RECEIPT:
		break;
	}
	/* Left in the inbox by an earlier claim: again only if changed. */
	if ((e = tab_find(&t->noted, name)) != NULL && e->stuck) {
		if (stat_name(t, name, &f) == 0 && fid_eq(&f, &e->fid)) {
			e->gen = t->gen;
			return;
		}
		tab_del(&t->noted, e);
	}
	if ((e = tab_find(&t->cand, name)) != NULL) {
		e->gen = t->gen;
		if (e->state != ST_SETTLING)
			return;
		if (stat_name(t, name, &f) == -1)
			ent_forget(t, e);
		else if (!fid_eq(&f, &e->fid))
			make_settling(t, e, now, e->window, &f);
		return;
	}
	if (t->cand.n >= t->cand.max) {
		(*deferred)++;
		return;
	}
	if (stat_name(t, name, &f) == -1)
		return;				/* gone already */
	if ((e = ent_new(t, name)) == NULL) {
		(*deferred)++;
		return;
	}
	make_settling(t, e, now, t->settle_ms, &f);
}

/* Forget what the scan (generation t->gen) did not see. */
static void
sweep(struct intake *t)
{
	struct ent *e, *next;
	size_t i;

	for (i = 0; i < t->cand.nb; i++)
		for (e = t->cand.b[i]; e != NULL; e = next) {
			next = e->hnext;
			if (e->gen != t->gen)
				ent_forget(t, e);
		}
	for (i = 0; i < t->noted.nb; i++)
		for (e = t->noted.b[i]; e != NULL; e = next) {
			next = e->hnext;
			if (e->gen != t->gen)
				tab_del(&t->noted, e);
		}
	if (t->noted.n < t->noted.max)
		t->noted_full = 0;
}

/* A DIR on a copy of fd, at its start; NULL with errno. */
static DIR *
dir_from(int fd)
{
	DIR *d;
	int dfd, saved;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return NULL;
	if ((d = fdopendir(dfd)) == NULL) {
		saved = errno;
		(void)close(dfd);	/* a directory: nothing to lose */
		errno = saved;
		return NULL;
	}
	/* The copy shares its offset with fd and the scans before. */
	rewinddir(d);
	return d;
}

int
intake_rescan(struct intake *t, int64_t now_ms)
{
	struct log_ctx ctx;
	struct dirent *de;
	struct stat st;
	size_t deferred = 0;
	DIR *d;
	int saved;

	ctx_of(t, NULL, &ctx);
	/*
	 * A folder removed while we hold it open gives no inotify event
	 * (IN_DELETE_SELF waits for the last close) and an empty listing;
	 * its link count says it.  Renames are seen by IN_MOVE_SELF.
	 */
	if (fstat(t->inbox_fd, &st) == -1 || st.st_nlink == 0 ||
	    fstat(t->work_fd, &st) == -1 || st.st_nlink == 0) {
		log_error(&ctx, "intake", "the inbox or work/ was removed");
		return -1;
	}
	if ((d = dir_from(t->inbox_fd)) == NULL) {
		log_warn(&ctx, "intake", "cannot read the inbox");
		return -1;
	}
	t->gen++;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		scan_one(t, de->d_name, now_ms, &deferred);
	}
	saved = errno;
	(void)closedir(d);		/* read-only */
	if (saved != 0) {
		/* An incomplete listing must not make us forget names. */
		errno = saved;
		log_warn(&ctx, "intake", "reading the inbox");
		return -1;
	}
	sweep(t);
	if (deferred > 0 && !t->deferred)
		log_warnx(&ctx, "intake", "%zu names tracked, the limit; %zu "
		    "more wait for a later scan", t->cand.n, deferred);
	t->deferred = deferred > 0;
	t->rescan_pending = 0;
	return (int)t->cand.n;
}

int
intake_next(struct intake *t, int64_t now_ms, char *name, size_t len,
    int64_t *next_due_ms)
{
	struct ent *e;
	struct fid f;
	size_t n;

	if (next_due_ms != NULL)
		*next_due_ms = -1;
	if (t->rescan_pending || (t->deferred && t->cand.n == 0))
		if (intake_rescan(t, now_ms) == -1)
			return -1;
	/* Invariant 2: what is due gets a fresh look before it is ready. */
	while (t->nheap > 0 && (e = t->heap[0])->due <= now_ms) {
		if (stat_name(t, e->name, &f) == -1)
			ent_forget(t, e);
		else if (fid_eq(&f, &e->fid))
			make_ready(t, e);
		else
			make_settling(t, e, now_ms, e->window, &f);
	}
	if ((e = TAILQ_FIRST(&t->ready)) != NULL) {
		if ((n = strlen(e->name)) >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, e->name, n + 1);
		return 1;
	}
	if (t->nheap > 0 && next_due_ms != NULL)
		*next_due_ms = t->heap[0]->due;
	return 0;
}

/* ---- claiming ---- */

static enum intake_claim
reject(struct intake_claimed *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum intake_claim
reject(struct intake_claimed *out, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (out->fd != -1)
		(void)close(out->fd);	/* read-only, never read */
	out->fd = -1;
	out->reject_code = code;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	return INTAKE_REJECTED;
}

static const char *
type_name(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

/* The rules a file in work/ must meet, on lstat and again on fstat. */
static enum intake_claim
judge(const struct intake *t, const struct stat *st,
    struct intake_claimed *out)
{
	if (S_ISLNK(st->st_mode))
		return reject(out, "SYMLINK", "a symbolic link: not followed");
	if (!S_ISREG(st->st_mode))
		return reject(out, "NOT_REGULAR_FILE", "%s: not read",
		    type_name(st->st_mode));
	if (st->st_nlink != 1)
		return reject(out, "HARD_LINK", "%ju names for one file (a "
		    "hard link): not read", (uintmax_t)st->st_nlink);
	if (st->st_size < 0 || (long long)st->st_size > t->max_size)
		return reject(out, "TOO_LARGE", "%lld bytes, the limit is "
		    "%lld: not read", (long long)st->st_size, t->max_size);
	return INTAKE_CLAIMED;
}

static enum intake_claim
check_work(struct intake *t, struct intake_claimed *out)
{
	struct stat ls, st;
	enum intake_claim rc;
	int saved;

	if (fstatat(t->work_fd, out->name, &ls, AT_SYMLINK_NOFOLLOW) == -1) {
		saved = errno;
		snprintf(out->reason, sizeof(out->reason), "work/: %s",
		    strerror(saved));
		if (saved == ENOENT)
			return INTAKE_GONE;
		return reject(out, "UNREADABLE", "lstat: %s", strerror(saved));
	}
	/* Decided before opening: a FIFO or device is never opened. */
	if ((rc = judge(t, &ls, out)) != INTAKE_CLAIMED)
		return rc;
	if ((out->fd = fsutil_openat_nofollow(t->work_fd, out->name)) == -1) {
		saved = errno;
		/* Out of descriptors or memory: ours to fix, not the file's. */
		if (fsutil_errno_is_resource(saved)) {
			log_error(NULL, "claim", "open %s: %s", out->name,
			    strerror(saved));
			return INTAKE_FATAL;
		}
		if (saved == ELOOP)
			return reject(out, "SYMLINK", "a symbolic link: not "
			    "followed");
		return reject(out, "UNREADABLE", "open: %s",
		    strerror(saved));
	}
	if (fstat(out->fd, &st) == -1)
		return reject(out, "UNREADABLE", "fstat: %s",
		    strerror(errno));
	/* work/ is ours, so this cannot differ; checked all the same. */
	if (st.st_dev != ls.st_dev || st.st_ino != ls.st_ino)
		return reject(out, "UNREADABLE", "replaced while opened");
	if ((rc = judge(t, &st, out)) != INTAKE_CLAIMED)
		return rc;
	out->size = (long long)st.st_size;
	out->mtime_s = (int64_t)st.st_mtim.tv_sec;
	/* Settled is not closed: a writer may only be pausing (intake.h). */
	out->writing = fsutil_writers(out->fd) == 1;
	return INTAKE_CLAIMED;
}

static void
claimed_init(struct intake_claimed *out)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
}

/* An entry that alone cannot leave the inbox: noted, left, logged once. */
static void
leave_stuck(struct intake *t, const char *name, const struct fid *f,
    const char *why)
{
	struct log_ctx ctx;
	struct ent *e;

	if ((e = tab_find(&t->noted, name)) == NULL &&
	    (e = tab_add(&t->noted, name)) == NULL)
		return;			/* full: retried by a later scan */
	e->stuck = 1;
	e->fid = *f;
	e->gen = t->gen;
	ctx_of(t, name, &ctx);
	log_warnx(&ctx, "intake", "%s cannot be moved out of the inbox (%s); "
	    "left there", type_name(f->mode), why);
}

enum intake_claim
intake_claim(struct intake *t, const char *name, struct intake_claimed *out)
{
	struct log_ctx lc;
	struct ent *e;
	struct fid f;
	int rc, saved;

	claimed_init(out);
	/* Names come from intake_next: anything else is our own bug. */
	if (strnlen(name, INTAKE_NAME_MAX) >= INTAKE_NAME_MAX ||
	    classify(name) != NAME_RECEIPT || strchr(name, '/') != NULL) {
		snprintf(out->reason, sizeof(out->reason), "not a receipt "
		    "name in the inbox");
		return INTAKE_FATAL;
	}
	/* Invariant 3: whatever happens next, the name is done with. */
	if ((e = tab_find(&t->cand, name)) != NULL)
		ent_forget(t, e);
	rc = fsutil_move(t->inbox_fd, name, t->work_fd, name, out->name,
	    sizeof(out->name), out->reason, sizeof(out->reason));
	if (rc == FSUTIL_OK) {
		TESTHOOK_CRASH("claimed");
		return check_work(t, out);
	}
	saved = errno;
	if (rc == FSUTIL_FATAL)
		return INTAKE_FATAL;
	/*
	 * No room for work/'s new entry (a directory block on ext4): nothing
	 * moved, the file stays in the inbox and the next scan finds it
	 * again (invariant 3), so intake pauses until space returns.
	 */
	if (saved == ENOSPC || saved == EDQUOT) {
		ctx_of(t, name, &lc);
		log_warnx(&lc, "intake", "disk full: left in the inbox (%s)",
		    out->reason);
		return INTAKE_GONE;
	}
	if (stat_name(t, name, &f) == -1) {
		if (errno == ENOENT)
			return INTAKE_GONE;	/* taken or deleted by the POS */
		return INTAKE_FATAL;
	}
	/*
	 * Invariant 4.  A regular file that cannot be renamed means the
	 * inbox or work/ is unusable (permissions, sticky bit, a read-only
	 * mount, work/ removed): every file would fail, so stop loudly.  A
	 * directory the share user made and we may not rename (EACCES on
	 * its "..") would otherwise stop the daemon at every start.
	 */
	if (S_ISREG(f.mode) || saved == ENOENT)
		return INTAKE_FATAL;
	leave_stuck(t, name, &f, strerror(saved));
	return INTAKE_GONE;
}

enum intake_claim
intake_reopen(struct intake *t, const char *work_name,
    struct intake_claimed *out)
{
	size_t n;

	claimed_init(out);
	n = strnlen(work_name, sizeof(out->name));
	if (n == 0 || n >= sizeof(out->name) || strchr(work_name, '/') != NULL
	    || strcmp(work_name, ".") == 0 || strcmp(work_name, "..") == 0)
		return reject(out, "UNREADABLE", "not a file name");
	memcpy(out->name, work_name, n + 1);
	return check_work(t, out);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
intake_recover(struct intake *t, int (*cb)(const char *, void *), void *arg)
{
	struct log_ctx ctx;
	struct dirent *de;
	char **v;
	size_t n = 0, i;
	DIR *d;
	int saved;

	ctx_of(t, NULL, &ctx);
	if ((v = calloc(t->cand.max, sizeof(*v))) == NULL) {
		log_warnx(&ctx, "intake", "out of memory");
		return -1;
	}
	if ((d = dir_from(t->work_fd)) == NULL) {
		log_warn(&ctx, "intake", "cannot read work/");
		free(v);
		return -1;
	}
	for (;;) {
		errno = 0;
		if (n >= t->cand.max || (de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((v[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	saved = errno;
	(void)closedir(d);		/* read-only */
	if (saved != 0) {
		errno = saved;
		log_warn(&ctx, "intake", "reading work/");
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return -1;
	}
	qsort(v, n, sizeof(*v), cmp_names);
	for (i = 0; i < n; i++)
		if (cb(v[i], arg) == -1)
			break;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return (int)n;
}
