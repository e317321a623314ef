/*
 * admin_files.c - spoolctl backup and reprocess (interface.md §1, §3, §6).
 *
 * Backup.  store_backup makes the consistent online copy (SQLite backup
 * API, 0600, synced, integrity-checked); here it gets its name, is
 * verified once more from the outside (reopened read-only, its schema
 * version must equal the live journal's), its directory is fsynced, and
 * old backups are pruned.  Design decisions:
 *  - The name is db_YYYYMMDD_HHMMSS.sqlite3 in the configured local zone.
 *    A taken name is never overwritten and no suffix is added (a suffixed
 *    name would escape pruning and the documented pattern): the backup
 *    waits for the next second and tries again, a few times.
 *  - The live journal is opened without creating or migrating it and at
 *    any schema version: a backup before `spoolctl migrate` is exactly
 *    the one an operator wants.
 *  - Age is the file's mtime (what the copy's creation set, and what an
 *    operator's cp -p or touch keeps); only regular files named exactly
 *    db_YYYYMMDD_HHMMSS.sqlite3 are candidates, so nothing else in the
 *    directory is ever touched.  The newest and the one just made are
 *    always kept.  Pruning happens only after a verified backup.
 *  - Backups into one directory are serialised by flock on its
 *    .backup.lock (a dotfile, never a pruning candidate), waiting up to
 *    BACKUP_LOCK_WAIT seconds: two at once would otherwise race for the
 *    same name, and the loser must not mistake the winner's copy for its
 *    own.
 *  - A copy that fails (copy, integrity or verification) is removed, so
 *    no broken file carries a backup's name.
 *  - The copy is made under a temporary dotfile name (BACKUP_TMP_PREFIX
 *    + the backup's name) and renamed to the backup's name (never
 *    replacing, directory fsynced) only once verified: a backup killed
 *    mid-copy leaves a dotfile (and SQLite's -journal of it), never a
 *    partial file that pruning would count as the newest backup or an
 *    operator would restore.  The next backup removes such leftovers
 *    under the lock, where no other backup can be writing one (found by
 *    the fault suite's crash points, tests/fault/crash_points.sh).
 *
 * Reprocess.  error/NAME goes back to inbox/NAME with fsutil_move_exact
 * (renameat2 RENAME_NOREPLACE: a taken inbox name is refused, never
 * replaced and never suffixed, as the POS may know the file by its name),
 * directories synced; then error/NAME.error.json is removed and error/
 * synced.  A missing .error.json is not an error (a crash between the two
 * steps of the rejection can leave none).  Names are refused before any
 * file system call: '/', "..", dotfiles, .error.json files.  Each file is
 * logged with who (getpwuid of the real uid) and when (the log's time).
 */
#include "spool/admin_files.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "store/store.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/testhook.h"

#define BACKUP_TRIES	3		/* names tried, one second apart */
#define BACKUP_LOCK	".backup.lock"
#define BACKUP_LOCK_WAIT 60		/* seconds for another backup */
#define BACKUP_NAME_LEN	26		/* db_YYYYMMDD_HHMMSS.sqlite3 */
#define BACKUP_TMP_PREFIX ".partial-"	/* a copy not yet verified */
#define ERROR_SUFFIX	".error.json"

/* -- Pure helpers -------------------------------------------------------- */

