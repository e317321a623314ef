/*
 * test_store.c - the journal (lib/store): every operation, the unique keys,
 * the chain checks, the fiscalisation transaction's atomicity under an
 * injected fault at every step and at COMMIT, submission order, streaming
 * iteration, user transactions, online backup, integrity checks, the
 * schema's own backstops (raw SQL), the version refusals, the open policy
 * and the configuration checks.
 *
 * Databases live in a mkdtemp trash directory, removed at the end.
 */
#include "store/store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "daemon/config.h"
#include "store/fernet.h"
#include "store/store_impl.h"
#include "tap.h"
#include "util/fsutil.h"

static char trash[] = "/tmp/test_store.XXXXXX";

static const char *
tpath(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", trash, name);
	return buf[i];
}

static struct store *
open_db(const char *name, int flags)
{
	char err[STORE_ERRMSG_MAX];
	enum store_rc rc;
	struct store *s;

	s = store_open(tpath(name), flags, &rc, err, sizeof(err));
	CHECK(s != NULL, "open %s: %s", name, err);
	return s;
}

/* Raw SQL on a database file, behind the store's back. */
static int
raw(const char *name, const char *sql, char *msg, size_t msglen)
{
	sqlite3 *db = NULL;
	char *e = NULL;
	int rc;

	if (sqlite3_open_v2(tpath(name), &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, &e);
	if (msg != NULL)
		snprintf(msg, msglen, "%s", e ? e : "");
	sqlite3_free(e);
	sqlite3_close(db);
	return rc;
}

static long long
raw_int(const char *name, const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	long long v = -1;

	if (sqlite3_open_v2(tpath(name), &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A self-signed P-256 certificate (PEM) and its key (PEM), malloc'd. */
static char *
make_cert(int days, char **key_pem)
{
	static long serial = 1;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	BIO *b;
	char *p, *out = NULL;
	long len;

	if (k == NULL || x == NULL)
		goto done;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ZIMRA-SN-0001-0000000100", -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, k, EVP_sha256()) == 0)
		goto done;
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		if (PEM_write_bio_X509(b, x) == 1 &&
		    (len = BIO_get_mem_data(b, &p)) > 0)
			out = strndup(p, (size_t)len);
		BIO_free(b);
	}
	if (key_pem != NULL && (b = BIO_new(BIO_s_mem())) != NULL) {
		*key_pem = NULL;
		if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
		    NULL) == 1 && (len = BIO_get_mem_data(b, &p)) > 0)
			*key_pem = strndup(p, (size_t)len);
		BIO_free(b);
	}
done:
	EVP_PKEY_free(k);
	X509_free(x);
	return out;
}

static void
device_struct(struct store_device *d, int64_t id, const char *env)
{
	memset(d, 0, sizeof(*d));
	d->device_id = id;
	d->serial_no = "SN-0001";
	d->model_name = "Server";
	d->model_version = "v1";
	d->env = env;
	d->base_url = "https://fdmsapitest.zimra.co.zw";
}

static void
put_device(struct store *s, int64_t id, const char *env)
{
	struct store_device d;

	device_struct(&d, id, env);
	CHECK(store_device_put(s, &d) == STORE_OK, "device put: %s",
	    store_errmsg(s));
}

/* -- receipts made up for the chain ------------------------------------ */

struct rbuf {
	char	inv[32], date[40], wire[256], hash[48], sig[48], sha[65];
	char	prev[48];
};

/* The device's chain position, advanced by add_receipt. */
struct chain {
	int64_t	dev, day, counter, global;
	char	prev[48];
};

static void
fill(struct store_receipt *r, struct rbuf *b, const struct chain *c,
    const char *invoice)
{
	int64_t g = c->global + 1;

	memset(r, 0, sizeof(*r));
	r->device_id = c->dev;
	r->global_no = g;
	r->day_no = c->day;
	r->counter = c->counter + 1;
	if (invoice != NULL)
		snprintf(b->inv, sizeof(b->inv), "%s", invoice);
	else
		snprintf(b->inv, sizeof(b->inv), "INV-%lld-%lld",
		    (long long)c->dev, (long long)g);
	r->invoice_no = b->inv;
	r->type = RECEIPT_FISCAL_INVOICE;
	r->currency = "USD";
	snprintf(b->date, sizeof(b->date), "2026-03-%02uT%02u:%02u:%02u",
	    (unsigned)(c->day % 28) + 1, (unsigned)(g / 3600 % 24),
	    (unsigned)(g / 60 % 60), (unsigned)(g % 60));
	r->date = b->date;
	r->total = 1655;
	/* Bytes a re-serialisation would not keep: escapes, UTF-8, spacing. */
	snprintf(b->wire, sizeof(b->wire), "{\"receipt\":{\"receiptGlobalNo\":"
	    "%lld, \"invoiceNo\":\"%s\",\"note\":\"caf\\u00e9 \xc3\xa9\\n\","
	    "\"receiptTotal\":16.50}}", (long long)g, b->inv);
	r->wire_json = b->wire;
	r->wire_len = strlen(b->wire);
	snprintf(b->hash, sizeof(b->hash), "hash-%lld-%lld", (long long)c->dev,
	    (long long)g);
	snprintf(b->sig, sizeof(b->sig), "sig-%lld", (long long)g);
	r->hash = b->hash;
	r->signature = b->sig;
	if (c->counter > 0) {
		snprintf(b->prev, sizeof(b->prev), "%s", c->prev);
		r->prev_hash = b->prev;
	}
	r->source_name = "sale.json";
	snprintf(b->sha, sizeof(b->sha), "%064llx",
	    (unsigned long long)(c->dev * 1000000 + g));
	r->source_sha256 = b->sha;
}

static void
sale_counters(struct counters *c, int64_t sale, int64_t tax)
{
	struct counter k;

	counters_init(c);
	memset(&k, 0, sizeof(k));
	memcpy(k.currency, "USD", 4);
	k.type = COUNTER_SALE_BY_TAX;
	k.tax_id = 517;
	k.has_percent = true;
	k.percent = 1550;
	k.value = sale;
	counters_add(c, &k);
	k.type = COUNTER_SALE_TAX_BY_TAX;
	k.value = tax;
	counters_add(c, &k);
	memset(&k, 0, sizeof(k));
	memcpy(k.currency, "USD", 4);
	k.type = COUNTER_BALANCE_BY_MONEY_TYPE;
	k.money_type = MONEY_CASH;
	k.value = sale;
	counters_add(c, &k);
	/* A zero counter is not stored at all. */
	k.money_type = MONEY_CARD;
	k.value = 0;
	counters_add(c, &k);
}

/* Insert the chain's next receipt; returns the store's answer. */
static int
add_receipt(struct store *s, struct chain *c, const char *invoice)
{
	struct store_receipt r;
	struct counters k;
	struct rbuf b;
	int rc;

	fill(&r, &b, c, invoice);
	sale_counters(&k, 1655, 222);
	rc = store_receipt_insert(s, &r, &k);
	counters_free(&k);
	if (rc == STORE_OK) {
		c->global++;
		c->counter++;
		snprintf(c->prev, sizeof(c->prev), "%s", b.hash);
	}
	return rc;
}

static int64_t
counter_value(const struct store_day *d, enum counter_type t,
    enum money_type m)
{
	size_t i;

	for (i = 0; i < d->counters.n; i++)
		if (d->counters.v[i].type == t &&
		    (t != COUNTER_BALANCE_BY_MONEY_TYPE ||
		    d->counters.v[i].money_type == m))
			return d->counters.v[i].value;
	return -1;
}

/* -- cases ------------------------------------------------------------- */

static void
opening(void)
{
	char err[STORE_ERRMSG_MAX], url[600];
	enum store_rc rc;
	struct store *s;
	struct stat sb;
	int cur = -1, latest = -1;

	s = open_db("open.db", STORE_OPEN_CREATE);
	if (s == NULL)
		return;
	CHECK_INT(store_version(s, &cur, &latest), STORE_OK);
	CHECK(cur == latest && latest >= 2, "version %d of %d", cur, latest);
	CHECK(stat(tpath("open.db"), &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "database mode %o", (unsigned)(sb.st_mode & 0777));
	put_device(s, 1, "staging");
	CHECK(stat(tpath("open.db-wal"), &sb) == 0 &&
	    (sb.st_mode & 0777) == 0600, "WAL mode %o",
	    (unsigned)(sb.st_mode & 0777));
	CHECK_INT(raw_int("open.db", "PRAGMA application_id"), 0x53504c44);
	store_close(s);
	/* WAL is a property of the file now. */
	CHECK_INT(raw("open.db", "PRAGMA journal_mode", NULL, 0), SQLITE_OK);

	/* sqlite:// URLs, relative to nothing: the path after the scheme. */
	snprintf(url, sizeof(url), "sqlite://%s", tpath("open.db"));
	s = store_open(url, 0, &rc, err, sizeof(err));
	CHECK(s != NULL && rc == STORE_OK, "sqlite:// open: %s", err);
	store_close(s);

	s = store_open("postgresql://u@h/db", STORE_OPEN_CREATE, &rc, err,
	    sizeof(err));
	CHECK(s == NULL && strstr(err, "not built yet") != NULL, "pg: %s", err);
	s = store_open("mysql://h/db", STORE_OPEN_CREATE, &rc, err,
	    sizeof(err));
	CHECK(s == NULL && strstr(err, "unknown database scheme") != NULL,
	    "scheme: %s", err);
	s = store_open("", STORE_OPEN_CREATE, &rc, err, sizeof(err));
	CHECK(s == NULL, "empty URL");

	/* Missing without CREATE; a symbolic link; read-only. */
	s = store_open(tpath("missing.db"), 0, &rc, err, sizeof(err));
	CHECK(s == NULL && rc == STORE_NOTFOUND, "missing: %s", err);
	CHECK(access(tpath("missing.db"), F_OK) == -1, "created anyway");
	CHECK_INT(symlink(tpath("open.db"), tpath("link.db")), 0);
	s = store_open(tpath("link.db"), 0, &rc, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "symbolic link") != NULL, "link: %s",
	    err);
	s = store_open(tpath("open.db"), STORE_OPEN_READONLY, &rc, err,
	    sizeof(err));
	CHECK(s != NULL, "read-only: %s", err);
	if (s != NULL) {
		struct store_device d;

		CHECK_INT(store_device_get(s, 1, &d), STORE_OK);
		store_device_free(&d);
		device_struct(&d, 2, "staging");
		CHECK_INT(store_device_put(s, &d), STORE_REFUSED);
		CHECK(strstr(store_errmsg(s), "read-only") != NULL, "%s",
		    store_errmsg(s));
		store_close(s);
	}

	/* A file that is not ours is left alone. */
	CHECK_INT(raw("open.db", "SELECT 1", NULL, 0), SQLITE_OK);
	{
		sqlite3 *db = NULL;

		CHECK_INT(sqlite3_open(tpath("foreign.db"), &db), SQLITE_OK);
		CHECK_INT(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL,
		    NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	s = store_open(tpath("foreign.db"), STORE_OPEN_CREATE |
	    STORE_OPEN_MIGRATE, &rc, err, sizeof(err));
	CHECK(s == NULL && rc == STORE_SCHEMA &&
	    strstr(err, "not a spoold journal") != NULL, "foreign: %s", err);
	CHECK_INT(raw_int("foreign.db", "SELECT count(*) FROM sqlite_master"),
	    1);
}

static void
versions(void)
{
	char err[STORE_ERRMSG_MAX], sql[128];
	enum store_rc rc;
	struct store *s;
	int cur, latest;

	s = open_db("ver.db", STORE_OPEN_CREATE);
	if (s == NULL)
		return;
	CHECK_INT(store_version(s, &cur, &latest), STORE_OK);
	store_close(s);

	/* Newer than this code: always refused, even with MIGRATE. */
	snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES "
	    "(%d, 'future', '2030-01-01T00:00:00Z')", latest + 1);
	CHECK_INT(raw("ver.db", sql, NULL, 0), SQLITE_OK);
	s = store_open(tpath("ver.db"), STORE_OPEN_CREATE | STORE_OPEN_MIGRATE,
	    &rc, err, sizeof(err));
	CHECK(s == NULL && rc == STORE_SCHEMA && strstr(err, "newer") != NULL,
	    "newer: %s", err);
	/* spoolctl migrate opens it, and refuses to touch it. */
	s = store_open(tpath("ver.db"), STORE_OPEN_ANY_VERSION, &rc, err,
	    sizeof(err));
	CHECK(s != NULL, "any version: %s", err);
	if (s != NULL) {
		CHECK_INT(store_migrate(s, -1, 0), STORE_SCHEMA);
		CHECK_INT(store_migrate(s, 1, STORE_MIGRATE_FORCE),
		    STORE_SCHEMA);
		CHECK(strstr(store_errmsg(s), "newer") != NULL, "%s",
		    store_errmsg(s));
		store_close(s);
	}
	snprintf(sql, sizeof(sql), "DELETE FROM schema_migrations WHERE "
	    "version = %d", latest + 1);
	CHECK_INT(raw("ver.db", sql, NULL, 0), SQLITE_OK);

	/* Older: refused unless asked to migrate. */
	s = store_open(tpath("ver.db"), STORE_OPEN_ANY_VERSION, &rc, err,
	    sizeof(err));
	if (s != NULL) {
		CHECK_INT(store_migrate(s, 1, 0), STORE_OK);
		store_close(s);
	}
	s = store_open(tpath("ver.db"), STORE_OPEN_CREATE, &rc, err,
	    sizeof(err));
	CHECK(s == NULL && rc == STORE_SCHEMA &&
	    strstr(err, "run spoolctl migrate") != NULL, "older: %s", err);
	s = store_open(tpath("ver.db"), STORE_OPEN_MIGRATE, &rc, err,
	    sizeof(err));
	CHECK(s != NULL, "migrate on open: %s", err);
	if (s != NULL) {
		CHECK_INT(store_version(s, &cur, &latest), STORE_OK);
		CHECK_INT(cur, latest);
		store_close(s);
	}

	/* A damaged version record. */
	CHECK_INT(raw("ver.db", "DELETE FROM schema_migrations WHERE "
	    "version = 1", NULL, 0), SQLITE_OK);
	s = store_open(tpath("ver.db"), STORE_OPEN_ANY_VERSION, &rc, err,
	    sizeof(err));
	CHECK(s == NULL && rc == STORE_SCHEMA && strstr(err, "damaged") != NULL,
	    "damaged: %s", err);
}

static void
devices(struct store *s)
{
	struct store_device d, d2;
	int64_t *ids = NULL;
	char *json = NULL, at[STORE_TIME_LEN + 1];
	size_t n = 0;

	put_device(s, 200, "staging");
	put_device(s, 100, "staging");
	CHECK_INT(store_device_get(s, 100, &d), STORE_OK);
	CHECK_INT(d.device_id, 100);
	CHECK_STR(d.serial_no, "SN-0001");
	CHECK_STR(d.model_name, "Server");
	CHECK_STR(d.env, "staging");
	CHECK_INT(d.last_global_no, 0);
	CHECK(!d.signing_blocked && d.block_reason == NULL, "blocked");
	CHECK(!d.has_key && d.cert_id == 0 && d.config_fetched_at == NULL,
	    "fresh device");
	CHECK(d.created_at != NULL && strlen(d.created_at) == 20 &&
	    d.created_at[19] == 'Z', "created_at %s", d.created_at);
	store_device_free(&d);

	/* Update keeps the environment; another one is refused. */
	memset(&d2, 0, sizeof(d2));
	d2.device_id = 100;
	d2.serial_no = "SN-0001";
	d2.model_name = "Server";
	d2.model_version = "v2";
	d2.env = "staging";
	d2.base_url = "https://fdmsapitest.zimra.co.zw";
	CHECK_INT(store_device_put(s, &d2), STORE_OK);
	CHECK_INT(store_device_get(s, 100, &d), STORE_OK);
	CHECK_STR(d.model_version, "v2");
	store_device_free(&d);
	d2.env = "production";
	CHECK_INT(store_device_put(s, &d2), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "registered in staging") != NULL, "%s",
	    store_errmsg(s));
	d2.env = "mars";
	CHECK_INT(store_device_put(s, &d2), STORE_REFUSED);
	d2.env = "staging";
	d2.device_id = 0;
	CHECK_INT(store_device_put(s, &d2), STORE_REFUSED);

	CHECK_INT(store_device_list(s, &ids, &n), STORE_OK);
	CHECK(n == 2 && ids[0] == 100 && ids[1] == 200, "list %zu", n);
	free(ids);

	CHECK_INT(store_device_get(s, 999, &d), STORE_NOTFOUND);
	CHECK(strstr(store_errmsg(s), "999") != NULL, "%s", store_errmsg(s));

	/* Block and unblock. */
	CHECK_INT(store_device_block(s, 200, "journal behind FDMS: 7 < 9"),
	    STORE_OK);
	CHECK_INT(store_device_get(s, 200, &d), STORE_OK);
	CHECK(d.signing_blocked && d.block_reason != NULL &&
	    strstr(d.block_reason, "7 < 9") != NULL && d.blocked_at != NULL,
	    "blocked");
	store_device_free(&d);
	CHECK_INT(store_device_block(s, 200, NULL), STORE_OK);
	CHECK_INT(store_device_get(s, 200, &d), STORE_OK);
	CHECK(!d.signing_blocked && d.block_reason == NULL, "unblocked");
	store_device_free(&d);
	CHECK_INT(store_device_block(s, 999, "x"), STORE_NOTFOUND);

	/* The high-water mark only rises. */
	CHECK_INT(store_device_raise_global_no(s, 200, 50), STORE_OK);
	CHECK_INT(store_device_raise_global_no(s, 200, 10), STORE_OK);
	CHECK_INT(store_device_get(s, 200, &d), STORE_OK);
	CHECK_INT(d.last_global_no, 50);
	store_device_free(&d);

	/* GetConfig. */
	CHECK_INT(store_config_get(s, 100, &json, at), STORE_NOTFOUND);
	CHECK_INT(store_config_put(s, 100, "{\"qrUrl\":\"https://x\"}", NULL),
	    STORE_OK);
	CHECK_INT(store_config_get(s, 100, &json, at), STORE_OK);
	CHECK_STR(json, "{\"qrUrl\":\"https://x\"}");
	CHECK(strlen(at) == 20, "fetched %s", at);
	free(json);
	CHECK_INT(store_config_put(s, 100, "{}", "2026-03-02T08:00:00Z"),
	    STORE_OK);
	CHECK_INT(store_config_get(s, 100, &json, at), STORE_OK);
	CHECK_STR(at, "2026-03-02T08:00:00Z");
	free(json);
	CHECK_INT(store_device_get(s, 100, &d), STORE_OK);
	CHECK_STR(d.config_fetched_at, "2026-03-02T08:00:00Z");
	store_device_free(&d);
	CHECK_INT(store_config_put(s, 999, "{}", NULL), STORE_NOTFOUND);
}

static void
credentials(struct store *s, const char *dbname)
{
	unsigned char fkey[32], other[32];
	struct store_cert c;
	struct store_device d;
	char *cert1, *cert2, *key1 = NULL, *key2 = NULL, *pem = NULL;
	int64_t id1 = 0, id2 = 0;
	size_t len = 0;
	bool enc = true;

	cert1 = make_cert(365, &key1);
	cert2 = make_cert(730, &key2);
	if (cert1 == NULL || cert2 == NULL || key1 == NULL || key2 == NULL) {
		CHECK(0, "test certificates");
		goto out;
	}
	CHECK_INT(store_cert_get(s, 100, STORE_CERT_CURRENT, &c),
	    STORE_NOTFOUND);
	CHECK_INT(store_cert_put(s, 100, cert1, &id1), STORE_OK);
	CHECK_INT(store_cert_put(s, 100, cert2, &id2), STORE_OK);
	CHECK(id1 > 0 && id2 > id1, "ids %lld %lld", (long long)id1,
	    (long long)id2);
	CHECK_INT(store_cert_get(s, 100, STORE_CERT_CURRENT, &c), STORE_OK);
	CHECK(c.cert_id == id2 && strcmp(c.pem, cert2) == 0, "current");
	CHECK(c.thumbprint != NULL && strlen(c.thumbprint) == 40, "thumb");
	CHECK(c.not_after != NULL && strlen(c.not_after) == 20 &&
	    strcmp(c.not_after, c.not_before) > 0, "validity %s..%s",
	    c.not_before, c.not_after);
	store_cert_free(&c);
	CHECK_INT(store_cert_get(s, 100, STORE_CERT_PREVIOUS, &c), STORE_OK);
	CHECK(c.cert_id == id1 && strcmp(c.pem, cert1) == 0, "previous");
	store_cert_free(&c);
	CHECK_INT(store_cert_get(s, 100, id1, &c), STORE_OK);
	CHECK_INT(c.cert_id, id1);
	store_cert_free(&c);
	CHECK_INT(store_cert_get(s, 200, id1, &c), STORE_NOTFOUND);
	CHECK_INT(store_device_get(s, 100, &d), STORE_OK);
	CHECK_INT(d.cert_id, id2);
	CHECK(d.cert_not_after != NULL, "cert expiry in device");
	store_device_free(&d);
	CHECK_INT(store_cert_put(s, 100, cert2, NULL), STORE_DUPLICATE);
	CHECK_INT(store_cert_put(s, 100, "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n", NULL), STORE_REFUSED);
	CHECK_INT(store_cert_put(s, 999, cert1, NULL), STORE_NOTFOUND);

	/* Keys: encrypted with the Fernet key, or flagged clear. */
	CHECK_INT(fernet_key_generate(fkey), 0);
	CHECK_INT(fernet_key_generate(other), 0);
	CHECK_INT(store_key_get(s, 100, fkey, &pem, &len, &enc),
	    STORE_NOTFOUND);
	CHECK_INT(store_key_put(s, 100, key1, strlen(key1), fkey), STORE_OK);
	CHECK_INT(raw_int(dbname, "SELECT count(*) FROM device_keys WHERE "
	    "key_blob LIKE 'gAAAAA%' AND key_blob NOT LIKE '%PRIVATE%' AND "
	    "encrypted = 1"), 1);
	CHECK_INT(store_key_get(s, 100, fkey, &pem, &len, &enc), STORE_OK);
	CHECK(pem != NULL && len == strlen(key1) && strcmp(pem, key1) == 0 &&
	    enc, "decrypted key");
	store_secret_free(pem, len);
	pem = NULL;
	CHECK_INT(store_key_get(s, 100, NULL, &pem, &len, &enc),
	    STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "FDMS_ENCRYPTION_KEY") != NULL, "%s",
	    store_errmsg(s));
	CHECK_INT(store_key_get(s, 100, other, &pem, &len, &enc),
	    STORE_REFUSED);
	CHECK(pem == NULL && strstr(store_errmsg(s), "wrong key") != NULL,
	    "%s", store_errmsg(s));
	CHECK_INT(store_device_get(s, 100, &d), STORE_OK);
	CHECK(d.has_key && d.key_encrypted, "key flags");
	store_device_free(&d);

	/* Clear (no key configured): flagged, readable with or without. */
	CHECK_INT(store_key_put(s, 200, key2, strlen(key2), NULL), STORE_OK);
	CHECK_INT(store_key_get(s, 200, fkey, &pem, &len, &enc), STORE_OK);
	CHECK(pem != NULL && strcmp(pem, key2) == 0 && !enc, "clear key");
	store_secret_free(pem, len);
	pem = NULL;
	CHECK_INT(store_device_get(s, 200, &d), STORE_OK);
	CHECK(d.has_key && !d.key_encrypted, "clear flags");
	store_device_free(&d);
	CHECK_INT(store_key_put(s, 999, key2, strlen(key2), NULL),
	    STORE_NOTFOUND);
	CHECK_INT(store_key_put(s, 100, key2, 0, NULL), STORE_REFUSED);
out:
	free(cert1);
	free(cert2);
	free(key1);
	free(key2);
}

