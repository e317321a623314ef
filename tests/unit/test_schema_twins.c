/*
 * test_schema_twins.c - receipt.schema.json and receipt.xsd are twins.
 *
 * tests/corpus/twins holds pairs NAME.json + NAME.xml written from one
 * value by make-twins.py. For every pair, the JSON path (jsonrx_parse +
 * jschema_validate) and the XML path (xmlrx_parse with the XSD) must both
 * give the verdict the name starts with, valid- or invalid-. A pair is the
 * same document in two spellings; where both readers can build a tree
 * (always for valid pairs, and without the XSD for many invalid ones) the
 * trees must be equal too, so a pair cannot drift into two documents.
 * NAME-json-only.json has no XML spelling (wrapper, null, "1" for 1).
 *
 * Run from the top of the tree.
 */
#include <dirent.h>
#include <stdlib.h>

#include "fiscal/findings.h"
#include "io/jschema.h"
#include "io/jsonrx.h"
#include "io/xmlrx.h"

#include "tap.h"

#define TWINS		"tests/corpus/twins"
#define MAX_FILE	(2 * 1024 * 1024)
#define MAX_CASES	512

static struct jschema *js;
static struct xsd *xsd;

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc(MAX_FILE)) == NULL) {
		fclose(fp);
		return NULL;
	}
	*len = fread(buf, 1, MAX_FILE, fp);
	fclose(fp);
	return buf;
}

static void
show(const char *what, const struct findings *f)
{
	size_t i;

	for (i = 0; i < f->n && i < 5; i++)
		fprintf(stderr, "    %s: %s [%s] %s\n", what, f->v[i].code,
		    f->v[i].path, f->v[i].message);
}

/*
 * Same document? Numbers by literal; an XML number equals a JSON decimal
 * string of the same text (both spell the same decimal); objects as maps,
 * since xs:all and JSON members are unordered.
 */
static int
same(const cJSON *x, const cJSON *j)
{
	const cJSON *c;

	if (cJSON_IsNumber(x)) {
		const char *lx = jsonrx_number_text(x);
		const char *lj = cJSON_IsNumber(j) ? jsonrx_number_text(j) :
		    cJSON_IsString(j) ? j->valuestring : NULL;

		return lx != NULL && lj != NULL && strcmp(lx, lj) == 0;
	}
	if (cJSON_IsString(x))
		return cJSON_IsString(j) &&
		    strcmp(x->valuestring, j->valuestring) == 0;
	if (cJSON_IsBool(x))
		return cJSON_IsBool(j) && cJSON_IsTrue(x) == cJSON_IsTrue(j);
	if (cJSON_IsArray(x)) {
		if (!cJSON_IsArray(j) ||
		    cJSON_GetArraySize(x) != cJSON_GetArraySize(j))
			return 0;
		for (c = x->child, j = j->child; c != NULL;
		    c = c->next, j = j->next)
			if (!same(c, j))
				return 0;
		return 1;
	}
	if (cJSON_IsObject(x)) {
		if (!cJSON_IsObject(j) ||
		    cJSON_GetArraySize(x) != cJSON_GetArraySize(j))
			return 0;
		for (c = x->child; c != NULL; c = c->next) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(j,
			    c->string);

			if (m == NULL || !same(c, m))
				return 0;
		}
		return 1;
	}
	return 0;
}

/* 0 valid, 1 invalid; *tree keeps the parsed JSON (or NULL). */
static int
json_verdict(const char *name, cJSON **tree, struct findings *f)
{
	char path[512];
	char *buf;
	size_t len;
	int v;

	*tree = NULL;
	findings_clear(f);
	snprintf(path, sizeof(path), "%s/%s.json", TWINS, name);
	if ((buf = slurp(path, &len)) == NULL) {
		CHECK(0, "cannot read %s", path);
		return -1;
	}
	*tree = jsonrx_parse(buf, len, JSONRX_MAX_SIZE, f);
	free(buf);
	if (*tree == NULL)
		return 1;
	v = jschema_validate(js, *tree, f);
	CHECK(v != -1, "%s: jschema_validate failed internally", name);
	return v == 0 ? 0 : 1;
}

static int
xml_verdict(const char *name, const struct xsd *x, cJSON **tree,
    struct findings *f)
{
	char path[512];
	char *buf;
	size_t len;

