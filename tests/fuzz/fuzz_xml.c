/*
 * fuzz_xml.c - the hardened XML reader with XSD validation on arbitrary
 * bytes, then the model builder on what it produces.
 */
#include "fuzz_common.h"

#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "io/receipt_tree.h"
#include "io/xmlrx.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct findings f;
	struct receipt *r;
	cJSON *t;

	findings_clear(&f);
	t = xmlrx_parse((const char *)data, size, DOC_MAX_SIZE, fuzz_schemas.xml,
	    &f);
	if (t == NULL) {
		if (f.n == 0)
			abort();
		return 0;
	}
	r = receipt_from_tree(t, &f);
	receipt_free(r);
	cJSON_Delete(t);
	/* Without the schema too: the reader alone must be robust. */
	findings_clear(&f);
	t = xmlrx_parse((const char *)data, size, DOC_MAX_SIZE, NULL, &f);
	cJSON_Delete(t);
	return 0;
}
