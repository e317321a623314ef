/*
 * wire.c - struct receipt -> the receipt JSON sent to FDMS (see wire.h).
 *
 * Member order follows fdms-reference §3.1 and the §8 example; it never
 * depends on the input document, so two receipts with the same content
 * serialise to the same bytes.  Numbers are printed from the exact
 * integers of the model (money_format), never through double.
 *
 * Trust: the receipt comes from our own pipeline (parsed, validated,
 * numbered, signed); we still refuse what would make a wrong or
 * unverifiable wire form (missing signature, unresolved invoiceNo
 * reference, text that is not UTF-8) rather than print something FDMS
 * would read differently from what was signed.
 *
 * Left out on purpose: the operator fields (username / userInfo) whose
 * shape changed between spec versions (§3.1), and our creditDebitNote
 * invoiceNo extension, which must be resolved to an FDMS reference first.
 */
#include "fdms/wire.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "fdms/fdms_int.h"
#include "fiscal/receipt.h"
#include "util/buf.h"

static int fail(struct buf *, char *, size_t, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct buf *out, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	buf_reset(out);
	return -1;
}

/* An optional string member: left out when NULL. */
static int
opt_str(struct buf *b, bool *first, const char *key, const char *s)
{
	return s == NULL ? 0 : jw_kstr(b, first, key, s);
}

static int
put_buyer(struct buf *b, const struct receipt_buyer *y)
{
	bool first = true, f2;

	if (buf_adds(b, "{") == -1 ||
	    opt_str(b, &first, "buyerRegisterName", y->register_name) == -1 ||
	    opt_str(b, &first, "buyerTradeName", y->trade_name) == -1 ||
	    opt_str(b, &first, "buyerTIN", y->tin) == -1 ||
	    opt_str(b, &first, "vatNumber", y->vat_number) == -1)
		return -1;
	if (y->has_contacts) {
		f2 = true;
		if (jw_key(b, &first, "buyerContacts") == -1 ||
		    buf_adds(b, "{") == -1 ||
		    opt_str(b, &f2, "phoneNo", y->phone_no) == -1 ||
		    opt_str(b, &f2, "email", y->email) == -1 ||
		    buf_adds(b, "}") == -1)
			return -1;
	}
	if (y->has_address) {
		f2 = true;
		if (jw_key(b, &first, "buyerAddress") == -1 ||
		    buf_adds(b, "{") == -1 ||
		    opt_str(b, &f2, "province", y->province) == -1 ||
		    opt_str(b, &f2, "city", y->city) == -1 ||
		    opt_str(b, &f2, "street", y->street) == -1 ||
		    opt_str(b, &f2, "houseNo", y->house_no) == -1 ||
		    opt_str(b, &f2, "district", y->district) == -1 ||
		    buf_adds(b, "}") == -1)
			return -1;
	}
	return buf_adds(b, "}");
}

static int
put_cdn(struct buf *b, const struct receipt_cdn *d)
{
	bool first = true;

	if (buf_adds(b, "{") == -1)
		return -1;
	if (d->has_receipt_id) {
		if (jw_kint(b, &first, "receiptID", d->receipt_id) == -1)
			return -1;
	} else if (jw_kint(b, &first, "deviceID", d->device_id) == -1 ||
	    jw_kint(b, &first, "receiptGlobalNo", d->receipt_global_no) == -1 ||
	    jw_kint(b, &first, "fiscalDayNo", d->fiscal_day_no) == -1)
		return -1;
	return buf_adds(b, "}");
}

static int
put_line(struct buf *b, const struct receipt_line *l, size_t idx)
{
	bool first = true;

	if (buf_adds(b, "{") == -1 ||
	    jw_kstr(b, &first, "receiptLineType",
	    line_type_name(l->type)) == -1 ||
	    jw_kint(b, &first, "receiptLineNo",
	    l->has_line_no ? l->line_no : (int64_t)idx + 1) == -1 ||
	    opt_str(b, &first, "receiptLineHSCode", l->hs_code) == -1 ||
	    jw_kstr(b, &first, "receiptLineName", l->name) == -1 ||
	    (l->has_price &&
	    jw_kmicro(b, &first, "receiptLinePrice", l->price) == -1) ||
	    jw_kmicro(b, &first, "receiptLineQuantity", l->quantity) == -1 ||
	    jw_kfix(b, &first, "receiptLineTotal", l->total, 2) == -1 ||
	    opt_str(b, &first, "taxCode", l->tax_code) == -1 ||
	    /* Exempt: no taxPercent at all; zero-rated: 0.00 (§10 #15). */
	    (l->has_tax_percent &&
	    jw_kfix(b, &first, "taxPercent", l->tax_percent, 2) == -1) ||
	    jw_kint(b, &first, "taxID", l->tax_id) == -1)
		return -1;
	return buf_adds(b, "}");
}