	findings_clear(f);
	snprintf(path, sizeof(path), "%s/%s.xml", TWINS, name);
	if ((buf = slurp(path, &len)) == NULL) {
		CHECK(0, "cannot read %s", path);
		*tree = NULL;
		return -1;
	}
	*tree = xmlrx_parse(buf, len, XMLRX_MAX_SIZE, x, f);
	free(buf);
	return *tree == NULL ? 1 : 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int
main(void)
{
	char err[256] = "", *names[MAX_CASES], stem[256];
	struct findings f;
	struct dirent *de;
	DIR *d;
	size_t n = 0, i, pairs = 0, json_only = 0, compared = 0;
	int valid_pairs = 0, invalid_pairs = 0;

	if ((js = jschema_load_file("schemas/receipt.schema.json", err,
	    sizeof(err))) == NULL) {
		CHECK(0, "receipt.schema.json: %s", err);
		return tap_done();
	}
	if ((xsd = xsd_load("schemas/receipt.xsd", err, sizeof(err))) == NULL) {
		CHECK(0, "receipt.xsd: %s", err);
		return tap_done();
	}
	if ((d = opendir(TWINS)) == NULL) {
		CHECK(0, "cannot open %s", TWINS);
		return tap_done();
	}
	/* One entry per stem, whichever of its files we see first. */
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (ends_with(de->d_name, ".json"))
			len -= 5;
		else if (ends_with(de->d_name, ".xml"))
			len -= 4;
		else
			continue;
		snprintf(stem, sizeof(stem), "%.*s", (int)len, de->d_name);
		for (i = 0; i < n; i++)
			if (strcmp(names[i], stem) == 0)
				break;
		if (i == n && n < MAX_CASES)
			names[n++] = strdup(stem);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);

	for (i = 0; i < n; i++) {
		const char *name = names[i];
		char path[512];
		FILE *fp;
		cJSON *jt = NULL, *xt = NULL;
		int want, jv, xv, has_xml;

		if (strncmp(name, "valid-", 6) == 0)
			want = 0;
		else if (strncmp(name, "invalid-", 8) == 0)
			want = 1;
		else {
			CHECK(0, "%s: name must start with valid- or invalid-",
			    name);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.xml", TWINS, name);
		if ((fp = fopen(path, "rb")) != NULL)
			fclose(fp);
		has_xml = fp != NULL;
		CHECK(has_xml || ends_with(name, "-json-only"),
		    "%s: no XML twin, and not named -json-only", name);
		CHECK(!has_xml || !ends_with(name, "-json-only"),
		    "%s: named -json-only but has an XML twin", name);

		jv = json_verdict(name, &jt, &f);
		CHECK(jv == want, "%s.json: JSON Schema says %s", name,
		    jv == 0 ? "valid" : "invalid");
		if (jv != want)
			show("json", &f);
		if (!has_xml) {
			json_only++;
			cJSON_Delete(jt);
			continue;
		}
		pairs++;
		if (want == 0)
			valid_pairs++;
		else
			invalid_pairs++;
		xv = xml_verdict(name, xsd, &xt, &f);
		CHECK(xv == want, "%s.xml: XSD says %s", name,
		    xv == 0 ? "valid" : "invalid");
		if (xv != want)
			show("xml", &f);

		/* Same document: compare trees, without the XSD if need be. */
		if (xt == NULL)
			xml_verdict(name, NULL, &xt, &f);
		if (jt != NULL && xt != NULL) {
			compared++;
			CHECK(same(xt, jt), "%s: the XML and JSON twins are "
			    "different documents", name);
		} else
			CHECK(want == 1, "%s: a valid pair must convert", name);
		cJSON_Delete(jt);
		cJSON_Delete(xt);
	}
	CHECK(pairs >= 30, "only %zu pairs", pairs);
	CHECK(valid_pairs >= 10 && invalid_pairs >= 10, "valid %d invalid %d",
	    valid_pairs, invalid_pairs);
	printf("# %zu pairs (%d valid, %d invalid), %zu JSON-only, %zu "
	    "compared as trees\n", pairs, valid_pairs, invalid_pairs,
	    json_only, compared);
	for (i = 0; i < n; i++)
		free(names[i]);
	jschema_free(js);
	xsd_free(xsd);
	return tap_done();
}