static int
contains(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return 1;
	return 0;
}

/* A replaced clear key must not linger in the file (secure_delete). */
static void
key_wiped(void)
{
	struct store *s = open_db("wipe.db", STORE_OPEN_CREATE);
	static const char secret[] = "-----BEGIN PRIVATE KEY-----\n"
	    "OLDSECRETOLDSECRETOLDSECRET\n-----END PRIVATE KEY-----\n";
	static const char fresh[] = "-----BEGIN PRIVATE KEY-----\n"
	    "newnewnewnewnewnewnewnewnew\n-----END PRIVATE KEY-----\n";
	char err[256], *bytes = NULL;
	size_t len = 0;

	if (s == NULL)
		return;
	put_device(s, 1, "development");
	CHECK_INT(store_key_put(s, 1, secret, strlen(secret), NULL), STORE_OK);
	CHECK_INT(store_key_put(s, 1, fresh, strlen(fresh), NULL), STORE_OK);
	store_close(s);		/* checkpoints the WAL into the file */
	CHECK_INT(fsutil_read_file(tpath("wipe.db"), 1 << 24, &bytes, &len,
	    err, sizeof(err)), FSREAD_OK);
	CHECK(bytes != NULL && !contains(bytes, len, "OLDSECRET"),
	    "old key bytes still in the file");
	CHECK(bytes != NULL && contains(bytes, len, "newnewnew"),
	    "new key not in the file");
	free(bytes);
}