static int
put_tax(struct buf *b, const struct receipt_tax *t)
{
	bool first = true;

	if (buf_adds(b, "{") == -1 ||
	    opt_str(b, &first, "taxCode", t->tax_code) == -1 ||
	    (t->has_tax_percent &&
	    jw_kfix(b, &first, "taxPercent", t->tax_percent, 2) == -1) ||
	    jw_kint(b, &first, "taxID", t->tax_id) == -1 ||
	    jw_kfix(b, &first, "taxAmount", t->tax_amount, 2) == -1 ||
	    jw_kfix(b, &first, "salesAmountWithTax",
	    t->sales_amount_with_tax, 2) == -1)
		return -1;
	return buf_adds(b, "}");
}

static int
put_payment(struct buf *b, const struct receipt_payment *p)
{
	bool first = true;

	if (buf_adds(b, "{") == -1 ||
	    jw_kstr(b, &first, "moneyTypeCode",
	    money_type_name(p->money_type)) == -1 ||
	    jw_kfix(b, &first, "paymentAmount", p->amount, 2) == -1)
		return -1;
	return buf_adds(b, "}");
}

int
fdms_wire_receipt(const struct receipt *r, struct buf *out, char *err,
    size_t errlen)
{
	bool first = true, sfirst = true;
	size_t i;

	buf_reset(out);
	if (!r->has_counter || !r->has_global_no || r->date == NULL ||
	    r->currency == NULL || r->invoice_no == NULL)
		return fail(out, err, errlen, "receipt is not numbered and "
		    "dated yet");
	if (r->sig_hash == NULL || r->sig_signature == NULL)
		return fail(out, err, errlen, "receipt is not signed");
	if (r->cdn.present && !r->cdn.has_receipt_id &&
	    !(r->cdn.has_device_id && r->cdn.has_global_no &&
	    r->cdn.has_fiscal_day_no))
		return fail(out, err, errlen, "creditDebitNote reference is "
		    "not resolved to an FDMS receipt");
	for (i = 0; i < r->n_lines; i++)
		if (r->lines[i].name == NULL)
			return fail(out, err, errlen, "line %zu has no name",
			    i);

	if (buf_adds(out, "{") == -1 ||
	    jw_kstr(out, &first, "receiptType",
	    receipt_type_name(r->type)) == -1 ||
	    jw_kstr(out, &first, "receiptCurrency", r->currency) == -1 ||
	    jw_kint(out, &first, "receiptCounter", r->counter) == -1 ||
	    jw_kint(out, &first, "receiptGlobalNo", r->global_no) == -1 ||
	    jw_kstr(out, &first, "invoiceNo", r->invoice_no) == -1)
		goto enc;
	if (r->buyer.present && (jw_key(out, &first, "buyerData") == -1 ||
	    put_buyer(out, &r->buyer) == -1))
		goto enc;
	if (opt_str(out, &first, "receiptNotes", r->notes) == -1 ||
	    jw_kstr(out, &first, "receiptDate", r->date) == -1)
		goto enc;
	if (r->cdn.present && (jw_key(out, &first, "creditDebitNote") == -1 ||
	    put_cdn(out, &r->cdn) == -1))
		goto enc;
	if (jw_key(out, &first, "receiptLinesTaxInclusive") == -1 ||
	    buf_adds(out, r->taxes_inclusive ? "true" : "false") == -1 ||
	    jw_key(out, &first, "receiptLines") == -1 ||
	    buf_adds(out, "[") == -1)
		goto enc;
	for (i = 0; i < r->n_lines; i++)
		if ((i > 0 && buf_adds(out, ",") == -1) ||
		    put_line(out, &r->lines[i], i) == -1)
			goto enc;
	if (buf_adds(out, "]") == -1 ||
	    jw_key(out, &first, "receiptTaxes") == -1 ||
	    buf_adds(out, "[") == -1)
		goto enc;
	for (i = 0; i < r->n_taxes; i++)
		if ((i > 0 && buf_adds(out, ",") == -1) ||
		    put_tax(out, &r->taxes[i]) == -1)
			goto enc;
	if (buf_adds(out, "]") == -1 ||
	    jw_key(out, &first, "receiptPayments") == -1 ||
	    buf_adds(out, "[") == -1)
		goto enc;
	for (i = 0; i < r->n_payments; i++)
		if ((i > 0 && buf_adds(out, ",") == -1) ||
		    put_payment(out, &r->payments[i]) == -1)
			goto enc;
	if (buf_adds(out, "]") == -1 ||
	    jw_kfix(out, &first, "receiptTotal", r->total, 2) == -1 ||
	    (r->has_print_form && jw_kstr(out, &first, "receiptPrintForm",
	    print_form_name(r->print_form)) == -1) ||
	    jw_key(out, &first, "receiptDeviceSignature") == -1 ||
	    buf_adds(out, "{") == -1 ||
	    jw_kstr(out, &sfirst, "hash", r->sig_hash) == -1 ||
	    jw_kstr(out, &sfirst, "signature", r->sig_signature) == -1 ||
	    buf_adds(out, "}}") == -1)
		goto enc;
	return 0;
enc:
	return fail(out, err, errlen, "cannot encode receipt (text not UTF-8, "
	    "or larger than the buffer allows)");
}
