/*
 * outbox.h - per-device submission to FDMS, the journal as the outbox
 * (anchors B.4; fdms-reference §2.6, §2.7, §9).
 *
 * For every device it serves, the outbox confirms the fiscal day at FDMS
 * (GetConfig, OpenDay), then sends the journaled receipts one at a time in
 * receiptGlobalNo order, byte for byte as journaled, records each answer,
 * rewrites the receipt's result file in done/, and keeps the device's
 * Ping and certificate renewal.  It never holds more than the one receipt
 * in flight per device: the next is asked from the journal.
 *
 * It is driven by the caller's poll loop and never blocks on the network:
 *
 *	ob = outbox_new(store, client, &opts);
 *	outbox_add(ob, &device, &pipeline_device);	 each device
 *	for (;;) {
 *		outbox_run(ob, &timeout);		 start what is due
 *		poll(... fdms_pollfds ..., min(timeout, fdms_timeout_ms));
 *		fdms_perform(client, ...);
 *		while (fdms_take_done(client, &reply, &udata))
 *			outbox_done(ob, &reply, udata);	 frees reply
 *		outbox_kick(ob, id);			 after new receipts
 *	}
 *
 * Every FDMS call the outbox starts carries an outbox-owned udata; the
 * caller hands every finished call back (the daemon has no other FDMS
 * user).  A -1 from outbox_run or outbox_done is a journal or disk error:
 * the daemon must log CRITICAL and exit (systemd restarts it into a clean
 * recovery); the journal is still consistent (anchors B.4: journal before
 * send).
 */
#ifndef SPOOL_OUTBOX_H
#define SPOOL_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct device;
struct fdms_client;
struct pipeline_device;
struct fdms_reply;
struct store;

/* Backoff after FDMS refused (4xx): an admin has to act first. */
#define OUTBOX_REJECT_BACKOFF_MS	(15 * 60 * 1000)
/* How often an idle device looks at the journal without being kicked. */
#define OUTBOX_RECHECK_MS		(60 * 1000)
/* Default Ping period when FDMS gave none (minutes). */
#define OUTBOX_PING_DEFAULT_MIN		5
/* Certificate: warn this many days before expiry, renew at the second. */
#define OUTBOX_CERT_WARN_DAYS		30
#define OUTBOX_CERT_RENEW_DAYS		14

struct outbox_opts {
	/*
	 * --once: no Ping; a device that gets a RETRY or a refusal is not
	 * tried again in this run (outbox_settled then counts it as done).
	 */
	bool		 once;
	/* Upper bound on any retry delay, 0: none (tests). */
	uint32_t	 retry_cap_ms;
	/* Backoff after a refusal, 0: OUTBOX_REJECT_BACKOFF_MS (tests). */
	uint32_t	 reject_backoff_ms;
	/* Random source for the backoff jitter, NULL: getrandom(2). */
	uint64_t	(*rnd)(void *);
	void		*rnd_arg;
	/*
	 * Called after the outbox journaled a new certificate or GetConfig
	 * of dev, so that what was loaded from the journal (the pipeline's
	 * cert_id, taxes, qrUrl) can be loaded again.  NULL: nobody cares.
	 */
	void		(*changed)(void *, struct device *dev);
	void		*changed_arg;
};

struct outbox;

struct outbox	*outbox_new(struct store *, struct fdms_client *,
		    const struct outbox_opts *);
/* Abandons calls in flight: free the FDMS client first (or after drain). */
void		 outbox_free(struct outbox *);
/*
 * Serve dev (which must outlive the outbox); pd (may be NULL: no result
 * files) is the pipeline's view of the same device, whose
 * pipeline_result_refresh rewrites results in done/ when FDMS answers.
 * Reads the device's block and rewrites the result file of its last
 * answered receipt (the crash window between the journal's answer and
 * that file).  0 or -1 (fatal).
 */
int		 outbox_add(struct outbox *, struct device *,
		    struct pipeline_device *pd);
/* Receipts (or a day) were journaled for this device: look now. */
void		 outbox_kick(struct outbox *, int64_t device_id);
/*
 * Start every call that is due.  *timeout_ms: how long the caller may
 * sleep before calling again (-1: until an FDMS call finishes or a kick).
 * 0, or -1 on a fatal journal or disk error.
 */
int		 outbox_run(struct outbox *, int *timeout_ms);
/* A finished call of ours; frees the reply.  0, or -1 (fatal). */
int		 outbox_done(struct outbox *, struct fdms_reply *, void *udata);
/* Start no new calls (SIGTERM); calls in flight still end normally. */
void		 outbox_stop(struct outbox *);
/* Calls started and not yet handed back. */
size_t		 outbox_in_flight(const struct outbox *);
/*
 * --once: nothing is in flight and no device has anything left to try in
 * this run (all submitted, or stopped, offline, or given up).
 */
bool		 outbox_settled(const struct outbox *);
/* Receipts signed but not yet answered by FDMS, over every device. */
int		 outbox_pending(struct outbox *, int64_t *n);

#endif
