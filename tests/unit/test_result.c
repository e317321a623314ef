/*
 * test_result.c - the result and error documents (lib/io/result): every
 * field read back through cJSON and libxml2, numbers from cents, the fdms
 * block only with an answer, and hostile file names and messages that
 * must neither break the document nor change its shape.
 */
#include "io/result.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "fiscal/findings.h"
#include "tap.h"

static void
sample(struct result_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->file = "sale-0001.json";
	ri->status = RESULT_SIGNED;
	ri->device_id = 12345;
	ri->fiscal_day_no = 7;
	ri->receipt_counter = 3;
	ri->receipt_global_no = 103;
	ri->invoice_no = "INV-103";
	ri->receipt_type = RECEIPT_FISCAL_INVOICE;
	ri->currency = "USD";
	ri->receipt_date = "2026-03-02T10:15:00";
	ri->total = 1655;
	ri->hash = "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=";
	ri->signature = "MEUCIQ+sig/==";
	ri->verification_code = "4C8B-E276-6333-0417";
	ri->qr_url = "https://fdmstest.zimra.co.zw/"
	    "00000123450203202600000001034C8BE27663330417";
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long
jint(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -999999;
}

static int
nkeys(const cJSON *o)
{
	return cJSON_GetArraySize(o);
}

/* The text of the element named `name` under `parent`, malloc'd or NULL. */
static char *
xtext(xmlNode *parent, const char *name)
{
	xmlNode *n;

	for (n = parent ? parent->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return (char *)xmlNodeGetContent(n);
	return NULL;
}

static xmlNode *
xchild(xmlNode *parent, const char *name)
{
	xmlNode *n;

	for (n = parent ? parent->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

static int
xcount(xmlNode *parent)
{
	xmlNode *n;
	int k = 0;

	for (n = parent ? parent->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			k++;
	return k;
}

#define CHECK_XSTR(root, name, want) do { \
	char *t_ = xtext((root), (name)); \
	CHECK_STR(t_, (want)); \
	xmlFree(t_); \
	} while (0)

static xmlDoc *
xparse(const char *s)
{
	return xmlReadMemory(s, (int)strlen(s), "result.xml", NULL,
	    XML_PARSE_NONET);
}

static void
test_json_signed(void)
{
	struct result_info ri;
	cJSON *o;
	char *s;

	sample(&ri);
	s = result_render_json(&ri);
	CHECK(s != NULL, "render");
	o = cJSON_Parse(s);
	CHECK(o != NULL, "parse: %s", s);
	CHECK_STR(jstr(o, "file"), "sale-0001.json");
	CHECK_STR(jstr(o, "status"), "signed");
	CHECK_INT(jint(o, "deviceID"), 12345);
	CHECK_INT(jint(o, "fiscalDayNo"), 7);
	CHECK_INT(jint(o, "receiptCounter"), 3);
	CHECK_INT(jint(o, "receiptGlobalNo"), 103);
	CHECK_STR(jstr(o, "invoiceNo"), "INV-103");
	CHECK_STR(jstr(o, "receiptType"), "FiscalInvoice");
	CHECK_STR(jstr(o, "receiptCurrency"), "USD");
	CHECK_STR(jstr(o, "receiptDate"), "2026-03-02T10:15:00");
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(o, "receiptTotal")),
	    "receiptTotal is a number");
	/* The literal, not a double's rendering. */
	CHECK(strstr(s, "\"receiptTotal\": 16.55,") != NULL, "%s", s);
	CHECK_STR(jstr(o, "receiptHash"),
	    "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=");
	CHECK_STR(jstr(o, "receiptSignature"), "MEUCIQ+sig/==");
	CHECK_STR(jstr(o, "verificationCode"), "4C8B-E276-6333-0417");
	CHECK_STR(jstr(o, "qrUrl"), ri.qr_url);
	CHECK(cJSON_GetObjectItem(o, "fdms") == NULL, "no fdms block yet");
	CHECK_INT(nkeys(o), 15);
	cJSON_Delete(o);
	free(s);

	/* Amounts: negative, zero, whole, the largest. */
	ri.receipt_type = RECEIPT_CREDIT_NOTE;
	ri.total = -1155;
	s = result_render_json(&ri);
	CHECK(s && strstr(s, "\"receiptTotal\": -11.55,"), "%s", s);
	CHECK(s && strstr(s, "\"receiptType\": \"CreditNote\""), "%s", s);
	free(s);
	ri.total = -5;
	s = result_render_json(&ri);
	CHECK(s && strstr(s, "\"receiptTotal\": -0.05,"), "%s", s);
	free(s);
	ri.total = 0;
	s = result_render_json(&ri);
	CHECK(s && strstr(s, "\"receiptTotal\": 0.00,"), "%s", s);
	free(s);
	ri.total = 999999999999999;
	s = result_render_json(&ri);
	CHECK(s && strstr(s, "\"receiptTotal\": 9999999999999.99,"), "%s", s);
	free(s);
	ri.receipt_type = RECEIPT_DEBIT_NOTE;
	ri.total = 50000;
	s = result_render_json(&ri);
	CHECK(s && strstr(s, "\"receiptTotal\": 500.00,"), "%s", s);
	CHECK(s && strstr(s, "\"receiptType\": \"DebitNote\""), "%s", s);
	free(s);

	/* Absent strings are null, never "(null)". */
	sample(&ri);
	ri.verification_code = NULL;
	s = result_render_json(&ri);
	o = cJSON_Parse(s);
	CHECK(o && cJSON_IsNull(cJSON_GetObjectItem(o, "verificationCode")),
	    "%s", s);
	cJSON_Delete(o);
	free(s);
}

static void
test_json_fdms(void)
{
	struct result_verr v[2] = {
		{ "RCPT014", "Yellow", "Receipt date is before day opening" },
		{ "RCPT031", "Yellow", "Receipt date \"in the future\"" },
	};
	struct result_info ri;
	const cJSON *f, *a, *e;
	cJSON *o;
	char *s;

	sample(&ri);
	ri.status = RESULT_FLAGGED;
	ri.has_fdms = true;
	ri.receipt_id = 991;
	ri.server_date = "2026-03-02T10:15:03";
	ri.operation_id = "0HNHM698NJVMT:00000001";
	ri.verrs = v;
	ri.n_verrs = 2;
	s = result_render_json(&ri);
	o = cJSON_Parse(s);
	CHECK(o != NULL, "parse: %s", s);
	CHECK_STR(jstr(o, "status"), "flagged");
	f = cJSON_GetObjectItem(o, "fdms");
	CHECK(cJSON_IsObject(f), "fdms block");
	CHECK_INT(jint(f, "receiptID"), 991);
	CHECK_STR(jstr(f, "serverDate"), "2026-03-02T10:15:03");
	CHECK_STR(jstr(f, "operationID"), "0HNHM698NJVMT:00000001");
	a = cJSON_GetObjectItem(f, "validationErrors");
	CHECK(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 2, "2 errors");
	e = cJSON_GetArrayItem(a, 1);
	CHECK_STR(jstr(e, "validationErrorCode"), "RCPT031");
	CHECK_STR(jstr(e, "validationErrorColor"), "Yellow");
	CHECK_STR(jstr(e, "validationErrorDescription"),
	    "Receipt date \"in the future\"");
	CHECK_INT(nkeys(o), 16);
	cJSON_Delete(o);
	free(s);

	/* Submitted, no validation errors: an empty array. */
	ri.status = RESULT_SUBMITTED;
	ri.n_verrs = 0;
	ri.verrs = NULL;
	s = result_render_json(&ri);
	o = cJSON_Parse(s);
	CHECK(o != NULL, "parse: %s", s);
	CHECK_STR(jstr(o, "status"), "submitted");
	a = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "fdms"),
	    "validationErrors");
	CHECK(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 0, "empty");
	cJSON_Delete(o);
	free(s);
	CHECK_STR(result_status_name(RESULT_SIGNED), "signed");
}

