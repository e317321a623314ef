/*
 * result.c - the result and error documents for the POS (see result.h,
 * interface.md §3).
 *
 * What a POS reads back after dropping a file: NAME.result.json (or
 * .result.xml, the same fields as elements of <result>) once the receipt is
 * fiscalised, NAME.error.json when it was refused.  This module renders
 * text only; util/fsutil writes it atomically.
 *
 * SECURITY.  File names come from whoever can write the inbox, messages
 * quote document text, and FDMS's strings come off the network: all are
 * untrusted.  Every string goes through one walker (put_text) that decodes
 * strict UTF-8 (util/utf8), replaces what is not valid UTF-8 with U+FFFD,
 * bounds the length (RESULT_TEXT_MAX bytes, then "..."), and escapes for
 * the target format, so no value can end its string or element, add a
 * member, or make the document ill-formed:
 *   JSON  quote and backslash escaped; C0 controls, DEL and U+2028/U+2029
 *         as \uXXXX (the last two end lines in JavaScript).
 *   XML   & < > " ' as entities; TAB, LF, CR as character references (so
 *         an attribute-value normaliser cannot eat them); the other C0
 *         controls and U+FFFE/U+FFFF, which XML 1.0 cannot carry even as
 *         references, become U+FFFD.
 *
 * Invariants.
 *  - Money is rendered from int64 cents by money_format (never through
 *    double): receiptTotal is a JSON number with exactly two decimals.
 *  - The member order is fixed (interface.md §3), so the same facts give
 *    the same bytes: a rewritten result differs only where facts changed.
 *  - The `fdms` block appears only when FDMS has answered (has_fdms).
 *  - Output is bounded (RESULT_DOC_MAX); NULL means no memory or a bound
 *    was hit, never a partial document.
 */
#include "io/result.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "util/buf.h"
#include "util/utf8.h"

#define RESULT_TEXT_MAX	1024		/* input bytes of one string */
#define RESULT_DOC_MAX	(1024 * 1024)	/* FINDINGS_MAX x 3 x text: fits */

enum fmt {
	FMT_JSON,
	FMT_XML
};

const char *
result_status_name(enum result_status s)
{
	switch (s) {
	case RESULT_SIGNED:	return "signed";
	case RESULT_SUBMITTED:	return "submitted";
	case RESULT_FLAGGED:	return "flagged";
	}
	return "signed";
}

/* One code point, escaped for the format; `raw` is its valid UTF-8. */
static int
put_cp(struct buf *b, enum fmt f, uint32_t cp, const unsigned char *raw,
    size_t rawlen)
{
	static const char rep[] = "\xef\xbf\xbd";	/* U+FFFD */

	if (f == FMT_JSON) {
		switch (cp) {
		case '"':	return buf_adds(b, "\\\"");
		case '\\':	return buf_adds(b, "\\\\");
		case '\n':	return buf_adds(b, "\\n");
		case '\r':	return buf_adds(b, "\\r");
		case '\t':	return buf_adds(b, "\\t");
		default:
			break;
		}
		if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029)
			return buf_printf(b, "\\u%04x", (unsigned)cp);
		return raw != NULL ? buf_add(b, raw, rawlen) : buf_adds(b, rep);
	}
	switch (cp) {
	case '&':	return buf_adds(b, "&amp;");
	case '<':	return buf_adds(b, "&lt;");
	case '>':	return buf_adds(b, "&gt;");
	case '"':	return buf_adds(b, "&quot;");
	case '\'':	return buf_adds(b, "&apos;");
	case '\t':	return buf_adds(b, "&#9;");
	case '\n':	return buf_adds(b, "&#10;");
	case '\r':	return buf_adds(b, "&#13;");
	default:
		break;
	}
	if (cp < 0x20 || cp == 0xfffe || cp == 0xffff)
		return buf_adds(b, rep);
	return raw != NULL ? buf_add(b, raw, rawlen) : buf_adds(b, rep);
}

/* The text of s, bounded and escaped (no quotes, no tags). */
static int
put_text(struct buf *b, enum fmt f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	uint32_t cp;

	while (i < n) {
		if (i >= RESULT_TEXT_MAX)
			return buf_adds(b, "...");
		if ((k = utf8_decode(p + i, n - i, &cp)) == 0) {
			/* Not UTF-8: one byte becomes one U+FFFD. */
			if (put_cp(b, f, 0xfffd, NULL, 0) == -1)
				return -1;
			i++;
			continue;
		}
		if (put_cp(b, f, cp, p + i, k) == -1)
			return -1;
		i += k;
	}
	return 0;
}

/* ---- JSON ------------------------------------------------------------ */

static int
json_key(struct buf *b, bool *first, const char *indent, const char *key)
{
	int rc;

	/* indent NULL: a member of a one-line object. */
	if (indent == NULL)
		rc = buf_printf(b, "%s\"%s\": ", *first ? " " : ", ", key);
	else
		rc = buf_printf(b, "%s\n%s\"%s\": ", *first ? "" : ",",
		    indent, key);
	*first = false;
	return rc;
}

