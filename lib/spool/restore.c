/*
 * restore.c - spoolctl restore FILE [--force] (see restore.h).
 *
 * Purpose: put a backup (spoolctl backup's db_YYYYMMDD_HHMMSS.sqlite3, or
 * a journal kept aside by an earlier restore) back as the journal, then
 * make sure nothing is signed until FDMS and the restored journal agree.
 *
 * The steps, in order; each refusal leaves everything as it was:
 *  1. Locks.  spoold's own locks, <spool_dir>/.spoold.lock then
 *     <database>.lock (the order spoold takes them, lib/daemon/loop.c),
 *     and each configured device's close-day lock
 *     (<spool_dir>/.close-day-ID.lock, lib/spool/dayclose.c) are taken
 *     without waiting and held until the end, resync included: a running
 *     spoold, close-day or another restore makes this refuse, and no
 *     spoold can start on a half-restored journal or before the block of
 *     step 6 is in place.
 *  2. The backup.  A regular file (not a symbolic link, not the journal
 *     itself), opened read-only as a spoold journal (application_id and
 *     version record), PRAGMA integrity_check and foreign_key_check, a
 *     schema version 1..latest of this program; every device in it
 *     registered in this configuration's environment, and a configured
 *     device with the configured serial number (the configuration checks
 *     would refuse anything else, so it would not even run).
 *  3. The current journal.  Opened (any version) and integrity-checked,
 *     then compared with the backup (restore_compare): the receipts above
 *     the backup's last global number, a newer fiscal day, a day's close,
 *     or a device the backup lacks would be set aside.
 *  4. Keep aside, as <database>.pre-restore-YYYYMMDD_HHMMSS (local time):
 *     a sound current journal by a consistent copy (store_backup: one
 *     file, 0600, synced, integrity-checked); an unreadable one by moving
 *     it with its -wal, -journal and -shm (those first, the database
 *     last: a -wal must never stay beside a database it does not belong
 *     to), never replacing anything.
 *  5. Restore through SQLite's backup API INTO the journal
 *     (store_restore_from): the sound journal's file is never replaced;
 *     a moved-away or missing one is first created empty (0600).  Then
 *     the schema is migrated up when the backup is older than this
 *     program (an additive, logged step; `spoolctl migrate` would
 *     otherwise be needed before anything runs).
 *  6. Every device in the restored journal that is not blocked already
 *     gets a signing block naming the restore, and the restore is logged
 *     (who, when, from what, where the old journal is).
 *  7. resync (devadmin_resync) for every configured device registered in
 *     the restored journal: it lifts the block when the journal agrees
 *     with FDMS and keeps it (with its own reason) when FDMS holds
 *     receipts or days the journal lacks.  A device that cannot be
 *     resynced (FDMS unreachable, not configured) stays blocked: spoold
 *     defers its files until `spoolctl resync` succeeds.
 *
 * --force allows, each named on stderr before it happens: a backup older
 * than the current journal (what it lacks stays in the copy kept aside);
 * a current journal that cannot be opened, checked or compared (it is
 * moved aside unread); devices in the backup that the configuration does
 * not name.  Never: spoold running, a file that is not a sound spoold
 * journal, a schema newer than this program, a device of another
 * environment or serial number.
 *
 * Trust: the backup file is data, not code: it is opened read-only with
 * the journal's defensive settings (lib/store) and must pass the checks
 * of step 2 before a byte of it is copied.  The configuration and the
 * journal's directory are trusted (they are the operator's).
 *
 * Crash safety: a crash before step 5 commits changes nothing (a copy
 * kept aside is only an extra file); the copy of step 5 is one
 * transaction of the journal; a crash between it and the block of step 6
 * leaves the restored journal unblocked, which the operator sees from the
 * missing "restore: done" and repairs by running the restore again.
 */
#include "spool/restore.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "spool/admin_files.h"
#include "spool/devadmin.h"
#include "store/store.h"
#include "util/fsutil.h"
#include "util/log.h"

#define SPOOL_LOCK	".spoold.lock"	/* lib/daemon/loop.c LOCK_NAME */
#define CLOSE_LOCK	".close-day-%lld.lock"	/* lib/spool/dayclose.c */
#define ASIDE_TRIES	9		/* -2 .. -9 after the plain name */
#define PROG		"spoolctl restore"

/* The files SQLite keeps beside a database; the database itself last. */
static const char *const db_suffixes[] = { "-wal", "-journal", "-shm", "" };
#define NSUFFIXES	(sizeof(db_suffixes) / sizeof(db_suffixes[0]))