static void
test_xml(void)
{
	struct result_verr v[1] = {
		{ "RCPT041", "Yellow", "late <receipt> & more" },
	};
	struct result_info ri;
	xmlDoc *d;
	xmlNode *root, *f, *a;
	char *s;

	sample(&ri);
	ri.file = "sale-0001.xml";
	s = result_render_xml(&ri);
	CHECK(s != NULL, "render");
	d = xparse(s);
	CHECK(d != NULL, "well-formed: %s", s);
	root = xmlDocGetRootElement(d);
	CHECK(root && strcmp((const char *)root->name, "result") == 0, "root");
	CHECK_XSTR(root, "file", "sale-0001.xml");
	CHECK_XSTR(root, "status", "signed");
	CHECK_XSTR(root, "deviceID", "12345");
	CHECK_XSTR(root, "fiscalDayNo", "7");
	CHECK_XSTR(root, "receiptCounter", "3");
	CHECK_XSTR(root, "receiptGlobalNo", "103");
	CHECK_XSTR(root, "invoiceNo", "INV-103");
	CHECK_XSTR(root, "receiptType", "FiscalInvoice");
	CHECK_XSTR(root, "receiptCurrency", "USD");
	CHECK_XSTR(root, "receiptDate", "2026-03-02T10:15:00");
	CHECK_XSTR(root, "receiptTotal", "16.55");
	CHECK_XSTR(root, "receiptHash",
	    "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=");
	CHECK_XSTR(root, "receiptSignature", "MEUCIQ+sig/==");
	CHECK_XSTR(root, "verificationCode", "4C8B-E276-6333-0417");
	CHECK_XSTR(root, "qrUrl", ri.qr_url);
	CHECK(xchild(root, "fdms") == NULL, "no fdms block");
	CHECK_INT(xcount(root), 15);
	xmlFreeDoc(d);
	free(s);

	ri.status = RESULT_FLAGGED;
	ri.has_fdms = true;
	ri.receipt_id = 991;
	ri.server_date = "2026-03-02T10:15:03";
	ri.operation_id = "op-1";
	ri.verrs = v;
	ri.n_verrs = 1;
	ri.total = -1155;
	s = result_render_xml(&ri);
	d = xparse(s);
	CHECK(d != NULL, "well-formed: %s", s);
	root = xmlDocGetRootElement(d);
	CHECK_XSTR(root, "receiptTotal", "-11.55");
	CHECK_XSTR(root, "status", "flagged");
	f = xchild(root, "fdms");
	CHECK(f != NULL, "fdms block");
	CHECK_XSTR(f, "receiptID", "991");
	CHECK_XSTR(f, "serverDate", "2026-03-02T10:15:03");
	CHECK_XSTR(f, "operationID", "op-1");
	a = xchild(xchild(f, "validationErrors"), "validationError");
	CHECK(a != NULL, "validationError element");
	CHECK_XSTR(a, "validationErrorCode", "RCPT041");
	CHECK_XSTR(a, "validationErrorColor", "Yellow");
	CHECK_XSTR(a, "validationErrorDescription", "late <receipt> & more");
	xmlFreeDoc(d);
	free(s);

	ri.n_verrs = 0;
	s = result_render_xml(&ri);
	d = xparse(s);
	CHECK(d != NULL, "well-formed: %s", s);
	f = xchild(xmlDocGetRootElement(d), "fdms");
	CHECK(xchild(f, "validationErrors") != NULL &&
	    xcount(xchild(f, "validationErrors")) == 0, "empty list");
	xmlFreeDoc(d);
	free(s);
}

