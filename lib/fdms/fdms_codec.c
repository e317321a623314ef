/*
 * fdms_codec.c - requests out, replies in, for every endpoint of
 * fdms-reference §2.  Pure: no I/O, no clock, no globals.
 *
 * Requests.  Each builder checks its arguments against what FDMS accepts
 * (device ID an int32, dates YYYY-MM-DDTHH:MM:SS, base64 signatures, PEM
 * CSRs, no zero counters) and refuses locally rather than spend a request
 * on a certain 400.  Bodies are written with the jw_* helpers: names in
 * the canonical camelCase of §2, numbers from integers.  SubmitReceipt is
 * special: the receipt is the caller's journaled bytes, exactly as signed,
 * and is wrapped, never re-serialised (a re-serialisation that changed one
 * digit would make an idempotent resend a different receipt).
 *
 * Replies.  SECURITY: bodies are untrusted; see fdms_json.c.  A 2xx body
 * we cannot use is not OK: it is RETRY and in doubt (FDMS did process the
 * request), so the caller resends the same bytes and gets the answer again.
 * Which members are required: only those the caller cannot proceed
 * without (receiptID, the certificate, fiscalDayStatus, the new
 * fiscalDayNo, the tax table and qrUrl, the taxpayer's name and TIN);
 * everything else may be absent.  Spelling conflicts of §11 are accepted
 * both ways: fiscalDayCounter / fiscalDayCounters, validFrom /
 * taxValidFrom, both sets of file status names, "Grey" / "Gray".
 *
 * Invariant: after fdms_decode, res.cls == FDMS_OK implies the union
 * member for the op is fully set and every pointer in it is NULL or points
 * into reply->arena.
 */
#include "fdms/fdms_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fiscal/counters.h"
#include "fiscal/money.h"
#include "fiscal/sign.h"
#include "io/jsonrx.h"
#include "util/arena.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/timeutil.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define PEM_MAX		(64 * 1024)
#define TEXT_MAX	1024	/* names, addresses (FDMS: <= 250 chars) */
#define SHORT_MAX	128	/* TINs, dates, codes, operation IDs */
#define REPLY_ARENA	(4 * 1024 * 1024)	/* > FDMS_MAX_BODY */
#define MAX_VERRS	1000
#define MAX_CHAIN	16
#define MAX_ROWS	1000

static const struct fdms_opinfo ops[FDMS_OP_COUNT] = {
	[FDMS_VERIFY_TAXPAYER] = { "VerifyTaxpayerInformation", "POST", false,
	    "application/json" },
	[FDMS_REGISTER_DEVICE] = { "RegisterDevice", "POST", false,
	    "application/json" },
	[FDMS_GET_SERVER_CERT] = { "GetServerCertificate", "GET", false, NULL },
	[FDMS_GET_CONFIG] = { "GetConfig", "GET", true, NULL },
	[FDMS_GET_STATUS] = { "GetStatus", "GET", true, NULL },
	[FDMS_OPEN_DAY] = { "OpenDay", "POST", true, "application/json" },
	[FDMS_SUBMIT_RECEIPT] = { "SubmitReceipt", "POST", true,
	    "application/json" },
	[FDMS_CLOSE_DAY] = { "CloseDay", "POST", true, "application/json" },
	[FDMS_ISSUE_CERT] = { "IssueCertificate", "POST", true,
	    "application/json" },
	/* "No body" (§2.10): an empty POST, no Content-Type. */
	[FDMS_PING] = { "Ping", "POST", true, NULL },
	/* The OAS's text/plain raw JSON, not the PDF's base64 multipart. */
	[FDMS_SUBMIT_FILE] = { "SubmitFile", "POST", true, "text/plain" },
	[FDMS_FILE_LIST] = { "SubmittedFileList", "GET", true, NULL },
};

const struct fdms_opinfo *
fdms_opinfo(enum fdms_op op)
{
	return (size_t)op < FDMS_OP_COUNT ? &ops[op] : NULL;
}

const char *
fdms_op_name(enum fdms_op op)
{
	return (size_t)op < FDMS_OP_COUNT ? ops[op].name : "?";
}

bool
fdms_op_mtls(enum fdms_op op)
{
	return (size_t)op < FDMS_OP_COUNT && ops[op].mtls;
}

/* ---- requests ---- */

void
fdms_request_init(struct fdms_request *req)
{
	req->op = FDMS_OP_COUNT;
	buf_init(&req->target, 8192);
	buf_init(&req->body, FDMS_MAX_REQUEST);
	req->err[0] = '\0';
}

void
fdms_request_free(struct fdms_request *req)
{
	buf_free(&req->target);
	buf_free(&req->body);
	req->err[0] = '\0';
}

static int refuse(struct fdms_request *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
refuse(struct fdms_request *req, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->err, sizeof(req->err), fmt, ap);
	va_end(ap);
	buf_reset(&req->target);
	buf_reset(&req->body);
	return -1;
}

static int
begin(struct fdms_request *req, enum fdms_op op, int64_t device_id)
{
	req->op = op;
	req->err[0] = '\0';
	buf_reset(&req->target);
	buf_reset(&req->body);
	if (op == FDMS_GET_SERVER_CERT)
		return buf_printf(&req->target, "/Public/v1/%s", ops[op].name);
	if (device_id < 1 || device_id > FDMS_DEVICE_ID_MAX)
		return refuse(req, "device ID %" PRId64 " is not 1..%" PRId64,
		    device_id, FDMS_DEVICE_ID_MAX);
	return buf_printf(&req->target, "/%s/v1/%" PRId64 "/%s",
	    ops[op].mtls ? "Device" : "Public", device_id, ops[op].name);
}