/* -- Pure helpers ---------------------------------------------------------- */

int
restore_aside_name(const char *path, time_t when, unsigned n, char *out,
    size_t len)
{
	struct tm tm;
	char stamp[32];
	int k;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d_%H%M%S", &tm) == 0)
		return -1;
	if (n > 1)
		k = snprintf(out, len, "%s.pre-restore-%s-%u", path, stamp, n);
	else
		k = snprintf(out, len, "%s.pre-restore-%s", path, stamp);
	return k < 0 || (size_t)k >= len ? -1 : 0;
}

/* -- Comparing the current journal with the backup ------------------------- */

struct above {
	int64_t	 limit, n, first, last;
};

static int
count_above(const struct store_receipt *r, void *arg)
{
	struct above *a = arg;

	if (r->global_no > a->limit) {
		if (a->n == 0 || r->global_no < a->first)
			a->first = r->global_no;
		if (r->global_no > a->last)
			a->last = r->global_no;
		a->n++;
	}
	return 0;
}

static int
max_global(const struct store_receipt *r, void *arg)
{
	int64_t *max = arg;

	if (r->global_no > *max)
		*max = r->global_no;
	return 0;
}

/*
 * The highest global number among the receipts s really holds for the
 * device, from its latest day down (the device's high-water mark may be
 * above it: resync adopts FDMS's number); 0 when none.
 */
static int
last_receipt(struct store *s, int64_t id, int64_t latest_day_no,
    int64_t *last)
{
	int64_t day;
	int rc;

	*last = 0;
	for (day = latest_day_no; day >= 1 && *last == 0; day--)
		if ((rc = store_receipts_each(s, id, day, max_global, last)) !=
		    STORE_OK && rc != STORE_NOTFOUND)
			return rc;
	return STORE_OK;
}

