/*
 * golive.c - the go-live checklist (see golive.h).
 *
 * The items, in the order an admin fixes them:
 *   1. registered    journal has the device, its key decrypts with
 *                    FDMS_ENCRYPTION_KEY and matches the current
 *                    certificate, which is valid now
 *   2. fdms          Ping over mutual TLS succeeds (the certificate is
 *                    accepted by this environment's FDMS)
 *   3. config        a GetConfig answer is in the journal
 *   4. day closed    the latest day is closed at FDMS; an open day is
 *                    closed now (dayclose_run, waiting for
 *                    FiscalDayClosed) unless --skip-close, in which case
 *                    an earlier day closed by FDMS must exist
 *   5. receipts      at least N receipts accepted by FDMS (answered
 *                    without validation errors)
 *   6. audit         the device's whole journal passes the audit,
 *                    done/ files included (audit.h)
 *
 * Trust: everything is read from the journal or asked from FDMS; nothing
 * is written except what close-day writes when it closes the day.
 */
#include "spool/golive.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/config.h"
#include "spool/audit.h"
#include "spool/dayclose.h"
#include "spool/devadmin.h"
#include "spool/device.h"
#include "store/store.h"
#include "util/log.h"

struct checklist {
	FILE	*out;
	int	 failed;
};

static void item(struct checklist *, bool pass, const char *what,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
item(struct checklist *cl, bool pass, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(cl->out, "%s  %s: ", pass ? "PASS" : "FAIL", what);
	va_start(ap, fmt);
	vfprintf(cl->out, fmt, ap);
	va_end(ap);
	fputc('\n', cl->out);
	fflush(cl->out);
	if (!pass)
		cl->failed++;
}

static void
utc_now(char buf[STORE_TIME_LEN + 1])
{
	struct tm tm;
	time_t t = time(NULL);

	gmtime_r(&t, &tm);
	strftime(buf, STORE_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* 1: the device, its key and its certificate. */
static void
check_registered(struct devadmin *a, struct checklist *cl)
{
	struct device dev;
	struct store_cert cert;
	char err[256], now[STORE_TIME_LEN + 1];

	memset(&dev, 0, sizeof(dev));
	if (device_load(&dev, a->store, a->dev, a->has_fkey ? a->fkey : NULL,
	    err, sizeof(err)) == -1) {
		item(cl, false, "device registered with a valid certificate",
		    "%s", err);
		return;
	}
	device_free(&dev);
	if (store_cert_get(a->store, a->dev->device_id, STORE_CERT_CURRENT,
	    &cert) != STORE_OK) {
		item(cl, false, "device registered with a valid certificate",
		    "no certificate in the journal: run spoolctl register");
		return;
	}
	utc_now(now);
	if (strcmp(now, cert.not_before) < 0)
		item(cl, false, "device registered with a valid certificate",
		    "the certificate is not valid before %s (check the clock)",
		    cert.not_before);
	else if (strcmp(now, cert.not_after) >= 0)
		item(cl, false, "device registered with a valid certificate",
		    "the certificate expired at %s: run spoolctl renew-cert "
		    "(or register again if FDMS refuses it)", cert.not_after);
	else
		item(cl, true, "device registered with a valid certificate",
		    "device %lld, certificate valid until %s, key matches",
		    (long long)a->dev->device_id, cert.not_after);
	store_cert_free(&cert);
}

/* 2: FDMS accepts the certificate (Ping); its own output is not wanted. */
static void
check_fdms(struct devadmin *a, struct checklist *cl)
{
	FILE *sink;
	int rc;

	if ((sink = fopen("/dev/null", "w")) == NULL) {
		item(cl, false, "FDMS reachable over mutual TLS", "cannot "
		    "open /dev/null");
		return;
	}
	rc = devadmin_ping(a, sink);
	(void)fclose(sink);
	if (rc == 0)
		item(cl, true, "FDMS reachable over mutual TLS", "Ping to %s "
		    "answered", a->cfg->fdms_base_url);
	else
		item(cl, false, "FDMS reachable over mutual TLS", "Ping to %s "
		    "failed (reason above)", a->cfg->fdms_base_url);
}

/* 3: a GetConfig answer in the journal. */
static void
check_config(struct devadmin *a, struct checklist *cl)
{
	char *json = NULL, at[STORE_TIME_LEN + 1];

	if (store_config_get(a->store, a->dev->device_id, &json, at) ==
	    STORE_OK) {
		item(cl, true, "configuration fetched", "GetConfig answer "
		    "journaled at %s", at);
		free(json);
	} else
		item(cl, false, "configuration fetched", "no GetConfig answer "
		    "in the journal: run spoolctl config");
}

/* The newest day FDMS closed, 0 when none (or the journal fails). */
static int64_t
last_closed_day(struct devadmin *a, int64_t from)
{
	struct store_day d;
	int64_t n;

	for (n = from; n > 0; n--) {
		if (store_day_get(a->store, a->dev->device_id, n, &d) !=
		    STORE_OK)
			continue;
		if (d.status == STORE_DAY_CLOSED) {
			store_day_free(&d);
			return n;
		}
		store_day_free(&d);
	}
	return 0;
}

/* 4: a day closed at FDMS, closing the open one unless --skip-close. */
static void
check_day_closed(struct devadmin *a, const struct golive_opts *o,
    struct checklist *cl)
{
	const char *what = "fiscal day closed at FDMS";
	struct store_day d;
	struct dayclose_opts co;
	int64_t day_no, closed;
	int rc;

	if ((rc = store_day_get(a->store, a->dev->device_id, 0, &d)) ==
	    STORE_NOTFOUND) {
		item(cl, false, what, "no fiscal day was ever opened: run "
		    "spoolctl open-day, issue test receipts, then run "
		    "pre-golive again");
		return;
	} else if (rc != STORE_OK) {
		item(cl, false, what, "journal: %s", store_errmsg(a->store));
		return;
	}
	day_no = d.day_no;
	if (d.status == STORE_DAY_CLOSED) {
		item(cl, true, what, "day %lld closed at %s", (long long)day_no,
		    d.closed ? d.closed : "(time not recorded)");
		store_day_free(&d);
		return;
	}
	store_day_free(&d);
	if (o->skip_close) {
		if ((closed = last_closed_day(a, day_no - 1)) > 0)
			item(cl, true, what, "day %lld is open (--skip-close); "
			    "day %lld was closed by FDMS", (long long)day_no,
			    (long long)closed);
		else
			item(cl, false, what, "day %lld is open and no earlier "
			    "day was closed: run pre-golive without "
			    "--skip-close, or spoolctl close-day",
			    (long long)day_no);
		return;
	}
	fprintf(cl->out, "....  closing fiscal day %lld\n", (long long)day_no);
	memset(&co, 0, sizeof(co));
	co.timeout_s = o->close_timeout_s;
	rc = dayclose_run(a, &co, cl->out);
	if (rc == DAYCLOSE_EXIT_OK)
		item(cl, true, what, "day %lld closed by FDMS",
		    (long long)day_no);
	else
		item(cl, false, what, "day %lld did not close (%s, reason "
		    "above)", (long long)day_no, rc == DAYCLOSE_EXIT_TEMPFAIL ?
		    "FDMS unreachable or still busy: run again" : "refused or "
		    "CloseFailed");
}

/* 5: receipts accepted by FDMS without validation errors. */
static void
check_receipts(struct devadmin *a, const struct golive_opts *o,
    struct checklist *cl)
{
	const char *what = "receipts accepted by FDMS";
	struct store_stats st;
	int64_t accepted;

	if (store_stats(a->store, a->dev->device_id, NULL, &st) != STORE_OK) {
		item(cl, false, what, "journal: %s", store_errmsg(a->store));
		return;
	}
	accepted = st.receipts - st.pending - st.flagged;
	if (accepted >= o->min_receipts)
		item(cl, true, what, "%lld accepted "
		    "(at least %lld needed), %lld flagged, %lld pending",
		    (long long)accepted, (long long)o->min_receipts,
		    (long long)st.flagged, (long long)st.pending);
	else
		item(cl, false, what, "%lld accepted, at least %lld needed "
		    "(%lld flagged, %lld pending): drop test receipts in %s "
		    "and let spoold submit them", (long long)accepted,
		    (long long)o->min_receipts, (long long)st.flagged,
		    (long long)st.pending, a->dev->inbox);
}

/* 6: the audit of the whole journal of the device, done/ included. */
static void
check_audit(struct devadmin *a, struct checklist *cl)
{
	const char *what = "journal audit";
	struct audit_device_report *rep;
	struct audit_opts ao;
	int k, rc, first = -1;

	if ((rep = calloc(1, sizeof(*rep))) == NULL) {
		item(cl, false, what, "out of memory");
		return;
	}
	memset(&ao, 0, sizeof(ao));
	ao.max_file_size = (size_t)a->cfg->max_file_size;
	rc = audit_device(a->store, a->dev->device_id, a->dev->done_dir, 0,
	    &ao, rep);
	for (k = 0; k < AUDIT_KIND_COUNT && first < 0; k++)
		if (rep->count[k] > 0)
			first = k;
	if (rc == 0)
		item(cl, true, what, "%lld receipts in %lld day(s) verified, "
		    "%lld files in done/", (long long)rep->receipts,
		    (long long)rep->days, (long long)rep->files);
	else if (rc < 0)
		item(cl, false, what, "the audit could not finish: %s",
		    rep->error);
	else if (first >= 0)
		item(cl, false, what, "%lld %s finding(s), first: %s (run "
		    "spoolctl audit for all of them)", (long long)rep->count[first],
		    audit_kind_name((enum audit_kind)first),
		    rep->first[first].message);
	else
		item(cl, false, what, "failed (run spoolctl audit)");
	free(rep);
}

int
golive_run(struct devadmin *a, const struct golive_opts *o, FILE *out)
{
	struct checklist cl = { out, 0 };
	struct log_ctx c = { a->dev->name, NULL, NULL };

	fprintf(out, "pre-go-live checklist for device %s (%lld), %s\n",
	    a->dev->name, (long long)a->dev->device_id, a->cfg->env_name);
	check_registered(a, &cl);
	check_fdms(a, &cl);
	check_config(a, &cl);
	check_day_closed(a, o, &cl);
	check_receipts(a, o, &cl);
	check_audit(a, &cl);
	if (cl.failed == 0) {
		fprintf(out, "pre-golive: PASS (all 6 items)\n");
		log_info(&c, "pre-golive", "all 6 items pass");
		return 0;
	}
	fprintf(out, "pre-golive: FAIL (%d of 6 items failed)\n", cl.failed);
	log_warnx(&c, "pre-golive", "%d of 6 items failed", cl.failed);
	return 1;
}
