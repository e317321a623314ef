/*
 * migrations.h - numbered SQLite schema migrations (lib/store only).
 *
 * Version N is migrations[N - 1]; a database's version is the number of
 * rows in schema_migrations, which must be exactly 1..N (anything else is
 * a damaged or foreign database and is refused).  Version 0 is an empty
 * database.
 */
#ifndef STORE_MIGRATIONS_H
#define STORE_MIGRATIONS_H

#include <stddef.h>

#include <sqlite3.h>

/* 'SPLD': PRAGMA application_id of every spoold journal. */
#define MIGRATIONS_APP_ID	0x53504c44

struct migration {
	int		 version;
	const char	*name;
	const char	*up;
	const char	*down;
	/* Tables the up step creates (down drops): checked for rows first. */
	const char	*tables[6];
};

extern const struct migration	migrations[];
extern const size_t		migrations_count;

/*
 * The database's version into *v (0: empty).  STORE_SCHEMA for a
 * database that is not a spoold journal or whose record is damaged;
 * returns an enum store_rc.
 */
int	 migrations_current(sqlite3 *, int *v, char *err, size_t errlen);
/*
 * Move to target (< 0: latest), one transaction per version.  A newer
 * database than this code knows is refused; a downgrade dropping tables
 * that hold rows is refused unless force.  *from and *to (may be NULL) get
 * the versions before and after (after a failure: the one reached).
 */
int	 migrations_run(sqlite3 *, int target, int force, int *from, int *to,
	    char *err, size_t errlen);

#endif