/* The latest day's number and whether it is closed; 0 when none. */
static int
latest_day(struct store *s, int64_t id, int64_t *day_no, bool *closed)
{
	struct store_day d;
	int rc;

	*day_no = 0;
	*closed = false;
	if ((rc = store_day_get(s, id, 0, &d)) == STORE_NOTFOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	*day_no = d.day_no;
	*closed = d.status == STORE_DAY_CLOSED;
	store_day_free(&d);
	return STORE_OK;
}

/*
 * One device of cur against bak into *l; 0, or -1 with err.  bak_older:
 * the backup's schema is older than cur's, so it may lack the tables of
 * fiscal days altogether (a backup made before they existed): it then
 * has no day.
 */
static int
compare_device(struct store *cur, struct store *bak, bool bak_older,
    int64_t id, struct restore_loss *l, char *err, size_t errlen)
{
	struct store_device d;
	struct above a;
	bool cur_closed, bak_closed = false;
	int64_t day, from;
	int rc;

	memset(l, 0, sizeof(*l));
	l->device_id = id;
	memset(&a, 0, sizeof(a));
	if (latest_day(cur, id, &l->day_cur, &cur_closed) != STORE_OK) {
		snprintf(err, errlen, "current journal: %s", store_errmsg(cur));
		return -1;
	}
	rc = store_device_get(bak, id, &d);
	if (rc == STORE_NOTFOUND)
		l->device_missing = true;
	else if (rc != STORE_OK) {
		snprintf(err, errlen, "backup: %s", store_errmsg(bak));
		return -1;
	} else {
		store_device_free(&d);
		if (latest_day(bak, id, &l->day_bak, &bak_closed) !=
		    STORE_OK) {
			if (!bak_older) {
				snprintf(err, errlen, "backup: %s",
				    store_errmsg(bak));
				return -1;
			}
			l->day_bak = 0;
			bak_closed = false;
		}
		if (last_receipt(bak, id, l->day_bak, &a.limit) != STORE_OK) {
			snprintf(err, errlen, "backup: %s", store_errmsg(bak));
			return -1;
		}
	}
	/*
	 * Receipts above the backup's last number sit in its latest day or
	 * later ones (numbers and days only grow): walk those days only,
	 * not the whole history; every day when the backup has none.
	 */
	from = l->day_bak > 0 ? l->day_bak : 1;
	for (day = from; day <= l->day_cur; day++) {
		rc = store_receipts_each(cur, id, day, count_above, &a);
		if (rc != STORE_OK && rc != STORE_NOTFOUND) {
			snprintf(err, errlen, "current journal: %s",
			    store_errmsg(cur));
			return -1;
		}
	}
	l->receipts = a.n;
	l->first_global = a.first;
	l->last_global = a.last;
	l->close_lost = l->day_cur > 0 && l->day_cur == l->day_bak &&
	    cur_closed && !bak_closed;
	return 0;
}

static bool
loses(const struct restore_loss *l)
{
	return l->device_missing || l->receipts > 0 ||
	    l->day_cur > l->day_bak || l->close_lost;
}

int
restore_compare(struct store *cur, struct store *bak,
    struct restore_loss **v, size_t *n, char *err, size_t errlen)
{
	struct restore_loss *out = NULL;
	int64_t *ids = NULL;
	size_t nids = 0, i, k = 0;
	int vcur, vbak, latest;

	*v = NULL;
	*n = 0;
	if (store_version(cur, &vcur, &latest) != STORE_OK) {
		snprintf(err, errlen, "current journal: %s", store_errmsg(cur));
		return -1;
	}
	if (store_version(bak, &vbak, &latest) != STORE_OK) {
		snprintf(err, errlen, "backup: %s", store_errmsg(bak));
		return -1;
	}
	if (store_device_list(cur, &ids, &nids) != STORE_OK) {
		snprintf(err, errlen, "current journal: %s", store_errmsg(cur));
		return -1;
	}
	if (nids > 0 && (out = calloc(nids, sizeof(*out))) == NULL) {
		free(ids);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < nids; i++) {
		if (compare_device(cur, bak, vbak < vcur, ids[i], &out[k], err,
		    errlen) == -1) {
			free(ids);
			free(out);
			return -1;
		}
		if (loses(&out[k]))
			k++;
	}
	free(ids);
	if (k == 0) {
		free(out);
		out = NULL;
	}
	*v = out;
	*n = k;
	return 0;
}

/* -- Shared ------------------------------------------------------------------ */

struct run {
	const struct config	*cfg;
	const char		*file;
	char			 db[PATH_MAX];		/* the journal's path */
	char			 dir[PATH_MAX];		/* its directory */
	char			 base[NAME_MAX + 1];	/* its name */
	char			 aside[PATH_MAX];	/* kept-aside path */
	char			 aside_base[NAME_MAX + 1];
	char			 user[256];
	char			 when[32];		/* local, for people */
	int			 spool_lock, db_lock, dirfd;
	int			*close_locks;	/* one per configured device */
	size_t			 nclose_locks;
	int			 bak_version, latest;
};

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A refusal or failure: on stderr and in the log; ADMIN_FAIL. */
static int
refuse(const struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
refuse(const struct run *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("%s", msg);
	log_warnx(NULL, "restore", "by %s from %s: %s", r->user, r->file,
	    msg);
	return ADMIN_FAIL;
}

/* The journal's path (plain path or sqlite://PATH) split into dir, name. */
static int
split_db(struct run *r)
{
	const char *p = r->cfg->database, *slash;
	size_t n;

	if (strncmp(p, "sqlite://", 9) == 0)
		p += 9;
	if (*p == '\0' || strlen(p) >= sizeof(r->db))
		return -1;
	memcpy(r->db, p, strlen(p) + 1);
	if ((slash = strrchr(r->db, '/')) == NULL) {
		memcpy(r->dir, ".", 2);
		slash = r->db - 1;
	} else {
		n = slash == r->db ? 1 : (size_t)(slash - r->db);
		memcpy(r->dir, r->db, n);
		r->dir[n] = '\0';
	}
	if (strlen(slash + 1) == 0 || strlen(slash + 1) > NAME_MAX - 40)
		return -1;	/* room for ".pre-restore-..." and "-wal" */
	memcpy(r->base, slash + 1, strlen(slash + 1) + 1);
	return 0;
}

/*
 * spoold's locks, in spoold's order, without waiting.  0 held, or
 * ADMIN_FAIL with the reason said.
 */
static int
take_locks(struct run *r)
{
	char path[PATH_MAX], err[512];
	size_t i;
	int fd, rc;

	if ((fd = fsutil_open_dir(r->cfg->spool_dir, 1)) == -1)
		return refuse(r, "spool_dir %s: %s", r->cfg->spool_dir,
		    strerror(errno));
	(void)close(fd);	/* a directory */
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", r->cfg->spool_dir,
	    SPOOL_LOCK) >= sizeof(path))
		return refuse(r, "spool_dir: path too long");
	rc = fsutil_lock(path, &r->spool_lock, err, sizeof(err));
	if (rc == FSUTIL_OK) {
		if ((size_t)snprintf(path, sizeof(path), "%s.lock", r->db) >=
		    sizeof(path))
			return refuse(r, "database: path too long");
		rc = fsutil_lock(path, &r->db_lock, err, sizeof(err));
	}
	if (rc == FSUTIL_LOCKED)
		return refuse(r, "spoold (or another restore) is using the "
		    "journal: %s; stop it first (systemctl stop spoold)", err);
	if (rc != FSUTIL_OK)
		return refuse(r, "lock: %s", err);

	/* A close-day writes the journal too: none may run meanwhile. */
	if ((r->close_locks = calloc(r->cfg->ndevices,
	    sizeof(*r->close_locks))) == NULL)
		return refuse(r, "out of memory");
	for (i = 0; i < r->cfg->ndevices; i++) {
		if (r->cfg->devices[i].device_id <= 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/" CLOSE_LOCK,
		    r->cfg->spool_dir, r->cfg->devices[i].device_id) >=
		    sizeof(path))
			return refuse(r, "spool_dir: path too long");
		rc = fsutil_lock(path, &fd, err, sizeof(err));
		if (rc == FSUTIL_LOCKED)
			return refuse(r, "a spoolctl close-day is running for "
			    "device %s: %s; let it finish first",
			    r->cfg->devices[i].name, err);
		if (rc != FSUTIL_OK)
			return refuse(r, "lock: %s", err);
		r->close_locks[r->nclose_locks++] = fd;
	}
	return 0;
}

