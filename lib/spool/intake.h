/*
 * intake.h - finding and claiming receipt files in one device's inbox
 * (interface.md §3 "Dropping a file", "Discovery").
 *
 * The loop, in the daemon:
 *
 *	in = intake_open(&opts, err, sizeof(err));
 *	intake_recover(in, cb, arg);		work/ left by a crash, first
 *	poll on intake_fd(in) (if >= 0) with the timeout from next_due;
 *	intake_handle_events(in, now)		when it is readable
 *	intake_rescan(in, now)			every rescan_interval
 *	while (intake_next(in, now, name, sizeof(name), &due) == 1)
 *		switch (intake_claim(in, name, &c)) ...
 *
 * Times are milliseconds on the caller's clock (CLOCK_MONOTONIC in the
 * daemon, a counter in tests): intake never reads a clock itself.
 *
 * Which names are receipts.  Names starting with '.' or ending in ".tmp",
 * ".part" or "~" are files still being written: skipped without a word.
 * Only names ending in ".json" or ".xml" (any case) are receipts, except
 * "*.result.json", "*.result.xml" and "*.error.json", the names of our own
 * replies, which a receipt may not have (filed next to the reply files,
 * it could be mistaken for one).  Every other name (a subfolder, notes,
 * Thumbs.db) is left where it is and logged once as not a receipt.  A
 * receipt name is judged by its name only: if it is a directory, FIFO,
 * socket, device, symbolic link or hard link, claiming it moves it to
 * work/ and reports it REJECTED, for the caller to file in error/.
 *
 * When a file is complete.  IN_MOVED_TO (renamed into the inbox, the
 * protocol we document for POS integrators) makes it ready at once, and so
 * does IN_CLOSE_WRITE (interface.md: "acts on close-after-write") unless
 * close_settle_ms asks for a quiet time after the close as well, for
 * writers that reopen a file between chunks.  A name found only by a scan
 * is ready once its size, mtime, inode and link count have stayed the same
 * for settle_ms (checked again when the time is up).  A writer that keeps
 * the file open and pauses for longer is not done all the same: after the
 * claim, a file some process still has open for writing is reported
 * (intake_claimed.writing, where Linux can tell: fsutil_writers), and
 * the caller leaves it in work/ until the writer has closed it (its
 * writes land there: the claim moved the name, not the open file).
 * The process must ignore SIGIO (fsutil_writers says why).
 */
#ifndef SPOOL_INTAKE_H
#define SPOOL_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INTAKE_NAME_MAX		256	/* a name (255 bytes) and its NUL */
#define INTAKE_MAX_ENTRIES	100000	/* default table size */
#define INTAKE_MAX_FILE_SIZE	1048576	/* default max_file_size */

struct intake_opts {
	const char	*inbox;		/* created 0750 if missing */
	const char	*work;		/* ditto; same file system as inbox */
	long		 settle_ms;	/* scan-found files: stable this long */
	bool		 use_inotify;	/* false: scans only (network shares) */
	long long	 max_file_size;	/* bytes; <= 0: INTAKE_MAX_FILE_SIZE */
	/* Optional (0 / NULL: the default). */
	long		 close_settle_ms; /* quiet time after IN_CLOSE_WRITE */
	long		 max_entries;	/* names tracked at once */
	const char	*device;	/* for log lines */
};

struct intake;

/* NULL with err set if a folder cannot be opened or created. */
struct intake	*intake_open(const struct intake_opts *, char *err,
		    size_t errlen);
void		 intake_close(struct intake *);
/* inotify descriptor for poll(), -1 without inotify. */
int		 intake_fd(const struct intake *);
/* work/, for filing claimed files into done/ or error/ (fsutil_move). */
int		 intake_work_fd(const struct intake *);

/*
 * Drain inotify: names closed after writing or renamed in become ready;
 * IN_Q_OVERFLOW (events lost) schedules a full rescan.  The number of
 * names marked, or -1 (fatal: the inbox was renamed or unmounted, or the
 * descriptor failed).  A removed inbox raises no event while we hold it
 * open: the next scan finds that.
 */
int		 intake_handle_events(struct intake *, int64_t now_ms);
/*
 * Full directory scan, the source of truth: new names start settling,
 * names gone are forgotten.  The number of names tracked, or -1 (fatal:
 * the inbox cannot be read, or it or work/ was removed).  intake_next runs one by itself at the start,
 * after an overflow and when the table has emptied after being full.
 */
int		 intake_rescan(struct intake *, int64_t now_ms);
/* Forget nothing but distrust events: the next intake_next rescans. */
void		 intake_request_rescan(struct intake *);
/*
 * The next name ready to claim, oldest first: 1 and the name (len must be
 * at least INTAKE_NAME_MAX); 0 when none is ready, *next_due_ms then saying
 * when a settling one may be (-1: none is settling); -1 fatal (a scan
 * failed).  The name stays next until it is claimed.
 */
int		 intake_next(struct intake *, int64_t now_ms, char *name,
		    size_t len, int64_t *next_due_ms);

enum intake_claim {
	INTAKE_CLAIMED,		/* fd open on work/name, checked */
	INTAKE_GONE,		/* no longer in the inbox: nothing to do */
	INTAKE_REJECTED,	/* in work/name, not to be read: file it */
	INTAKE_FATAL		/* work/ unusable or an fsync failed: exit */
};

struct intake_claimed {
	int		 fd;		/* CLAIMED: read-only; -1 otherwise */
	char		 name[INTAKE_NAME_MAX];	/* its name in work/ */
	long long	 size;
	/* CLAIMED: still open for writing somewhere (not yet complete). */
	bool		 writing;
	int64_t		 mtime_s;	/* CLAIMED: last written (epoch s) */
	/* REJECTED: SYMLINK, NOT_REGULAR_FILE, HARD_LINK, TOO_LARGE or
	 * UNREADABLE (error file codes); NULL otherwise. */
	const char	*reject_code;
	char		 reason[256];	/* REJECTED, GONE, FATAL: why */
};

/*
 * Move inbox/name to work/ (never replacing: a name taken there gets a
 * number, see fsutil_move, and out->name says which), then check it
 * without following or blocking: a regular file, one link, at most
 * max_file_size bytes, opened O_NOFOLLOW|O_NONBLOCK and checked again on
 * the descriptor.  The name is forgotten by the table in every case.
 * GONE also covers an entry that alone cannot be moved (a directory we may
 * not rename): it is left in the inbox, logged once, and tried again only
 * once it changes.  A name that is not a receipt name (see above) is a
 * caller bug: FATAL.
 */
enum intake_claim intake_claim(struct intake *, const char *name,
		    struct intake_claimed *out);
/* The same checks for a name already in work/ (after intake_recover). */
enum intake_claim intake_reopen(struct intake *, const char *work_name,
		    struct intake_claimed *out);
/*
 * Call cb for every entry of work/ (a crash left them there: they were
 * claimed but not filed), in byte order of name, at most max_entries per
 * call; cb returning -1 stops.  The number reported, or -1 if work/
 * cannot be read.  Call again while it returns max_entries.
 */
int		 intake_recover(struct intake *,
		    int (*cb)(const char *work_name, void *arg), void *arg);

#endif
