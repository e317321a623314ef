/*
 * test_corpus.c - the bad-input corpus (tests/corpus/bad, expectations in
 * tests/corpus/expect.txt) and the good receipts (tests/corpus/good).
 *
 * Every bad file must be refused at the expected stage with a finding that
 * carries the expected code and a message; nothing may crash (this test
 * also runs under ASan/UBSan in `make check`). Every good file must be
 * read, and must pass every local rule.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "fiscal/rules.h"
#include "fiscal/tax.h"
#include "io/document.h"
#include "tap.h"
#include "util/fsutil.h"

static struct doc_schemas schemas;

static struct receipt *
read_doc(const char *path, struct findings *f, const char **stage)
{
	char *buf, err[256];
	size_t len;
	struct receipt *r;

	findings_clear(f);
	*stage = NULL;
	if (fsutil_read_file(path, DOC_MAX_SIZE, &buf, &len, err,
	    sizeof(err)) != FSREAD_OK) {
		findings_add(f, "READ", COLOUR_NONE, "", "%s", err);
		*stage = "read";
		return NULL;
	}
	r = doc_read(buf, len, doc_detect(path, buf, len), &schemas, 0, f, stage);
	free(buf);
	return r;
}

static void
judge(struct receipt *r, struct findings *f)
{
	struct rules_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.vat_payer = -1;
	rules_check(r, &ctx, f);
	if (!r->has_taxes)
		CHECK(tax_apply(r, f) == 0, "tax_apply");
}

static void
test_bad(void)
{
	FILE *fp = fopen("tests/corpus/expect.txt", "r");
	char line[512], name[256], code[32], stage[32], path[512];
	int cases = 0;

	CHECK(fp != NULL, "tests/corpus/expect.txt missing");
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct findings f;
		struct receipt *r;
		const char *st;

		if (line[0] == '#' || sscanf(line, "%255s %31s %31s", name, code,
		    stage) != 3)
			continue;
		cases++;
		snprintf(path, sizeof(path), "tests/corpus/bad/%s", name);
		r = read_doc(path, &f, &st);
		if (strcmp(stage, "validate") == 0) {
			CHECK(r != NULL, "%s: refused at %s: %s", name,
			    st ? st : "?", f.n ? f.v[0].message : "");
			if (r == NULL)
				continue;
			judge(r, &f);
			receipt_free(r);
		} else {
			CHECK(r == NULL, "%s: accepted, want %s at %s", name,
			    code, stage);
			receipt_free(r);
			CHECK(st != NULL && strcmp(st, stage) == 0,
			    "%s: stage %s, want %s (%s: %s)", name,
			    st ? st : "none", stage, f.n ? f.v[0].code : "",
			    f.n ? f.v[0].message : "");
		}
		CHECK(findings_has(&f, code), "%s: no %s finding (first: %s %s "
		    "%s)", name, code, f.n ? f.v[0].code : "none",
		    f.n ? f.v[0].path : "", f.n ? f.v[0].message : "");
		CHECK(f.n > 0 && f.v[0].message[0] != '\0', "%s: empty message",
		    name);
	}
	fclose(fp);
	CHECK(cases >= 40, "only %d corpus cases", cases);
}

static void
test_good(void)
{
	struct dirent **ents;
	char path[512];
	int n, i, seen = 0;

	n = scandir("tests/corpus/good", &ents, NULL, alphasort);
	CHECK(n > 0, "tests/corpus/good missing");
	for (i = 0; i < n; i++) {
		struct findings f;
		struct receipt *r;
		const char *st;
		size_t k;

		if (ents[i]->d_name[0] == '.') {
			free(ents[i]);
			continue;
		}
		snprintf(path, sizeof(path), "tests/corpus/good/%s",
		    ents[i]->d_name);
		free(ents[i]);
		seen++;
		r = read_doc(path, &f, &st);
		CHECK(r != NULL, "%s refused at %s: %s %s %s", path, st ? st : "?",
		    f.n ? f.v[0].code : "", f.n ? f.v[0].path : "",
		    f.n ? f.v[0].message : "");
		if (r == NULL)
			continue;
		judge(r, &f);
		for (k = 0; k < f.n; k++)
			CHECK(0, "%s: %s %s %s", path, f.v[k].code, f.v[k].path,
			    f.v[k].message);
		CHECK(f.n == 0, "%s: %zu findings", path, f.n);
		receipt_free(r);
	}
	free(ents);
	CHECK(seen >= 5, "only %d good files", seen);
}

int
main(void)
{
	char err[512];

	if (doc_schemas_load(&schemas, "schemas", err, sizeof(err)) == -1) {
		CHECK(0, "schemas: %s", err);
		return tap_done();
	}
	test_bad();
	test_good();
	doc_schemas_free(&schemas);
	return tap_done();
}