/* Printable text of 1..max bytes: no control characters, valid UTF-8. */
static bool
good_text(const char *s, size_t max)
{
	size_t n, i;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool
good_date(const char *s)
{
	struct tm tm;

	return s != NULL && strlen(s) == FDMS_DATE_LEN &&
	    timeutil_parse_local(s, &tm) == 0;
}

/* Strict base64 of min..max decoded bytes. */
static bool
good_b64(const char *s, size_t min, size_t max)
{
	unsigned char raw[SIG_MAX_BYTES];
	long n;

	if (s == NULL || max > sizeof(raw))
		return false;
	n = base64_decode(s, strlen(s), raw, max);
	return n > 0 && (size_t)n >= min;
}

static bool
good_pem(const char *s, const char *label)
{
	char begin[64], end[64];
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > PEM_MAX)
		return false;
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	for (i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\n' && s[i] != '\r') ||
		    (unsigned char)s[i] >= 0x7f)
			return false;
	return strncmp(s, begin, strlen(begin)) == 0 && strstr(s, end) != NULL;
}

/* A JSON object, as jsonrx sees it; the root for checks, or NULL. */
static cJSON *
json_object(const char *s, size_t len, size_t max, char *err, size_t errlen)
{
	cJSON *root = jr_parse(s, len, max, err, errlen);

	if (root != NULL && !cJSON_IsObject(root)) {
		snprintf(err, errlen, "not a JSON object");
		cJSON_Delete(root);
		root = NULL;
	}
	return root;
}

int
fdms_req_verify_taxpayer(struct fdms_request *req, int64_t device_id,
    const char *key, const char *serial)
{
	bool first = true;

	if (begin(req, FDMS_VERIFY_TAXPAYER, device_id) == -1)
		return -1;
	if (!good_text(key, 8))
		return refuse(req, "activation key must be 1..8 characters");
	if (!good_text(serial, 20))
		return refuse(req, "serial number must be 1..20 characters");
	/* deviceID in the path only (OAS); the PDF's body copy is optional. */
	if (buf_adds(&req->body, "{") == -1 ||
	    jw_kstr(&req->body, &first, "activationKey", key) == -1 ||
	    jw_kstr(&req->body, &first, "deviceSerialNo", serial) == -1 ||
	    buf_adds(&req->body, "}") == -1)
		return refuse(req, "cannot encode request");
	return 0;
}

int
fdms_req_register(struct fdms_request *req, int64_t device_id,
    const char *key, const char *csr)
{
	bool first = true;

	if (begin(req, FDMS_REGISTER_DEVICE, device_id) == -1)
		return -1;
	if (!good_text(key, 8))
		return refuse(req, "activation key must be 1..8 characters");
	if (!good_pem(csr, "CERTIFICATE REQUEST"))
		return refuse(req, "certificateRequest is not a PEM CSR");
	/* The PEM keeps its line breaks, as "\n" inside the string (§2.2). */
	if (buf_adds(&req->body, "{") == -1 ||
	    jw_kstr(&req->body, &first, "activationKey", key) == -1 ||
	    jw_kstr(&req->body, &first, "certificateRequest", csr) == -1 ||
	    buf_adds(&req->body, "}") == -1)
		return refuse(req, "cannot encode request");
	return 0;
}

int
fdms_req_server_cert(struct fdms_request *req, const char *thumbprint)
{
	size_t i, n;

	if (begin(req, FDMS_GET_SERVER_CERT, 0) == -1)
		return -1;
	if (thumbprint == NULL)
		return 0;
	n = strlen(thumbprint);
	if (n == 0 || n > 40)
		return refuse(req, "thumbprint must be 1..40 hex digits");
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)thumbprint[i]))
			return refuse(req, "thumbprint must be hex");
	if (buf_printf(&req->target, "?thumbprint=%s", thumbprint) == -1)
		return refuse(req, "cannot encode request");
	return 0;
}

int
fdms_req_simple(struct fdms_request *req, enum fdms_op op, int64_t device_id)
{
	if (op != FDMS_GET_CONFIG && op != FDMS_GET_STATUS && op != FDMS_PING) {
		req->op = op;
		return refuse(req, "%s is not a request without arguments",
		    fdms_op_name(op));
	}
	return begin(req, op, device_id);
}

int
fdms_req_open_day(struct fdms_request *req, int64_t device_id,
    const struct fdms_open_day_args *a)
{
	bool first = true;

	if (begin(req, FDMS_OPEN_DAY, device_id) == -1)
		return -1;
	if (a->has_day_no && (a->day_no < 1 || a->day_no > INT32_MAX))
		return refuse(req, "fiscalDayNo %" PRId64 " out of range",
		    a->day_no);
	if (!good_date(a->opened))
		return refuse(req,
		    "fiscalDayOpened is not YYYY-MM-DDTHH:MM:SS");
	if (buf_adds(&req->body, "{") == -1 ||
	    (a->has_day_no &&
	    jw_kint(&req->body, &first, "fiscalDayNo", a->day_no) == -1) ||
	    jw_kstr(&req->body, &first, "fiscalDayOpened", a->opened) == -1 ||
	    buf_adds(&req->body, "}") == -1)
		return refuse(req, "cannot encode request");
	return 0;
}