static void
days(struct store *s)
{
	struct store_day_update u;
	struct store_day d;

	CHECK_INT(store_day_get(s, 100, 0, &d), STORE_NOTFOUND);
	CHECK_INT(store_day_open(s, 100, 1, "2026-03-01T07:00:00"), STORE_OK);
	CHECK_INT(store_day_open(s, 100, 2, "2026-03-01T07:00:00"),
	    STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "still open") != NULL, "%s",
	    store_errmsg(s));
	CHECK_INT(store_day_open(s, 100, 2, "2026-03-01 07:00"),
	    STORE_REFUSED);
	CHECK_INT(store_day_open(s, 999, 1, "2026-03-01T07:00:00"),
	    STORE_NOTFOUND);

	CHECK_INT(store_day_get(s, 100, 0, &d), STORE_OK);
	CHECK(d.day_no == 1 && d.status == STORE_DAY_OPEN &&
	    strcmp(d.opened, "2026-03-01T07:00:00") == 0 &&
	    d.receipt_counter == 0 && d.last_hash == NULL &&
	    d.open_operation_id == NULL && d.counters.n == 0, "day 1");
	store_day_free(&d);

	/* FDMS acknowledged the opening. */
	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_OPEN;
	u.open_operation_id = "0HMPH9AF0QKKE:00000001";
	CHECK_INT(store_day_update(s, 100, 1, &u), STORE_OK);
	CHECK_INT(store_day_get(s, 100, 1, &d), STORE_OK);
	CHECK_STR(d.open_operation_id, "0HMPH9AF0QKKE:00000001");
	store_day_free(&d);
	CHECK_INT(store_day_get(s, 100, 7, &d), STORE_NOTFOUND);
	CHECK_INT(store_day_update(s, 100, 7, &u), STORE_NOTFOUND);
}

