/*
 * fuzz_rules.c - the whole local judgement of a document: doc_read (parse,
 * schema, model), tax computation, every RCPT rule, the signature string and
 * the day counters, on arbitrary bytes (JSON or XML by first byte).
 */
#include "fuzz_common.h"

#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "fiscal/rules.h"
#include "fiscal/sigstr.h"
#include "fiscal/tax.h"
#include "util/buf.h"

static const struct tax_def taxes[] = {
	{ 1, false, 0, "Exempt", NULL, NULL },
	{ 2, true, 0, "Zero rated", NULL, NULL },
	{ 3, true, 1500, "Standard", NULL, "2025-12-14" },
	{ 517, true, 1550, "Standard 15.5", "2025-12-15", NULL },
};

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct findings f;
	struct rules_ctx ctx = { 0 };
	struct counters c;
	struct receipt *r;
	struct buf b;
	const char *stage = NULL;

	findings_clear(&f);
	r = doc_read((const char *)data, size, DOC_AUTO, &fuzz_schemas, 1, &f,
	    &stage);
	if (r == NULL)
		return 0;
	ctx.taxes = taxes;
	ctx.n_taxes = sizeof(taxes) / sizeof(taxes[0]);
	ctx.vat_payer = 1;
	ctx.has_prev = true;
	ctx.prev_counter = 4;
	ctx.prev_global_no = 99;
	ctx.prev_date = "2026-03-02T10:00:00";
	ctx.day_opened = "2026-03-02T08:00:00";
	ctx.day_max_hours = 24;
	ctx.now = "2026-03-02T12:00:00";
	rules_check(r, &ctx, &f);
	if (tax_apply(r, &f) == 0) {
		buf_init(&b, 1 << 20);
		r->has_global_no = true;
		if (r->date == NULL)
			r->date = "2026-03-02T10:15:00";
		(void)sigstr_receipt(r, 12345, "hNVJXP/ACOiE8McD3pKsDlqBXpuaUqQOfPnMyfZWI9k=",
		    &b);
		buf_free(&b);
		counters_init(&c);
		(void)counters_add_receipt(&c, r);
		counters_finish(&c);
		counters_free(&c);
	}
	receipt_free(r);
	return 0;
}
