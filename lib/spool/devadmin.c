/*
 * devadmin.c - device administration over the journal and the FDMS client
 * (see devadmin.h).
 *
 * Durability: every FDMS call that changes FDMS's state is preceded by the
 * journal write that lets a crash be recovered.
 *   register    the device row and its private key are journaled before
 *               RegisterDevice (a lost answer is recovered by running
 *               register again with the same key); the certificate after.
 *   open-day    the day (number and opening time, which FDMS never gives
 *               back and the close-day signature needs) is journaled before
 *               OpenDay, marked confirmed (open_operation_id) after.  A run
 *               after a lost answer resends the same day, and FISC01 with
 *               GetStatus showing that day open confirms it.
 *   renew-cert  keeps the device's key pair (FDMS accepts both; a single
 *               journaled key can never disagree with the certificate), so
 *               a lost answer leaves the old, still valid certificate.
 *
 * SECURITY: private keys are decrypted only to build the TLS identity and
 * are wiped right after; they never reach logs or output. In production a
 * key is never stored without FDMS_ENCRYPTION_KEY (the configuration check
 * refuses to run without one).
 *
 * Trust: FDMS answers are untrusted and arrive parsed and bounded by the
 * client; numbers from FDMS are compared, never trusted to be in range.
 */
#include "spool/devadmin.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "daemon/config.h"
#include "fdms/csr.h"
#include "fdms/fdms.h"
#include "fiscal/money.h"
#include "store/fernet.h"
#include "spool/device.h"
#include "store/store.h"
#include "util/timeutil.h"

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

static const char *
devname(const struct devadmin *a)
{
	return a->dev != NULL && a->dev->name != NULL ? a->dev->name : "default";
}