int
fdms_req_submit_receipt(struct fdms_request *req, int64_t device_id,
    const char *wire, size_t len)
{
	char err[160];
	cJSON *root;
	bool wrapped;

	if (begin(req, FDMS_SUBMIT_RECEIPT, device_id) == -1)
		return -1;
	if (wire == NULL || len == 0 || len > FDMS_MAX_REQUEST - 16)
		return refuse(req, "receipt is empty or too large");
	/*
	 * A damaged journal record must fail here, as LOCAL, and not as a
	 * 400 that the caller would read as FDMS rejecting the receipt.
	 */
	if ((root = json_object(wire, len, FDMS_MAX_REQUEST, err,
	    sizeof(err))) == NULL)
		return refuse(req, "receipt is not a JSON object: %s", err);
	wrapped = cJSON_GetObjectItemCaseSensitive(root, "receipt") != NULL;
	cJSON_Delete(root);
	if (wrapped)
		return refuse(req, "pass the receipt object, not the wrapper");
	if (buf_adds(&req->body, "{\"receipt\":") == -1 ||
	    buf_add(&req->body, wire, len) == -1 ||
	    buf_adds(&req->body, "}") == -1)
		return refuse(req, "receipt too large");
	return 0;
}

static int
put_counter(struct buf *b, const struct counter *c)
{
	bool first = true;
	bool by_tax = c->type != COUNTER_BALANCE_BY_MONEY_TYPE;

	if (buf_adds(b, "{") == -1 ||
	    jw_kstr(b, &first, "fiscalCounterType",
	    counter_type_name(c->type)) == -1 ||
	    jw_kstr(b, &first, "fiscalCounterCurrency", c->currency) == -1)
		return -1;
	if (by_tax) {
		if (jw_kint(b, &first, "fiscalCounterTaxID", c->tax_id) == -1)
			return -1;
		if (c->has_percent && jw_kfix(b, &first,
		    "fiscalCounterTaxPercent", c->percent, 2) == -1)
			return -1;
	} else if (jw_kstr(b, &first, "fiscalCounterMoneyType",
	    money_type_name(c->money_type)) == -1)
		return -1;
	if (jw_kfix(b, &first, "fiscalCounterValue", c->value, 2) == -1)
		return -1;
	return buf_adds(b, "}");
}

static bool
good_currency(const char *c)
{
	return strlen(c) == 3 && isupper((unsigned char)c[0]) &&
	    isupper((unsigned char)c[1]) && isupper((unsigned char)c[2]);
}

int
fdms_req_close_day(struct fdms_request *req, int64_t device_id,
    const struct fdms_close_day_args *a)
{
	const struct counter *c;
	bool first = true, sfirst = true;
	size_t i, n = a->counters != NULL ? a->counters->n : 0;

	if (begin(req, FDMS_CLOSE_DAY, device_id) == -1)
		return -1;
	if (a->day_no < 1 || a->day_no > INT32_MAX)
		return refuse(req, "fiscalDayNo %" PRId64 " out of range",
		    a->day_no);
	if (a->receipt_counter < 0 || a->receipt_counter > INT32_MAX)
		return refuse(req, "receiptCounter out of range");
	/* A SHA-256 hash and a signature of at most 512 bytes (§2). */
	if (!good_b64(a->hash, 32, 32) ||
	    !good_b64(a->signature, 1, SIG_MAX_BYTES))
		return refuse(req, "fiscalDayDeviceSignature is not base64");
	for (i = 0; i < n; i++) {
		c = &a->counters->v[i];
		/* The signed string has no zero counters; nor may the JSON. */
		if (c->value == 0)
			return refuse(req,
			    "counter %zu is zero: not sent (§4.3)", i);
		if ((unsigned)c->type >= COUNTER_TYPE_COUNT ||
		    !good_currency(c->currency) ||
		    (c->type == COUNTER_BALANCE_BY_MONEY_TYPE &&
		    (unsigned)c->money_type >= MONEY_TYPE_COUNT))
			return refuse(req, "counter %zu is malformed", i);
	}
	if (buf_adds(&req->body, "{") == -1 ||
	    jw_kint(&req->body, &first, "fiscalDayNo", a->day_no) == -1 ||
	    jw_key(&req->body, &first, "fiscalDayCounters") == -1 ||
	    buf_adds(&req->body, "[") == -1)
		return refuse(req, "cannot encode request");
	for (i = 0; i < n; i++)
		if ((i > 0 && buf_adds(&req->body, ",") == -1) ||
		    put_counter(&req->body, &a->counters->v[i]) == -1)
			return refuse(req, "cannot encode counters");
	if (buf_adds(&req->body, "]") == -1 ||
	    jw_key(&req->body, &first, "fiscalDayDeviceSignature") == -1 ||
	    buf_adds(&req->body, "{") == -1 ||
	    jw_kstr(&req->body, &sfirst, "hash", a->hash) == -1 ||
	    jw_kstr(&req->body, &sfirst, "signature", a->signature) == -1 ||
	    buf_adds(&req->body, "}") == -1 ||
	    jw_kint(&req->body, &first, "receiptCounter",
	    a->receipt_counter) == -1 ||
	    buf_adds(&req->body, "}") == -1)
		return refuse(req, "cannot encode request");
	return 0;
}

int
fdms_req_issue_cert(struct fdms_request *req, int64_t device_id,
    const char *csr)
{
	bool first = true;

	if (begin(req, FDMS_ISSUE_CERT, device_id) == -1)
		return -1;
	if (!good_pem(csr, "CERTIFICATE REQUEST"))
		return refuse(req, "certificateRequest is not a PEM CSR");
	if (buf_adds(&req->body, "{") == -1 ||
	    jw_kstr(&req->body, &first, "certificateRequest", csr) == -1 ||
	    buf_adds(&req->body, "}") == -1)
		return refuse(req, "cannot encode request");
	return 0;
}

