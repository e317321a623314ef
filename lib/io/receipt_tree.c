/*
 * receipt_tree.c - document tree -> receipt model (see receipt_tree.h).
 *
 * The schemas already say what a well-formed receipt looks like; this module
 * does not rely on them having run (spoolctl inspect and the fuzzers call it
 * directly), so every access checks the node's type and reports a PARSE
 * finding with the field's path instead of assuming. Unknown members are the
 * schema's business and are ignored here.
 *
 * Numbers: an amount is read from the exact text, at its scale, with
 * money.h; "1.005" for a cents field is an error, never a rounding.
 */
#include "io/receipt_tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "io/jsonrx.h"
#include "util/arena.h"

struct ctx {
	struct receipt	*r;
	struct findings	*f;
	int		 bad;
};

enum scale {
	SCALE_INT,
	SCALE_CENTS,
	SCALE_MICRO,
	SCALE_PERCENT
};

static void bad(struct ctx *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
bad(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	findings_add(c->f, "PARSE", COLOUR_NONE, path, "%s", msg);
	c->bad = 1;
}

static void
join(char *out, size_t len, const char *base, const char *name)
{
	if (base[0] == '\0')
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "%s.%s", base, name);
}

static const cJSON *
member(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* A string member; NULL when absent (or null). Reports wrong types. */
static const char *
get_string(struct ctx *c, const cJSON *obj, const char *base, const char *name,
    int required)
{
	const cJSON *v = member(obj, name);
	char path[128];
	const char *s;

	join(path, sizeof(path), base, name);
	if (v == NULL || cJSON_IsNull(v)) {
		if (required)
			bad(c, path, "%s is required", name);
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		bad(c, path, "%s must be a string", name);
		return NULL;
	}
	if ((s = arena_strdup(c->r->arena, v->valuestring)) == NULL)
		bad(c, path, "%s: document too large", name);
	return s;
}

/*
 * A number member at a scale, from its literal or a decimal string.
 * Returns 1 present and valid, 0 absent, -1 bad (reported).
 */
static int
get_number(struct ctx *c, const cJSON *obj, const char *base, const char *name,
    enum scale sc, int required, int64_t *out)
{
	const cJSON *v = member(obj, name);
	const char *text;
	char path[128], msg[160];
	enum money_status st;
	int32_t pct;

	join(path, sizeof(path), base, name);
	if (v == NULL || cJSON_IsNull(v)) {
		if (required)
			bad(c, path, "%s is required", name);
		return required ? -1 : 0;
	}
	if (cJSON_IsNumber(v))
		text = jsonrx_number_text(v);
	else if (cJSON_IsString(v) && sc != SCALE_INT)
		text = v->valuestring;
	else {
		bad(c, path, "%s must be %s", name, sc == SCALE_INT ?
		    "an integer" : "a number or a decimal string");
		return -1;
	}
	if (text == NULL) {
		bad(c, path, "%s: number without its source text", name);
		return -1;
	}
	switch (sc) {
	case SCALE_INT:
		st = money_parse(text, strlen(text), 0, INT64_C(999999999999999999),
		    out);
		break;
	case SCALE_CENTS:
		st = money_parse_cents(text, strlen(text), out);
		break;
	case SCALE_MICRO:
		st = money_parse_micro(text, strlen(text), out);
		break;
	case SCALE_PERCENT:
	default:
		st = money_parse_percent(text, strlen(text), &pct);
		*out = pct;
		break;
	}
	if (st != MONEY_OK) {
		snprintf(msg, sizeof(msg), "%s \"%.40s\": %s%s", name, text,
		    money_strerror(st),
		    st != MONEY_PRECISION ? "" : sc == SCALE_CENTS ?
		    " (at most 2 for amounts)" : sc == SCALE_MICRO ?
		    " (at most 6 for quantities and prices)" :
		    sc == SCALE_PERCENT ? " (at most 2 for tax percents)" :
		    " (an integer is expected)");
		bad(c, path, "%s", msg);
		return -1;
	}
	return 1;
}

static int
get_bool(struct ctx *c, const cJSON *obj, const char *base, const char *name,
    int required, bool *out)
{
	const cJSON *v = member(obj, name);
	char path[128];

	join(path, sizeof(path), base, name);
	if (v == NULL || cJSON_IsNull(v)) {
		if (required)
			bad(c, path, "%s is required", name);
		return 0;
	}
	if (!cJSON_IsBool(v)) {
		bad(c, path, "%s must be true or false", name);
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 1;
}

/* An enum member through its parse function. */
static int
get_enum(struct ctx *c, const cJSON *obj, const char *base, const char *name,
    int (*parse)(const char *, void *), void *out)
{
	const char *s = get_string(c, obj, base, name, 1);
	char path[128];

	if (s == NULL)
		return -1;
	if (parse(s, out) == -1) {
		join(path, sizeof(path), base, name);
		findings_add(c->f, "PARSE", COLOUR_NONE, path,
		    "%s \"%.40s\" is not one of the FDMS values", name, s);
		c->bad = 1;
		return -1;
	}
	return 0;
}

static int
parse_rtype(const char *s, void *out)
{
	return receipt_type_parse(s, out);
}

static int
parse_ltype(const char *s, void *out)
{
	return line_type_parse(s, out);
}

static int
parse_mtype(const char *s, void *out)
{
	return money_type_parse(s, out);
}

static int
parse_form(const char *s, void *out)
{
	return print_form_parse(s, out);
}

/* An array member; returns its size, 0 when absent, -1 when bad. */
static int
get_array(struct ctx *c, const cJSON *obj, const char *name, size_t max,
    const cJSON **out)
{
	const cJSON *v = member(obj, name);
	int n;

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v)) {
		bad(c, name, "%s must be an array", name);
		return -1;
	}
	n = cJSON_GetArraySize(v);
	if ((size_t)n > max) {
		findings_add(c->f, "PARSE", COLOUR_NONE, name,
		    "%s has %d entries, at most %zu are allowed", name, n, max);
		c->bad = 1;
		return -1;
	}
	*out = v;
	return n;
}

