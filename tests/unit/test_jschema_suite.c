/*
 * test_jschema_suite.c - lib/io/jschema against the official
 * JSON-Schema-Test-Suite, draft 7 (Debian json-schema-test-suite).
 *
 * Every test case of every file below is one check: the validity jschema
 * gives must equal the case's "valid". Nothing is skipped silently:
 *  - refRemote.json is not run: its schemas reference
 *    http://localhost:1234/..., which needs a server, and jschema refuses
 *    remote refs by design.
 *  - groups whose schema is {"$ref": "http://json-schema.org/draft-07/
 *    schema#"} need the draft-07 meta-schema. We look for a copy under the
 *    suite directory, then at $SPOOLD_DRAFT7_METASCHEMA; found, the group
 *    runs against it (a schema that is only a $ref is its target); not
 *    found, the cases are counted as skipped and printed.
 *  - cases that truly cannot pass belong in known[] with the reason; it
 *    is empty.
 * A missing suite, or a missing file of the list, is a failure.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "fiscal/findings.h"
#include "io/jschema.h"
#include "tap.h"

#define SUITE		"/usr/share/json-schema-test-suite"
#define DRAFT7		SUITE "/tests/draft7"
#define META_URI	"http://json-schema.org/draft-07/schema#"

/* One file per implemented keyword (default.json: annotations ignored). */
static const char *const files[] = {
	"additionalItems.json", "additionalProperties.json", "allOf.json",
	"anyOf.json", "boolean_schema.json", "const.json", "contains.json",
	"default.json", "definitions.json", "dependencies.json", "enum.json",
	"exclusiveMaximum.json", "exclusiveMinimum.json", "if-then-else.json",
	"items.json", "maxItems.json", "maxLength.json", "maxProperties.json",
	"maximum.json", "minItems.json", "minLength.json",
	"minProperties.json", "minimum.json", "multipleOf.json", "not.json",
	"oneOf.json", "pattern.json", "patternProperties.json",
	"properties.json", "propertyNames.json", "ref.json", "required.json",
	"type.json", "uniqueItems.json", NULL
};

static const struct {
	const char	*file, *why;
} not_run[] = {
	{ "refRemote.json", "remote refs to http://localhost:1234 need a "
	    "server; jschema refuses remote refs by design" },
	{ NULL, NULL }
};

/* Cases that cannot pass, by file, group and case description. */
static const struct {
	const char	*file, *group, *test, *why;
} known[] = {
	{ NULL, NULL, NULL, NULL }
};

static int npass, nfail, nskip;

static char *
slurp(const char *path)
{
	FILE *fp;
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0, got;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = nb;
		}
		if ((got = fread(buf + n, 1, cap - n, fp)) == 0)
			break;
		n += got;
	}
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static cJSON *
parse_file(const char *path)
{
	char *text;
	cJSON *j;

	if ((text = slurp(path)) == NULL)
		return NULL;
	j = cJSON_Parse(text);
	free(text);
	return j;
}

static int
is_meta(const cJSON *j)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "$id");

	return cJSON_IsString(id) && strcmp(id->valuestring, META_URI) == 0;
}

/* A copy of the draft-07 meta-schema anywhere under dir, or NULL. */
static cJSON *
find_meta(const char *dir, char *where, size_t len)
{
	char path[1024];
	struct dirent *de;
	cJSON *j = NULL;
	size_t n;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return NULL;
	while (j == NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path))
			continue;
		n = strlen(de->d_name);
		if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) {
			if ((j = parse_file(path)) != NULL && !is_meta(j)) {
				cJSON_Delete(j);
				j = NULL;
			} else if (j != NULL)
				snprintf(where, len, "%s", path);
		} else if (strcmp(de->d_name, "tests") != 0)
			j = find_meta(path, where, len);
	}
	closedir(d);
	return j;
}

/* {"$ref": META_URI} and nothing else. */
static int
wants_meta(const cJSON *schema)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(schema, "$ref");

	return cJSON_IsString(r) && strcmp(r->valuestring, META_URI) == 0 &&
	    cJSON_GetArraySize(schema) == 1;
}

static const char *
known_why(const char *file, const char *group, const char *test)
{
	size_t i;

	for (i = 0; known[i].file != NULL; i++)
		if (strcmp(known[i].file, file) == 0 &&
		    strcmp(known[i].group, group) == 0 &&
		    strcmp(known[i].test, test) == 0)
			return known[i].why;
	return NULL;
}