int
fdms_req_submit_file(struct fdms_request *req, int64_t device_id,
    const char *file, size_t len)
{
	char err[160];
	cJSON *root;

	if (begin(req, FDMS_SUBMIT_FILE, device_id) == -1)
		return -1;
	if (file == NULL || len == 0 || len > FDMS_MAX_FILE)
		return refuse(req,
		    "file is empty or larger than 3 MB (FILE01)");
	if ((root = json_object(file, len, FDMS_MAX_FILE, err,
	    sizeof(err))) == NULL)
		return refuse(req, "file is not a JSON object: %s", err);
	cJSON_Delete(root);
	if (buf_add(&req->body, file, len) == -1)
		return refuse(req, "file too large");
	return 0;
}

/* RFC 3986 query component: unreserved characters as they are. */
static int
put_query(struct buf *b, bool *first, const char *name, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	if (buf_printf(b, "%c%s=", *first ? '?' : '&', name) == -1)
		return -1;
	*first = false;
	for (; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~') {
			if (buf_add(b, p, 1) == -1)
				return -1;
		} else if (buf_printf(b, "%%%02X", *p) == -1)
			return -1;
	}
	return 0;
}

static bool
one_of(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

int
fdms_req_file_list(struct fdms_request *req, int64_t device_id,
    const struct fdms_file_query *q)
{
	static const char *const sorts[] = { "DeviceId", "FileName",
	    "FileUploadDate", "FileProcessingDate", "FileProcessingStatus",
	    "FileProcessingError" };
	static const char *const orders[] = { "asc", "desc" };
	static const char *const opers[] = { "And", "Or" };
	char num[32];
	bool first = true;

	if (begin(req, FDMS_FILE_LIST, device_id) == -1)
		return -1;
	if (!good_date(q->from) || !good_date(q->till))
		return refuse(req, "FileUploadedFrom/Till must be dates");
	if (q->offset < 0 || q->offset > INT32_MAX || q->limit < 1 ||
	    q->limit > INT32_MAX)
		return refuse(req, "Offset/Limit out of range");
	if ((q->sort != NULL && !one_of(q->sort, sorts, NELEM(sorts))) ||
	    (q->order != NULL && !one_of(q->order, orders, NELEM(orders))) ||
	    (q->oper != NULL && !one_of(q->oper, opers, NELEM(opers))))
		return refuse(req, "unknown Sort, Order or Operator");
	if (q->operation_id != NULL && !good_text(q->operation_id,
	    FDMS_OPID_MAX))
		return refuse(req, "bad OperationID");
	if (put_query(&req->target, &first, "FileUploadedFrom",
	    q->from) == -1 ||
	    put_query(&req->target, &first, "FileUploadedTill",
	    q->till) == -1)
		return refuse(req, "cannot encode request");
	snprintf(num, sizeof(num), "%" PRId64, q->offset);
	if (put_query(&req->target, &first, "Offset", num) == -1)
		return refuse(req, "cannot encode request");
	snprintf(num, sizeof(num), "%" PRId64, q->limit);
	if (put_query(&req->target, &first, "Limit", num) == -1 ||
	    (q->operation_id != NULL && put_query(&req->target, &first,
	    "OperationID", q->operation_id) == -1) ||
	    (q->sort != NULL &&
	    put_query(&req->target, &first, "Sort", q->sort) == -1) ||
	    (q->order != NULL &&
	    put_query(&req->target, &first, "Order", q->order) == -1) ||
	    (q->oper != NULL &&
	    put_query(&req->target, &first, "Operator", q->oper) == -1))
		return refuse(req, "cannot encode request");
	return 0;
}

/* ---- replies ---- */

void
fdms_reply_init(struct fdms_reply *rp, enum fdms_op op)
{
	memset(rp, 0, sizeof(*rp));
	rp->op = op;
	rp->res.retry_after_s = -1;
}

void
fdms_reply_free(struct fdms_reply *rp)
{
	enum fdms_op op = rp->op;

	arena_free(rp->arena);
	fdms_reply_init(rp, op);
}

/* Arrays of structs in the arena; n == 0 gives a valid empty array. */
static void *
alloc_array(struct jr *j, size_t n, size_t size, const char *name)
{
	void *p = arena_alloc(j->a, (n ? n : 1) * size);

	if (p == NULL)
		jr_fail(j, name, "out of memory");
	return p;
}

static void
parse_address(struct jr *j, const cJSON *o, struct fdms_address *a)
{
	a->province = jr_str(j, o, "province", false, TEXT_MAX);
	a->city = jr_str(j, o, "city", false, TEXT_MAX);
	a->street = jr_str(j, o, "street", false, TEXT_MAX);
	a->house_no = jr_str(j, o, "houseNo", false, TEXT_MAX);
	a->district = jr_str(j, o, "district", false, TEXT_MAX);
}

static void
parse_taxpayer(struct jr *j, const cJSON *root, struct fdms_taxpayer *t,
    bool required)
{
	const cJSON *o;
	const char *vat;

	t->name = jr_str(j, root, "taxPayerName", required, TEXT_MAX);
	t->tin = jr_str(j, root, "taxPayerTIN", required, SHORT_MAX);
	/* Absent (PDF), null, or "" (seen live): not a VAT payer (§2.4). */
	vat = jr_str(j, root, "vatNumber", false, SHORT_MAX);
	t->is_vat_payer = vat != NULL && vat[0] != '\0';
	t->vat_number = t->is_vat_payer ? vat : NULL;
	t->branch_name = jr_str(j, root, "deviceBranchName", false, TEXT_MAX);
	if ((o = jr_obj(j, root, "deviceBranchAddress", false)) != NULL) {
		t->has_branch_address = true;
		parse_address(j, o, &t->branch_address);
	}
	if ((o = jr_obj(j, root, "deviceBranchContacts", false)) != NULL) {
		t->has_branch_contacts = true;
		t->branch_contacts.phone_no = jr_str(j, o, "phoneNo", false,
		    SHORT_MAX);
		t->branch_contacts.email = jr_str(j, o, "email", false,
		    TEXT_MAX);
	}
}

/* qrUrl ends up printed and inside QR codes: printable ASCII only. */
static bool
good_url(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return i > 0;
}

static void
parse_config(struct jr *j, const cJSON *root, struct fdms_config *c)
{
	static const char *const modes[] = { "Online", "Offline" };
	const cJSON *arr, *e;
	struct fdms_tax *t;
	size_t n, i;
	int mode;

	parse_taxpayer(j, root, &c->taxpayer, false);
	c->device_serial_no = jr_str(j, root, "deviceSerialNo", false,
	    SHORT_MAX);
	if (jr_enum(j, root, "deviceOperatingMode", modes, NELEM(modes), &mode,
	    NULL) == 1)
		c->mode = mode == 0 ? FDMS_MODE_ONLINE : FDMS_MODE_OFFLINE;
	c->has_day_max_hrs = jr_int(j, root, "taxPayerDayMaxHrs", false, 0,
	    100000, &c->day_max_hrs) == 1;
	c->has_day_end_notification_hrs = jr_int(j, root,
	    "taxpayerDayEndNotificationHrs", false, 0, 100000,
	    &c->day_end_notification_hrs) == 1;
	c->certificate_valid_till = jr_str(j, root, "certificateValidTill",
	    false, SHORT_MAX);
	c->qr_url = jr_str(j, root, "qrUrl", true, TEXT_MAX);
	if (c->qr_url != NULL && !good_url(c->qr_url))
		jr_fail(j, "qrUrl", "not a printable URL");
	if ((arr = jr_arr(j, root, "applicableTaxes", true, FDMS_MAX_TAXES,
	    &n)) == NULL || j->bad)
		return;
	if ((c->taxes = alloc_array(j, n, sizeof(*c->taxes), "applicableTaxes"))
	    == NULL)
		return;
	for (i = 0, e = arr->child; e != NULL && !j->bad; e = e->next, i++) {
		snprintf(j->where, sizeof(j->where), "applicableTaxes[%zu]", i);
		if (!cJSON_IsObject(e)) {
			jr_fail(j, "", "not an object");
			break;
		}
		t = &c->taxes[i];
		jr_int(j, e, "taxID", true, 0, INT32_MAX, &t->tax_id);
		/* Absent or null: exempt; 0: zero-rated. */
		t->has_percent = jr_percent(j, e, "taxPercent", false,
		    &t->percent) == 1;
		t->name = jr_str(j, e, "taxName", false, TEXT_MAX);
		t->valid_from = jr_str(j, e, jr_member(e, "validFrom") ?
		    "validFrom" : "taxValidFrom", false, SHORT_MAX);
		t->valid_till = jr_str(j, e, jr_member(e, "validTill") ?
		    "validTill" : "taxValidTill", false, SHORT_MAX);
	}
	j->where[0] = '\0';
	c->n_taxes = n;
}

static bool
set_currency(struct jr *j, const cJSON *o, const char *name, char out[4])
{
	const char *s = jr_str(j, o, name, true, 3);
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < 3; i++) {
		if (!isalpha((unsigned char)s[i])) {
			jr_fail(j, name, "not a 3-letter currency code");
			return false;
		}
		out[i] = (char)toupper((unsigned char)s[i]);
	}
	out[3] = '\0';
	return true;
}