/* The close of a day, after its receipts: request, failure, success. */
static void
close_day(struct store *s, struct chain *c)
{
	struct store_day_update u;
	struct store_day d;

	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_CLOSE_REQUESTED;
	u.close_request = "{\"fiscalDayNo\":1}";
	u.close_hash = "closehash";
	u.close_signature = "closesig";
	CHECK_INT(store_day_update(s, c->dev, c->day, &u), STORE_OK);
	/* No receipts while a close is in flight. */
	CHECK_INT(add_receipt(s, c, NULL), STORE_REFUSED);
	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_CLOSE_FAILED;
	u.error_code = "CountersMismatch";
	u.fdms_answer = "{\"fiscalDayStatus\":\"FiscalDayCloseFailed\"}";
	CHECK_INT(store_day_update(s, c->dev, c->day, &u), STORE_OK);
	/* Receipts are accepted again after a failed close. */
	CHECK_INT(add_receipt(s, c, NULL), STORE_OK);
	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_CLOSED;
	u.closed = "2026-03-01T23:00:00";
	u.close_operation_id = "op-close";
	CHECK_INT(store_day_update(s, c->dev, c->day, &u), STORE_OK);
	CHECK_INT(store_day_get(s, c->dev, c->day, &d), STORE_OK);
	CHECK(d.status == STORE_DAY_CLOSED && d.close_request != NULL &&
	    strcmp(d.close_hash, "closehash") == 0 &&
	    strcmp(d.error_code, "CountersMismatch") == 0 &&
	    strcmp(d.closed, "2026-03-01T23:00:00") == 0 &&
	    strcmp(d.close_operation_id, "op-close") == 0, "closed day");
	store_day_free(&d);
	/* Final. */
	u.status = STORE_DAY_OPEN;
	CHECK_INT(store_day_update(s, c->dev, c->day, &u), STORE_REFUSED);
	CHECK_INT(add_receipt(s, c, NULL), STORE_REFUSED);
	/* Not after day 1; then day 2 opens. */
	CHECK_INT(store_day_open(s, c->dev, 1, "2026-03-02T07:00:00"),
	    STORE_REFUSED);
	CHECK_INT(store_day_open(s, c->dev, 2, "2026-03-02T07:00:00"),
	    STORE_OK);
	c->day = 2;
	c->counter = 0;
	c->prev[0] = '\0';
}

