/*
 * fuzz_schema.c - the JSON Schema validator with the receipt schema on
 * arbitrary JSON documents (parsed by jsonrx, so numbers carry literals).
 */
#include "fuzz_common.h"

#include "fiscal/findings.h"
#include "io/jschema.h"
#include "io/jsonrx.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct findings f;
	cJSON *t;
	int v;

	findings_clear(&f);
	if ((t = jsonrx_parse((const char *)data, size, JSONRX_MAX_SIZE, &f)) ==
	    NULL)
		return 0;
	findings_clear(&f);
	v = jschema_validate(fuzz_schemas.json, t, &f);
	if (v == 1 && f.n == 0)
		abort();	/* invalid must come with a reason */
	if (v == 0 && f.n != 0)
		abort();
	cJSON_Delete(t);
	return 0;
}