static const char *const counter_names[COUNTER_TYPE_COUNT] = {
	"SaleByTax", "SaleTaxByTax", "CreditNoteByTax", "CreditNoteTaxByTax",
	"DebitNoteByTax", "DebitNoteTaxByTax", "BalanceByMoneyType"
};

static const char *const money_names[MONEY_TYPE_COUNT] = {
	"Cash", "Card", "MobileWallet", "Coupon", "Credit", "BankTransfer",
	"Other"
};

static const char *const rtype_names[] = {
	"FiscalInvoice", "CreditNote", "DebitNote"
};

/*
 * One counter; 0 when its type is one we do not know (the newest OAS adds
 * PayoutByTax): skipped and counted, not a reason to refuse the status.
 */
static int
parse_counter(struct jr *j, const cJSON *o, struct counter *c)
{
	int type, mt;
	const char *text;

	if (jr_enum(j, o, "fiscalCounterType", counter_names,
	    COUNTER_TYPE_COUNT, &type, &text) != 1) {
		if (!j->bad && text == NULL)
			jr_fail(j, "fiscalCounterType", "missing");
		return j->bad ? -1 : 0;
	}
	c->type = (enum counter_type)type;
	if (!set_currency(j, o, "fiscalCounterCurrency", c->currency))
		return -1;
	if (c->type == COUNTER_BALANCE_BY_MONEY_TYPE) {
		if (jr_enum(j, o, "fiscalCounterMoneyType", money_names,
		    MONEY_TYPE_COUNT, &mt, NULL) != 1) {
			jr_fail(j, "fiscalCounterMoneyType",
			    "missing or unknown");
			return -1;
		}
		c->money_type = (enum money_type)mt;
	} else {
		jr_int(j, o, "fiscalCounterTaxID", false, 0, INT32_MAX,
		    &c->tax_id);
		c->has_percent = jr_percent(j, o, "fiscalCounterTaxPercent",
		    false, &c->percent) == 1;
	}
	jr_cents(j, o, "fiscalCounterValue", true, &c->value);
	return j->bad ? -1 : 1;
}

static void
parse_sigdata(struct jr *j, const cJSON *o, struct fdms_sigdata *s)
{
	s->hash = jr_str(j, o, "hash", false, SHORT_MAX);
	s->signature = jr_str(j, o, "signature", false, 1024);
	s->thumbprint = jr_str(j, o, "certificateThumbprint", false, SHORT_MAX);
}

