/*
 * device.c - a fiscal device's runtime, loaded from the journal (see
 * device.h).  Shared by spoold (pipeline, outbox) and spoolctl (devadmin).
 *
 * SECURITY: the decrypted key PEM lives only between store_key_get and
 * sigkey_load_private and is wiped by store_secret_free; the key object
 * and the TLS identity (which wipes its own copy on free) are all that
 * stay.  A certificate from FDMS is installed only if it is for our key,
 * so a confused or hostile answer cannot break signing or mTLS.
 *
 * The stored GetConfig: written by config_to_json from the parsed answer,
 * in FDMS's field names and with exact numbers (from integer units, never
 * through double), and read back through fdms_decode as if FDMS had sent
 * it again, so there is one parser, bounded and validating, for both.
 *
 * Invariants.
 *  1. A loaded device has a key, a certificate id and an identity built
 *     from that certificate and that key.
 *  2. dev->fdms.identity == dev->identity at all times (the switch in
 *     device_install_cert updates both).
 */
#include "spool/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "daemon/config.h"
#include "fdms/csr.h"
#include "fiscal/money.h"
#include "fiscal/sign.h"
#include "store/store.h"

/* ---- key and identity ------------------------------------------------ */

struct sigkey *
device_key_load(struct store *st, int64_t device_id, const unsigned char *fkey,
    char *err, size_t errlen)
{
	struct sigkey *key;
	char *pem = NULL, e[256];
	size_t len = 0;
	int rc;

	rc = store_key_get(st, device_id, fkey, &pem, &len, NULL);
	if (rc == STORE_NOTFOUND) {
		snprintf(err, errlen, "no private key: run spoolctl register");
		return NULL;
	}
	if (rc != STORE_OK) {
		snprintf(err, errlen, "private key: %s", store_errmsg(st));
		return NULL;
	}
	key = sigkey_load_private(pem, len, NULL, e, sizeof(e));
	store_secret_free(pem, len);
	if (key == NULL)
		snprintf(err, errlen, "private key: %s", e);
	return key;
}

struct fdms_identity *
device_identity_new(struct store *st, int64_t device_id,
    const struct sigkey *key, int64_t *cert_id, char *err, size_t errlen)
{
	struct store_cert cert;
	struct fdms_identity *id;
	char e[256];

	if (store_cert_get(st, device_id, STORE_CERT_CURRENT, &cert) !=
	    STORE_OK) {
		snprintf(err, errlen, "no certificate: run spoolctl register");
		return NULL;
	}
	id = fdms_identity_new(cert.pem, strlen(cert.pem), key, e, sizeof(e));
	if (id == NULL)
		snprintf(err, errlen, "TLS identity: %s", e);
	else if (cert_id != NULL)
		*cert_id = cert.cert_id;
	store_cert_free(&cert);
	return id;
}

static void
set_not_after(struct device *d, const char *s)
{
	/* Both "YYYY-MM-DDTHH:MM:SS" and the journal's "...Z" forms. */
	d->cert_not_after[0] = '\0';
	if (s != NULL && strlen(s) >= 19)
		snprintf(d->cert_not_after, sizeof(d->cert_not_after), "%.19s",
		    s);
}

int
device_load(struct device *d, struct store *st,
    const struct config_device *conf, const unsigned char *fkey, char *err,
    size_t errlen)
{
	struct store_device sd;
	struct store_cert cert;

	memset(d, 0, sizeof(*d));
	fdms_reply_init(&d->config, FDMS_GET_CONFIG);
	d->conf = conf;
	d->id = conf->device_id;
	d->name = conf->name;
	if (store_device_get(st, d->id, &sd) != STORE_OK) {
		snprintf(err, errlen, "device %lld is not in the journal: run "
		    "spoolctl register", (long long)d->id);
		return -1;
	}
	store_device_free(&sd);
	if ((d->key = device_key_load(st, d->id, fkey, err, errlen)) == NULL)
		goto fail;
	if ((d->identity = device_identity_new(st, d->id, d->key, &d->cert_id,
	    err, errlen)) == NULL)
		goto fail;
	if (store_cert_get(st, d->id, d->cert_id, &cert) == STORE_OK) {
		set_not_after(d, cert.not_after);
		store_cert_free(&cert);
	}
	d->fdms.name = d->name;
	d->fdms.model_name = conf->model_name;
	d->fdms.model_version = conf->model_version;
	d->fdms.identity = d->identity;
	if (device_config_reload(d, st) == -1) {
		snprintf(err, errlen, "the journaled GetConfig is unreadable "
		    "(%s): run spoolctl config", d->config.res.message);
		goto fail;
	}
	return 0;
fail:
	device_free(d);
	return -1;
}