static int
want_object(struct ctx *c, const cJSON *v, const char *path)
{
	if (!cJSON_IsObject(v)) {
		bad(c, path, "%s must be an object", path);
		return 0;
	}
	return 1;
}

static void
read_line(struct ctx *c, const cJSON *o, const char *p, struct receipt_line *l)
{
	int64_t v;

	if (!want_object(c, o, p))
		return;
	get_enum(c, o, p, "receiptLineType", parse_ltype, &l->type);
	l->has_line_no = get_number(c, o, p, "receiptLineNo", SCALE_INT, 0,
	    &l->line_no) == 1;
	l->hs_code = get_string(c, o, p, "receiptLineHSCode", 0);
	l->name = get_string(c, o, p, "receiptLineName", 1);
	l->has_price = get_number(c, o, p, "receiptLinePrice", SCALE_MICRO, 0,
	    &l->price) == 1;
	get_number(c, o, p, "receiptLineQuantity", SCALE_MICRO, 1, &l->quantity);
	get_number(c, o, p, "receiptLineTotal", SCALE_CENTS, 1, &l->total);
	l->tax_code = get_string(c, o, p, "taxCode", 0);
	if (get_number(c, o, p, "taxPercent", SCALE_PERCENT, 0, &v) == 1) {
		l->has_tax_percent = true;
		l->tax_percent = (int32_t)v;
	}
	get_number(c, o, p, "taxID", SCALE_INT, 1, &l->tax_id);
}