static void
parse_status(struct jr *j, const cJSON *root, struct fdms_status *s)
{
	static const char *const statuses[] = { "FiscalDayClosed",
	    "FiscalDayOpened", "FiscalDayCloseInitiated",
	    "FiscalDayCloseFailed" };
	static const char *const recons[] = { "Auto", "Manual" };
	static const char *const errs[] = { "BadCertificateSignature",
	    "MissingReceipts", "ReceiptsWithValidationErrors",
	    "CountersMismatch", "InternalError" };
	const char *name, *text;
	const cJSON *arr, *e, *o;
	size_t n, i, k;
	int v, rc;

	rc = jr_enum(j, root, "fiscalDayStatus", statuses, NELEM(statuses), &v,
	    &text);
	if (rc == 0)
		jr_fail(j, "fiscalDayStatus", "missing");
	/* An unknown status is reported as UNKNOWN: the caller must not act. */
	s->day_status = rc == 1 ? (enum fdms_day_status)(v + 1) :
	    FDMS_DAY_UNKNOWN;
	if (jr_enum(j, root, "fiscalDayReconciliationMode", recons,
	    NELEM(recons), &v, NULL) == 1)
		s->recon = v == 0 ? FDMS_RECON_AUTO : FDMS_RECON_MANUAL;
	if ((o = jr_obj(j, root, "fiscalDayServerSignature", false)) != NULL) {
		s->has_server_signature = true;
		parse_sigdata(j, o, &s->server_signature);
	}
	s->day_closed = jr_str(j, root, "fiscalDayClosed", false, SHORT_MAX);
	rc = jr_enum(j, root, "fiscalDayClosingErrorCode", errs, NELEM(errs),
	    &v, &s->closing_error_text);
	if (rc == 1)
		s->closing_error = (enum fdms_close_error)(v + 1);
	else if (rc == 2)
		s->closing_error = FDMS_CLOSE_ERR_OTHER;
	s->has_last_global_no = jr_int(j, root, "lastReceiptGlobalNo", false, 0,
	    INT64_MAX, &s->last_global_no) == 1;
	s->has_last_day_no = jr_int(j, root, "lastFiscalDayNo", false, 0,
	    INT32_MAX, &s->last_day_no) == 1;
	if (j->bad)
		return;

	/* [CONFLICT] OAS fiscalDayCounter, PDF fiscalDayCounters: either. */
	name = jr_get(root, "fiscalDayCounter") != NULL ? "fiscalDayCounter" :
	    "fiscalDayCounters";
	arr = jr_arr(j, root, name, false, FDMS_MAX_COUNTERS, &n);
	if (arr != NULL) {
		if ((s->counters = alloc_array(j, n, sizeof(*s->counters),
		    name)) == NULL)
			return;
		k = 0;
		for (i = 0, e = arr->child; e != NULL; e = e->next, i++) {
			snprintf(j->where, sizeof(j->where), "%s[%zu]", name,
			    i);
			if (!cJSON_IsObject(e)) {
				jr_fail(j, "", "not an object");
				return;
			}
			rc = parse_counter(j, e, &s->counters[k]);
			if (rc == -1)
				return;
			if (rc == 1)
				k++;
			else
				s->counters_unknown++;
		}
		s->n_counters = k;
		j->where[0] = '\0';
	}
	if ((arr = jr_arr(j, root, "fiscalDayDocumentQuantities", false, 64,
	    &n)) != NULL) {
		if ((s->docs = alloc_array(j, n, sizeof(*s->docs),
		    "fiscalDayDocumentQuantities")) == NULL)
			return;
		for (i = 0, e = arr->child; e != NULL && !j->bad;
		    e = e->next, i++) {
			snprintf(j->where, sizeof(j->where),
			    "fiscalDayDocumentQuantities[%zu]", i);
			if (!cJSON_IsObject(e)) {
				jr_fail(j, "", "not an object");
				return;
			}
			if (jr_enum(j, e, "receiptType", rtype_names,
			    NELEM(rtype_names), &v, NULL) != 1) {
				jr_fail(j, "receiptType", "missing or unknown");
				return;
			}
			s->docs[i].type = (enum receipt_type)v;
			set_currency(j, e, "receiptCurrency",
			    s->docs[i].currency);
			jr_int(j, e, "receiptQuantity", false, 0, INT64_MAX,
			    &s->docs[i].quantity);
			jr_cents(j, e, "receiptTotalAmount", false,
			    &s->docs[i].total);
		}
		s->n_docs = n;
		j->where[0] = '\0';
	}
}

static const char *const colours[] = { NULL, "Grey", "Yellow", "Red" };

/* validationErrors of SubmitReceipt and of SubmittedFileList rows. */
static void
parse_verrs(struct jr *j, const cJSON *obj, struct fdms_verr **out,
    size_t *nout)
{
	const cJSON *arr, *e;
	struct fdms_verr *v;
	size_t n, i;
	int c, rc;
	char where[sizeof(j->where)];

	if ((arr = jr_arr(j, obj, "validationErrors", false, MAX_VERRS,
	    &n)) == NULL || j->bad)
		return;
	if ((*out = alloc_array(j, n, sizeof(**out),
	    "validationErrors")) == NULL)
		return;
	memcpy(where, j->where, sizeof(where));
	for (i = 0, e = arr->child; e != NULL && !j->bad; e = e->next, i++) {
		snprintf(j->where, sizeof(j->where),
		    "%s%svalidationErrors[%zu]", where, where[0] ? "." : "",
		    i);
		if (!cJSON_IsObject(e)) {
			jr_fail(j, "", "not an object");
			break;
		}
		v = &(*out)[i];
		v->code = jr_str(j, e, "validationErrorCode", true, SHORT_MAX);
		rc = jr_enum(j, e, "validationErrorColor", colours,
		    NELEM(colours), &c, &v->colour_text);
		if (rc == 1)
			v->colour = (enum colour)c;
		else if (rc == 2 && strcasecmp(v->colour_text, "Gray") == 0)
			v->colour = COLOUR_GREY;	/* live: "Gray" */
		v->description = jr_str(j, e, "validationErrorDescription",
		    false, TEXT_MAX);
	}
	memcpy(j->where, where, sizeof(where));
	*nout = n;
}

