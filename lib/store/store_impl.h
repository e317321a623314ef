/*
 * store_impl.h - what a storage backend implements (lib/store only).
 *
 * store.c validates every argument (required strings present, FDMS
 * datetimes well formed, hex digests, enum ranges), does what is the same
 * for every backend (Fernet for keys, X.509 parsing for certificates,
 * freeing result structs) and then calls the backend through this table.
 * A backend may therefore trust its arguments' shape, but still enforces
 * the journal's invariants itself, inside its transactions (it is the
 * only one that can do so atomically).
 *
 * Out-structs: a backend fills the const char * fields and gathers their
 * bytes into one allocation with store_own_strings(), kept in mem_.
 */
#ifndef STORE_STORE_IMPL_H
#define STORE_STORE_IMPL_H

#include "store/store.h"

struct store_ops {
	const char	*name;
	void	(*close)(struct store *);
	int	(*version)(struct store *, int *, int *);
	int	(*migrate)(struct store *, int, int);
	int	(*begin)(struct store *);
	int	(*commit)(struct store *);
	int	(*rollback)(struct store *);

	int	(*device_put)(struct store *, const struct store_device *);
	int	(*device_get)(struct store *, int64_t, struct store_device *);
	int	(*device_list)(struct store *, int64_t **, size_t *);
	int	(*device_block)(struct store *, int64_t, const char *);
	int	(*device_raise)(struct store *, int64_t, int64_t);
	int	(*config_put)(struct store *, int64_t, const char *,
		    const char *);
	int	(*config_get)(struct store *, int64_t, char **, char *);
	/* pem already parsed by store.c: the other fields are filled. */
	int	(*cert_put)(struct store *, const struct store_cert *,
		    int64_t *);
	int	(*cert_get)(struct store *, int64_t, int64_t,
		    struct store_cert *);
	/* blob: a Fernet token (encrypted) or the PEM itself. */
	int	(*key_put)(struct store *, int64_t, const char *, bool);
	/* *blob malloc'd, wiped by the caller. */
	int	(*key_get)(struct store *, int64_t, char **, size_t *, bool *);

	int	(*day_open)(struct store *, int64_t, int64_t, const char *);
	int	(*day_get)(struct store *, int64_t, int64_t, struct store_day *);
	int	(*day_update)(struct store *, int64_t, int64_t,
		    const struct store_day_update *);

	int	(*receipt_insert)(struct store *, const struct store_receipt *,
		    const struct counters *);
	/* by: 'g' global_no (num), 'i' invoice (text), 's' source (text),
	   'p' next pending. */
	int	(*receipt_get)(struct store *, int64_t, int, int64_t,
		    const char *, struct store_receipt *);
	int	(*receipt_attempt)(struct store *, int64_t, int64_t);
	int	(*receipt_answer)(struct store *, int64_t, int64_t,
		    const struct store_answer *);
	int	(*receipt_failed)(struct store *, int64_t, int64_t,
		    const char *);
	int	(*receipts_each)(struct store *, int64_t, int64_t,
		    store_receipt_cb, void *);

	int	(*stats)(struct store *, int64_t, const char *,
		    struct store_stats *);
	int	(*integrity)(struct store *);
	int	(*backup)(struct store *, const char *);
	int	(*day_request_close)(struct store *, int64_t, int64_t,
		    const char *, const char *, const char *);
	int	(*receipts_filed)(struct store *, int64_t, int64_t,
		    const char *, int64_t *);
	int	(*restore_from)(struct store *, const char *);
};

struct store {
	const struct store_ops	*ops;
	char			 errmsg[STORE_ERRMSG_MAX];
	void			*be;		/* the backend's state */
};

enum store_kind {
	STORE_KIND_SQLITE,
	STORE_KIND_POSTGRESQL
};

/* url -> backend and (SQLite) a malloc'd path; -1 with a reason in err. */
int	 store_url_parse(const char *url, enum store_kind *kind, char **path,
	    char *err, size_t errlen);
/* Set s->errmsg; returns rc so callers can `return store_fail(...)`. */
int	 store_fail(struct store *s, int rc, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Copy the n strings *fields[i] (NULL stays NULL) into one block *mem. */
int	 store_own_strings(void **mem, const char **const fields[], size_t n);
/* now as "YYYY-MM-DDTHH:MM:SSZ". */
void	 store_now_utc(char out[STORE_TIME_LEN + 1]);

/* The SQLite backend (store_sqlite.c). */
struct store	*store_sqlite_open(const char *path, int flags,
		    enum store_rc *rc, char *err, size_t errlen);
/*
 * Fault injection for tests: fail the fiscalisation transaction at step
 * (1..STORE_SQLITE_STEPS, 0: off), or make the next COMMITs fail (a commit
 * hook turns them into rollbacks, as a full disk or I/O error would).
 */
#define STORE_SQLITE_STEPS	6
void	 store_sqlite_test_faults(struct store *, int fail_step,
	    int fail_commit);

#endif