static void
read_tax(struct ctx *c, const cJSON *o, const char *p, struct receipt_tax *t)
{
	int64_t v;

	if (!want_object(c, o, p))
		return;
	t->tax_code = get_string(c, o, p, "taxCode", 0);
	if (get_number(c, o, p, "taxPercent", SCALE_PERCENT, 0, &v) == 1) {
		t->has_tax_percent = true;
		t->tax_percent = (int32_t)v;
	}
	get_number(c, o, p, "taxID", SCALE_INT, 1, &t->tax_id);
	get_number(c, o, p, "taxAmount", SCALE_CENTS, 1, &t->tax_amount);
	get_number(c, o, p, "salesAmountWithTax", SCALE_CENTS, 1,
	    &t->sales_amount_with_tax);
}

static void
read_payment(struct ctx *c, const cJSON *o, const char *p,
    struct receipt_payment *pm)
{
	if (!want_object(c, o, p))
		return;
	get_enum(c, o, p, "moneyTypeCode", parse_mtype, &pm->money_type);
	get_number(c, o, p, "paymentAmount", SCALE_CENTS, 1, &pm->amount);
}

static void
read_buyer(struct ctx *c, const cJSON *o)
{
	struct receipt_buyer *b = &c->r->buyer;
	const cJSON *sub;

	if (o == NULL || cJSON_IsNull(o) || !want_object(c, o, "buyerData"))
		return;
	b->present = true;
	b->register_name = get_string(c, o, "buyerData", "buyerRegisterName", 0);
	b->trade_name = get_string(c, o, "buyerData", "buyerTradeName", 0);
	b->tin = get_string(c, o, "buyerData", "buyerTIN", 0);
	b->vat_number = get_string(c, o, "buyerData", "vatNumber", 0);
	if ((sub = member(o, "buyerContacts")) != NULL && !cJSON_IsNull(sub) &&
	    want_object(c, sub, "buyerData.buyerContacts")) {
		b->has_contacts = true;
		b->phone_no = get_string(c, sub, "buyerData.buyerContacts",
		    "phoneNo", 0);
		b->email = get_string(c, sub, "buyerData.buyerContacts", "email", 0);
	}
	if ((sub = member(o, "buyerAddress")) != NULL && !cJSON_IsNull(sub) &&
	    want_object(c, sub, "buyerData.buyerAddress")) {
		const char *p = "buyerData.buyerAddress";

		b->has_address = true;
		b->province = get_string(c, sub, p, "province", 0);
		b->city = get_string(c, sub, p, "city", 0);
		b->street = get_string(c, sub, p, "street", 0);
		b->house_no = get_string(c, sub, p, "houseNo", 0);
		b->district = get_string(c, sub, p, "district", 0);
	}
}

static void
read_cdn(struct ctx *c, const cJSON *o)
{
	struct receipt_cdn *d = &c->r->cdn;
	const char *p = "creditDebitNote";

	if (o == NULL || cJSON_IsNull(o) || !want_object(c, o, p))
		return;
	d->present = true;
	d->has_receipt_id = get_number(c, o, p, "receiptID", SCALE_INT, 0,
	    &d->receipt_id) == 1;
	d->has_device_id = get_number(c, o, p, "deviceID", SCALE_INT, 0,
	    &d->device_id) == 1;
	d->has_global_no = get_number(c, o, p, "receiptGlobalNo", SCALE_INT, 0,
	    &d->receipt_global_no) == 1;
	d->has_fiscal_day_no = get_number(c, o, p, "fiscalDayNo", SCALE_INT, 0,
	    &d->fiscal_day_no) == 1;
	d->invoice_no = get_string(c, o, p, "invoiceNo", 0);
}

static void
read_signature(struct ctx *c, const cJSON *o)
{
	const char *p = "receiptDeviceSignature";

	if (o == NULL || cJSON_IsNull(o) || !want_object(c, o, p))
		return;
	c->r->sig_hash = get_string(c, o, p, "hash", 1);
	c->r->sig_signature = get_string(c, o, p, "signature", 1);
}