void
device_free(struct device *d)
{
	fdms_identity_free(d->identity);
	sigkey_free(d->key);
	fdms_reply_free(&d->config);
	memset(d, 0, sizeof(*d));
	fdms_reply_init(&d->config, FDMS_GET_CONFIG);
}

void
device_set_conf(struct device *d, const struct config_device *conf)
{
	d->conf = conf;
	d->name = conf->name;
	d->fdms.name = conf->name;
	d->fdms.model_name = conf->model_name;
	d->fdms.model_version = conf->model_version;
}

int
device_install_cert(struct device *d, struct store *st, const char *pem,
    char *err, size_t errlen)
{
	struct fdms_identity *id;
	int64_t cert_id = 0;
	char e[256], till[20];

	if (fdms_cert_matches_key(pem, strlen(pem), d->key) != 1) {
		snprintf(err, errlen, "FDMS returned a certificate for another "
		    "key");
		return -1;
	}
	/* Built before anything is journaled: a bad PEM changes nothing. */
	if ((id = fdms_identity_new(pem, strlen(pem), d->key, e, sizeof(e))) ==
	    NULL) {
		snprintf(err, errlen, "TLS identity: %s", e);
		return -1;
	}
	if (store_cert_put(st, d->id, pem, &cert_id) != STORE_OK) {
		snprintf(err, errlen, "journal: %s", store_errmsg(st));
		fdms_identity_free(id);
		return -1;
	}
	fdms_identity_free(d->identity);
	d->identity = id;
	d->fdms.identity = id;		/* invariant 2 */
	d->cert_id = cert_id;
	if (fdms_cert_not_after(pem, strlen(pem), till) == 0)
		set_not_after(d, till);
	return 0;
}

/* ---- GetConfig in the journal ---------------------------------------- */

static cJSON *
raw_number(const char *text)
{
	return cJSON_CreateRaw(text);
}

static void
add_opt_string(cJSON *o, const char *name, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, name, v);
}

/*
 * The GetConfig answer in FDMS's own field names and exact numbers, so the
 * journal's copy is parsed back by the same decoder (device_config_get).
 */