static void
receipts(struct store *s, struct chain *c)
{
	struct store_receipt r, got;
	struct counters k;
	struct store_day d;
	struct rbuf b;
	int i;

	for (i = 0; i < 3; i++)
		CHECK_INT(add_receipt(s, c, NULL), STORE_OK);
	CHECK_INT(store_day_get(s, c->dev, c->day, &d), STORE_OK);
	CHECK_INT(d.receipt_counter, 3);
	CHECK_STR(d.last_hash, c->prev);
	CHECK_INT(counter_value(&d, COUNTER_SALE_BY_TAX, 0), 3 * 1655);
	CHECK_INT(counter_value(&d, COUNTER_SALE_TAX_BY_TAX, 0), 3 * 222);
	CHECK_INT(counter_value(&d, COUNTER_BALANCE_BY_MONEY_TYPE,
	    MONEY_CASH), 3 * 1655);
	CHECK_INT(counter_value(&d, COUNTER_BALANCE_BY_MONEY_TYPE,
	    MONEY_CARD), -1);
	CHECK_INT(d.counters.n, 3);
	store_day_free(&d);

	/* Read back every way; the wire JSON byte for byte. */
	fill(&r, &b, &(struct chain){ c->dev, c->day, 1, c->global - 2, "" },
	    NULL);
	CHECK_INT(store_receipt_by_global(s, c->dev, c->global - 1, &got),
	    STORE_OK);
	CHECK(got.global_no == c->global - 1 && got.counter == 2 &&
	    got.day_no == c->day && got.type == RECEIPT_FISCAL_INVOICE &&
	    got.total == 1655 && got.state == STORE_R_SIGNED &&
	    got.attempts == 0 && !got.has_fdms_receipt_id &&
	    got.prev_hash != NULL && got.created_at != NULL, "by global");
	CHECK(got.wire_len == r.wire_len &&
	    memcmp(got.wire_json, r.wire_json, r.wire_len) == 0,
	    "wire JSON changed: %s", got.wire_json);
	CHECK_STR(got.invoice_no, r.invoice_no);
	CHECK_STR(got.source_sha256, r.source_sha256);
	store_receipt_free(&got);
	CHECK_INT(store_receipt_by_invoice(s, c->dev, r.invoice_no, &got),
	    STORE_OK);
	CHECK_INT(got.global_no, c->global - 1);
	store_receipt_free(&got);
	CHECK_INT(store_receipt_by_source(s, c->dev, r.source_sha256, &got),
	    STORE_OK);
	CHECK_INT(got.global_no, c->global - 1);
	store_receipt_free(&got);
	CHECK_INT(store_receipt_by_global(s, c->dev, 9999, &got),
	    STORE_NOTFOUND);
	CHECK_INT(store_receipt_by_invoice(s, c->dev, "nope", &got),
	    STORE_NOTFOUND);
	CHECK_INT(store_receipt_by_source(s, c->dev, "ABC", &got),
	    STORE_REFUSED);

	/* Double inserts: each unique key on its own. */
	sale_counters(&k, 1, 1);
	fill(&r, &b, c, "INV-100-1");		/* invoice of receipt 1 */
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_DUPLICATE);
	CHECK(strstr(store_errmsg(s), "invoice number INV-100-1") != NULL,
	    "%s", store_errmsg(s));
	fill(&r, &b, c, NULL);
	snprintf(b.sha, sizeof(b.sha), "%064llx",
	    (unsigned long long)(c->dev * 1000000 + 1));
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_DUPLICATE);
	CHECK(strstr(store_errmsg(s), "this content") != NULL, "%s",
	    store_errmsg(s));
	fill(&r, &b, c, NULL);
	r.global_no = c->global;		/* the last one's number */
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_DUPLICATE);
	fill(&r, &b, c, NULL);
	r.counter = 1;
	r.prev_hash = NULL;
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_DUPLICATE);

	/* The chain: every wrong link refused. */
	fill(&r, &b, c, NULL);
	r.counter++;
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "counter") != NULL, "%s",
	    store_errmsg(s));
	fill(&r, &b, c, NULL);
	r.global_no++;
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "global number") != NULL, "%s",
	    store_errmsg(s));
	fill(&r, &b, c, NULL);
	r.prev_hash = "forked";
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "previous hash") != NULL, "%s",
	    store_errmsg(s));
	fill(&r, &b, c, NULL);
	r.date = "2026-01-01T00:00:00";
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "date") != NULL, "%s", store_errmsg(s));
	fill(&r, &b, c, NULL);
	r.day_no = 5;
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "not in the journal") != NULL, "%s",
	    store_errmsg(s));
	fill(&r, &b, c, NULL);
	r.cert_id = 424242;
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	fill(&r, &b, c, NULL);
	r.prev_hash = NULL;			/* shape: not the first */
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	fill(&r, &b, c, NULL);
	r.wire_len--;
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	fill(&r, &b, c, NULL);
	r.currency = "usd";
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	fill(&r, &b, c, NULL);
	r.source_sha256 = "DEADBEEF";
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);

	/* A blocked device signs nothing. */
	CHECK_INT(store_device_block(s, c->dev, "resync: behind"), STORE_OK);
	fill(&r, &b, c, NULL);
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "blocked") != NULL, "%s",
	    store_errmsg(s));
	CHECK_INT(store_device_block(s, c->dev, NULL), STORE_OK);
	counters_free(&k);

	/* A credit note's negative counters add as they are. */
	{
		struct counters cn;
		struct counter x;

		fill(&r, &b, c, NULL);
		r.type = RECEIPT_CREDIT_NOTE;
		r.total = -1655;
		counters_init(&cn);
		memset(&x, 0, sizeof(x));
		memcpy(x.currency, "USD", 4);
		x.type = COUNTER_BALANCE_BY_MONEY_TYPE;
		x.money_type = MONEY_CASH;
		x.value = -1655;
		counters_add(&cn, &x);
		CHECK_INT(store_receipt_insert(s, &r, &cn), STORE_OK);
		counters_free(&cn);
		c->global++;
		c->counter++;
		snprintf(c->prev, sizeof(c->prev), "%s", b.hash);
		CHECK_INT(store_day_get(s, c->dev, c->day, &d), STORE_OK);
		CHECK_INT(counter_value(&d, COUNTER_BALANCE_BY_MONEY_TYPE,
		    MONEY_CASH), 2 * 1655);
		store_day_free(&d);
		CHECK_INT(store_receipt_by_global(s, c->dev, c->global, &got),
		    STORE_OK);
		CHECK(got.type == RECEIPT_CREDIT_NOTE && got.total == -1655,
		    "credit note");
		store_receipt_free(&got);
	}
}

/* Everything the fiscalisation transaction touches. */
struct snap {
	struct store_stats	st;
	int64_t			counter, cash, n_counters;
	char			hash[48];
};

static void
snapshot(struct store *s, int64_t dev, int64_t day, struct snap *x)
{
	struct store_day d;

	memset(x, 0, sizeof(*x));
	CHECK_INT(store_stats(s, dev, NULL, &x->st), STORE_OK);
	if (store_day_get(s, dev, day, &d) == STORE_OK) {
		x->counter = d.receipt_counter;
		x->cash = counter_value(&d, COUNTER_BALANCE_BY_MONEY_TYPE,
		    MONEY_CASH);
		x->n_counters = (int64_t)d.counters.n;
		snprintf(x->hash, sizeof(x->hash), "%s",
		    d.last_hash ? d.last_hash : "");
		store_day_free(&d);
	}
}

static int
same(const struct snap *a, const struct snap *b)
{
	return memcmp(&a->st, &b->st, sizeof(a->st)) == 0 &&
	    a->counter == b->counter && a->cash == b->cash &&
	    a->n_counters == b->n_counters && strcmp(a->hash, b->hash) == 0;
}