/*
 * Hostile names: quotes, backslashes, markup, controls, line separators,
 * invalid UTF-8 and great length. The document must stay well-formed with
 * the same members, and valid text must come back unchanged.
 */
static void
test_hostile(void)
{
	static const struct {
		const char	*in;
		const char	*json;	/* what cJSON reads back */
		const char	*xml;	/* what libxml2 reads back */
	} cases[] = {
		{ "a\"b\\c.json", "a\"b\\c.json", "a\"b\\c.json" },
		{ "x\",\"status\":\"submitted", "x\",\"status\":\"submitted",
		  "x\",\"status\":\"submitted" },
		{ "</file><status>submitted</status><file>",
		  "</file><status>submitted</status><file>",
		  "</file><status>submitted</status><file>" },
		{ "]]><!--&amp;'", "]]><!--&amp;'", "]]><!--&amp;'" },
		{ "tab\there\nnl\rcr", "tab\there\nnl\rcr",
		  "tab\there\nnl\rcr" },
		{ "bell\a\x01\x1f\x7f", "bell\a\x01\x1f\x7f",
		  "bell\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x7f" },
		{ "ls\xe2\x80\xa8ps\xe2\x80\xa9",
		  "ls\xe2\x80\xa8ps\xe2\x80\xa9",
		  "ls\xe2\x80\xa8ps\xe2\x80\xa9" },
		{ "bad\xff\xfeutf8\xc0\xaf", "bad\xef\xbf\xbd\xef\xbf\xbdutf8"
		  "\xef\xbf\xbd\xef\xbf\xbd", "bad\xef\xbf\xbd\xef\xbf\xbdutf8"
		  "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd",
		  "cut\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xef\xbf\xbe nonchar", "\xef\xbf\xbe nonchar",
		  "\xef\xbf\xbd nonchar" },
		{ "caf\xc3\xa9 \xf0\x9f\xa7\xbe.json",
		  "caf\xc3\xa9 \xf0\x9f\xa7\xbe.json",
		  "caf\xc3\xa9 \xf0\x9f\xa7\xbe.json" },
	};
	struct result_info ri;
	struct findings f;
	char *s, *t, big[5000];
	cJSON *o, *e;
	xmlDoc *d;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sample(&ri);
		ri.file = cases[i].in;
		ri.invoice_no = cases[i].in;
		s = result_render_json(&ri);
		o = s ? cJSON_Parse(s) : NULL;
		CHECK(o != NULL, "case %zu: JSON parses: %s", i, s);
		CHECK_STR(jstr(o, "file"), cases[i].json);
		CHECK_STR(jstr(o, "status"), "signed");
		CHECK_INT(nkeys(o), 15);
		/* No raw control character and no raw U+2028 in the text. */
		CHECK(s && strpbrk(s, "\a\x01\x1f\x7f\r\t") == NULL, "case %zu",
		    i);
		CHECK(s && strstr(s, "\xe2\x80\xa8") == NULL, "case %zu", i);
		cJSON_Delete(o);
		free(s);

		s = result_render_xml(&ri);
		d = s ? xparse(s) : NULL;
		CHECK(d != NULL, "case %zu: XML well-formed: %s", i, s);
		if (d != NULL) {
			CHECK_XSTR(xmlDocGetRootElement(d), "file",
			    cases[i].xml);
			CHECK_XSTR(xmlDocGetRootElement(d), "invoiceNo",
			    cases[i].xml);
			CHECK_XSTR(xmlDocGetRootElement(d), "status", "signed");
			CHECK_INT(xcount(xmlDocGetRootElement(d)), 15);
			xmlFreeDoc(d);
		}
		free(s);

		findings_clear(&f);
		findings_add(&f, "RCPT024", COLOUR_RED, cases[i].in, "msg %s",
		    cases[i].in);
		s = result_render_error(cases[i].in, "validate", &f,
		    "2026-03-02T10:15:01");
		o = s ? cJSON_Parse(s) : NULL;
		CHECK(o != NULL, "case %zu: error file parses: %s", i, s);
		CHECK_STR(jstr(o, "file"), cases[i].json);
		CHECK_INT(nkeys(o), 4);
		e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "errors"), 0);
		CHECK_STR(jstr(e, "path"), cases[i].json);
		CHECK_INT(nkeys(e), 3);
		cJSON_Delete(o);
		free(s);
	}

	/* A very long name is cut, and says so. */
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sample(&ri);
	ri.file = big;
	s = result_render_json(&ri);
	o = s ? cJSON_Parse(s) : NULL;
	CHECK(o != NULL, "long name parses");
	t = (char *)jstr(o, "file");
	CHECK(t && strlen(t) == 1024 + 3 && strcmp(t + 1024, "...") == 0,
	    "cut at 1024 bytes: %zu", t ? strlen(t) : 0);
	cJSON_Delete(o);
	free(s);
	s = result_render_xml(&ri);
	d = s ? xparse(s) : NULL;
	CHECK(d != NULL, "long name: XML well-formed");
	xmlFreeDoc(d);
	free(s);
}

