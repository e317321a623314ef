/*
 * inspect.c - receipt inspection report (see inspect.h).
 *
 * Reads the file through the same document path as the daemon (doc_read),
 * keeps going past schema errors so one run shows every problem, then
 * rebuilds what FDMS rebuilds: taxes from lines (when absent), the
 * signature string, its hash, and compares with what the document claims.
 * Pure apart from reading the two files named in the options.
 */
#include "io/inspect.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "fiscal/rules.h"
#include "fiscal/sigstr.h"
#include "fiscal/tax.h"
#include "io/document.h"
#include "util/buf.h"
#include "util/fsutil.h"

#define KEY_MAX_SIZE	(64 * 1024)

static struct sigkey *
load_key(const char *path, char *err, size_t errlen)
{
	struct sigkey *k;
	char *pem = NULL, e[256];
	size_t len;

	if (fsutil_read_file(path, KEY_MAX_SIZE, &pem, &len, e, sizeof(e)) !=
	    FSREAD_OK) {
		snprintf(err, errlen, "%s", e);
		return NULL;
	}
	if (strstr(pem, "PRIVATE KEY") != NULL)
		k = sigkey_load_private(pem, len, NULL, e, sizeof(e));
	else
		k = sigkey_load_public(pem, len, e, sizeof(e));
	/* Key material must not linger in freed heap memory. */
	memset(pem, 0, len);
	free(pem);
	if (k == NULL)
		snprintf(err, errlen, "%s: %s", path, e);
	return k;
}

static void
check_signature(struct inspect_report *rep, const struct receipt *r,
    const struct sigkey *key, const char *msg, size_t len)
{
	struct findings *f = &rep->findings;
	char e[256];

	if (r->sig_hash != NULL && strcmp(r->sig_hash, rep->hash) != 0)
		findings_rcpt(f, "RCPT020", "receiptDeviceSignature.hash",
		    "hash %.60s does not match the signature input; FDMS "
		    "computes %s", r->sig_hash, rep->hash);
	if (key == NULL)
		return;
	if (sign_b64(key, msg, len, rep->signature, sizeof(rep->signature), e,
	    sizeof(e)) == -1)
		rep->signature[0] = '\0';	/* public key: verify only */
	if (r->sig_signature != NULL) {
		switch (sign_verify_b64(key, msg, len, r->sig_signature)) {
		case 1:
			break;
		case 0:
			findings_rcpt(f, "RCPT020",
			    "receiptDeviceSignature.signature",
			    "signature does not verify with the given key over "
			    "the signature input");
			break;
		default:
			findings_rcpt(f, "RCPT020",
			    "receiptDeviceSignature.signature",
			    "signature is not valid base64 of at most %d bytes",
			    SIG_MAX_BYTES);
			break;
		}
	}
}

static void
chain_notes(struct inspect_report *rep, const struct receipt *r,
    const char *prev)
{
	if (r->has_counter && r->counter > 1 && (prev == NULL || *prev == '\0'))
		findings_add(&rep->findings, "PREV_HASH", COLOUR_NONE,
		    "receiptCounter", "receiptCounter is %lld, so FDMS appends "
		    "the previous receipt's hash to the signature input; give it "
		    "with --prev-hash (the string below has none)",
		    (long long)r->counter);
	if (r->has_counter && r->counter == 1 && prev != NULL && *prev != '\0')
		findings_add(&rep->findings, "PREV_HASH", COLOUR_NONE,
		    "receiptCounter", "the first receipt of a day has no "
		    "previous hash, but one was given");
}

static void
build_outputs(const struct inspect_opts *o, struct inspect_report *rep,
    struct receipt *r, const struct sigkey *key)
{
	struct rules_ctx ctx;
	struct buf b;
	const char *prev = o->prev_hash ? o->prev_hash : r->previous_hash;
	const char *sig;
	int64_t dev;

	memset(&ctx, 0, sizeof(ctx));
	ctx.vat_payer = -1;
	rules_check(r, &ctx, &rep->findings);
	if (!r->has_taxes && tax_apply(r, &rep->findings) == -1)
		findings_add(&rep->findings, "PARSE", COLOUR_NONE, "receiptTaxes",
		    "out of memory computing taxes");
	if (!o->has_device_id && !r->has_device_id) {
		findings_add(&rep->findings, "DEVICE_ID", COLOUR_NONE, "deviceID",
		    "no deviceID in the document; give it with --device-id");
		return;
	}
	dev = o->has_device_id ? o->device_id : r->device_id;
	if (!r->has_global_no || r->date == NULL) {
		findings_add(&rep->findings, "INCOMPLETE", COLOUR_NONE,
		    r->has_global_no ? "receiptDate" : "receiptGlobalNo",
		    "%s is missing (spoold assigns it): no signature input",
		    r->has_global_no ? "receiptDate" : "receiptGlobalNo");
		return;
	}
	chain_notes(rep, r, prev);
	buf_init(&b, 1 << 20);
	if (sigstr_receipt(r, dev, prev, &b) == -1) {
		findings_add(&rep->findings, "INCOMPLETE", COLOUR_NONE, "",
		    "cannot build the signature input");
		buf_free(&b);
		return;
	}
	rep->signature_input = b.p ? b.p : strdup("");
	sign_sha256_b64(b.p, b.len, rep->hash);
	check_signature(rep, r, key, b.p, b.len);
	sig = r->sig_signature ? r->sig_signature :
	    rep->signature[0] ? rep->signature : NULL;
	if (sig != NULL) {
		if (qr_data(rep->qr_url, dev, r->date, r->global_no, sig,
		    rep->qr_data, sizeof(rep->qr_data)) == 0)
			qr_verification_code(sig, rep->verification_code);
		else
			rep->qr_data[0] = '\0';
	}
}

