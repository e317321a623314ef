/*
 * pipeline.h - one claimed spool file, from work/ to done/ or error/
 * (interface.md §3, §4): read, parse, validate, number, sign, chain,
 * journal, answer the POS.  No network: FDMS is the outbox's business.
 *
 * The daemon prepares one struct pipeline_device per configured device
 * (at start and on SIGHUP: pipeline_device_load reads the key, the
 * certificate number and the journaled GetConfig), then hands every claimed
 * file to pipeline_process, one at a time per device.
 */
#ifndef SPOOL_PIPELINE_H
#define SPOOL_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct doc_schemas;
struct sigkey;
struct store;
struct store_receipt;
struct tax_def;

/* Result and error files: the POS reads them. */
#define PIPELINE_FILE_MODE	0644

struct pipeline_device {
	/* Set by the caller. */
	int64_t			 device_id;
	const char		*name;		/* config section, for logs */
	struct store		*store;
	const struct doc_schemas *schemas;	/* doc_schemas_load, once */
	int			 work_fd, done_fd, error_fd;	/* dirs */

	/* Set by pipeline_device_load (or by hand). */
	struct sigkey		*key;		/* decrypted signing key */
	int64_t			 cert_id;	/* for store_receipt.cert_id */
	const struct tax_def	*taxes;		/* GetConfig applicableTaxes */
	size_t			 n_taxes;
	int			 vat_payer;	/* 1 yes, 0 no */
	const char		*qr_url;
	int			 day_max_hours;	/* taxPayerDayMaxHrs, 0: none */
	int			 day_warn_hours; /* ...DayEndNotificationHrs */
	bool			 offline;	/* operating mode Offline */

	/* Private: what pipeline_device_load owns; what was logged once. */
	void			*loaded_;
	int64_t			 warned_day_, maxed_day_;
	int64_t			 stale_from_;	/* results not rewritten (disk
						   full) from this global no. */
	bool			 blocked_logged_, noconfig_logged_;
};

enum pipeline_rc {
	PIPELINE_DONE = 0,	/* in done/ with its result (new or re-filed;
				   or, final[0] == '\0', gone from work/) */
	PIPELINE_REJECTED,	/* in error/ with its error file */
	PIPELINE_DEFERRED,	/* left in work/: try again later (day at its
				   maximum length, signing blocked, no
				   GetConfig, day close in progress, disk
				   full) */
	PIPELINE_FATAL		/* environment (journal, fsync, disk): the
				   daemon must exit; the start-up scan
				   resolves whatever was half done */
};

struct pipeline_outcome {
	enum pipeline_rc	 rc;
	bool			 refiled;	/* journaled before: re-filed */
	const char		*stage;		/* REJECTED: the error stage */
	char			 code[24];	/* REJECTED: the first code */
	char			 final[256];	/* name in done/ or error/ */
	int64_t			 global_no;	/* DONE: the receipt's number */
	long			 ms;		/* time spent */
	char			 reason[256];	/* DEFERRED, FATAL: why */
};

/*
 * Fill key, cert_id and the GetConfig fields from the journal (fkey: the
 * Fernet key for an encrypted private key, or NULL).  0, or -1 with the
 * reason in err (not registered, no GetConfig yet, key unreadable).
 * pipeline_device_unload frees what it loaded (safe to call twice).
 */
int	pipeline_device_load(struct pipeline_device *,
	    const unsigned char *fkey, char *err, size_t errlen);
void	pipeline_device_unload(struct pipeline_device *);

/*
 * Take work/work_name to done/ or error/.  fd: the claimed file open for
 * reading, or -1 to open work_name (never through a symbolic link).  now:
 * local time "YYYY-MM-DDTHH:MM:SS" (injected so tests control the clock).
 * out may be NULL.  The fd is not closed.
 */
enum pipeline_rc pipeline_process(struct pipeline_device *,
	    const char *work_name, int fd, const char *now,
	    struct pipeline_outcome *out);

/*
 * File a claimed entry that must not be read (symbolic link, FIFO,
 * oversized ...) into error/ with an error file (stage "read", code).
 */
enum pipeline_rc pipeline_reject(struct pipeline_device *,
	    const char *work_name, const char *code, const char *reason,
	    const char *now);

/*
 * Rewrite done/<source_name>.result.json (or .result.xml when that is the
 * one there) from the journal row: for the outbox, once FDMS answered.
 * DEFERRED when the disk is full: the next pipeline_process rewrites it
 * first (and defers its own file until that worked).
 */
enum pipeline_rc pipeline_result_refresh(struct pipeline_device *,
	    const struct store_receipt *);

#endif
