/*
 * restore.h - spoolctl restore FILE [--force] (interface.md §1, §6): put
 * a backup of the journal back while spoold is stopped, then resync every
 * registered device with FDMS.
 *
 * admin_restore returns a spoolctl exit status: ADMIN_OK when the backup
 * is in place and every configured, registered device agrees with FDMS;
 * ADMIN_FAIL when it refused (nothing changed), failed, or restored but a
 * resync needs an admin (signing then stays blocked for that device).
 * What it did goes to out, problems to stderr, one log line per outcome
 * to the logs (the caller has called log_init and set the time zone).
 */
#ifndef SPOOL_RESTORE_H
#define SPOOL_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct config;
struct store;

/*
 * Restore cfg's journal from the SQLite backup at file.  config_path is
 * what the caller loaded cfg from (NULL: the default search): resync
 * loads it again with the journal's checks.  force allows what would
 * otherwise be refused with the reason (see restore.c): a backup older
 * than the current journal, a current journal that cannot be read or
 * compared, devices in the backup that the configuration does not name.
 */
int	admin_restore(const struct config *cfg, const char *config_path,
	    const char *file, bool force, FILE *out);

/* -- Helpers the unit tests check ----------------------------------------- */

/*
 * The name the current journal is kept under: path + ".pre-restore-"
 * + YYYYMMDD_HHMMSS in local time (the zone the caller set), with "-N"
 * appended for n > 1.  0, or -1 when it does not fit in len.
 */
int	restore_aside_name(const char *path, time_t when, unsigned n,
	    char *out, size_t len);

/* What the current journal holds for one device that a backup lacks. */
struct restore_loss {
	int64_t	device_id;
	bool	device_missing;		/* registered here, not in the backup */
	int64_t	receipts;		/* receipts above the backup's last
					   global number */
	int64_t	first_global, last_global;	/* their range (0: none) */
	int64_t	day_cur, day_bak;	/* latest fiscal day (0: none) */
	bool	close_lost;		/* same latest day: closed here, not
					   closed in the backup */
};

/*
 * Compare the current journal cur with the backup bak, device by device
 * of cur: *v (malloc'd, NULL when none) gets one entry per device that
 * loses something (receipts, a newer fiscal day, a day's close, the
 * device itself), *n their number.  0, or -1 with err.
 */
int	restore_compare(struct store *cur, struct store *bak,
	    struct restore_loss **v, size_t *n, char *err, size_t errlen);

#endif