static void
test_error_file(void)
{
	struct findings f;
	const cJSON *a, *e;
	cJSON *o;
	char *s;
	int i;

	findings_clear(&f);
	findings_rcpt(&f, "RCPT024", "receiptLines[1].receiptLineTotal",
	    "line total 10.00 is not price 3.00 x quantity 3");
	findings_add(&f, "SCHEMA", COLOUR_NONE, "", "no path");
	s = result_render_error("sale-0002.json", "validate", &f,
	    "2026-03-02T10:15:01");
	o = cJSON_Parse(s);
	CHECK(o != NULL, "parse: %s", s);
	CHECK_STR(jstr(o, "file"), "sale-0002.json");
	CHECK_STR(jstr(o, "stage"), "validate");
	CHECK_STR(jstr(o, "time"), "2026-03-02T10:15:01");
	a = cJSON_GetObjectItem(o, "errors");
	CHECK(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 2, "2 errors");
	e = cJSON_GetArrayItem(a, 0);
	CHECK_STR(jstr(e, "code"), "RCPT024");
	CHECK_STR(jstr(e, "path"), "receiptLines[1].receiptLineTotal");
	CHECK_STR(jstr(e, "message"),
	    "line total 10.00 is not price 3.00 x quantity 3");
	e = cJSON_GetArrayItem(a, 1);
	CHECK_STR(jstr(e, "code"), "SCHEMA");
	CHECK_STR(jstr(e, "path"), "");
	CHECK_INT(nkeys(o), 4);
	cJSON_Delete(o);
	free(s);

	/* More than the list holds: the overflow is reported, not lost. */
	findings_clear(&f);
	for (i = 0; i < FINDINGS_MAX + 5; i++)
		findings_add(&f, "RCPT023", COLOUR_RED, "receiptLines", "n %d",
		    i);
	s = result_render_error("many.json", "validate", &f,
	    "2026-03-02T10:15:01");
	o = cJSON_Parse(s);
	a = cJSON_GetObjectItem(o, "errors");
	CHECK(cJSON_GetArraySize(a) == FINDINGS_MAX + 1, "%d",
	    cJSON_GetArraySize(a));
	e = cJSON_GetArrayItem(a, FINDINGS_MAX);
	CHECK_STR(jstr(e, "code"), "TOO_MANY_ERRORS");
	CHECK(jstr(e, "message") && strstr(jstr(e, "message"), "5 more"),
	    "%s", jstr(e, "message"));
	cJSON_Delete(o);
	free(s);

	/* No findings at all (a read error with its own code is usual). */
	findings_clear(&f);
	s = result_render_error("x.json", "read", &f, "2026-03-02T10:15:01");
	o = cJSON_Parse(s);
	a = cJSON_GetObjectItem(o, "errors");
	CHECK(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 0, "%s", s);
	cJSON_Delete(o);
	free(s);
	s = result_render_error("x.json", "read", NULL, "2026-03-02T10:15:01");
	o = cJSON_Parse(s);
	CHECK(o != NULL, "NULL findings: %s", s);
	cJSON_Delete(o);
	free(s);
}

int
main(void)
{
	test_json_signed();
	test_json_fdms();
	test_xml();
	test_hostile();
	test_error_file();
	xmlCleanupParser();
	return tap_done();
}
