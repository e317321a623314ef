/*
 * document.c - bytes -> receipt model (see document.h).
 *
 * SECURITY: buf is untrusted. Size is capped before any parser runs; each
 * format goes through its hardened reader (jsonrx, xmlrx), then the schema,
 * then the model builder, which re-checks every type itself.
 */
#include "io/document.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "io/jschema.h"
#include "io/jsonrx.h"
#include "io/receipt_tree.h"
#include "io/xmlrx.h"

#ifndef SPOOLD_SCHEMA_DIR
#define SPOOLD_SCHEMA_DIR	"/usr/local/share/spoold/schemas"
#endif

const char *
doc_schema_dir(void)
{
	const char *env = getenv("SPOOLD_SCHEMA_DIR");

	if (env != NULL && env[0] != '\0')
		return env;
	if (access("schemas/receipt.schema.json", R_OK) == 0)
		return "schemas";
	return SPOOLD_SCHEMA_DIR;
}

int
doc_schemas_load(struct doc_schemas *s, const char *dir, char *err,
    size_t errlen)
{
	char path[4096], e[256];

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/receipt.schema.json", dir);
	if ((s->json = jschema_load_file(path, e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, e);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/receipt.xsd", dir);
	if ((s->xml = xsd_load(path, e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, e);
		jschema_free(s->json);
		s->json = NULL;
		return -1;
	}
	return 0;
}

void
doc_schemas_free(struct doc_schemas *s)
{
	jschema_free(s->json);
	xsd_free(s->xml);
	memset(s, 0, sizeof(*s));
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum doc_format
doc_detect(const char *name, const char *buf, size_t len)
{
	size_t i;

	if (name != NULL && ends_with(name, ".json"))
		return DOC_JSON;
	if (name != NULL && ends_with(name, ".xml"))
		return DOC_XML;
	for (i = 0; i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
		    buf[i] == '\n')
			continue;
		return buf[i] == '<' ? DOC_XML : DOC_JSON;
	}
	return DOC_JSON;
}

struct receipt *
doc_read(const char *buf, size_t len, enum doc_format fmt,
    const struct doc_schemas *s, int keep_going, struct findings *f,
    const char **stage)
{
	struct receipt *r;
	cJSON *tree;
	size_t before;
	int schema_bad = 0;

	if (fmt == DOC_AUTO)
		fmt = doc_detect(NULL, buf, len);
	before = f->n + f->dropped;
	if (fmt == DOC_XML) {
		tree = xmlrx_parse(buf, len, DOC_MAX_SIZE, s ? s->xml : NULL, f);
		if (tree == NULL) {
			size_t i;

			/* xmlrx reports XSD failures as SCHEMA findings. */
			*stage = "parse";
			for (i = before; i < f->n; i++)
				if (strcmp(f->v[i].code, "SCHEMA") == 0)
					*stage = "schema";
			return NULL;
		}
	} else {
		if ((tree = jsonrx_parse(buf, len, DOC_MAX_SIZE, f)) == NULL) {
			*stage = "parse";
			return NULL;
		}
		if (s != NULL && s->json != NULL) {
			int v = jschema_validate(s->json, tree, f);

			if (v != 0) {
				if (v == -1)
					findings_add(f, "SCHEMA", COLOUR_NONE, "",
					    "schema validation failed "
					    "(out of memory)");
				schema_bad = 1;
				*stage = "schema";
				if (!keep_going) {
					cJSON_Delete(tree);
					return NULL;
				}
			}
		}
	}
	r = receipt_from_tree(tree, f);
	cJSON_Delete(tree);
	if (r == NULL) {
		if (!schema_bad)
			*stage = "parse";
		return NULL;
	}
	if (schema_bad && !keep_going) {
		receipt_free(r);
		return NULL;
	}
	if (!schema_bad)
		*stage = NULL;
	return r;
}
