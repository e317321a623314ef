/*
 * admin_files.h - the file-handling admin commands of spoolctl
 * (interface.md §1, §3, §6): backup of the journal and reprocess of
 * rejected spool files.
 *
 * The command functions return a spoolctl exit status (ADMIN_OK,
 * ADMIN_FAIL, ADMIN_USAGE); what they did goes to `out` for people,
 * problems to stderr, and one log line per outcome to the logs (the
 * caller has called log_init).  The pure helpers below them are what
 * the unit tests check.
 */
#ifndef SPOOL_ADMIN_FILES_H
#define SPOOL_ADMIN_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

struct config;
struct config_device;

#define ADMIN_OK	0
#define ADMIN_FAIL	1
#define ADMIN_USAGE	2

/* Retention bounds, as for backup_retain_days in the configuration. */
#define ADMIN_RETAIN_MIN	1
#define ADMIN_RETAIN_MAX	36500

/*
 * Back up cfg's journal into dir (NULL: backup_dir; created, one level,
 * if missing) as db_YYYYMMDD_HHMMSS.sqlite3 (local time of the
 * configured zone, which the caller has set), verify the copy (reopened
 * read-only, same schema version as the live journal), fsync the
 * directory, then prune backups older than retain_days (< 0:
 * backup_retain_days), never the newest nor the one just made.  A name
 * that is taken (two backups in one second) is never overwritten: the
 * backup waits for the next second.  A copy that fails is removed.
 */
int	admin_backup(const struct config *cfg, const char *dir,
	    long long retain_days, FILE *out);

/*
 * Move the named rejected files of dev from error/ back to inbox/ under
 * the same name, then remove their NAME.error.json; all: every rejected
 * file in error/.  Refused per name (the others still go): a bad name, a
 * name not in error/, a name taken in inbox/.  ADMIN_OK only when every
 * file was moved (all with an empty error/ is ADMIN_OK).
 */
int	admin_reprocess(const struct config_device *dev, char **names,
	    size_t nnames, bool all, FILE *out);

/* The real user, for the logs: login name, or "uid N". */
void	admin_who(char *buf, size_t len);

/* -- Pure helpers -------------------------------------------------------- */

/* 1 if name is exactly db_YYYYMMDD_HHMMSS.sqlite3 (a plausible time). */
int	admin_backup_name_ok(const char *name);

/*
 * NULL if name may be reprocessed, else why not: empty, '/', "..",
 * a dotfile, longer than NAME_MAX, or an .error.json file itself.
 */
const char *admin_reprocess_name_refused(const char *name);

struct admin_backup_entry {
	char	name[NAME_MAX + 1];
	time_t	mtime;
	bool	prune;		/* set by admin_prune_select */
};

/*
 * Mark the entries older than retain_days at now (by mtime) for pruning,
 * except the newest one (latest mtime, then greatest name) and the one
 * named keep (may be NULL).  Returns how many are marked.
 */
size_t	admin_prune_select(struct admin_backup_entry *, size_t n, time_t now,
	    long long retain_days, const char *keep);

#endif