static void
release_locks(struct run *r)
{
	size_t i;

	/* Closing the descriptors lets the locks go; nothing was written. */
	for (i = 0; i < r->nclose_locks; i++)
		(void)close(r->close_locks[i]);
	free(r->close_locks);
	r->close_locks = NULL;
	r->nclose_locks = 0;
	if (r->db_lock != -1)
		(void)close(r->db_lock);
	if (r->spool_lock != -1)
		(void)close(r->spool_lock);
	if (r->dirfd != -1)
		(void)close(r->dirfd);
	r->db_lock = r->spool_lock = r->dirfd = -1;
}

static struct store *
open_url(const char *path, int flags, enum store_rc *rc, char *err,
    size_t errlen)
{
	char url[PATH_MAX + 16];

	if ((size_t)snprintf(url, sizeof(url), "sqlite://%s", path) >=
	    sizeof(url)) {
		snprintf(err, errlen, "%s: path too long", path);
		return NULL;
	}
	return store_open(url, flags, rc, err, errlen);
}

/* Does dirfd hold name + suffix for any suffix of a database?  1, 0. */
static int
db_files_exist(int dirfd, const char *name)
{
	struct stat st;
	char n[NAME_MAX + 1];
	size_t i;

	for (i = 0; i < NSUFFIXES; i++) {
		snprintf(n, sizeof(n), "%s%s", name, db_suffixes[i]);
		if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != ENOENT)
			return 1;
	}
	return 0;
}

/* -- Step 2: the backup ------------------------------------------------------ */

static const struct config_device *
configured(const struct config *cfg, int64_t id)
{
	size_t i;

	for (i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].device_id == id)
			return &cfg->devices[i];
	return NULL;
}

/*
 * Open and check the backup; *bak open read-only on success.  Hard
 * problems are said and make this return ADMIN_FAIL; soft ones (devices
 * not configured) are said and counted in *soft.
 */