static int
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
admin_backup_name_ok(const char *name)
{
	int y, mo, d, h, mi, s;

	if (name == NULL || strlen(name) != BACKUP_NAME_LEN ||
	    strncmp(name, "db_", 3) != 0 || name[11] != '_' ||
	    strcmp(name + 18, ".sqlite3") != 0)
		return 0;
	if (digits(name + 3, 4, &y) == -1 || digits(name + 7, 2, &mo) == -1 ||
	    digits(name + 9, 2, &d) == -1 || digits(name + 12, 2, &h) == -1 ||
	    digits(name + 14, 2, &mi) == -1 || digits(name + 16, 2, &s) == -1)
		return 0;
	return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 &&
	    h <= 23 && mi <= 59 && s <= 60;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *
admin_reprocess_name_refused(const char *name)
{
	if (name == NULL || *name == '\0')
		return "empty name";
	if (strchr(name, '/') != NULL)
		return "a name, not a path: '/' is refused";
	if (strstr(name, "..") != NULL)
		return "'..' is refused in a name";
	if (name[0] == '.')
		return "dotfiles are not spool files";
	if (strlen(name) > NAME_MAX)
		return "name too long";
	if (ends_with(name, ERROR_SUFFIX))
		return "an .error.json file explains a rejection; name the "
		    "rejected file itself";
	return NULL;
}

size_t
admin_prune_select(struct admin_backup_entry *e, size_t n, time_t now,
    long long retain_days, const char *keep)
{
	size_t i, newest = 0, marked = 0;
	long long limit;

	if (n == 0)
		return 0;
	for (i = 1; i < n; i++)
		if (e[i].mtime > e[newest].mtime ||
		    (e[i].mtime == e[newest].mtime &&
		    strcmp(e[i].name, e[newest].name) > 0))
			newest = i;
	if (retain_days < 0)
		retain_days = 0;
	if (retain_days > ADMIN_RETAIN_MAX)
		retain_days = ADMIN_RETAIN_MAX;
	limit = retain_days * 86400LL;
	for (i = 0; i < n; i++) {
		e[i].prune = i != newest &&
		    (keep == NULL || strcmp(e[i].name, keep) != 0) &&
		    (long long)now - (long long)e[i].mtime > limit;
		if (e[i].prune)
			marked++;
	}
	return marked;
}

/* -- Shared ---------------------------------------------------------------- */

/*
 * The regular files of dirfd accepted by want(), sorted by name, in a
 * malloc'd array of malloc'd names.  -1 with errno.
 */
static int
list_dir(int dirfd, int (*want)(const char *), char ***out, size_t *nout)
{
	struct dirent *de;
	struct stat st;
	char **v = NULL, **nv;
	size_t n = 0, cap = 0, i;
	DIR *d;
	int fd, saved = 0;

	*out = NULL;
	*nout = 0;
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		(void)close(fd);	/* a directory, read-only */
		errno = saved;
		return -1;
	}
	rewinddir(d);
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			saved = errno;
			break;
		}
		if (!want(de->d_name) || fstatat(dirfd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				saved = ENOMEM;
				break;
			}
			v = nv;
		}
		if ((v[n] = strdup(de->d_name)) == NULL) {
			saved = ENOMEM;
			break;
		}
		n++;
	}
	(void)closedir(d);	/* read-only */
	if (saved != 0) {
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		errno = saved;
		return -1;
	}
	for (i = 1; i < n; i++) {	/* insertion sort: small lists */
		char *x = v[i];
		size_t j = i;

		while (j > 0 && strcmp(v[j - 1], x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	*out = v;
	*nout = n;
	return 0;
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* -- Backup ---------------------------------------------------------------- */

static int
is_postgresql(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0;
}

/* Sleep to the start of the next second. */
static void
next_second(void)
{
	struct timespec now, ts;

	(void)clock_gettime(CLOCK_REALTIME, &now);
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000L - now.tv_nsec + 1000000L;
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Remove a copy that failed; says so if even that fails. */
static void
drop_copy(int dirfd, const char *dir, const char *name)
{
	char err[512];

	if (fsutil_unlink(dirfd, name, err, sizeof(err)) != FSUTIL_OK &&
	    errno != ENOENT)
		fprintf(stderr, "spoolctl backup: %s: could not remove the "
		    "failed copy: %s\n", dir, err);
}

static int
backup_leftover(const char *name)
{
	return strncmp(name, BACKUP_TMP_PREFIX "db_",
	    sizeof(BACKUP_TMP_PREFIX "db_") - 1) == 0;
}

/*
 * Remove the temporary copies of backups killed before they were named
 * (and their SQLite journals); only under the lock.  -1 on a failure.
 */
static int
sweep_leftovers(int dirfd, const char *dir)
{
	char **names, err[512];
	size_t n, i;
	int failed = 0;

	if (list_dir(dirfd, backup_leftover, &names, &n) == -1) {
		fprintf(stderr, "spoolctl backup: %s: listing: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (fsutil_unlink(dirfd, names[i], err, sizeof(err)) !=
		    FSUTIL_OK && errno != ENOENT) {
			fprintf(stderr, "spoolctl backup: %s: %s\n", dir, err);
			failed = 1;
			continue;
		}
		log_info(NULL, "backup", "removed %s/%s: the copy of a backup "
		    "that was interrupted", dir, names[i]);
	}
	free_list(names, n);
	return failed ? -1 : 0;
}

/*
 * Take dir/.backup.lock, waiting for another backup to finish.  The
 * descriptor holding the lock, or -1 with err.
 */
static int
lock_dir(const char *dir, char *err, size_t errlen)
{
	struct timespec ts = { 0, 100000000L };
	char path[PATH_MAX];
	int fd, rc, i;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, BACKUP_LOCK) >=
	    sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	for (i = 0; i < BACKUP_LOCK_WAIT * 10; i++) {
		rc = fsutil_lock(path, &fd, err, errlen);
		if (rc == FSUTIL_OK)
			return fd;
		if (rc != FSUTIL_LOCKED)
			return -1;
		(void)nanosleep(&ts, NULL);
	}
	snprintf(err, errlen, "%.300s: another backup has held it for %d s",
	    path, BACKUP_LOCK_WAIT);
	return -1;
}

/* Reopen the copy read-only: its schema version must be want. */
static int
verify_copy(const char *path, int want, char *err, size_t errlen)
{
	struct store *c;
	enum store_rc rc;
	char url[PATH_MAX + 16];
	int v, latest;

	if ((size_t)snprintf(url, sizeof(url), "sqlite://%s", path) >=
	    sizeof(url)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if ((c = store_open(url, STORE_OPEN_READONLY | STORE_OPEN_ANY_VERSION,
	    &rc, err, errlen)) == NULL)
		return -1;
	if (store_version(c, &v, &latest) != STORE_OK) {
		snprintf(err, errlen, "%s", store_errmsg(c));
		store_close(c);
		return -1;
	}
	store_close(c);
	if (v != want) {
		snprintf(err, errlen, "the copy has schema version %d, the "
		    "journal %d", v, want);
		return -1;
	}
	return 0;
}

static int
backup_candidate(const char *name)
{
	return admin_backup_name_ok(name);
}

/* Prune dirfd's old backups; the number removed, -1 on a failure. */
static int
prune(int dirfd, const char *dir, long long retain, const char *keep,
    FILE *out)
{
	struct admin_backup_entry *e;
	struct stat st;
	char **names, err[512];
	size_t n, i, k = 0;
	int removed = 0, failed = 0;

	if (list_dir(dirfd, backup_candidate, &names, &n) == -1) {
		fprintf(stderr, "spoolctl backup: %s: listing for pruning: "
		    "%s\n", dir, strerror(errno));
		log_warn(NULL, "backup", "%s: listing for pruning", dir);
		return -1;
	}
	if (n == 0) {
		free_list(names, n);
		return 0;
	}
	if ((e = calloc(n, sizeof(*e))) == NULL) {
		free_list(names, n);
		fprintf(stderr, "spoolctl backup: out of memory\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;	/* gone meanwhile */
		memcpy(e[k].name, names[i], strlen(names[i]) + 1);
		e[k].mtime = st.st_mtime;
		k++;
	}
	free_list(names, n);
	(void)admin_prune_select(e, k, time(NULL), retain, keep);
	for (i = 0; i < k; i++) {
		if (!e[i].prune)
			continue;
		if (fsutil_unlink(dirfd, e[i].name, err, sizeof(err)) !=
		    FSUTIL_OK) {
			if (errno == ENOENT)
				continue;
			fprintf(stderr, "spoolctl backup: %s: %s\n", dir, err);
			log_warnx(NULL, "backup-prune", "%s: %s", dir, err);
			failed = 1;
			continue;
		}
		fprintf(out, "pruned %s/%s (older than %lld days)\n", dir,
		    e[i].name, retain);
		log_info(NULL, "backup-prune", "removed %s/%s: older than %lld "
		    "days", dir, e[i].name, retain);
		removed++;
	}
	free(e);
	return failed ? -1 : removed;
}

int
admin_backup(const struct config *cfg, const char *dir, long long retain,
    FILE *out)
{
	struct store *s;
	struct stat st;
	struct tm tm;
	enum store_rc orc;
	char name[BACKUP_NAME_LEN + 1], path[PATH_MAX], err[STORE_ERRMSG_MAX];
	char tmp[sizeof(BACKUP_TMP_PREFIX) + BACKUP_NAME_LEN], tpath[PATH_MAX];
	time_t now;
	int dirfd, lockfd, rc, tries, version, latest, pruned;

	if (dir == NULL)
		dir = cfg->backup_dir;
	if (retain < 0)
		retain = cfg->backup_retain_days;
	if (is_postgresql(cfg->database)) {
		fprintf(stderr, "spoolctl backup: PostgreSQL backups (pg_dump) "
		    "arrive with PostgreSQL support\n");
		log_warnx(NULL, "backup", "refused: PostgreSQL backups "
		    "(pg_dump) arrive with PostgreSQL support");
		return ADMIN_FAIL;
	}
	/* Not created, not migrated, any version: back up what is there. */
	if ((s = store_open(cfg->database, STORE_OPEN_ANY_VERSION, &orc, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "spoolctl backup: %s\n", err);
		log_warnx(NULL, "backup", "failed: %s", err);
		return ADMIN_FAIL;
	}
	if (store_version(s, &version, &latest) != STORE_OK) {
		fprintf(stderr, "spoolctl backup: %s: %s\n", cfg->database,
		    store_errmsg(s));
		log_warnx(NULL, "backup", "failed: %s: %s", cfg->database,
		    store_errmsg(s));
		store_close(s);
		return ADMIN_FAIL;
	}
	if ((dirfd = fsutil_open_dir(dir, 1)) == -1) {
		fprintf(stderr, "spoolctl backup: %s: %s\n", dir,
		    strerror(errno));
		log_warn(NULL, "backup", "failed: %s", dir);
		store_close(s);
		return ADMIN_FAIL;
	}

	if ((lockfd = lock_dir(dir, err, sizeof(err))) == -1) {
		fprintf(stderr, "spoolctl backup: %s\n", err);
		log_warnx(NULL, "backup", "failed: %s", err);
		(void)close(dirfd);	/* a directory */
		store_close(s);
		return ADMIN_FAIL;
	}
	if (sweep_leftovers(dirfd, dir) == -1) {
		log_warnx(NULL, "backup", "failed: %s: cannot remove the copy of "
		    "an interrupted backup", dir);
		(void)close(dirfd);
		(void)close(lockfd);
		store_close(s);
		return ADMIN_FAIL;
	}
	rc = STORE_REFUSED;
	for (tries = 0; tries < BACKUP_TRIES; tries++) {
		if (tries > 0)
			next_second();
		now = time(NULL);
		if (localtime_r(&now, &tm) == NULL ||
		    strftime(name, sizeof(name), "db_%Y%m%d_%H%M%S.sqlite3",
		    &tm) != BACKUP_NAME_LEN) {
			snprintf(err, sizeof(err), "cannot format the time");
			rc = STORE_ERROR;
			break;
		}
		snprintf(tmp, sizeof(tmp), BACKUP_TMP_PREFIX "%s", name);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    sizeof(path) || (size_t)snprintf(tpath, sizeof(tpath),
		    "%s/%s", dir, tmp) >= sizeof(tpath)) {
			snprintf(err, sizeof(err), "%s: path too long", dir);
			rc = STORE_ERROR;
			break;
		}
		/* Taken (another backup this second): wait, never replace. */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		rc = store_backup(s, tpath);
		if (rc == STORE_OK)
			break;
		snprintf(err, sizeof(err), "%s", store_errmsg(s));
		if (rc == STORE_REFUSED &&
		    fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;	/* lost a race for the name */
		if (rc != STORE_REFUSED)
			drop_copy(dirfd, dir, tmp);
		break;
	}
	store_close(s);
	if (rc == STORE_REFUSED && tries == BACKUP_TRIES)
		snprintf(err, sizeof(err), "%s: every name tried was taken",
		    dir);
	if (rc != STORE_OK) {
		fprintf(stderr, "spoolctl backup: %s\n", err);
		log_warnx(NULL, "backup", "failed: %s", err);
		(void)close(dirfd);	/* a directory */
		(void)close(lockfd);	/* the lock goes with it */
		return ADMIN_FAIL;
	}
	TESTHOOK_CRASH("backup-copied");
	if (verify_copy(tpath, version, err, sizeof(err)) == -1) {
		fprintf(stderr, "spoolctl backup: %s: verification failed: "
		    "%s; the copy is removed\n", path, err);
		log_warnx(NULL, "backup", "failed: %s: verification: %s", path,
		    err);
		drop_copy(dirfd, dir, tmp);
		(void)close(dirfd);
		(void)close(lockfd);
		return ADMIN_FAIL;
	}
	/* Named only now, never replacing; the directory is fsynced. */
	if ((rc = fsutil_move_exact(dirfd, tmp, dirfd, name, err,
	    sizeof(err))) != FSUTIL_OK) {
		fprintf(stderr, "spoolctl backup: %s: %s; the copy is "
		    "removed\n", path, err);
		log_warnx(NULL, "backup", "failed: %s: %s", path, err);
		/* FATAL: named, but the name's durability is unknown. */
		drop_copy(dirfd, dir, rc == FSUTIL_FATAL ? name : tmp);
		(void)close(dirfd);
		(void)close(lockfd);
		return ADMIN_FAIL;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		st.st_size = 0;
	fprintf(out, "backup %s (schema version %d, %lld bytes, verified)\n",
	    path, version, (long long)st.st_size);
	pruned = prune(dirfd, dir, retain, name, out);
	(void)close(dirfd);
	(void)close(lockfd);
	if (pruned < 0) {
		log_warnx(NULL, "backup", "written %s (schema version %d), but "
		    "pruning failed", path, version);
		return ADMIN_FAIL;
	}
	log_info(NULL, "backup", "written %s (schema version %d, %lld bytes, "
	    "verified); %d older than %lld days pruned", path, version,
	    (long long)st.st_size, pruned, retain);
	return ADMIN_OK;
}

/* -- Reprocess ------------------------------------------------------------- */

static int
rejected_file(const char *name)
{
	return admin_reprocess_name_refused(name) == NULL;
}

void
admin_who(char *buf, size_t len)
{
	struct passwd *pw;
	uid_t uid = getuid();

	if ((pw = getpwuid(uid)) != NULL && pw->pw_name != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
}

/* One file; 0 moved, -1 refused or failed (said on stderr and logged). */
static int
reprocess_one(const struct config_device *dev, int errfd, int inboxfd,
    const char *name, const char *user, FILE *out)
{
	struct log_ctx lc = { dev->name, name, NULL };
	struct stat st;
	const char *why;
	char ej[NAME_MAX + sizeof(ERROR_SUFFIX)], err[512];
	int rc, ejgone = 0;

	if ((why = admin_reprocess_name_refused(name)) != NULL) {
		fprintf(stderr, "spoolctl reprocess: device %s: %s: refused: "
		    "%s\n", dev->name, name, why);
		log_warnx(&lc, "reprocess", "refused by %s: %s", user, why);
		return -1;
	}
	why = NULL;
	if (fstatat(errfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		why = errno == ENOENT ? "not in error/" : strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file in error/";
	if (why != NULL) {
		fprintf(stderr, "spoolctl reprocess: device %s: %s: %s\n",
		    dev->name, name, why);
		log_warnx(&lc, "reprocess", "refused by %s: %s", user, why);
		return -1;
	}
	rc = fsutil_move_exact(errfd, name, inboxfd, name, err, sizeof(err));
	if (rc != FSUTIL_OK) {
		if (rc == FSUTIL_ERR && errno == EEXIST) {
			fprintf(stderr, "spoolctl reprocess: device %s: %s: "
			    "refused: inbox/%s exists (left in error/)\n",
			    dev->name, name, name);
			log_warnx(&lc, "reprocess", "refused by %s: inbox/%s "
			    "exists", user, name);
		} else {
			fprintf(stderr, "spoolctl reprocess: device %s: %s\n",
			    dev->name, err);
			log_warnx(&lc, "reprocess", "failed for %s: %s", user,
			    err);
		}
		return -1;
	}
	snprintf(ej, sizeof(ej), "%s%s", name, ERROR_SUFFIX);
	if (fsutil_unlink(errfd, ej, err, sizeof(err)) == FSUTIL_OK)
		ejgone = 1;
	else if (errno != ENOENT) {
		fprintf(stderr, "spoolctl reprocess: device %s: %s moved to "
		    "inbox/, but error/%s stays: %s\n", dev->name, name, ej,
		    err);
		log_warnx(&lc, "reprocess", "by %s: moved error/ -> inbox/, "
		    "but error/%s stays: %s", user, ej, err);
		return -1;
	}
	fprintf(out, "reprocess: device %s: error/%s -> inbox/%s%s\n",
	    dev->name, name, name, ejgone ? "" : " (it had no .error.json)");
	log_info(&lc, "reprocess", "by %s: moved error/ -> inbox/%s", user,
	    ejgone ? ", error file removed" : " (no error file)");
	return 0;
}

int
admin_reprocess(const struct config_device *dev, char **names,
    size_t nnames, bool all, FILE *out)
{
	char **list = NULL, user[256];
	size_t n, i, failed = 0;
	int errfd, inboxfd;

	admin_who(user, sizeof(user));
	if ((errfd = fsutil_open_dir(dev->error_dir, 0)) == -1) {
		fprintf(stderr, "spoolctl reprocess: device %s: %s: %s\n",
		    dev->name, dev->error_dir, strerror(errno));
		return ADMIN_FAIL;
	}
	if ((inboxfd = fsutil_open_dir(dev->inbox, 0)) == -1) {
		fprintf(stderr, "spoolctl reprocess: device %s: %s: %s\n",
		    dev->name, dev->inbox, strerror(errno));
		(void)close(errfd);	/* a directory */
		return ADMIN_FAIL;
	}
	if (all) {
		if (list_dir(errfd, rejected_file, &list, &n) == -1) {
			fprintf(stderr, "spoolctl reprocess: device %s: %s: "
			    "%s\n", dev->name, dev->error_dir,
			    strerror(errno));
			(void)close(errfd);
			(void)close(inboxfd);
			return ADMIN_FAIL;
		}
		names = list;
		nnames = n;
		if (n == 0)
			fprintf(out, "reprocess: device %s: error/ holds no "
			    "rejected files\n", dev->name);
	}
	for (i = 0; i < nnames; i++)
		if (reprocess_one(dev, errfd, inboxfd, names[i], user,
		    out) == -1)
			failed++;
	if (list != NULL)
		free_list(list, nnames);
	(void)close(errfd);
	(void)close(inboxfd);
	return failed ? ADMIN_FAIL : ADMIN_OK;
}