/* Read array `name` of `o` into elements of `size` bytes with `fn`. */
static void *
read_list(struct ctx *c, const cJSON *o, const char *name, size_t max,
    size_t size, size_t *count,
    void (*fn)(struct ctx *, const cJSON *, const char *, void *))
{
	const cJSON *arr, *it;
	unsigned char *v;
	char path[64];
	int n;
	size_t i = 0;

	*count = 0;
	if ((n = get_array(c, o, name, max, &arr)) <= 0)
		return NULL;
	if ((v = arena_alloc(c->r->arena, (size_t)n * size)) == NULL) {
		bad(c, name, "%s: document too large", name);
		return NULL;
	}
	cJSON_ArrayForEach(it, arr) {
		snprintf(path, sizeof(path), "%s[%zu]", name, i);
		fn(c, it, path, v + i * size);
		i++;
	}
	*count = i;
	return v;
}

static void
line_fn(struct ctx *c, const cJSON *o, const char *p, void *out)
{
	read_line(c, o, p, out);
}

static void
tax_fn(struct ctx *c, const cJSON *o, const char *p, void *out)
{
	read_tax(c, o, p, out);
}

static void
payment_fn(struct ctx *c, const cJSON *o, const char *p, void *out)
{
	read_payment(c, o, p, out);
}

struct receipt *
receipt_from_tree(const cJSON *root, struct findings *f)
{
	struct ctx c = { NULL, f, 0 };
	struct receipt *r;
	const cJSON *o = root, *w;

	if (!cJSON_IsObject(root)) {
		findings_add(f, "PARSE", COLOUR_NONE, "",
		    "the document must be a receipt object");
		return NULL;
	}
	if ((r = receipt_new(RECEIPT_ARENA_LIMIT)) == NULL) {
		findings_add(f, "PARSE", COLOUR_NONE, "", "out of memory");
		return NULL;
	}
	c.r = r;
	if ((w = member(root, "receipt")) != NULL) {
		if (!want_object(&c, w, "receipt"))
			goto out;
		o = w;
		r->has_device_id = get_number(&c, root, "", "deviceID", SCALE_INT,
		    0, &r->device_id) == 1;
		r->previous_hash = get_string(&c, root, "", "previousReceiptHash",
		    0);
	}
	get_enum(&c, o, "", "receiptType", parse_rtype, &r->type);
	r->currency = get_string(&c, o, "", "receiptCurrency", 1);
	r->has_counter = get_number(&c, o, "", "receiptCounter", SCALE_INT, 0,
	    &r->counter) == 1;
	r->has_global_no = get_number(&c, o, "", "receiptGlobalNo", SCALE_INT, 0,
	    &r->global_no) == 1;
	r->invoice_no = get_string(&c, o, "", "invoiceNo", 1);
	read_buyer(&c, member(o, "buyerData"));
	r->notes = get_string(&c, o, "", "receiptNotes", 0);
	r->date = get_string(&c, o, "", "receiptDate", 0);
	read_cdn(&c, member(o, "creditDebitNote"));
	get_bool(&c, o, "", "receiptLinesTaxInclusive", 1, &r->taxes_inclusive);
	r->lines = read_list(&c, o, "receiptLines", RECEIPT_MAX_LINES,
	    sizeof(*r->lines), &r->n_lines, line_fn);
	r->has_taxes = member(o, "receiptTaxes") != NULL &&
	    !cJSON_IsNull(member(o, "receiptTaxes"));
	r->taxes = read_list(&c, o, "receiptTaxes", RECEIPT_MAX_TAXES,
	    sizeof(*r->taxes), &r->n_taxes, tax_fn);
	r->payments = read_list(&c, o, "receiptPayments", RECEIPT_MAX_PAYMENTS,
	    sizeof(*r->payments), &r->n_payments, payment_fn);
	get_number(&c, o, "", "receiptTotal", SCALE_CENTS, 1, &r->total);
	if (member(o, "receiptPrintForm") != NULL) {
		r->has_print_form = true;
		get_enum(&c, o, "", "receiptPrintForm", parse_form,
		    &r->print_form);
	}
	read_signature(&c, member(o, "receiptDeviceSignature"));
out:
	if (c.bad) {
		receipt_free(r);
		return NULL;
	}
	return r;
}