static int
check_backup(struct run *r, struct store **bakp, int *soft, FILE *out)
{
	const char *env = config_env_name(r->cfg->env);
	const struct config_device *c;
	struct store_device d;
	struct store_stats st;
	struct store *bak;
	enum store_rc orc;
	int64_t *ids = NULL, day;
	size_t n = 0, i;
	char err[STORE_ERRMSG_MAX];
	int hard = 0;
	bool closed;

	*bakp = NULL;
	if ((bak = open_url(r->file, STORE_OPEN_READONLY |
	    STORE_OPEN_ANY_VERSION, &orc, err, sizeof(err))) == NULL)
		return refuse(r, "not a spoold journal, or unreadable: %s",
		    err);
	if (store_integrity_check(bak) != STORE_OK) {
		refuse(r, "%s: damaged: %s", r->file, store_errmsg(bak));
		store_close(bak);
		return ADMIN_FAIL;
	}
	if (store_version(bak, &r->bak_version, &r->latest) != STORE_OK) {
		refuse(r, "%s: %s", r->file, store_errmsg(bak));
		store_close(bak);
		return ADMIN_FAIL;
	}
	if (r->bak_version > r->latest || r->bak_version < 1) {
		if (r->bak_version > r->latest)
			refuse(r, "%s: schema version %d is newer than this "
			    "program knows (%d): restore it with the spoolctl "
			    "that wrote it", r->file, r->bak_version,
			    r->latest);
		else
			refuse(r, "%s: an empty journal (schema version 0): "
			    "nothing to restore", r->file);
		store_close(bak);
		return ADMIN_FAIL;
	}
	if (store_device_list(bak, &ids, &n) != STORE_OK) {
		refuse(r, "%s: %s", r->file, store_errmsg(bak));
		store_close(bak);
		return ADMIN_FAIL;
	}
	fprintf(out, "backup %s: schema version %d, integrity ok, %zu "
	    "device%s\n", r->file, r->bak_version, n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		if (store_device_get(bak, ids[i], &d) != STORE_OK) {
			hard++;
			refuse(r, "%s: %s", r->file, store_errmsg(bak));
			continue;
		}
		c = configured(r->cfg, ids[i]);
		if (strcmp(d.env, env) != 0) {
			hard++;
			refuse(r, "%s: device %lld is registered in %s; this "
			    "configuration is %s", r->file, (long long)ids[i],
			    d.env, env);
		} else if (c != NULL && c->serial_no != NULL &&
		    strcmp(d.serial_no, c->serial_no) != 0) {
			hard++;
			refuse(r, "%s: device %lld is registered with serial "
			    "number %s; the configuration says %s", r->file,
			    (long long)ids[i], d.serial_no, c->serial_no);
		} else if (c == NULL) {
			(*soft)++;
			say("%s: device %lld (serial %s) is not in the "
			    "configuration", r->file, (long long)ids[i],
			    d.serial_no);
		}
		memset(&st, 0, sizeof(st));
		day = 0;
		closed = false;
		if (store_stats(bak, ids[i], NULL, &st) == STORE_OK &&
		    latest_day(bak, ids[i], &day, &closed) == STORE_OK)
			fprintf(out, "  device %lld: %lld receipts, last "
			    "global number %lld, latest day %lld%s\n",
			    (long long)ids[i], (long long)st.receipts,
			    (long long)d.last_global_no, (long long)day,
			    day == 0 ? "" : closed ? " (closed)" : " (open)");
		store_device_free(&d);
	}
	free(ids);
	if (hard > 0) {
		store_close(bak);
		return ADMIN_FAIL;
	}
	*bakp = bak;
	return 0;
}

/* -- Step 3: the current journal -------------------------------------------- */

enum cur_state {
	CUR_NONE,	/* no file at all: nothing to keep */
	CUR_SOUND,	/* opened, checked, compared */
	CUR_UNSOUND	/* cannot be opened, checked or compared: moved */
};

/* Say what the backup lacks; the number of lines said. */
static int
say_losses(const struct restore_loss *v, size_t n)
{
	size_t i;
	int said = 0;

	for (i = 0; i < n; i++) {
		const struct restore_loss *l = &v[i];

		if (l->device_missing) {
			say("device %lld is registered in the current journal "
			    "but not in the backup", (long long)l->device_id);
			said++;
		}
		if (l->receipts > 0) {
			say("device %lld: %lld receipt%s of the current "
			    "journal (global numbers %lld..%lld) %s not in the "
			    "backup", (long long)l->device_id,
			    (long long)l->receipts, l->receipts == 1 ? "" : "s",
			    (long long)l->first_global,
			    (long long)l->last_global,
			    l->receipts == 1 ? "is" : "are");
			said++;
		}
		if (l->day_cur > l->day_bak) {
			say("device %lld: fiscal day %lld of the current "
			    "journal is not in the backup (its latest is "
			    "%lld)", (long long)l->device_id,
			    (long long)l->day_cur, (long long)l->day_bak);
			said++;
		}
		if (l->close_lost) {
			say("device %lld: fiscal day %lld is closed in the "
			    "current journal, not in the backup",
			    (long long)l->device_id, (long long)l->day_cur);
			said++;
		}
	}
	return said;
}

/*
 * Look at the current journal: *state, *curp (open when sound), and the
 * soft problems said and counted in *soft.  ADMIN_FAIL only for an error
 * of our own (memory, path).
 */