int
inspect_run(const struct inspect_opts *o, struct inspect_report *rep,
    char *err, size_t errlen)
{
	struct sigkey *key = NULL;
	struct receipt *r;
	enum fsread_status st;
	char *buf = NULL, e[512];
	size_t len;

	memset(rep, 0, sizeof(*rep));
	rep->qr_url = o->qr_url ? o->qr_url : INSPECT_DEFAULT_QR_URL;
	if (o->key_path != NULL &&
	    (key = load_key(o->key_path, err, errlen)) == NULL)
		return -1;
	st = fsutil_read_file(o->path, DOC_MAX_SIZE, &buf, &len, e, sizeof(e));
	if (st != FSREAD_OK) {
		findings_add(&rep->findings, fsread_code(st), COLOUR_NONE, "",
		    "%s", e);
		rep->stage = "read";
		sigkey_free(key);
		return 0;
	}
	r = doc_read(buf, len, doc_detect(o->path, buf, len), o->schemas, 1,
	    &rep->findings, &rep->stage);
	free(buf);
	if (r != NULL) {
		build_outputs(o, rep, r, key);
		receipt_free(r);
	}
	sigkey_free(key);
	return 0;
}

void
inspect_report_free(struct inspect_report *rep)
{
	free(rep->signature_input);
	rep->signature_input = NULL;
}

void
inspect_print_text(FILE *fp, const struct inspect_opts *o,
    const struct inspect_report *rep)
{
	size_t i;

	fprintf(fp, "file:              %s\n", o->path);
	if (rep->signature_input != NULL) {
		fprintf(fp, "signature input:   %s\n", rep->signature_input);
		fprintf(fp, "hash:              %s\n", rep->hash);
	}
	if (rep->signature[0] != '\0')
		fprintf(fp, "signature:         %s\n", rep->signature);
	if (rep->qr_data[0] != '\0') {
		fprintf(fp, "qr url:            %s\n", rep->qr_url);
		fprintf(fp, "qr data:           %s\n", rep->qr_data);
		fprintf(fp, "verification code: %s\n", rep->verification_code);
	}
	if (rep->findings.n == 0) {
		fprintf(fp, "findings:          none\n");
		return;
	}
	fprintf(fp, "findings:          %zu%s\n", rep->findings.n + rep->findings.dropped,
	    rep->stage ? "" : "");
	for (i = 0; i < rep->findings.n; i++) {
		const struct finding *x = &rep->findings.v[i];
		const char *c = colour_name(x->colour);

		fprintf(fp, "  %-8s %-6s %s%s%s\n", x->code, c ? c : "-",
		    x->path, x->path[0] ? ": " : "", x->message);
	}
	if (rep->findings.dropped)
		fprintf(fp, "  ... and %zu more\n", rep->findings.dropped);
}

static void
add_str_or_null(cJSON *o, const char *name, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

char *
inspect_to_json(const struct inspect_report *rep)
{
	cJSON *o = cJSON_CreateObject(), *arr, *x;
	char *out;
	size_t i;

	if (o == NULL)
		return NULL;
	add_str_or_null(o, "signatureInput", rep->signature_input);
	add_str_or_null(o, "hash", rep->signature_input ? rep->hash : NULL);
	add_str_or_null(o, "signature", rep->signature);
	add_str_or_null(o, "qrData", rep->qr_data);
	add_str_or_null(o, "verificationCode", rep->verification_code);
	add_str_or_null(o, "qrUrl", rep->qr_url);
	arr = cJSON_AddArrayToObject(o, "findings");
	for (i = 0; arr != NULL && i < rep->findings.n; i++) {
		const struct finding *fd = &rep->findings.v[i];

		if ((x = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddStringToObject(x, "code", fd->code);
		add_str_or_null(x, "colour", colour_name(fd->colour));
		cJSON_AddStringToObject(x, "path", fd->path);
		cJSON_AddStringToObject(x, "message", fd->message);
		cJSON_AddItemToArray(arr, x);
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}