static int
fail(const struct devadmin *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(const struct devadmin *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spoolctl: device %s: ", devname(a));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int
devadmin_open(struct devadmin *a, const char *config_path,
    const char *device_name, bool all_devices)
{
	static struct config_problems p;	/* large: not on the stack */
	enum store_rc rc;
	char err[512];
	size_t i;

	memset(a, 0, sizeof(*a));
	config_problems_clear(&p);
	a->cfg = config_load(config_path, &p);
	if (a->cfg != NULL)
		(void)config_check(a->cfg, &p);
	if (a->cfg == NULL || p.n > 0 || p.dropped > 0) {
		config_problems_print(stderr, "spoolctl", &p);
		devadmin_close(a);
		return EXIT_USAGE;
	}
	if (device_name != NULL) {
		for (i = 0; i < a->cfg->ndevices; i++)
			if (strcmp(a->cfg->devices[i].name, device_name) == 0)
				a->dev = &a->cfg->devices[i];
		if (a->dev == NULL) {
			fprintf(stderr, "spoolctl: no device \"%s\" in the "
			    "configuration\n", device_name);
			devadmin_close(a);
			return EXIT_USAGE;
		}
	} else if (a->cfg->ndevices == 1 || all_devices)
		a->dev = &a->cfg->devices[0];
	else {
		fprintf(stderr, "spoolctl: %zu devices are configured: name one "
		    "with --device NAME\n", a->cfg->ndevices);
		devadmin_close(a);
		return EXIT_USAGE;
	}
	if (timeutil_set_zone(a->cfg->timezone) == -1) {
		fprintf(stderr, "spoolctl: unknown time zone %s\n",
		    a->cfg->timezone);
		devadmin_close(a);
		return EXIT_USAGE;
	}
	if (a->cfg->encryption_key != NULL) {
		if (fernet_key_parse(a->cfg->encryption_key, a->fkey) == -1) {
			fprintf(stderr, "spoolctl: encryption_key is not a "
			    "Fernet key\n");
			devadmin_close(a);
			return EXIT_USAGE;
		}
		a->has_fkey = true;
	}
	if ((a->store = store_open_config(a->cfg, &rc, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "spoolctl: %s\n", err);
		devadmin_close(a);
		return rc == STORE_SCHEMA ? EXIT_USAGE : EXIT_FAIL;
	}
	if ((a->client = device_client_new(a->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "spoolctl: FDMS client: %s\n", err);
		devadmin_close(a);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

void
devadmin_close(struct devadmin *a)
{
	fdms_client_free(a->client);
	store_close(a->store);
	config_free(a->cfg);
	OPENSSL_cleanse(a->fkey, sizeof(a->fkey));
	a->client = NULL;
	a->store = NULL;
	a->cfg = NULL;
}

void
devadmin_select(struct devadmin *a, size_t index)
{
	if (index < a->cfg->ndevices)
		a->dev = &a->cfg->devices[index];
}

/* ---- FDMS calls ------------------------------------------------------ */

/* Why a call failed, for people: the FDMS code, title and operationID. */
static void
print_result(const struct devadmin *a, const char *what,
    const struct fdms_result *r)
{
	fprintf(stderr, "spoolctl: device %s: %s failed: %s", devname(a), what,
	    fdms_class_name(r->cls));
	if (r->http_status != 0)
		fprintf(stderr, ", HTTP %ld", r->http_status);
	if (r->code_text[0] != '\0')
		fprintf(stderr, ", %s", r->code_text);
	if (r->title[0] != '\0')
		fprintf(stderr, ": %s", r->title);
	if (r->detail[0] != '\0')
		fprintf(stderr, " (%s)", r->detail);
	if (r->fail != FDMS_FAIL_NONE && r->http_status == 0)
		fprintf(stderr, ": %s", r->message);
	if (r->operation_id[0] != '\0')
		fprintf(stderr, " operationID=%s", r->operation_id);
	if (r->in_doubt)
		fprintf(stderr, "; it may have reached FDMS");
	fputc('\n', stderr);
}

/*
 * The device's TLS identity: current certificate and decrypted key.
 * NULL with the reason printed.
 */
static struct fdms_identity *
load_identity(struct devadmin *a)
{
	struct fdms_identity *id;
	struct sigkey *key;
	char err[256];

	if ((key = device_key_load(a->store, a->dev->device_id,
	    a->has_fkey ? a->fkey : NULL, err, sizeof(err))) == NULL) {
		fail(a, "%s", err);
		return NULL;
	}
	id = device_identity_new(a->store, a->dev->device_id, key, NULL, err,
	    sizeof(err));
	if (id == NULL)
		fail(a, "%s", err);
	sigkey_free(key);
	return id;
}

static void
fdms_device_of(const struct devadmin *a, const struct fdms_identity *id,
    struct fdms_device *d)
{
	d->name = devname(a);
	d->model_name = a->dev->model_name;
	d->model_version = a->dev->model_version;
	d->identity = id;
}

/* One blocking call; out must be freed by the caller whatever happens. */
static enum fdms_class
call(struct devadmin *a, const struct fdms_identity *id,
    struct fdms_request *req, struct fdms_reply *out)
{
	struct fdms_device d;
	enum fdms_class cls;

	fdms_device_of(a, id, &d);
	cls = fdms_call(a->client, &d, req, out);
	fdms_request_free(req);
	return cls;
}

/* ---- GetConfig in the journal ---------------------------------------- */

static void
print_config(FILE *out, const struct fdms_config *c)
{
	char pct[MONEY_BUFSZ];
	size_t i;

	fprintf(out, "taxpayer:        %s (TIN %s)%s%s\n",
	    c->taxpayer.name ? c->taxpayer.name : "?",
	    c->taxpayer.tin ? c->taxpayer.tin : "?",
	    c->taxpayer.is_vat_payer ? ", VAT " : ", not VAT-registered",
	    c->taxpayer.is_vat_payer ? c->taxpayer.vat_number : "");
	fprintf(out, "operating mode:  %s\n", c->mode == FDMS_MODE_OFFLINE ?
	    "Offline" : c->mode == FDMS_MODE_ONLINE ? "Online" : "unknown");
	if (c->has_day_max_hrs)
		fprintf(out, "day max hours:   %lld (warning %lld h before)\n",
		    (long long)c->day_max_hrs,
		    (long long)c->day_end_notification_hrs);
	fprintf(out, "qrUrl:           %s\n", c->qr_url ? c->qr_url : "?");
	fprintf(out, "certificate:     valid till %s\n",
	    c->certificate_valid_till ? c->certificate_valid_till : "?");
	fprintf(out, "taxes:\n");
	for (i = 0; i < c->n_taxes; i++) {
		const struct fdms_tax *x = &c->taxes[i];

		fprintf(out, "  %6lld  %-7s %s%s%s%s%s\n", (long long)x->tax_id,
		    x->has_percent ? money_format(x->percent, 2, pct,
		    sizeof(pct)) : "exempt", x->name ? x->name : "",
		    x->valid_from ? "  from " : "",
		    x->valid_from ? x->valid_from : "",
		    x->valid_till ? "  till " : "",
		    x->valid_till ? x->valid_till : "");
	}
}

/* GetConfig into the journal; reply left in *out (free it). */
static int
fetch_config(struct devadmin *a, const struct fdms_identity *id,
    struct fdms_reply *out)
{
	struct fdms_request req;

	fdms_request_init(&req);
	if (fdms_req_simple(&req, FDMS_GET_CONFIG, a->dev->device_id) == -1) {
		fdms_reply_init(out, FDMS_GET_CONFIG);
		return fail(a, "GetConfig: %s", req.err);
	}
	if (call(a, id, &req, out) != FDMS_OK) {
		print_result(a, "GetConfig", &out->res);
		return EXIT_FAIL;
	}
	if (device_config_put(a->store, a->dev->device_id, &out->u.config) !=
	    STORE_OK)
		return fail(a, "journal: %s", store_errmsg(a->store));
	return EXIT_OK;
}

/* ---- register -------------------------------------------------------- */

static int
check_identity(const struct devadmin *a)
{
	if (a->dev->device_id <= 0)
		return fail(a, "device_id is not configured");
	if (a->dev->serial_no == NULL)
		return fail(a, "serial_no is not configured");
	return EXIT_OK;
}

/* The device's key: the journaled one (a retried register), or a new one. */
static struct sigkey *
registration_key(struct devadmin *a, enum sigkey_type type, bool *fresh)
{
	struct sigkey *key;
	char *pem = NULL, err[256];
	size_t len = 0;

	*fresh = false;
	if (store_key_get(a->store, a->dev->device_id,
	    a->has_fkey ? a->fkey : NULL, &pem, &len, NULL) == STORE_OK) {
		key = sigkey_load_private(pem, len, NULL, err, sizeof(err));
		store_secret_free(pem, len);
		if (key == NULL)
			fail(a, "journaled key: %s", err);
		return key;
	}
	if ((key = sigkey_generate(type, err, sizeof(err))) == NULL) {
		fail(a, "%s", err);
		return NULL;
	}
	*fresh = true;
	return key;
}

static int
journal_device(struct devadmin *a)
{
	struct store_device d;

	memset(&d, 0, sizeof(d));
	d.device_id = a->dev->device_id;
	d.serial_no = a->dev->serial_no;
	d.model_name = a->dev->model_name;
	d.model_version = a->dev->model_version;
	d.env = config_env_name(a->cfg->env);
	d.base_url = a->cfg->fdms_base_url;
	if (store_device_put(a->store, &d) != STORE_OK)
		return fail(a, "journal: %s", store_errmsg(a->store));
	return EXIT_OK;
}

static int
journal_key(struct devadmin *a, const struct sigkey *key)
{
	char *pem;
	int rc;

	if ((pem = sigkey_private_pem(key, NULL)) == NULL)
		return fail(a, "cannot serialise the new key");
	if (!a->has_fkey)
		fprintf(stderr, "spoolctl: device %s: WARNING: no encryption_key "
		    "(FDMS_ENCRYPTION_KEY): the private key is stored "
		    "unencrypted (development only)\n", devname(a));
	rc = store_key_put(a->store, a->dev->device_id, pem, strlen(pem),
	    a->has_fkey ? a->fkey : NULL);
	store_secret_free(pem, strlen(pem));
	if (rc != STORE_OK)
		return fail(a, "journal: %s", store_errmsg(a->store));
	return EXIT_OK;
}

int
devadmin_register(struct devadmin *a, enum sigkey_type type, FILE *out)
{
	struct fdms_request req;
	struct fdms_reply rep;
	struct store_device sd;
	struct fdms_identity *id = NULL;
	struct sigkey *key = NULL;
	char *csr = NULL, err[256];
	bool fresh;
	int rc = EXIT_FAIL;

	if (check_identity(a) != EXIT_OK)
		return EXIT_USAGE;
	if (a->dev->activation_key == NULL) {
		fail(a, "activation_key is not configured");
		return EXIT_USAGE;
	}
	if (store_device_get(a->store, a->dev->device_id, &sd) == STORE_OK) {
		bool has_cert = sd.cert_id != 0;

		store_device_free(&sd);
		if (has_cert)
			return fail(a, "already registered (spoolctl cert shows "
			    "the certificate; renew-cert renews it)");
	}

	/* Who FDMS will register the device to: shown before anything. */
	fdms_request_init(&req);
	fdms_reply_init(&rep, FDMS_VERIFY_TAXPAYER);
	if (fdms_req_verify_taxpayer(&req, a->dev->device_id,
	    a->dev->activation_key, a->dev->serial_no) == -1) {
		fdms_request_free(&req);
		return fail(a, "VerifyTaxpayerInformation: %s", req.err);
	}
	if (call(a, NULL, &req, &rep) != FDMS_OK) {
		print_result(a, "VerifyTaxpayerInformation", &rep.res);
		fdms_reply_free(&rep);
		return EXIT_FAIL;
	}
	fprintf(out, "device %lld (%s) belongs to %s, TIN %s%s%s, branch %s\n",
	    (long long)a->dev->device_id, a->dev->serial_no,
	    rep.u.taxpayer.name ? rep.u.taxpayer.name : "?",
	    rep.u.taxpayer.tin ? rep.u.taxpayer.tin : "?",
	    rep.u.taxpayer.is_vat_payer ? ", VAT " : "",
	    rep.u.taxpayer.is_vat_payer ? rep.u.taxpayer.vat_number : "",
	    rep.u.taxpayer.branch_name ? rep.u.taxpayer.branch_name : "?");
	fdms_reply_free(&rep);

	/* Journal the device and its key before RegisterDevice. */
	if (journal_device(a) != EXIT_OK)
		return EXIT_FAIL;
	if ((key = registration_key(a, type, &fresh)) == NULL)
		return EXIT_FAIL;
	if (fresh && journal_key(a, key) != EXIT_OK)
		goto out;
	if ((csr = fdms_csr_pem(key, a->dev->serial_no, a->dev->device_id, err,
	    sizeof(err))) == NULL) {
		fail(a, "CSR: %s", err);
		goto out;
	}
	fdms_request_init(&req);
	fdms_reply_init(&rep, FDMS_REGISTER_DEVICE);
	if (fdms_req_register(&req, a->dev->device_id, a->dev->activation_key,
	    csr) == -1) {
		fail(a, "RegisterDevice: %s", req.err);
		fdms_request_free(&req);
		goto out;
	}
	if (call(a, NULL, &req, &rep) != FDMS_OK) {
		print_result(a, "RegisterDevice", &rep.res);
		fdms_reply_free(&rep);
		goto out;
	}
	if (fdms_cert_matches_key(rep.u.certificate, strlen(rep.u.certificate),
	    key) != 1) {
		fail(a, "FDMS returned a certificate for another key");
		fdms_reply_free(&rep);
		goto out;
	}
	if (store_cert_put(a->store, a->dev->device_id, rep.u.certificate,
	    NULL) != STORE_OK) {
		fail(a, "journal: %s", store_errmsg(a->store));
		fdms_reply_free(&rep);
		goto out;
	}
	fdms_reply_free(&rep);
	fprintf(out, "registered device %lld with a%s key; certificate "
	    "stored\n", (long long)a->dev->device_id,
	    sigkey_type(key) == SIGKEY_ECDSA ? "n ECDSA P-256" : " RSA-2048");

	/* GetConfig right away: a day cannot be opened without it. */
	if ((id = load_identity(a)) == NULL)
		goto out;
	rc = fetch_config(a, id, &rep);
	if (rc == EXIT_OK)
		print_config(out, &rep.u.config);
	fdms_reply_free(&rep);
out:
	fdms_identity_free(id);
	free(csr);
	sigkey_free(key);
	return rc;
}

/* ---- config, ping, cert ---------------------------------------------- */

int
devadmin_config(struct devadmin *a, FILE *out)
{
	struct fdms_identity *id;
	struct fdms_reply rep;
	int rc;

	if ((id = load_identity(a)) == NULL)
		return EXIT_FAIL;
	rc = fetch_config(a, id, &rep);
	if (rc == EXIT_OK)
		print_config(out, &rep.u.config);
	fdms_reply_free(&rep);
	fdms_identity_free(id);
	return rc;
}

int
devadmin_ping(struct devadmin *a, FILE *out)
{
	struct fdms_identity *id;
	struct fdms_request req;
	struct fdms_reply rep;
	int rc = EXIT_OK;

	if ((id = load_identity(a)) == NULL)
		return EXIT_FAIL;
	fdms_request_init(&req);
	fdms_reply_init(&rep, FDMS_PING);
	if (fdms_req_simple(&req, FDMS_PING, a->dev->device_id) == -1)
		rc = fail(a, "Ping: %s", req.err);
	else if (call(a, id, &req, &rep) != FDMS_OK) {
		print_result(a, "Ping", &rep.res);
		rc = EXIT_FAIL;
	} else
		fprintf(out, "reportingFrequency: %lld minutes (operationID %s)\n",
		    (long long)rep.u.reporting_frequency, rep.res.operation_id);
	fdms_request_free(&req);
	fdms_reply_free(&rep);
	fdms_identity_free(id);
	return rc;
}

int
devadmin_cert(struct devadmin *a, FILE *out)
{
	struct store_cert cert;

	if (store_cert_get(a->store, a->dev->device_id, STORE_CERT_CURRENT,
	    &cert) != STORE_OK)
		return fail(a, "no certificate: run spoolctl register first");
	fputs(cert.pem, out);
	if (cert.pem[0] != '\0' && cert.pem[strlen(cert.pem) - 1] != '\n')
		fputc('\n', out);
	store_cert_free(&cert);
	return EXIT_OK;
}

/* ---- renew-cert ------------------------------------------------------ */

int
devadmin_renew_cert(struct devadmin *a, FILE *out)
{
	struct fdms_identity *id;
	struct fdms_request req;
	struct fdms_reply rep;
	struct sigkey *key;
	char *csr = NULL, err[256], till[20];
	int rc = EXIT_FAIL;

	if ((id = load_identity(a)) == NULL)
		return EXIT_FAIL;
	if ((key = device_key_load(a->store, a->dev->device_id,
	    a->has_fkey ? a->fkey : NULL, err, sizeof(err))) == NULL) {
		fdms_identity_free(id);
		return fail(a, "%s", err);
	}
	fdms_request_init(&req);
	fdms_reply_init(&rep, FDMS_ISSUE_CERT);
	if ((csr = fdms_csr_pem(key, a->dev->serial_no, a->dev->device_id, err,
	    sizeof(err))) == NULL)
		fail(a, "CSR: %s", err);
	else if (fdms_req_issue_cert(&req, a->dev->device_id, csr) == -1)
		fail(a, "IssueCertificate: %s", req.err);
	else if (call(a, id, &req, &rep) != FDMS_OK)
		print_result(a, "IssueCertificate", &rep.res);
	else if (fdms_cert_matches_key(rep.u.certificate,
	    strlen(rep.u.certificate), key) != 1)
		fail(a, "FDMS returned a certificate for another key");
	else if (store_cert_put(a->store, a->dev->device_id, rep.u.certificate,
	    NULL) != STORE_OK)
		fail(a, "journal: %s", store_errmsg(a->store));
	else {
		if (fdms_cert_not_after(rep.u.certificate,
		    strlen(rep.u.certificate), till) == -1)
			snprintf(till, sizeof(till), "?");
		fprintf(out, "new certificate installed, valid till %s UTC "
		    "(operationID %s)\n", till, rep.res.operation_id);
		rc = EXIT_OK;
	}
	fdms_request_free(&req);
	fdms_reply_free(&rep);
	free(csr);
	sigkey_free(key);
	fdms_identity_free(id);
	return rc;
}

/* ---- GetStatus ------------------------------------------------------- */

static const char *
fdms_day_name(enum fdms_day_status s)
{
	switch (s) {
	case FDMS_DAY_CLOSED:		return "FiscalDayClosed";
	case FDMS_DAY_OPENED:		return "FiscalDayOpened";
	case FDMS_DAY_CLOSE_INITIATED:	return "FiscalDayCloseInitiated";
	case FDMS_DAY_CLOSE_FAILED:	return "FiscalDayCloseFailed";
	case FDMS_DAY_UNKNOWN:		break;
	}
	return "unknown";
}

static enum fdms_class
get_status(struct devadmin *a, const struct fdms_identity *id,
    struct fdms_reply *rep)
{
	struct fdms_request req;

	fdms_request_init(&req);
	fdms_reply_init(rep, FDMS_GET_STATUS);
	if (fdms_req_simple(&req, FDMS_GET_STATUS, a->dev->device_id) == -1) {
		fdms_request_free(&req);
		rep->res.cls = FDMS_LOCAL;
		return FDMS_LOCAL;
	}
	return call(a, id, &req, rep);
}

/* ---- open-day -------------------------------------------------------- */

static bool
is_offline(struct devadmin *a)
{
	struct fdms_reply r;
	bool offline;

	offline = device_config_get(a->store, a->dev->device_id, &r) == 1 &&
	    r.u.config.mode == FDMS_MODE_OFFLINE;
	fdms_reply_free(&r);
	return offline;
}

static int
confirm_day(struct devadmin *a, int64_t day_no, const char *opid, FILE *out,
    const char *opened)
{
	struct store_day_update u;

	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_OPEN;
	u.open_operation_id = opid[0] != '\0' ? opid : "confirmed";
	if (store_day_update(a->store, a->dev->device_id, day_no, &u) !=
	    STORE_OK)
		return fail(a, "journal: %s", store_errmsg(a->store));
	fprintf(out, "fiscal day %lld opened at %s%s\n", (long long)day_no,
	    opened, strcmp(opid, "offline") == 0 ? " (Offline mode: opened "
	    "locally, FDMS learns of it from the day's SubmitFile)" : "");
	return EXIT_OK;
}

int
devadmin_open_day(struct devadmin *a, const char *opened_at, FILE *out)
{
	struct fdms_identity *id;
	struct fdms_request req;
	struct fdms_reply rep, st;
	struct fdms_open_day_args args;
	struct store_day day;
	struct tm tm;
	char now[20];
	int64_t day_no = 1;
	bool have_day = false, offline;
	int rc = EXIT_FAIL;

	if (opened_at != NULL && timeutil_parse_local(opened_at, &tm) == -1) {
		fail(a, "--opened-at %s is not YYYY-MM-DDTHH:MM:SS", opened_at);
		return EXIT_USAGE;
	}
	if ((id = load_identity(a)) == NULL)
		return EXIT_FAIL;
	/* GetConfig first, as FDMS requires before opening a day. */
	rc = fetch_config(a, id, &rep);
	fdms_reply_free(&rep);
	if (rc != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	offline = is_offline(a);

	if (store_day_get(a->store, a->dev->device_id, 0, &day) == STORE_OK) {
		have_day = true;
		if (day.status != STORE_DAY_CLOSED &&
		    day.open_operation_id != NULL) {
			fail(a, "fiscal day %lld is already open (since %s)",
			    (long long)day.day_no, day.opened);
			store_day_free(&day);
			goto out;
		}
	}
	if (have_day && day.status != STORE_DAY_CLOSED) {
		/* Journaled but never confirmed: resend the same day. */
		day_no = day.day_no;
		snprintf(now, sizeof(now), "%s", day.opened);
	} else if (offline) {
		/* FDMS answers GetStatus with DEV01 for Offline devices. */
		day_no = (have_day ? day.day_no : 0) + 1;
		if (opened_at != NULL)
			snprintf(now, sizeof(now), "%s", opened_at);
		else
			timeutil_format_local(time(NULL), now);
		if (store_day_open(a->store, a->dev->device_id, day_no, now) !=
		    STORE_OK) {
			fail(a, "journal: %s", store_errmsg(a->store));
			if (have_day)
				store_day_free(&day);
			goto out;
		}
	} else {
		if (get_status(a, id, &st) != FDMS_OK) {
			print_result(a, "GetStatus", &st.res);
			fdms_reply_free(&st);
			if (have_day)
				store_day_free(&day);
			goto out;
		}
		if (st.u.status.day_status == FDMS_DAY_OPENED ||
		    st.u.status.day_status == FDMS_DAY_CLOSE_FAILED ||
		    st.u.status.day_status == FDMS_DAY_CLOSE_INITIATED) {
			fail(a, "FDMS has fiscal day %lld %s but the journal "
			    "does not: run spoolctl resync",
			    (long long)st.u.status.last_day_no,
			    fdms_day_name(st.u.status.day_status));
			fdms_reply_free(&st);
			if (have_day)
				store_day_free(&day);
			goto out;
		}
		day_no = (have_day ? day.day_no : 0) + 1;
		if (st.u.status.has_last_day_no &&
		    st.u.status.last_day_no + 1 > day_no)
			day_no = st.u.status.last_day_no + 1;
		fdms_reply_free(&st);
		if (opened_at != NULL)
			snprintf(now, sizeof(now), "%s", opened_at);
		else
			timeutil_format_local(time(NULL), now);
		if (store_day_open(a->store, a->dev->device_id, day_no, now) !=
		    STORE_OK) {
			fail(a, "journal: %s", store_errmsg(a->store));
			if (have_day)
				store_day_free(&day);
			goto out;
		}
	}
	if (have_day)
		store_day_free(&day);

	if (offline) {
		/* Offline devices open locally; FDMS learns with SubmitFile. */
		rc = confirm_day(a, day_no, "offline", out, now);
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.has_day_no = true;
	args.day_no = day_no;
	args.opened = now;
	fdms_request_init(&req);
	fdms_reply_init(&rep, FDMS_OPEN_DAY);
	if (fdms_req_open_day(&req, a->dev->device_id, &args) == -1) {
		fail(a, "OpenDay: %s", req.err);
		fdms_request_free(&req);
		goto out;
	}
	if (call(a, id, &req, &rep) == FDMS_OK) {
		rc = confirm_day(a, day_no, rep.res.operation_id, out, now);
		fdms_reply_free(&rep);
		goto out;
	}
	/*
	 * FISC01 or an answer lost in transit: FDMS may already have the day
	 * open (our earlier attempt got through). GetStatus settles it.
	 */
	if (rep.res.in_doubt || rep.res.code == FDMS_EC_FISC01) {
		if (get_status(a, id, &st) == FDMS_OK &&
		    st.u.status.day_status == FDMS_DAY_OPENED &&
		    st.u.status.has_last_day_no &&
		    st.u.status.last_day_no == day_no) {
			rc = confirm_day(a, day_no, rep.res.operation_id, out,
			    now);
			fdms_reply_free(&st);
			fdms_reply_free(&rep);
			goto out;
		}
		fdms_reply_free(&st);
	}
	print_result(a, "OpenDay", &rep.res);
	fprintf(stderr, "spoolctl: device %s: day %lld stays journaled as "
	    "requested; run open-day again to retry\n", devname(a),
	    (long long)day_no);
	fdms_reply_free(&rep);
out:
	fdms_identity_free(id);
	return rc;
}

/* ---- status ---------------------------------------------------------- */

/* Entries of error/ that are rejected files (not their .error.json). */
static long
count_error_files(const char *dir)
{
	DIR *d;
	struct dirent *e;
	long n = 0;
	size_t len;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		len = strlen(e->d_name);
		if (len > 11 && strcmp(e->d_name + len - 11, ".error.json") == 0)
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static const char *
store_day_name(enum store_day_status s)
{
	return store_day_status_name(s);
}

static cJSON *
device_status(struct devadmin *a, FILE *out, bool json)
{
	struct store_device sd;
	struct store_stats stats;
	struct store_day day;
	struct fdms_identity *id = NULL;
	struct fdms_reply st;
	char today[20];
	bool have_dev, have_day, have_st = false;
	long errors;
	cJSON *o = NULL;

	timeutil_format_local(time(NULL), today);
	today[10] = '\0';
	have_dev = store_device_get(a->store, a->dev->device_id, &sd) ==
	    STORE_OK;
	memset(&stats, 0, sizeof(stats));
	if (have_dev)
		(void)store_stats(a->store, a->dev->device_id, today, &stats);
	have_day = have_dev && store_day_get(a->store, a->dev->device_id, 0,
	    &day) == STORE_OK;
	if (have_dev && sd.cert_id != 0 &&
	    (id = load_identity(a)) != NULL && get_status(a, id, &st) == FDMS_OK)
		have_st = true;
	else if (id != NULL)
		fdms_reply_free(&st);
	errors = count_error_files(a->dev->error_dir);

	if (json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "device", devname(a));
		cJSON_AddNumberToObject(o, "deviceID", (double)a->dev->device_id);
		cJSON_AddBoolToObject(o, "registered", have_dev && sd.cert_id);
		if (have_day) {
			cJSON_AddNumberToObject(o, "fiscalDayNo",
			    (double)day.day_no);
			cJSON_AddStringToObject(o, "fiscalDayStatus",
			    store_day_name(day.status));
			cJSON_AddStringToObject(o, "fiscalDayOpened", day.opened);
		} else {
			cJSON_AddNullToObject(o, "fiscalDayNo");
			cJSON_AddNullToObject(o, "fiscalDayStatus");
		}
		cJSON_AddNumberToObject(o, "receiptsToday",
		    (double)stats.date_receipts);
		cJSON_AddNumberToObject(o, "pending", (double)stats.pending);
		cJSON_AddNumberToObject(o, "inDoubt", (double)stats.in_doubt);
		cJSON_AddNumberToObject(o, "flagged", (double)stats.flagged);
		cJSON_AddNumberToObject(o, "lastReceiptGlobalNo",
		    (double)stats.last_global_no);
		if (have_st && st.u.status.has_last_global_no)
			cJSON_AddNumberToObject(o, "fdmsLastReceiptGlobalNo",
			    (double)st.u.status.last_global_no);
		else
			cJSON_AddNullToObject(o, "fdmsLastReceiptGlobalNo");
		if (have_st)
			cJSON_AddStringToObject(o, "fdmsFiscalDayStatus",
			    fdms_day_name(st.u.status.day_status));
		else
			cJSON_AddNullToObject(o, "fdmsFiscalDayStatus");
		if (have_dev && sd.cert_not_after != NULL)
			cJSON_AddStringToObject(o, "certificateValidTill",
			    sd.cert_not_after);
		else
			cJSON_AddNullToObject(o, "certificateValidTill");
		cJSON_AddBoolToObject(o, "signingBlocked",
		    have_dev && sd.signing_blocked);
		if (errors >= 0)
			cJSON_AddNumberToObject(o, "errorFiles", (double)errors);
		else
			cJSON_AddNullToObject(o, "errorFiles");
	} else {
		fprintf(out, "device %s (%lld)%s\n", devname(a),
		    (long long)a->dev->device_id,
		    have_dev && sd.cert_id ? "" : ": not registered");
		if (have_day)
			fprintf(out, "  fiscal day:        %lld, %s (opened %s)\n",
			    (long long)day.day_no, store_day_name(day.status),
			    day.opened);
		else
			fprintf(out, "  fiscal day:        none yet\n");
		fprintf(out, "  receipts today:    %lld\n",
		    (long long)stats.date_receipts);
		fprintf(out, "  pending:           %lld (%lld in doubt), "
		    "%lld flagged\n", (long long)stats.pending,
		    (long long)stats.in_doubt, (long long)stats.flagged);
		fprintf(out, "  last global no:    %lld here, ",
		    (long long)stats.last_global_no);
		if (have_st && st.u.status.has_last_global_no)
			fprintf(out, "%lld at FDMS (%s)\n",
			    (long long)st.u.status.last_global_no,
			    fdms_day_name(st.u.status.day_status));
		else
			fprintf(out, "%s at FDMS\n", have_st ? "none" :
			    "unknown (FDMS not reached)");
		fprintf(out, "  certificate:       %s\n", have_dev &&
		    sd.cert_not_after ? sd.cert_not_after : "none");
		if (have_dev && sd.signing_blocked)
			fprintf(out, "  SIGNING BLOCKED:   %s\n",
			    sd.block_reason ? sd.block_reason : "");
		if (errors >= 0)
			fprintf(out, "  files in error/:   %ld\n", errors);
	}
	if (have_st)
		fdms_reply_free(&st);
	fdms_identity_free(id);
	if (have_day)
		store_day_free(&day);
	if (have_dev)
		store_device_free(&sd);
	return o;
}

int
devadmin_status(struct devadmin *a, bool json, FILE *out)
{
	cJSON *arr = NULL, *o;
	char *s;
	size_t i;

	if (json && (arr = cJSON_CreateArray()) == NULL)
		return fail(a, "out of memory");
	for (i = 0; i < a->cfg->ndevices; i++) {
		devadmin_select(a, i);
		o = device_status(a, out, json);
		if (json && o != NULL)
			cJSON_AddItemToArray(arr, o);
	}
	if (json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "env", config_env_name(a->cfg->env));
		cJSON_AddItemToObject(o, "devices", arr);
		s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (s == NULL)
			return fail(a, "out of memory");
		fprintf(out, "%s\n", s);
		free(s);
	}
	return EXIT_OK;
}

/* ---- resync ---------------------------------------------------------- */

int
devadmin_resync(struct devadmin *a, FILE *out)
{
	struct fdms_identity *id;
	struct fdms_reply rep, st;
	struct store_device sd;
	struct store_day day;
	char reason[512];
	bool have_day;
	int problems = 0, rc;
	const struct fdms_status *s;

	if ((id = load_identity(a)) == NULL)
		return EXIT_FAIL;
	rc = fetch_config(a, id, &rep);
	fdms_reply_free(&rep);
	if (rc != EXIT_OK) {
		fdms_identity_free(id);
		return rc;
	}
	if (get_status(a, id, &st) != FDMS_OK) {
		print_result(a, "GetStatus", &st.res);
		fdms_reply_free(&st);
		fdms_identity_free(id);
		return EXIT_FAIL;
	}
	fdms_identity_free(id);
	s = &st.u.status;
	if (store_device_get(a->store, a->dev->device_id, &sd) != STORE_OK) {
		fdms_reply_free(&st);
		return fail(a, "journal: %s", store_errmsg(a->store));
	}
	have_day = store_day_get(a->store, a->dev->device_id, 0, &day) ==
	    STORE_OK;
	reason[0] = '\0';

	fprintf(out, "device %s (%lld): FDMS %s, last day %lld, last receipt "
	    "%lld; journal day %lld %s, last receipt %lld\n", devname(a),
	    (long long)a->dev->device_id, fdms_day_name(s->day_status),
	    s->has_last_day_no ? (long long)s->last_day_no : 0LL,
	    s->has_last_global_no ? (long long)s->last_global_no : 0LL,
	    have_day ? (long long)day.day_no : 0LL,
	    have_day ? store_day_name(day.status) : "(none)",
	    (long long)sd.last_global_no);

	/*
	 * FDMS ahead of the journal: a restored old backup, or another
	 * installation using this device. Signing now would reuse numbers
	 * FDMS already holds, so it is blocked until an admin resolves it.
	 */
	if (s->has_last_global_no && s->last_global_no > sd.last_global_no) {
		problems++;
		fprintf(out, "  DISCREPANCY: FDMS holds receipt %lld, the journal "
		    "ends at %lld: the journal is missing receipts (restored "
		    "from an old backup?)\n", (long long)s->last_global_no,
		    (long long)sd.last_global_no);
		snprintf(reason, sizeof(reason), "FDMS holds receipt %lld, "
		    "journal ends at %lld", (long long)s->last_global_no,
		    (long long)sd.last_global_no);
	} else if (s->has_last_global_no &&
	    s->last_global_no < sd.last_global_no)
		fprintf(out, "  note: FDMS reports receipt %lld, the journal has "
		    "%lld: FDMS names the receipt with the latest date and lags "
		    "after a future-dated one; pending receipts also explain it "
		    "(not a discrepancy)\n", (long long)s->last_global_no,
		    (long long)sd.last_global_no);
	if (s->has_last_day_no && (!have_day || s->last_day_no > day.day_no)) {
		problems++;
		fprintf(out, "  DISCREPANCY: FDMS knows fiscal day %lld, the "
		    "journal %s\n", (long long)s->last_day_no, have_day ?
		    "has an older one" : "has none");
		if (reason[0] == '\0')
			snprintf(reason, sizeof(reason), "FDMS knows day %lld, "
			    "the journal does not", (long long)s->last_day_no);
	}
	if (have_day && s->has_last_day_no && s->last_day_no == day.day_no) {
		bool fdms_open = s->day_status == FDMS_DAY_OPENED ||
		    s->day_status == FDMS_DAY_CLOSE_FAILED;
		bool local_open = day.status == STORE_DAY_OPEN ||
		    day.status == STORE_DAY_CLOSE_FAILED;

		if (local_open && s->day_status == FDMS_DAY_CLOSED) {
			problems++;
			fprintf(out, "  DISCREPANCY: day %lld is closed at FDMS "
			    "(%s reconciliation) but open in the journal\n",
			    (long long)day.day_no, s->recon == FDMS_RECON_MANUAL ?
			    "manual" : "automatic");
		} else if (day.status == STORE_DAY_CLOSED && fdms_open) {
			problems++;
			fprintf(out, "  DISCREPANCY: day %lld is closed in the "
			    "journal but open at FDMS\n", (long long)day.day_no);
		}
	}
	/*
	 * A block set by spoold after FDMS flagged a receipt Red or Grey is
	 * not about the journal agreeing with FDMS, so agreement must not
	 * lift it (nor may our own reason overwrite it): the device stays
	 * stopped until an admin has dealt with the flagged receipt.
	 */
	if (sd.signing_blocked && sd.block_reason != NULL &&
	    strncmp(sd.block_reason, DEVICE_BLOCK_FLAGGED,
	    strlen(DEVICE_BLOCK_FLAGGED)) == 0) {
		problems++;
		fprintf(out, "  BLOCKED by spoold: %s\n", sd.block_reason);
		fprintf(out, "  signing and submission stay blocked until an "
		    "admin has resolved the flagged receipt with ZIMRA and "
		    "lifted the block\n");
	} else if (reason[0] != '\0') {
		if (store_device_block(a->store, a->dev->device_id, reason) !=
		    STORE_OK)
			fail(a, "journal: %s", store_errmsg(a->store));
		fprintf(out, "  signing is BLOCKED for this device until the "
		    "journal agrees with FDMS (restore a newer backup, then run "
		    "resync again)\n");
	} else if (sd.signing_blocked && problems == 0) {
		if (store_device_block(a->store, a->dev->device_id, NULL) ==
		    STORE_OK)
			fprintf(out, "  journal and FDMS agree again: signing "
			    "unblocked\n");
	}
	if (s->has_last_global_no)
		(void)store_device_raise_global_no(a->store, a->dev->device_id,
		    problems ? sd.last_global_no : s->last_global_no);
	fprintf(out, "%s\n", problems ? "resync: needs an admin" :
	    "resync: consistent");
	if (have_day)
		store_day_free(&day);
	store_device_free(&sd);
	fdms_reply_free(&st);
	return problems ? EXIT_FAIL : EXIT_OK;
}

/* ---- unblock --------------------------------------------------------- */

int
devadmin_unblock(struct devadmin *a, FILE *out)
{
	char reason[512];

	switch (device_flag_lift(a->store, a->dev->device_id, reason,
	    sizeof(reason))) {
	case 1:
		fprintf(out, "device %s: stop lifted (it said: %s); a running "
		    "spoold resumes within a minute\n", devname(a), reason);
		return EXIT_OK;
	case 0:
		return fail(a, "no stop after a flagged receipt to lift (a block "
		    "set by resync is lifted by resync once the journal agrees "
		    "with FDMS)");
	default:
		return fail(a, "journal: %s", store_errmsg(a->store));
	}
}