static void
atomicity(struct store *s, struct chain *c)
{
	struct snap before, after;
	struct store_receipt r, got;
	struct counters k;
	struct counter x;
	struct rbuf b;
	int step;

	snapshot(s, c->dev, c->day, &before);
	for (step = 1; step <= STORE_SQLITE_STEPS; step++) {
		store_sqlite_test_faults(s, step, 0);
		CHECK_INT(add_receipt(s, c, NULL), STORE_ERROR);
		CHECK(strstr(store_errmsg(s), "injected fault") != NULL,
		    "step %d: %s", step, store_errmsg(s));
		snapshot(s, c->dev, c->day, &after);
		CHECK(same(&before, &after), "step %d left a trace", step);
		CHECK_INT(store_receipt_by_global(s, c->dev, c->global + 1,
		    &got), STORE_NOTFOUND);
	}
	/* COMMIT itself fails (a commit hook, as a full disk would). */
	store_sqlite_test_faults(s, 0, 1);
	CHECK_INT(add_receipt(s, c, NULL), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "COMMIT") != NULL, "%s",
	    store_errmsg(s));
	snapshot(s, c->dev, c->day, &after);
	CHECK(same(&before, &after), "a failed COMMIT left a trace");
	store_sqlite_test_faults(s, 0, 0);
	CHECK_INT(store_integrity_check(s), STORE_OK);

	/* A real failure in the middle: the second counter overflows. */
	fill(&r, &b, c, NULL);
	counters_init(&k);
	memset(&x, 0, sizeof(x));
	memcpy(x.currency, "ZWG", 4);
	x.type = COUNTER_BALANCE_BY_MONEY_TYPE;
	x.money_type = MONEY_COUPON;
	x.value = INT64_MAX;
	counters_add(&k, &x);
	x.money_type = MONEY_CASH;		/* USD cash exists: adds 1 */
	memcpy(x.currency, "USD", 4);
	x.value = INT64_MAX;
	counters_add(&k, &x);
	CHECK_INT(store_receipt_insert(s, &r, &k), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "UPSERT day_counters") != NULL, "%s",
	    store_errmsg(s));
	counters_free(&k);
	snapshot(s, c->dev, c->day, &after);
	CHECK(same(&before, &after), "overflow left a trace");
	CHECK_INT(raw_int("store.db", "SELECT count(*) FROM day_counters "
	    "WHERE currency = 'ZWG'"), 0);

	/* And then it works. */
	CHECK_INT(add_receipt(s, c, NULL), STORE_OK);
	snapshot(s, c->dev, c->day, &after);
	CHECK(after.st.receipts == before.st.receipts + 1 &&
	    after.counter == before.counter + 1 &&
	    after.cash == before.cash + 1655, "after success");
}

static void
submission(struct store *s, struct chain *c)
{
	struct store_answer a;
	struct store_receipt r;
	struct store_stats st;
	int64_t first, i;

	CHECK_INT(store_receipt_next_pending(s, c->dev, &r), STORE_OK);
	first = r.global_no;
	CHECK_INT(first, 1);
	store_receipt_free(&r);
	CHECK_INT(store_stats(s, c->dev, "2026-03-02", &st), STORE_OK);
	CHECK_INT(st.pending, c->global);
	CHECK_INT(st.receipts, c->global);
	CHECK_INT(st.last_global_no, c->global);
	CHECK(st.date_receipts > 0 && st.date_receipts < st.receipts,
	    "by date %lld", (long long)st.date_receipts);
	CHECK_INT(store_stats(s, c->dev, "2026-3-2", &st), STORE_REFUSED);

	/* Not the lowest: refused; no answer without an attempt. */
	CHECK_INT(store_receipt_attempt(s, c->dev, first + 1), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "must go first") != NULL, "%s",
	    store_errmsg(s));
	memset(&a, 0, sizeof(a));
	a.receipt_id = 991;
	a.server_date = "2026-03-01T10:00:01";
	a.server_signature = "{\"hash\":\"x\",\"signature\":\"y\"}";
	a.operation_id = "op-1";
	CHECK_INT(store_receipt_answer(s, c->dev, first, &a), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "record the attempt") != NULL, "%s",
	    store_errmsg(s));
	CHECK_INT(store_receipt_failed(s, c->dev, first, "timeout"),
	    STORE_REFUSED);

	/* Attempt, network failure, attempt again, answer. */
	CHECK_INT(store_receipt_attempt(s, c->dev, first), STORE_OK);
	CHECK_INT(store_receipt_failed(s, c->dev, first, "connect: refused"),
	    STORE_OK);
	CHECK_INT(store_stats(s, c->dev, NULL, &st), STORE_OK);
	CHECK_INT(st.in_doubt, 1);
	CHECK_INT(st.date_receipts, 0);
	CHECK_INT(store_receipt_attempt(s, c->dev, first), STORE_OK);
	CHECK_INT(store_receipt_by_global(s, c->dev, first, &r), STORE_OK);
	CHECK(r.state == STORE_R_SUBMITTING && r.attempts == 2 &&
	    r.last_attempt_at != NULL &&
	    strcmp(r.last_error, "connect: refused") == 0, "in doubt");
	store_receipt_free(&r);
	CHECK_INT(store_receipt_answer(s, c->dev, first, &a), STORE_OK);
	CHECK_INT(store_receipt_by_global(s, c->dev, first, &r), STORE_OK);
	CHECK(r.state == STORE_R_SUBMITTED && r.has_fdms_receipt_id &&
	    r.fdms_receipt_id == 991 && strcmp(r.operation_id, "op-1") == 0 &&
	    r.last_error == NULL && r.validation_errors == NULL &&
	    strcmp(r.server_date, "2026-03-01T10:00:01") == 0, "answered");
	store_receipt_free(&r);
	CHECK_INT(store_receipt_attempt(s, c->dev, first), STORE_REFUSED);
	CHECK(strstr(store_errmsg(s), "submitted") != NULL, "%s",
	    store_errmsg(s));
	CHECK_INT(store_receipt_answer(s, c->dev, first, &a), STORE_REFUSED);
	CHECK_INT(store_receipt_attempt(s, c->dev, 99999), STORE_NOTFOUND);

	/* The next one, flagged by FDMS. */
	CHECK_INT(store_receipt_next_pending(s, c->dev, &r), STORE_OK);
	CHECK_INT(r.global_no, first + 1);
	store_receipt_free(&r);
	CHECK_INT(store_receipt_attempt(s, c->dev, first + 1), STORE_OK);
	a.receipt_id = 992;
	a.flagged = true;
	CHECK_INT(store_receipt_answer(s, c->dev, first + 1, &a),
	    STORE_REFUSED);			/* flagged needs the errors */
	a.validation_errors = "[{\"validationErrorCode\":\"RCPT014\","
	    "\"validationErrorColor\":\"Yellow\"}]";
	CHECK_INT(store_receipt_answer(s, c->dev, first + 1, &a), STORE_OK);
	CHECK_INT(store_stats(s, c->dev, NULL, &st), STORE_OK);
	CHECK_INT(st.flagged, 1);
	CHECK_INT(st.pending, c->global - 2);
	CHECK_INT(st.in_doubt, 0);

	/* Drain the rest in order. */
	a.flagged = false;
	a.validation_errors = NULL;
	for (i = 0; store_receipt_next_pending(s, c->dev, &r) == STORE_OK;
	    i++) {
		int64_t g = r.global_no;

		store_receipt_free(&r);
		a.receipt_id = 1000 + g;
		if (store_receipt_attempt(s, c->dev, g) != STORE_OK ||
		    store_receipt_answer(s, c->dev, g, &a) != STORE_OK) {
			CHECK(0, "drain %lld: %s", (long long)g,
			    store_errmsg(s));
			break;
		}
	}
	CHECK_INT(i, c->global - 2);
	CHECK_INT(store_receipt_next_pending(s, c->dev, &r), STORE_NOTFOUND);
}

struct walk {
	struct store	*s;
	int64_t		 n, last_day, last_counter, last_global;
	int		 ordered, stop_at, reads_ok;
	unsigned long	 sum;
};

static int
walk_cb(const struct store_receipt *r, void *arg)
{
	struct walk *w = arg;
	struct store_day d;
	size_t i;

	if (r->day_no < w->last_day || (r->day_no == w->last_day &&
	    r->counter != w->last_counter + 1) ||
	    (r->day_no > w->last_day && r->counter != 1) ||
	    r->global_no != w->last_global + 1)
		w->ordered = 0;
	w->last_day = r->day_no;
	w->last_counter = r->counter;
	w->last_global = r->global_no;
	for (i = 0; i < r->wire_len; i++)
		w->sum = w->sum * 31 + (unsigned char)r->wire_json[i];
	w->n++;
	/* Reading from the store inside the walk (audit does). */
	if (w->n == 1) {
		w->reads_ok = store_day_get(w->s, r->device_id, r->day_no,
		    &d) == STORE_OK;
		store_day_free(&d);
	}
	return w->stop_at != 0 && w->n == w->stop_at ? 42 : 0;
}

