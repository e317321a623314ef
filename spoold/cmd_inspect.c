/*
 * cmd_inspect.c - spoolctl inspect FILE [--device-id N] [--prev-hash H]
 *                 [--key PEM] [--qr-url U] [--json]
 *
 * Works without a configuration file or database. Exit 0 clean, 1 when the
 * receipt has findings, 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fiscal/money.h"
#include "io/document.h"
#include "io/inspect.h"
#include "spoolctl.h"

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl inspect: %s\nusage: spoolctl inspect FILE "
	    "[--device-id N] [--prev-hash H] [--key PEM] [--qr-url U] "
	    "[--json]\n", why);
	return EXIT_USAGE;
}

int
cmd_inspect(const struct spoolctl_globals *g, int argc, char **argv)
{
	struct inspect_opts o;
	struct inspect_report rep;
	struct doc_schemas schemas;
	char err[512], *json;
	int i, as_json = 0, rc;

	(void)g;
	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			as_json = 1;
			continue;
		}
		if (a[0] != '-') {
			if (o.path != NULL)
				return usage("more than one FILE");
			o.path = a;
			continue;
		}
		if (v == NULL)
			return usage("option needs a value");
		if (strcmp(a, "--device-id") == 0) {
			if (money_parse(v, strlen(v), 0, INT64_C(2147483647),
			    &o.device_id) != MONEY_OK || o.device_id < 0)
				return usage("--device-id needs a decimal device ID");
			o.has_device_id = true;
		} else if (strcmp(a, "--prev-hash") == 0)
			o.prev_hash = v;
		else if (strcmp(a, "--key") == 0)
			o.key_path = v;
		else if (strcmp(a, "--qr-url") == 0)
			o.qr_url = v;
		else
			return usage("unknown option");
		i++;
	}
	if (o.path == NULL)
		return usage("FILE is required");
	if (doc_schemas_load(&schemas, doc_schema_dir(), err, sizeof(err)) == -1) {
		fprintf(stderr, "spoolctl inspect: cannot load the schemas: %s\n",
		    err);
		return EXIT_USAGE;
	}
	o.schemas = &schemas;
	if (inspect_run(&o, &rep, err, sizeof(err)) == -1) {
		fprintf(stderr, "spoolctl inspect: %s\n", err);
		doc_schemas_free(&schemas);
		return EXIT_USAGE;
	}
	if (as_json) {
		if ((json = inspect_to_json(&rep)) == NULL) {
			fprintf(stderr, "spoolctl inspect: out of memory\n");
			rc = EXIT_FAIL;
			goto out;
		}
		printf("%s\n", json);
		free(json);
	} else
		inspect_print_text(stdout, &o, &rep);
	rc = rep.findings.n > 0 ? EXIT_FAIL : EXIT_OK;
out:
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "spoolctl inspect: cannot write output\n");
		rc = EXIT_FAIL;
	}
	inspect_report_free(&rep);
	doc_schemas_free(&schemas);
	return rc;
}
