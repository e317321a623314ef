/*
 * fuzz_json.c - the JSON reader and model builder on arbitrary bytes:
 * jsonrx_parse, then receipt_from_tree without a schema in between (the
 * builder must not trust that the schema ran).
 */
#include "fuzz_common.h"

#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "io/jsonrx.h"
#include "io/receipt_tree.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct findings f;
	struct receipt *r;
	cJSON *t;

	findings_clear(&f);
	if ((t = jsonrx_parse((const char *)data, size, JSONRX_MAX_SIZE, &f)) ==
	    NULL) {
		if (f.n == 0)
			abort();	/* a refusal must say why */
		return 0;
	}
	r = receipt_from_tree(t, &f);
	if (r == NULL && f.n == 0)
		abort();
	receipt_free(r);
	cJSON_Delete(t);
	return 0;
}