static void
iteration(struct store *s, struct chain *c, struct walk *all)
{
	struct walk w;

	memset(all, 0, sizeof(*all));
	all->s = s;
	all->ordered = 1;
	CHECK_INT(store_receipts_each(s, c->dev, 0, walk_cb, all), STORE_OK);
	CHECK_INT(all->n, c->global);
	CHECK(all->ordered, "journal order");
	CHECK(all->reads_ok, "read inside the walk");

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.ordered = 1;
	w.last_day = 1;
	w.last_global = c->global - c->counter;
	CHECK_INT(store_receipts_each(s, c->dev, c->day, walk_cb, &w),
	    STORE_OK);
	CHECK_INT(w.n, c->counter);
	CHECK(w.ordered, "day order");

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.stop_at = 3;
	CHECK_INT(store_receipts_each(s, c->dev, 0, walk_cb, &w), 42);
	CHECK_INT(w.n, 3);
	memset(&w, 0, sizeof(w));
	CHECK_INT(store_receipts_each(s, 999, 0, walk_cb, &w), STORE_OK);
	CHECK_INT(w.n, 0);
}

/* Many receipts in one group; then a streamed walk over all of them. */
static void
bulk(void)
{
	struct store *s = open_db("bulk.db", STORE_OPEN_CREATE);
	struct chain c = { 7, 1, 0, 0, "" };
	struct walk w;
	int i, failed = 0;

	if (s == NULL)
		return;
	put_device(s, 7, "development");
	CHECK_INT(store_day_open(s, 7, 1, "2026-03-01T00:00:00"), STORE_OK);
	CHECK_INT(store_begin(s), STORE_OK);
	for (i = 0; i < 5000 && !failed; i++)
		if (add_receipt(s, &c, NULL) != STORE_OK) {
			CHECK(0, "bulk %d: %s", i, store_errmsg(s));
			failed = 1;
		}
	CHECK_INT(store_commit(s), STORE_OK);
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.ordered = 1;
	CHECK_INT(store_receipts_each(s, 7, 0, walk_cb, &w), STORE_OK);
	CHECK_INT(w.n, 5000);
	CHECK(w.ordered, "bulk order");
	store_close(s);
}

static void
transactions(struct store *s, const char *dbname)
{
	struct chain c = { 300, 1, 0, 0, "" };
	struct store_device d;
	char *cert;
	char *pem = NULL;
	size_t len;
	bool enc;

	put_device(s, 300, "staging");
	cert = make_cert(10, NULL);
	if (cert == NULL) {
		CHECK(0, "cert");
		return;
	}
	/* Rolled back: neither the certificate nor the key. */
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_begin(s), STORE_REFUSED);
	CHECK_INT(store_cert_put(s, 300, cert, NULL), STORE_OK);
	CHECK_INT(store_key_put(s, 300, "KEY", 3, NULL), STORE_OK);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_rollback(s), STORE_REFUSED);
	CHECK_INT(store_commit(s), STORE_REFUSED);
	CHECK_INT(store_device_get(s, 300, &d), STORE_OK);
	CHECK(!d.has_key && d.cert_id == 0, "rolled back");
	store_device_free(&d);

	/* A failing operation inside a group undoes only itself. */
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_cert_put(s, 300, cert, NULL), STORE_OK);
	CHECK_INT(store_cert_put(s, 300, cert, NULL), STORE_DUPLICATE);
	CHECK_INT(store_key_put(s, 300, "KEY", 3, NULL), STORE_OK);
	/* Not durable yet: another connection does not see it. */
	CHECK_INT(raw_int(dbname, "SELECT count(*) FROM device_keys WHERE "
	    "device_id = 300"), 0);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(raw_int(dbname, "SELECT count(*) FROM device_keys WHERE "
	    "device_id = 300"), 1);
	CHECK_INT(store_key_get(s, 300, NULL, &pem, &len, &enc), STORE_OK);
	CHECK_STR(pem, "KEY");
	store_secret_free(pem, len);

	/* A failed COMMIT of a group: reported, nothing kept. */
	CHECK_INT(store_day_open(s, 300, 1, "2026-03-01T00:00:00"), STORE_OK);
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(add_receipt(s, &c, NULL), STORE_OK);
	store_sqlite_test_faults(s, 0, 1);
	CHECK_INT(store_commit(s), STORE_ERROR);
	store_sqlite_test_faults(s, 0, 0);
	CHECK_INT(raw_int(dbname, "SELECT count(*) FROM receipts WHERE "
	    "device_id = 300"), 0);
	CHECK_INT(store_device_get(s, 300, &d), STORE_OK);
	CHECK_INT(d.last_global_no, 0);
	store_device_free(&d);
	free(cert);
}

/* The schema refuses on its own what the store would (raw SQL). */
static void
backstops(const char *dbname)
{
	char msg[256];

	CHECK_INT(raw(dbname, "DELETE FROM receipts WHERE global_no = 1", msg,
	    sizeof(msg)), SQLITE_CONSTRAINT);
	CHECK(strstr(msg, "never deleted") != NULL, "%s", msg);
	CHECK_INT(raw(dbname, "UPDATE receipts SET wire_json = '{}' WHERE "
	    "global_no = 1", msg, sizeof(msg)), SQLITE_CONSTRAINT);
	CHECK(strstr(msg, "never changed") != NULL, "%s", msg);
	CHECK_INT(raw(dbname, "UPDATE fiscal_days SET status = 'open' WHERE "
	    "device_id = 100 AND day_no = 1", msg, sizeof(msg)),
	    SQLITE_CONSTRAINT);
	CHECK(strstr(msg, "final") != NULL, "%s", msg);
	CHECK_INT(raw(dbname, "DELETE FROM fiscal_days", msg, sizeof(msg)),
	    SQLITE_CONSTRAINT);
	CHECK_INT(raw(dbname, "INSERT INTO fiscal_days (device_id, day_no, "
	    "opened, status, opened_at, updated_at) VALUES (100, 9, "
	    "'2026-03-09T00:00:00', 'open', 'x', 'x')", msg, sizeof(msg)),
	    SQLITE_CONSTRAINT);
	CHECK(strstr(msg, "UNIQUE") != NULL, "%s", msg);
	CHECK_INT(raw(dbname, "INSERT INTO receipts SELECT * FROM receipts "
	    "WHERE global_no = 1", msg, sizeof(msg)), SQLITE_CONSTRAINT);
	CHECK(strstr(msg, "UNIQUE") != NULL, "%s", msg);
	CHECK_INT(raw(dbname, "UPDATE day_counters SET value = 1.5", msg,
	    sizeof(msg)), SQLITE_CONSTRAINT);
	CHECK_INT(raw(dbname, "UPDATE receipts SET state = 'bogus'", msg,
	    sizeof(msg)), SQLITE_CONSTRAINT);
}