static void
run_file(const char *file, const cJSON *meta)
{
	char path[512], err[256];
	const cJSON *g, *t, *schema, *data, *valid, *gd, *td;
	struct jschema *js;
	struct findings f;
	int p = 0, fl = 0, sk = 0, r;
	const char *why;
	cJSON *doc;

	snprintf(path, sizeof(path), "%s/%s", DRAFT7, file);
	if ((doc = parse_file(path)) == NULL || !cJSON_IsArray(doc)) {
		CHECK(0, "%s: missing or not a JSON array", path);
		cJSON_Delete(doc);
		return;
	}
	cJSON_ArrayForEach(g, doc) {
		schema = cJSON_GetObjectItemCaseSensitive(g, "schema");
		gd = cJSON_GetObjectItemCaseSensitive(g, "description");
		if (wants_meta(schema) && meta == NULL) {
			cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(
			    g, "tests")) {
				td = cJSON_GetObjectItemCaseSensitive(t,
				    "description");
				printf("# skip %s: %s / %s: needs the draft-07 "
				    "meta-schema, not shipped\n", file,
				    gd->valuestring, td->valuestring);
				sk++;
			}
			continue;
		}
		js = jschema_compile(wants_meta(schema) ? meta : schema, err,
		    sizeof(err));
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g,
		    "tests")) {
			td = cJSON_GetObjectItemCaseSensitive(t, "description");
			data = cJSON_GetObjectItemCaseSensitive(t, "data");
			valid = cJSON_GetObjectItemCaseSensitive(t, "valid");
			why = known_why(file, gd->valuestring, td->valuestring);
			if (js == NULL) {
				r = -2;
			} else {
				findings_clear(&f);
				r = jschema_validate(js, data, &f);
			}
			if (why != NULL && r != (cJSON_IsTrue(valid) ? 0 : 1)) {
				printf("# skip %s: %s / %s: %s\n", file,
				    gd->valuestring, td->valuestring, why);
				sk++;
				continue;
			}
			CHECK(r == (cJSON_IsTrue(valid) ? 0 : 1),
			    "%s: %s / %s: got %d, want %s%s%s", file,
			    gd->valuestring, td->valuestring, r,
			    cJSON_IsTrue(valid) ? "valid" : "invalid",
			    js == NULL ? "; compile: " : "",
			    js == NULL ? err : "");
			if (r == (cJSON_IsTrue(valid) ? 0 : 1))
				p++;
			else
				fl++;
		}
		jschema_free(js);
	}
	cJSON_Delete(doc);
	printf("# %-28s %3d passed %3d failed %3d skipped\n", file, p, fl, sk);
	npass += p;
	nfail += fl;
	nskip += sk;
}

static int
listed(const char *name)
{
	size_t i;

	for (i = 0; files[i] != NULL; i++)
		if (strcmp(files[i], name) == 0)
			return 1;
	for (i = 0; not_run[i].file != NULL; i++)
		if (strcmp(not_run[i].file, name) == 0)
			return 1;
	return 0;
}

int
main(void)
{
	char where[1024] = "";
	struct dirent *de;
	cJSON *meta;
	const char *env;
	size_t i, nfiles = 0;
	DIR *d;

	if ((d = opendir(DRAFT7)) == NULL) {
		CHECK(0, "%s missing: install json-schema-test-suite", DRAFT7);
		return tap_done();
	}
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".json") != NULL && !listed(de->d_name))
			printf("# not run: %s (no keyword of ours)\n",
			    de->d_name);
	closedir(d);
	for (i = 0; not_run[i].file != NULL; i++)
		printf("# not run: %s: %s\n", not_run[i].file, not_run[i].why);

	if ((meta = find_meta(SUITE, where, sizeof(where))) == NULL &&
	    (env = getenv("SPOOLD_DRAFT7_METASCHEMA")) != NULL &&
	    (meta = parse_file(env)) != NULL && !is_meta(meta)) {
		cJSON_Delete(meta);
		meta = NULL;
	} else if (meta != NULL && where[0] == '\0')
		snprintf(where, sizeof(where), "%s",
		    getenv("SPOOLD_DRAFT7_METASCHEMA"));
	if (meta != NULL)
		printf("# draft-07 meta-schema: %s\n", where);
	else
		printf("# draft-07 meta-schema: not under %s and "
		    "SPOOLD_DRAFT7_METASCHEMA unset; its cases are skipped\n",
		    SUITE);

	for (i = 0; files[i] != NULL; i++, nfiles++)
		run_file(files[i], meta);
	cJSON_Delete(meta);
	printf("# suite draft7: %zu files, %d passed, %d failed, %d skipped\n",
	    nfiles, npass, nfail, nskip);
	return tap_done();
}