static char *
config_to_json(const struct fdms_config *c)
{
	cJSON *o = cJSON_CreateObject(), *taxes, *t;
	char num[MONEY_BUFSZ];
	char *s;
	size_t i;

	if (o == NULL)
		return NULL;
	add_opt_string(o, "taxPayerName", c->taxpayer.name);
	add_opt_string(o, "taxPayerTIN", c->taxpayer.tin);
	if (c->taxpayer.is_vat_payer)
		add_opt_string(o, "vatNumber", c->taxpayer.vat_number);
	add_opt_string(o, "deviceSerialNo", c->device_serial_no);
	add_opt_string(o, "deviceBranchName", c->taxpayer.branch_name);
	if (c->mode != FDMS_MODE_UNKNOWN)
		cJSON_AddStringToObject(o, "deviceOperatingMode",
		    c->mode == FDMS_MODE_OFFLINE ? "Offline" : "Online");
	if (c->has_day_max_hrs)
		cJSON_AddItemToObject(o, "taxPayerDayMaxHrs", raw_number(
		    money_format(c->day_max_hrs, 0, num, sizeof(num))));
	if (c->has_day_end_notification_hrs)
		cJSON_AddItemToObject(o, "taxpayerDayEndNotificationHrs",
		    raw_number(money_format(c->day_end_notification_hrs, 0, num,
		    sizeof(num))));
	taxes = cJSON_AddArrayToObject(o, "applicableTaxes");
	for (i = 0; taxes != NULL && i < c->n_taxes; i++) {
		const struct fdms_tax *x = &c->taxes[i];

		if ((t = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddItemToObject(t, "taxID", raw_number(money_format(
		    x->tax_id, 0, num, sizeof(num))));
		if (x->has_percent)
			cJSON_AddItemToObject(t, "taxPercent", raw_number(
			    money_format(x->percent, 2, num, sizeof(num))));
		add_opt_string(t, "taxName", x->name);
		add_opt_string(t, "validFrom", x->valid_from);
		add_opt_string(t, "validTill", x->valid_till);
		cJSON_AddItemToArray(taxes, t);
	}
	add_opt_string(o, "certificateValidTill", c->certificate_valid_till);
	add_opt_string(o, "qrUrl", c->qr_url);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int
device_config_put(struct store *st, int64_t device_id,
    const struct fdms_config *c)
{
	char *json;
	int rc;

	if ((json = config_to_json(c)) == NULL)
		return STORE_ERROR;
	rc = store_config_put(st, device_id, json, NULL);
	free(json);
	return rc;
}

int
device_config_get(struct store *st, int64_t device_id, struct fdms_reply *out)
{
	struct fdms_raw raw;
	char *json = NULL;

	fdms_reply_init(out, FDMS_GET_CONFIG);
	if (store_config_get(st, device_id, &json, NULL) != STORE_OK)
		return 0;
	memset(&raw, 0, sizeof(raw));
	raw.transport_fail = FDMS_FAIL_NONE;
	raw.status = 200;
	raw.body = json;
	raw.body_len = strlen(json);
	raw.retry_after_s = -1;
	fdms_decode(FDMS_GET_CONFIG, &raw, out);
	free(json);
	return out->res.cls == FDMS_OK ? 1 : -1;
}

int
device_config_reload(struct device *d, struct store *st)
{
	struct fdms_reply r;
	int rc;

	rc = device_config_get(st, d->id, &r);
	fdms_reply_free(&d->config);
	d->config = r;			/* on -1, r.res says why */
	d->has_config = rc == 1;
	return rc == -1 ? -1 : 0;
}

bool
device_offline(const struct device *d)
{
	return d->has_config && d->config.u.config.mode == FDMS_MODE_OFFLINE;
}

/* ---- the Red/Grey block ---------------------------------------------- */

int
device_flag_lift(struct store *st, int64_t device_id, char *reason,
    size_t reasonlen)
{
	struct store_device sd;
	bool flagged;

	if (reasonlen > 0)
		reason[0] = '\0';
	if (store_device_get(st, device_id, &sd) != STORE_OK)
		return -1;
	flagged = sd.signing_blocked && sd.block_reason != NULL &&
	    strncmp(sd.block_reason, DEVICE_BLOCK_FLAGGED,
	    strlen(DEVICE_BLOCK_FLAGGED)) == 0;
	if (flagged && reasonlen > 0)
		snprintf(reason, reasonlen, "%s", sd.block_reason);
	store_device_free(&sd);
	if (!flagged)
		return 0;
	return store_device_block(st, device_id, NULL) == STORE_OK ? 1 : -1;
}

/* ---- the FDMS client ------------------------------------------------- */

struct fdms_client *
device_client_new(const struct config *cfg, char *err, size_t errlen)
{
	struct fdms_client_opts co;
	const char *v;
	int64_t ms;

	memset(&co, 0, sizeof(co));
	co.base_url = cfg->fdms_base_url;
	co.ca_file = cfg->fdms_ca_file;
	co.allow_http = cfg->env == CONFIG_ENV_DEVELOPMENT;
	/* Tests shorten the wait for an unreachable FDMS. */
	if ((v = getenv("SPOOLD_FDMS_TIMEOUT_MS")) != NULL &&
	    money_parse(v, strlen(v), 0, 3600000, &ms) == MONEY_OK && ms > 0)
		co.timeout_ms = co.connect_timeout_ms = (long)ms;
	return fdms_client_new(&co, err, errlen);
}