static int
json_str(struct buf *b, bool *first, const char *indent, const char *key,
    const char *v)
{
	if (json_key(b, first, indent, key) == -1)
		return -1;
	if (v == NULL)
		return buf_adds(b, "null");
	if (buf_adds(b, "\"") == -1 || put_text(b, FMT_JSON, v) == -1)
		return -1;
	return buf_adds(b, "\"");
}

static int
json_int(struct buf *b, bool *first, const char *indent, const char *key,
    int64_t v)
{
	if (json_key(b, first, indent, key) == -1)
		return -1;
	return buf_printf(b, "%" PRId64, v);
}

/* A number with two decimals, from cents. */
static int
json_cents(struct buf *b, bool *first, const char *indent, const char *key,
    int64_t v)
{
	char num[MONEY_BUFSZ];

	if (json_key(b, first, indent, key) == -1)
		return -1;
	return buf_adds(b, money_format(v, 2, num, sizeof(num)));
}

static int
json_verr(struct buf *b, const struct result_verr *v)
{
	bool first = true;

	return buf_adds(b, "{") == -1 ||
	    json_str(b, &first, NULL, "validationErrorCode", v->code) == -1 ||
	    json_str(b, &first, NULL, "validationErrorColor",
	    v->colour) == -1 ||
	    json_str(b, &first, NULL, "validationErrorDescription",
	    v->description) == -1 ||
	    buf_adds(b, " }") == -1 ? -1 : 0;
}

static int
json_fdms(struct buf *b, bool *first, const struct result_info *ri)
{
	bool f2 = true;
	size_t i;

	if (json_key(b, first, "  ", "fdms") == -1 || buf_adds(b, "{") == -1 ||
	    json_int(b, &f2, "    ", "receiptID", ri->receipt_id) == -1 ||
	    json_str(b, &f2, "    ", "serverDate", ri->server_date) == -1 ||
	    json_str(b, &f2, "    ", "operationID", ri->operation_id) == -1 ||
	    json_key(b, &f2, "    ", "validationErrors") == -1 ||
	    buf_adds(b, "[") == -1)
		return -1;
	for (i = 0; i < ri->n_verrs; i++)
		if (buf_adds(b, i > 0 ? ",\n      " : "\n      ") == -1 ||
		    json_verr(b, &ri->verrs[i]) == -1)
			return -1;
	return buf_adds(b, ri->n_verrs > 0 ? "\n    ]\n  }" : "]\n  }");
}