static void
parse_submitted(struct jr *j, const cJSON *root, struct fdms_submitted *s)
{
	const cJSON *o;

	jr_int(j, root, "receiptID", true, 0, INT64_MAX, &s->receipt_id);
	s->server_date = jr_str(j, root, "serverDate", false, SHORT_MAX);
	if ((o = jr_obj(j, root, "receiptServerSignature", false)) != NULL)
		parse_sigdata(j, o, &s->server_signature);
	parse_verrs(j, root, &s->verrs, &s->n_verrs);
}

static const char *
parse_certificate(struct jr *j, const cJSON *root)
{
	const char *pem = jr_str(j, root, "certificate", true, PEM_MAX);

	if (pem != NULL && !good_pem(pem, "CERTIFICATE")) {
		jr_fail(j, "certificate", "not a PEM certificate");
		return NULL;
	}
	return pem;
}

static void
parse_server_cert(struct jr *j, const cJSON *root, struct fdms_server_cert *c)
{
	const cJSON *v = jr_get(root, "certificate"), *e;
	size_t n, i;

	c->valid_till = jr_str(j, root, "certificateValidTill", false,
	    SHORT_MAX);
	if (v != NULL && cJSON_IsString(v)) {
		/* Tolerate a lone string for the one-element chain. */
		if ((c->chain = alloc_array(j, 1, sizeof(*c->chain),
		    "certificate")) != NULL &&
		    (c->chain[0] = parse_certificate(j, root)) != NULL)
			c->n_chain = 1;
		return;
	}
	if ((v = jr_arr(j, root, "certificate", true, MAX_CHAIN, &n)) == NULL)
		return;
	if (n == 0) {
		jr_fail(j, "certificate", "empty chain");
		return;
	}
	if ((c->chain = alloc_array(j, n, sizeof(*c->chain), "certificate")) ==
	    NULL)
		return;
	for (i = 0, e = v->child; e != NULL; e = e->next, i++) {
		if (!cJSON_IsString(e) || !good_pem(e->valuestring,
		    "CERTIFICATE")) {
			jr_fail(j, "certificate", "entry %zu is not a PEM "
			    "certificate", i);
			return;
		}
		c->chain[i] = arena_strdup(j->a, e->valuestring);
		if (c->chain[i] == NULL) {
			jr_fail(j, "certificate", "out of memory");
			return;
		}
	}
	c->n_chain = n;
}

static void
parse_file_row(struct jr *j, const cJSON *o, struct fdms_file_row *r)
{
	/* [CONFLICT] OAS names, then the PDF's; both in enum order. */
	static const char *const st_oas[] = { NULL, "InProgress",
	    "CompleteSuccessful", "FailedWithErrors",
	    "WaitingForPreviousFile" };
	static const char *const st_pdf[] = { NULL, "FileProcessingInProgress",
	    "FileProcessingIsSuccessful", "FileProcessingWithErrors",
	    "WaitingForPreviousFile" };
	const cJSON *arr, *e;
	struct fdms_file_invoice *inv;
	size_t n, i, k;
	int v, rc;

	r->file_name = jr_str(j, o, "fileName", false, TEXT_MAX);
	r->upload_date = jr_str(j, o, "fileUploadDate", false, SHORT_MAX);
	r->has_device_id = jr_int(j, o, "deviceId", false, 0, INT32_MAX,
	    &r->device_id) == 1;
	r->has_day_no = jr_int(j, o, "dayNo", false, 0, INT32_MAX,
	    &r->day_no) == 1;
	r->day_opened_at = jr_str(j, o, "fiscalDayOpenedAt", false, SHORT_MAX);
	r->has_file_sequence = jr_int(j, o, "fileSequence", false, 0,
	    INT32_MAX, &r->file_sequence) == 1;
	r->processing_date = jr_str(j, o, "fileProcessingDate", false,
	    SHORT_MAX);
	rc = jr_enum(j, o, "fileProcessingStatus", st_oas, NELEM(st_oas), &v,
	    &r->status_text);
	for (k = 1; rc == 2 && k < NELEM(st_pdf); k++)
		if (strcasecmp(r->status_text, st_pdf[k]) == 0) {
			v = (int)k;
			rc = 1;
		}
	if (rc == 1)
		r->status = (enum fdms_file_status)v;
	r->processing_error = jr_str(j, o, "fileProcessingError", false,
	    TEXT_MAX);
	jr_bool(j, o, "hasFooter", false, &r->has_footer);
	r->operation_id = jr_str(j, o, "operationId", false, SHORT_MAX);
	r->ip_address = jr_str(j, o, "ipAddress", false, SHORT_MAX);
	if (j->bad || (arr = jr_arr(j, o, "invoiceWithValidationErrors", false,
	    MAX_VERRS, &n)) == NULL)
		return;
	if ((r->invoices = alloc_array(j, n, sizeof(*r->invoices),
	    "invoiceWithValidationErrors")) == NULL)
		return;
	for (i = 0, e = arr->child; e != NULL && !j->bad; e = e->next, i++) {
		inv = &r->invoices[i];
		if (!cJSON_IsObject(e)) {
			jr_fail(j, "invoiceWithValidationErrors",
			    "not an object");
			return;
		}
		inv->has_receipt_counter = jr_int(j, e, "receiptCounter", false,
		    0, INT64_MAX, &inv->receipt_counter) == 1;
		inv->has_global_no = jr_int(j, e, "receiptGlobalNo", false, 0,
		    INT64_MAX, &inv->global_no) == 1;
		parse_verrs(j, e, &inv->verrs, &inv->n_verrs);
	}
	r->n_invoices = n;
}