static void
backup(struct store *s, const struct walk *all, int64_t dev)
{
	char err[STORE_ERRMSG_MAX];
	struct store_stats a, b;
	enum store_rc rc;
	struct store *bs, *w;
	struct stat sb;
	struct walk bw;
	struct chain c = { 300, 1, 0, 0, "" };

	/* A second writer holds an uncommitted receipt during the copy. */
	w = open_db("store.db", 0);
	if (w == NULL)
		return;
	CHECK_INT(store_stats(s, dev, NULL, &a), STORE_OK);
	CHECK_INT(store_begin(w), STORE_OK);
	CHECK_INT(add_receipt(w, &c, NULL), STORE_OK);
	CHECK_INT(store_backup(s, tpath("backup.db")), STORE_OK);
	CHECK_INT(store_commit(w), STORE_OK);
	store_close(w);

	CHECK_INT(store_backup(s, tpath("backup.db")), STORE_REFUSED);
	CHECK(stat(tpath("backup.db"), &sb) == 0 &&
	    (sb.st_mode & 0777) == 0600, "backup mode %o",
	    (unsigned)(sb.st_mode & 0777));
	CHECK(access(tpath("backup.db-wal"), F_OK) == -1, "backup has a WAL");
	CHECK_INT(raw_int("backup.db", "SELECT count(*) FROM receipts WHERE "
	    "device_id = 300"), 0);

	bs = store_open(tpath("backup.db"), 0, &rc, err, sizeof(err));
	CHECK(bs != NULL, "open backup: %s", err);
	if (bs == NULL)
		return;
	CHECK_INT(store_integrity_check(bs), STORE_OK);
	CHECK_INT(store_stats(bs, dev, NULL, &b), STORE_OK);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0, "backup stats differ");
	memset(&bw, 0, sizeof(bw));
	bw.s = bs;
	bw.ordered = 1;
	CHECK_INT(store_receipts_each(bs, dev, 0, walk_cb, &bw), STORE_OK);
	CHECK(bw.n == all->n && bw.sum == all->sum && bw.ordered,
	    "backup rows differ: %lld vs %lld", (long long)bw.n,
	    (long long)all->n);
	store_close(bs);
	CHECK_INT(raw_int("backup.db", "PRAGMA application_id"), 0x53504c44);
}

static void
integrity(void)
{
	struct store *s = open_db("fk.db", STORE_OPEN_CREATE);

	if (s == NULL)
		return;
	CHECK_INT(store_integrity_check(s), STORE_OK);
	CHECK_INT(raw("fk.db", "PRAGMA foreign_keys = OFF; INSERT INTO "
	    "device_keys VALUES (77, 'k', 0, 'x')", NULL, 0), SQLITE_OK);
	CHECK_INT(store_integrity_check(s), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "foreign_key_check") != NULL, "%s",
	    store_errmsg(s));
	store_close(s);
}

/* -- configuration ----------------------------------------------------- */

static const char *const vars[] = {
	"FDMS_ENV", "SPOOL_DIR", "DATABASE_URL", "FDMS_BASE_URL",
	"FDMS_CA_FILE", "LOGS_DIR", "FDMS_ENCRYPTION_KEY", "FDMS_TZ",
	"BACKUP_DIR", "BACKUP_RETAIN_DAYS", "FDMS_DEVICE_ID",
	"FDMS_DEVICE_SERIAL_NO", "FDMS_ACTIVATION_KEY",
	"FDMS_DEVICE_MODEL_NAME", "FDMS_DEVICE_MODEL_VERSION", "SECRET_KEY",
	"SPOOLD_CONF",
};

static struct config *
load_conf(const char *env, const char *db, const char *serial)
{
	struct config_problems p;
	struct config *cfg;
	size_t i;
	FILE *f;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	if ((f = fopen(tpath("spoold.conf"), "w")) == NULL)
		return NULL;
	fprintf(f, "[global]\nenv = %s\ndatabase = %s\n"
	    "fdms_base_url = https://fdmsapitest.zimra.co.zw\n"
	    "encryption_key = yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc=\n"
	    "[device till1]\ndevice_id = 100\nserial_no = %s\n", env, db,
	    serial);
	if (fclose(f) != 0)
		return NULL;
	cfg = config_load(tpath("spoold.conf"), &p);
	CHECK(cfg != NULL && p.n == 0, "config: %zu problems", p.n);
	return cfg;
}

static int
has_problem(const struct config_problems *p, const char *key,
    const char *text)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].key, key) == 0 &&
		    strstr(p->v[i].message, text) != NULL)
			return 1;
	return 0;
}

static void
configuration(void)
{
	struct config_problems p;
	struct config *cfg;
	struct store *s;
	char err[STORE_ERRMSG_MAX];
	enum store_rc rc;

	/* A journal registered in staging, 0644 on disk. */
	s = open_db("conf.db", STORE_OPEN_CREATE);
	if (s == NULL)
		return;
	put_device(s, 100, "staging");
	store_close(s);
	CHECK_INT(chmod(tpath("conf.db"), 0644), 0);

	cfg = load_conf("production", tpath("conf.db"), "SN-0001");
	if (cfg != NULL) {
		config_problems_clear(&p);
		CHECK_INT(store_config_check(cfg, &p), -1);
		CHECK(has_problem(&p, "database", "mode 0644"), "mode");
		CHECK(has_problem(&p, "env", "registered in staging"), "env");
		CHECK(!has_problem(&p, "serial_no", ""), "serial");
		config_free(cfg);
	}
	CHECK_INT(chmod(tpath("conf.db"), 0600), 0);
	cfg = load_conf("staging", tpath("conf.db"), "SN-0002");
	if (cfg != NULL) {
		config_problems_clear(&p);
		CHECK_INT(store_config_check(cfg, &p), -1);
		CHECK(has_problem(&p, "serial_no", "SN-0001, not SN-0002"),
		    "serial");
		CHECK_INT(p.n, 1);
		config_free(cfg);
	}
	cfg = load_conf("staging", tpath("conf.db"), "SN-0001");
	if (cfg != NULL) {
		config_problems_clear(&p);
		CHECK_INT(store_config_check(cfg, &p), 0);
		CHECK_INT(p.n, 0);
		/* Through config_check, once the hook is set. */
		config_set_store_check(store_config_check);
		config_problems_clear(&p);
		CHECK_INT(config_check(cfg, &p), 0);
		config_set_store_check(NULL);
		config_free(cfg);
	}
	/* Not created by a check. */
	cfg = load_conf("production", tpath("none.db"), "SN-0001");
	if (cfg != NULL) {
		config_problems_clear(&p);
		CHECK_INT(store_config_check(cfg, &p), 0);
		CHECK(access(tpath("none.db"), F_OK) == -1, "created");
		config_free(cfg);
	}

	/* The open policy: development migrates, staging refuses. */
	s = open_db("policy.db", STORE_OPEN_CREATE);
	if (s != NULL) {
		CHECK_INT(store_migrate(s, 1, 0), STORE_OK);
		store_close(s);
	}
	cfg = load_conf("staging", tpath("policy.db"), "SN-0001");
	if (cfg != NULL) {
		s = store_open_config(cfg, &rc, err, sizeof(err));
		CHECK(s == NULL && rc == STORE_SCHEMA, "staging: %s", err);
		config_free(cfg);
	}
	cfg = load_conf("development", tpath("policy.db"), "SN-0001");
	if (cfg != NULL) {
		s = store_open_config(cfg, &rc, err, sizeof(err));
		CHECK(s != NULL, "development: %s", err);
		store_close(s);
		config_free(cfg);
	}
	cfg = load_conf("staging", tpath("policy.db"), "SN-0001");
	if (cfg != NULL) {
		s = store_open_config(cfg, &rc, err, sizeof(err));
		CHECK(s != NULL, "staging after migrate: %s", err);
		store_close(s);
		config_free(cfg);
	}
}

static void
cleanup(void)
{
	struct dirent *e;
	DIR *d;

	if ((d = opendir(trash)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlink(tpath(e->d_name));
	closedir(d);
	rmdir(trash);
}

int
main(void)
{
	struct chain c = { 100, 1, 0, 0, "" };
	struct walk all;
	struct store *s;

	if (mkdtemp(trash) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	opening();
	versions();
	key_wiped();
	integrity();
	bulk();

	if ((s = open_db("store.db", STORE_OPEN_CREATE)) != NULL) {
		devices(s);
		credentials(s, "store.db");
		days(s);
		receipts(s, &c);
		close_day(s, &c);
		receipts(s, &c);
		atomicity(s, &c);
		submission(s, &c);
		iteration(s, &c, &all);
		transactions(s, "store.db");
		CHECK_INT(store_integrity_check(s), STORE_OK);
		backstops("store.db");
		backup(s, &all, 100);
		store_close(s);
	}
	configuration();
	cleanup();
	return tap_done();
}