char *
result_render_json(const struct result_info *ri)
{
	struct buf b;
	bool first = true;
	const char *in = "  ";

	buf_init(&b, RESULT_DOC_MAX);
	if (buf_adds(&b, "{") == -1 ||
	    json_str(&b, &first, in, "file", ri->file) == -1 ||
	    json_str(&b, &first, in, "status",
	    result_status_name(ri->status)) == -1 ||
	    json_int(&b, &first, in, "deviceID", ri->device_id) == -1 ||
	    json_int(&b, &first, in, "fiscalDayNo", ri->fiscal_day_no) == -1 ||
	    json_int(&b, &first, in, "receiptCounter",
	    ri->receipt_counter) == -1 ||
	    json_int(&b, &first, in, "receiptGlobalNo",
	    ri->receipt_global_no) == -1 ||
	    json_str(&b, &first, in, "invoiceNo", ri->invoice_no) == -1 ||
	    json_str(&b, &first, in, "receiptType",
	    receipt_type_name(ri->receipt_type)) == -1 ||
	    json_str(&b, &first, in, "receiptCurrency", ri->currency) == -1 ||
	    json_str(&b, &first, in, "receiptDate", ri->receipt_date) == -1 ||
	    json_cents(&b, &first, in, "receiptTotal", ri->total) == -1 ||
	    json_str(&b, &first, in, "receiptHash", ri->hash) == -1 ||
	    json_str(&b, &first, in, "receiptSignature", ri->signature) == -1 ||
	    json_str(&b, &first, in, "verificationCode",
	    ri->verification_code) == -1 ||
	    json_str(&b, &first, in, "qrUrl", ri->qr_url) == -1 ||
	    (ri->has_fdms && json_fdms(&b, &first, ri) == -1) ||
	    buf_adds(&b, "\n}\n") == -1) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

/* ---- XML ------------------------------------------------------------- */

/* <key>text</key>; a NULL value is an empty element. */
static int
xml_str(struct buf *b, const char *indent, const char *key, const char *v)
{
	if (buf_printf(b, "%s<%s>", indent, key) == -1 ||
	    (v != NULL && put_text(b, FMT_XML, v) == -1))
		return -1;
	return buf_printf(b, "</%s>\n", key);
}

static int
xml_int(struct buf *b, const char *indent, const char *key, int64_t v)
{
	return buf_printf(b, "%s<%s>%" PRId64 "</%s>\n", indent, key, v, key);
}

static int
xml_fdms(struct buf *b, const struct result_info *ri)
{
	const struct result_verr *v;
	const char *in = "        ";
	size_t i;

	if (buf_adds(b, "  <fdms>\n") == -1 ||
	    xml_int(b, "    ", "receiptID", ri->receipt_id) == -1 ||
	    xml_str(b, "    ", "serverDate", ri->server_date) == -1 ||
	    xml_str(b, "    ", "operationID", ri->operation_id) == -1 ||
	    buf_adds(b, ri->n_verrs > 0 ? "    <validationErrors>\n" :
	    "    <validationErrors/>\n") == -1)
		return -1;
	for (i = 0; i < ri->n_verrs; i++) {
		v = &ri->verrs[i];
		if (buf_adds(b, "      <validationError>\n") == -1 ||
		    xml_str(b, in, "validationErrorCode",
		    v->code) == -1 ||
		    xml_str(b, in, "validationErrorColor", v->colour) == -1 ||
		    xml_str(b, in, "validationErrorDescription",
		    v->description) == -1 ||
		    buf_adds(b, "      </validationError>\n") == -1)
			return -1;
	}
	if (ri->n_verrs > 0 && buf_adds(b, "    </validationErrors>\n") == -1)
		return -1;
	return buf_adds(b, "  </fdms>\n");
}

char *
result_render_xml(const struct result_info *ri)
{
	struct buf b;
	char num[MONEY_BUFSZ];
	const char *in = "  ";

	buf_init(&b, RESULT_DOC_MAX);
	if (buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<result>\n") == -1 ||
	    xml_str(&b, in, "file", ri->file) == -1 ||
	    xml_str(&b, in, "status", result_status_name(ri->status)) == -1 ||
	    xml_int(&b, in, "deviceID", ri->device_id) == -1 ||
	    xml_int(&b, in, "fiscalDayNo", ri->fiscal_day_no) == -1 ||
	    xml_int(&b, in, "receiptCounter", ri->receipt_counter) == -1 ||
	    xml_int(&b, in, "receiptGlobalNo", ri->receipt_global_no) == -1 ||
	    xml_str(&b, in, "invoiceNo", ri->invoice_no) == -1 ||
	    xml_str(&b, in, "receiptType",
	    receipt_type_name(ri->receipt_type)) == -1 ||
	    xml_str(&b, in, "receiptCurrency", ri->currency) == -1 ||
	    xml_str(&b, in, "receiptDate", ri->receipt_date) == -1 ||
	    xml_str(&b, in, "receiptTotal",
	    money_format(ri->total, 2, num, sizeof(num))) == -1 ||
	    xml_str(&b, in, "receiptHash", ri->hash) == -1 ||
	    xml_str(&b, in, "receiptSignature", ri->signature) == -1 ||
	    xml_str(&b, in, "verificationCode", ri->verification_code) == -1 ||
	    xml_str(&b, in, "qrUrl", ri->qr_url) == -1 ||
	    (ri->has_fdms && xml_fdms(&b, ri) == -1) ||
	    buf_adds(&b, "</result>\n") == -1) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

/* ---- error file ------------------------------------------------------ */

static int
json_error(struct buf *b, const char *code, const char *path,
    const char *message)
{
	bool first = true;

	return buf_adds(b, "{") == -1 ||
	    json_str(b, &first, NULL, "code", code) == -1 ||
	    json_str(b, &first, NULL, "path", path) == -1 ||
	    json_str(b, &first, NULL, "message", message) == -1 ||
	    buf_adds(b, " }") == -1 ? -1 : 0;
}

char *
result_render_error(const char *file, const char *stage,
    const struct findings *f, const char *time)
{
	struct buf b;
	char more[96];
	bool first = true;
	size_t i, n = f != NULL ? f->n : 0;
	int rc = 0;

	buf_init(&b, RESULT_DOC_MAX);
	if (buf_adds(&b, "{") == -1 ||
	    json_str(&b, &first, "  ", "file", file) == -1 ||
	    json_str(&b, &first, "  ", "stage", stage) == -1 ||
	    json_key(&b, &first, "  ", "errors") == -1 ||
	    buf_adds(&b, "[") == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		const struct finding *x = &f->v[i];

		if (buf_adds(&b, i > 0 ? ",\n    " : "\n    ") == -1 ||
		    json_error(&b, x->code, x->path, x->message) == -1)
			rc = -1;
	}
	/* The list is bounded (findings.h): say that more were found. */
	if (rc == 0 && f != NULL && f->dropped > 0) {
		snprintf(more, sizeof(more), "%zu more errors were found and "
		    "not listed", f->dropped);
		if (buf_adds(&b, n > 0 ? ",\n    " : "\n    ") == -1 ||
		    json_error(&b, "TOO_MANY_ERRORS", "", more) == -1)
			rc = -1;
		n++;
	}
	if (rc == 0 && (buf_adds(&b, n > 0 ? "\n  ]" : "]") == -1 ||
	    json_str(&b, &first, "  ", "time", time) == -1 ||
	    buf_adds(&b, "\n}\n") == -1))
		rc = -1;
	if (rc == -1) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}