static void
parse_file_list(struct jr *j, const cJSON *root, struct fdms_file_list *l)
{
	const cJSON *arr, *e;
	size_t n, i;

	jr_int(j, root, "total", false, 0, INT64_MAX, &l->total);
	if ((arr = jr_arr(j, root, "rows", false, MAX_ROWS, &n)) == NULL ||
	    j->bad)
		return;
	if ((l->rows = alloc_array(j, n, sizeof(*l->rows), "rows")) == NULL)
		return;
	for (i = 0, e = arr->child; e != NULL && !j->bad; e = e->next, i++) {
		snprintf(j->where, sizeof(j->where), "rows[%zu]", i);
		if (!cJSON_IsObject(e)) {
			jr_fail(j, "", "not an object");
			return;
		}
		parse_file_row(j, e, &l->rows[i]);
	}
	j->where[0] = '\0';
	l->n_rows = n;
}

/* A 2xx answer: the typed reply, or RETRY-in-doubt if unusable. */
static void
decode_ok(enum fdms_op op, const struct fdms_raw *raw, struct fdms_reply *rp)
{
	struct fdms_result *res = &rp->res;
	char perr[160];
	const char *opid;
	cJSON *root = NULL;
	struct jr j;

	memset(&j, 0, sizeof(j));
	if ((rp->arena = arena_new(REPLY_ARENA)) == NULL) {
		jr_fail(&j, "", "out of memory");
		goto bad;
	}
	j.a = rp->arena;
	/* CloseDay and SubmitFile say no more than "accepted". */
	if (raw->body_len == 0 &&
	    (op == FDMS_CLOSE_DAY || op == FDMS_SUBMIT_FILE))
		goto ok;
	if ((root = jr_parse(raw->body, raw->body_len, FDMS_MAX_BODY, perr,
	    sizeof(perr))) == NULL) {
		jr_fail(&j, "", "%s", perr);
		goto bad;
	}
	if (!cJSON_IsObject(root)) {
		jr_fail(&j, "", "not a JSON object");
		goto bad;
	}
	if ((opid = jr_str(&j, root, "operationID", false, FDMS_OPID_MAX))
	    != NULL && opid[0] != '\0')
		fdms_copy_text(res->operation_id, sizeof(res->operation_id),
		    opid);
	switch (op) {
	case FDMS_VERIFY_TAXPAYER:
		parse_taxpayer(&j, root, &rp->u.taxpayer, true);
		break;
	case FDMS_REGISTER_DEVICE:
	case FDMS_ISSUE_CERT:
		rp->u.certificate = parse_certificate(&j, root);
		break;
	case FDMS_GET_SERVER_CERT:
		parse_server_cert(&j, root, &rp->u.server_cert);
		break;
	case FDMS_GET_CONFIG:
		parse_config(&j, root, &rp->u.config);
		break;
	case FDMS_GET_STATUS:
		parse_status(&j, root, &rp->u.status);
		break;
	case FDMS_OPEN_DAY:
		jr_int(&j, root, "fiscalDayNo", true, 1, INT32_MAX,
		    &rp->u.day_no);
		break;
	case FDMS_SUBMIT_RECEIPT:
		parse_submitted(&j, root, &rp->u.submitted);
		break;
	case FDMS_PING:
		jr_int(&j, root, "reportingFrequency", false, 0, 100000,
		    &rp->u.reporting_frequency);
		break;
	case FDMS_FILE_LIST:
		parse_file_list(&j, root, &rp->u.files);
		break;
	case FDMS_CLOSE_DAY:
	case FDMS_SUBMIT_FILE:
	default:
		break;
	}
	if (j.bad)
		goto bad;
ok:
	cJSON_Delete(root);
	res->cls = FDMS_OK;
	res->fail = FDMS_FAIL_NONE;
	res->in_doubt = false;
	snprintf(res->message, sizeof(res->message), "HTTP %ld", raw->status);
	return;
bad:
	cJSON_Delete(root);
	arena_free(rp->arena);
	rp->arena = NULL;
	memset(&rp->u, 0, sizeof(rp->u));
	res->cls = FDMS_RETRY;
	res->fail = FDMS_FAIL_RESPONSE;
	res->in_doubt = true;
	snprintf(res->message, sizeof(res->message),
	    "HTTP %ld with an unusable body: %.200s", raw->status, j.err);
}

void
fdms_decode(enum fdms_op op, const struct fdms_raw *raw, struct fdms_reply *rp)
{
	struct fdms_result *res = &rp->res;

	rp->op = op;
	res->retry_after_s = raw->retry_after_s;
	if (raw->operation_id != NULL)
		fdms_copy_text(res->operation_id, sizeof(res->operation_id),
		    raw->operation_id);
	if (raw->transport_fail != FDMS_FAIL_NONE) {
		fdms_classify_transport(res, raw);
		return;
	}
	res->http_status = raw->status;
	if (raw->status >= 200 && raw->status < 300)
		decode_ok(op, raw, rp);
	else
		fdms_classify_http(res, raw);
}