static int
check_current(struct run *r, struct store *bak, enum cur_state *state,
    struct store **curp, int *soft)
{
	struct restore_loss *v;
	struct store *cur;
	struct stat st, fst;
	enum store_rc orc;
	char err[STORE_ERRMSG_MAX];
	size_t n;
	int version, latest;

	*curp = NULL;
	*state = CUR_NONE;
	if (!db_files_exist(r->dirfd, r->base))
		return 0;
	if (fstatat(r->dirfd, r->base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		*state = CUR_UNSOUND;
		(*soft)++;
		say("%s: no database file, but its -wal, -journal or -shm is "
		    "there", r->db);
		return 0;
	}
	if (stat(r->file, &fst) == 0 && fst.st_dev == st.st_dev &&
	    fst.st_ino == st.st_ino)
		return refuse(r, "%s is the journal itself", r->file);
	/*
	 * Read-only first: a read-write open of a damaged journal could
	 * change it (SQLite recovers or drops a -wal, checkpoints at close),
	 * and what is moved aside must be what was there.
	 */
	*state = CUR_UNSOUND;
	if ((cur = open_url(r->db, STORE_OPEN_READONLY |
	    STORE_OPEN_ANY_VERSION, &orc, err, sizeof(err))) == NULL) {
		(*soft)++;
		say("the current journal cannot be opened: %s", err);
		return 0;
	}
	if (store_integrity_check(cur) != STORE_OK ||
	    store_version(cur, &version, &latest) != STORE_OK) {
		(*soft)++;
		say("the current journal %s is damaged: %s", r->db,
		    store_errmsg(cur));
		store_close(cur);
		return 0;
	}
	if (restore_compare(cur, bak, &v, &n, err, sizeof(err)) == -1) {
		(*soft)++;
		say("the current journal %s (schema version %d) cannot be "
		    "compared with the backup: %s", r->db, version, err);
		store_close(cur);
		return 0;
	}
	if (n > 0) {
		*soft += say_losses(v, n);
		say("the backup is older than the current journal");
	}
	free(v);
	store_close(cur);
	if ((cur = open_url(r->db, STORE_OPEN_ANY_VERSION, &orc, err,
	    sizeof(err))) == NULL)
		return refuse(r, "reopening the current journal to copy it: "
		    "%s", err);
	*state = CUR_SOUND;
	*curp = cur;
	return 0;
}

/* -- Step 4: keep the current journal aside --------------------------------- */

/* A free aside name (no database file of that name); 0 or -1. */
static int
pick_aside(struct run *r)
{
	time_t now = time(NULL);
	unsigned i;

	for (i = 1; i <= ASIDE_TRIES; i++) {
		if (restore_aside_name(r->db, now, i, r->aside,
		    sizeof(r->aside)) == -1 ||
		    restore_aside_name(r->base, now, i, r->aside_base,
		    sizeof(r->aside_base)) == -1)
			return -1;
		if (!db_files_exist(r->dirfd, r->aside_base))
			return 0;
	}
	return -1;
}

/* Move the journal's files aside, side files first; 0 or ADMIN_FAIL. */
static int
move_aside(struct run *r, FILE *out)
{
	char from[NAME_MAX + 1], to[NAME_MAX + 1], err[512];
	struct stat st;
	size_t i;
	int rc, moved = 0;

	for (i = 0; i < NSUFFIXES; i++) {
		snprintf(from, sizeof(from), "%s%s", r->base, db_suffixes[i]);
		snprintf(to, sizeof(to), "%s%s", r->aside_base,
		    db_suffixes[i]);
		if (fstatat(r->dirfd, from, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		rc = fsutil_move_exact(r->dirfd, from, r->dirfd, to, err,
		    sizeof(err));
		if (rc != FSUTIL_OK)
			return refuse(r, "keeping the current journal aside: "
			    "%s%s", err, moved ? "; the files moved so far "
			    "are under the .pre-restore- name: move them back "
			    "before using the journal" : "");
		fprintf(out, "moved %s/%s -> %s\n", r->dir, from, to);
		moved++;
	}
	return 0;
}

/* -- Step 6 and 7 ------------------------------------------------------------ */

/* Block every device of the restored journal not blocked already. */
static int
block_all(struct run *r, struct store *s)
{
	struct store_device d;
	char reason[600];
	int64_t *ids = NULL;
	size_t n = 0, i;
	int failed = 0;

	snprintf(reason, sizeof(reason), "restored from %.300s on %s by %.64s: "
	    "spoolctl resync lifts this when the journal agrees with FDMS",
	    r->file, r->when, r->user);
	if (store_device_list(s, &ids, &n) != STORE_OK)
		return -1;
	for (i = 0; i < n; i++) {
		if (store_device_get(s, ids[i], &d) != STORE_OK) {
			failed = 1;
			continue;
		}
		if (!d.signing_blocked &&
		    store_device_block(s, ids[i], reason) != STORE_OK)
			failed = 1;
		store_device_free(&d);
	}
	free(ids);
	return failed ? -1 : 0;
}

/* resync every configured device the journal knows; ADMIN_OK or _FAIL. */
static int
resync_all(const char *config_path, FILE *out)
{
	struct store_device d;
	struct devadmin a;
	size_t i;
	int rc, bad = 0, done = 0;

	fflush(out);
	if ((rc = devadmin_open(&a, config_path, NULL, true)) != 0) {
		say("the journal is restored, but resync cannot run (see "
		    "above): fix that, then run spoolctl resync; signing stays "
		    "blocked until it agrees with FDMS");
		return ADMIN_FAIL;
	}
	for (i = 0; i < a.cfg->ndevices; i++) {
		devadmin_select(&a, i);
		rc = store_device_get(a.store, a.dev->device_id, &d);
		if (rc == STORE_NOTFOUND) {
			fprintf(out, "device %s (%lld) is not registered in "
			    "the restored journal: no resync\n", a.dev->name,
			    (long long)a.dev->device_id);
			continue;
		}
		if (rc != STORE_OK) {
			say("device %s: journal: %s", a.dev->name,
			    store_errmsg(a.store));
			bad++;
			continue;
		}
		store_device_free(&d);
		done++;
		if (devadmin_resync(&a, out) != 0) {
			bad++;
			fprintf(out, "device %s: signing stays BLOCKED until "
			    "spoolctl resync finds the journal and FDMS in "
			    "agreement\n", a.dev->name);
		}
	}
	devadmin_close(&a);
	log_info(NULL, "restore", "resync after the restore: %d device%s, "
	    "%d need%s an admin", done, done == 1 ? "" : "s", bad,
	    bad == 1 ? "s" : "");
	return bad ? ADMIN_FAIL : ADMIN_OK;
}

/* -- The command ------------------------------------------------------------- */

/* Steps 4-6 with the locks held; ADMIN_OK when the journal is restored. */
static int
put_in_place(struct run *r, struct store *bak, enum cur_state state,
    struct store *cur, FILE *out)
{
	struct store *live = cur;
	enum store_rc orc;
	char err[STORE_ERRMSG_MAX], name[NAME_MAX + 1];
	size_t i;
	int v, latest, created = 0;

	store_close(bak);	/* read again by store_restore_from */
	if (state != CUR_NONE && pick_aside(r) == -1) {
		store_close(cur);
		return refuse(r, "%s: no free name to keep the current "
		    "journal under", r->dir);
	}
	if (state == CUR_SOUND) {
		if (store_backup(cur, r->aside) != STORE_OK) {
			refuse(r, "keeping the current journal aside: %s",
			    store_errmsg(cur));
			store_close(cur);
			return ADMIN_FAIL;
		}
		if (fsutil_fsync_dir(r->dirfd) == -1) {
			store_close(cur);
			return refuse(r, "fsync of %s: %s", r->dir,
			    strerror(errno));
		}
		fprintf(out, "current journal kept as %s (a consistent "
		    "copy)\n", r->aside);
	} else if (state == CUR_UNSOUND && move_aside(r, out) != 0)
		return ADMIN_FAIL;
	if (live == NULL) {
		/* Nothing may be left that SQLite would take for ours. */
		if (db_files_exist(r->dirfd, r->base))
			return refuse(r, "%s: files of the old journal are "
			    "still there", r->db);
		if ((live = open_url(r->db, STORE_OPEN_CREATE |
		    STORE_OPEN_ANY_VERSION, &orc, err, sizeof(err))) == NULL)
			return refuse(r, "creating %s: %s", r->db, err);
		created = 1;
	}
	if (store_restore_from(live, r->file) != STORE_OK) {
		refuse(r, "%s: %s", r->db, store_errmsg(live));
		store_close(live);
		if (created) {
			for (i = 0; i < NSUFFIXES; i++) {
				snprintf(name, sizeof(name), "%s%s", r->base,
				    db_suffixes[i]);
				if (fsutil_unlink(r->dirfd, name, err,
				    sizeof(err)) != FSUTIL_OK &&
				    errno != ENOENT)
					say("%s", err);
			}
		}
		if (state == CUR_SOUND)
			say("the journal is unchanged");
		else if (state == CUR_UNSOUND)
			say("the previous journal is %s (with its side files): "
			    "move it back if you want it", r->aside);
		return ADMIN_FAIL;
	}
	if (store_version(live, &v, &latest) != STORE_OK || v !=
	    r->bak_version) {
		refuse(r, "%s: restored, but its schema version reads %d, not "
		    "%d: %s", r->db, v, r->bak_version, store_errmsg(live));
		store_close(live);
		return ADMIN_FAIL;
	}
	fprintf(out, "restored %s from %s (schema version %d)\n", r->db,
	    r->file, v);
	if (v < latest) {
		if (store_migrate(live, -1, 0) != STORE_OK) {
			refuse(r, "%s: restored, but migrating it from schema "
			    "version %d failed: %s; run spoolctl migrate", r->db,
			    v, store_errmsg(live));
			store_close(live);
			return ADMIN_FAIL;
		}
		fprintf(out, "schema version %d -> %d (this program's)\n", v,
		    latest);
	}
	if (block_all(r, live) == -1) {
		refuse(r, "%s: restored, but blocking signing until resync "
		    "failed: %s; do not start spoold before spoolctl resync",
		    r->db, store_errmsg(live));
		store_close(live);
		return ADMIN_FAIL;
	}
	store_close(live);
	log_info(NULL, "restore", "by %s: %s restored from %s (schema version "
	    "%d)%s%s; signing blocked until resync", r->user, r->db, r->file,
	    v, state == CUR_NONE ? "" : ", previous journal kept as ",
	    state == CUR_NONE ? "" : r->aside);
	return ADMIN_OK;
}

int
admin_restore(const struct config *cfg, const char *config_path,
    const char *file, bool force, FILE *out)
{
	struct store *bak = NULL, *cur = NULL;
	struct run r;
	struct stat st;
	struct tm tm;
	enum cur_state state;
	time_t now = time(NULL);
	int rc, soft = 0;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.file = file;
	r.spool_lock = r.db_lock = r.dirfd = -1;
	admin_who(r.user, sizeof(r.user));
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(r.when, sizeof(r.when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		memcpy(r.when, "?", 2);

	if (strncmp(cfg->database, "postgresql://", 13) == 0 ||
	    strncmp(cfg->database, "postgres://", 11) == 0)
		return refuse(&r, "PostgreSQL restores arrive with PostgreSQL "
		    "support");
	if (split_db(&r) == -1)
		return refuse(&r, "database %s: not a usable path",
		    cfg->database);
	if (lstat(file, &st) == -1)
		return refuse(&r, "%s: %s", file, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return refuse(&r, "%s: a symbolic link; name the backup by its "
		    "real path", file);
	if (!S_ISREG(st.st_mode))
		return refuse(&r, "%s: not a regular file", file);

	if ((rc = take_locks(&r)) != 0) {
		release_locks(&r);
		return rc;
	}
	if ((r.dirfd = fsutil_open_dir(r.dir, 0)) == -1) {
		rc = refuse(&r, "%s: %s", r.dir, strerror(errno));
		goto out;
	}
	if ((rc = check_backup(&r, &bak, &soft, out)) != 0)
		goto out;
	if ((rc = check_current(&r, bak, &state, &cur, &soft)) != 0) {
		store_close(bak);
		goto out;
	}
	if (soft > 0 && !force) {
		store_close(bak);
		store_close(cur);
		rc = refuse(&r, "refused (nothing changed): --force restores "
		    "anyway, keeping the current journal aside");
		goto out;
	}
	if (soft > 0)
		say("--force: restoring anyway; the current journal is kept "
		    "aside");
	if ((rc = put_in_place(&r, bak, state, cur, out)) != ADMIN_OK)
		goto out;
	rc = resync_all(config_path, out);
	if (rc == ADMIN_OK)
		fprintf(out, "restore: done; the journal agrees with FDMS: "
		    "spoold may be started\n");
	else
		fprintf(out, "restore: done, but resync needs an admin (see "
		    "above): spoold defers the blocked devices' files until "
		    "spoolctl resync agrees\n");
out:
	release_locks(&r);
	return rc;
}
