/*
 * test_jschema.c - lib/io/jschema beyond the official suite: the paths and
 * messages of findings, exact decimal arithmetic on number literals,
 * patterns, $id resolution, and the limits that protect us from hostile
 * instances and broken schemas.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "fiscal/findings.h"
#include "io/jschema.h"
#include "tap.h"

static struct findings F;
static char E[256];

/*
 * cJSON_Parse, then give every number node its source literal as our JSON
 * reader does. cJSON builds nodes in source order, so a pre-order walk
 * meets the number nodes in the order their literals appear in the text.
 */
static const char *
next_literal(const char **sp, size_t *len)
{
	const char *s = *sp, *start;

	for (; *s != '\0'; s++) {
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++)
				if (*s == '\\' && s[1] != '\0')
					s++;
			if (*s == '\0')
				break;
			continue;
		}
		if (*s == '-' || (*s >= '0' && *s <= '9')) {
			start = s;
			while (*s != '\0' && strchr("-+.eE0123456789", *s))
				s++;
			*len = (size_t)(s - start);
			*sp = s;
			return start;
		}
	}
	*sp = s;
	return NULL;
}

static void
attach(cJSON *j, const char **sp)
{
	const char *l;
	size_t n;
	cJSON *c;

	if (cJSON_IsNumber(j) && (l = next_literal(sp, &n)) != NULL &&
	    (j->valuestring = malloc(n + 1)) != NULL) {
		memcpy(j->valuestring, l, n);
		j->valuestring[n] = '\0';
	}
	for (c = j->child; c != NULL; c = c->next)
		attach(c, sp);
}

static cJSON *
jlit(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	if (j != NULL)
		attach(j, &text);
	return j;
}

static struct jschema *
sc(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	struct jschema *js;

	CHECK(j != NULL, "schema text does not parse: %s", text);
	js = jschema_compile(j, E, sizeof(E));
	cJSON_Delete(j);
	return js;
}

/* Validate instance text (numbers with literals); 0/1/-1. */
static int
val(const struct jschema *js, const char *text)
{
	cJSON *x = jlit(text);
	int r;

	findings_clear(&F);
	if (js == NULL || x == NULL) {
		cJSON_Delete(x);
		return -9;
	}
	r = jschema_validate(js, x, &F);
	cJSON_Delete(x);
	return r;
}

/* Same, numbers as plain cJSON doubles (no literal). */
static int
val_dbl(const struct jschema *js, const char *text)
{
	cJSON *x = cJSON_Parse(text);
	int r;

	findings_clear(&F);
	r = js && x ? jschema_validate(js, x, &F) : -9;
	cJSON_Delete(x);
	return r;
}

static int
refused(const char *schema, const char *needle)
{
	struct jschema *js = sc(schema);
	int ok = js == NULL && strstr(E, needle) != NULL;

	if (!ok)
		fprintf(stderr, "  schema %s: err \"%s\", want \"%s\"\n",
		    schema, js ? "(compiled)" : E, needle);
	jschema_free(js);
	return ok;
}

static int
has_msg(const char *path, const char *prefix)
{
	size_t i;

	for (i = 0; i < F.n; i++)
		if (strcmp(F.v[i].path, path) == 0 &&
		    strncmp(F.v[i].message, prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}

static void
test_paths(void)
{
	struct jschema *js;

	js = sc("{\"type\":\"object\",\"required\":[\"receiptLines\"],"
	    "\"properties\":{\"receiptLines\":{\"type\":\"array\",\"items\":{"
	    "\"type\":\"object\","
	    "\"required\":[\"receiptLineTotal\",\"receiptLineName\"],"
	    "\"properties\":{\"receiptLineTotal\":{\"type\":\"number\","
	    "\"minimum\":0},\"receiptLineName\":{\"type\":\"string\"}},"
	    "\"additionalProperties\":false}}}}");
	CHECK(js != NULL, "compile: %s", E);
	CHECK_INT(val(js, "{\"receiptLines\":["
	    "{\"receiptLineTotal\":1,\"receiptLineName\":\"a\"},"
	    "{\"receiptLineTotal\":\"x\",\"receiptLineName\":\"b\"},"
	    "{\"receiptLineTotal\":-1.50,\"extra\":1}]}"), 1);
	CHECK_INT(F.n, 4);
	CHECK_STR(F.v[0].code, "SCHEMA");
	CHECK_INT(F.v[0].colour, COLOUR_NONE);
	CHECK_STR(F.v[0].path, "receiptLines[1].receiptLineTotal");
	CHECK_STR(F.v[0].message, "type: expected number, got string");
	CHECK_STR(F.v[1].path, "receiptLines[2].receiptLineName");
	CHECK_STR(F.v[1].message,
	    "required: property \"receiptLineName\" is missing");
	CHECK_STR(F.v[2].path, "receiptLines[2].receiptLineTotal");
	CHECK_STR(F.v[2].message, "minimum: -1.50 is less than 0");
	CHECK_STR(F.v[3].path, "receiptLines[2].extra");
	CHECK_STR(F.v[3].message,
	    "additionalProperties: property \"extra\" is not allowed");
	CHECK_INT(val(js, "{\"receiptLines\":[]}"), 0);
	CHECK_INT(F.n, 0);
	CHECK_INT(val(js, "[]"), 1);
	CHECK_STR(F.v[0].path, "");
	CHECK_STR(F.v[0].message, "type: expected object, got array");
	jschema_free(js);

	js = sc("{\"items\":{\"items\":{\"type\":[\"integer\",\"null\"]}}}");
	CHECK_INT(val(js, "[[1,null],[2,2.5]]"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].path, "[1][1]");
	CHECK_STR(F.v[0].message, "type: expected null or integer, got number");
	jschema_free(js);

	js = sc("{\"dependencies\":{\"a\":[\"b\"]},\"maxProperties\":1}");
	CHECK_INT(val(js, "{\"a\":1,\"c\":2}"), 1);
	CHECK(has_msg("", "maxProperties: 2 properties, at most 1"), "maxP");
	CHECK(has_msg("", "dependencies: property \"a\" requires property "
	    "\"b\""), "dependencies");
	jschema_free(js);
}

/* Trial branches never leak; each failed combinator says one thing. */
static void
test_combinators(void)
{
	struct jschema *js;

	js = sc("{\"anyOf\":[{\"type\":\"string\"},"
	    "{\"type\":\"integer\",\"minimum\":10}]}");
	CHECK_INT(val(js, "5"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].message,
	    "anyOf: value matches none of the 2 alternatives");
	CHECK_INT(val(js, "12"), 0);
	jschema_free(js);

	js = sc("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}");
	CHECK_INT(val(js, "3"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].message, "oneOf: value matches more than one of the "
	    "2 alternatives, exactly one required");
	CHECK_INT(val(js, "1.5"), 1);
	CHECK(strstr(F.v[0].message, "matches none") != NULL, "none");
	CHECK_INT(val(js, "1"), 0);
	jschema_free(js);

	js = sc("{\"properties\":{\"a\":{\"not\":{\"type\":\"string\"}}}}");
	CHECK_INT(val(js, "{\"a\":\"s\"}"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].path, "a");
	CHECK_STR(F.v[0].message, "not: value must not match the schema");
	jschema_free(js);

	/* if is a trial; then and else report their own findings */
	js = sc("{\"if\":{\"properties\":{\"k\":{\"const\":\"vat\"}}},"
	    "\"then\":{\"required\":[\"vatNo\"]},"
	    "\"else\":{\"properties\":{\"k\":{\"maxLength\":2}}}}");
	CHECK_INT(val(js, "{\"k\":\"vat\"}"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].path, "vatNo");
	CHECK_INT(val(js, "{\"k\":\"abc\"}"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].path, "k");
	CHECK_STR(F.v[0].message, "maxLength: 3 characters, at most 2 allowed");
	CHECK_INT(val(js, "{\"k\":\"vat\",\"vatNo\":1}"), 0);
	jschema_free(js);

	js = sc("{\"contains\":{\"type\":\"string\"},"
	    "\"propertyNames\":{\"maxLength\":3}}");
	CHECK_INT(val(js, "[1,2,{}]"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].message, "contains: no item matches the schema");
	CHECK_INT(val(js, "{\"abcd\":1,\"ab\":2}"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].path, "abcd");
	CHECK(strncmp(F.v[0].message, "propertyNames:", 14) == 0, "%s",
	    F.v[0].message);
	jschema_free(js);

	js = sc("{\"items\":[{\"type\":\"integer\"}],\"additionalItems\":false,"
	    "\"uniqueItems\":true}");
	CHECK_INT(val(js, "[1,2,3]"), 1);
	CHECK_INT(F.n, 1);
	CHECK_STR(F.v[0].message, "additionalItems: 3 items, at most 1 allowed");
	jschema_free(js);

	js = sc("false");
	CHECK_INT(val(js, "null"), 1);
	CHECK_STR(F.v[0].message, "false: no value is allowed here");
	jschema_free(js);
}

/* Decimal arithmetic on literals; doubles only where there is no text. */
static void
test_numbers(void)
{
	struct jschema *js;

	js = sc("{\"multipleOf\":0.01}");
	CHECK_INT(val(js, "1.005"), 1);
	CHECK_STR(F.v[0].message, "multipleOf: 1.005 is not a multiple of 0.01");
	CHECK_INT(val(js, "0.29"), 0);
	CHECK_INT(val(js, "19.99"), 0);
	CHECK_INT(val(js, "-0.07"), 0);
	CHECK_INT(val(js, "1E2"), 0);
	CHECK_INT(val(js, "0.0"), 0);
	CHECK_INT(val(js, "1e-3"), 1);
	CHECK_INT(val(js, "123456789012345678901234567890.01"), 0);
	CHECK_INT(val(js, "123456789012345678901234567890.001"), 1);
	CHECK_INT(val(js, "1e999999999999999999999"), 0);
	CHECK_INT(val(js, "1e-999999999999999999999"), 1);
	/* without literals, the shortest text of the double stands in */
	CHECK_INT(val_dbl(js, "0.29"), 0);
	CHECK_INT(val_dbl(js, "1.005"), 1);
	jschema_free(js);

	js = sc("{\"multipleOf\":0.0001}");
	CHECK_INT(val_dbl(js, "0.0075"), 0);
	CHECK_INT(val_dbl(js, "0.00751"), 1);
	jschema_free(js);

	js = sc("{\"multipleOf\":7}");
	CHECK_INT(val(js, "7e100"), 0);
	CHECK_INT(val(js, "10e100"), 1);
	CHECK_INT(val(js, "49000000000000000000000000000000000"), 0);
	jschema_free(js);

	js = sc("{\"type\":\"integer\"}");
	CHECK_INT(val(js, "1.0"), 0);
	CHECK_INT(val(js, "1e2"), 0);
	CHECK_INT(val(js, "1.5e1"), 0);
	CHECK_INT(val(js, "-0"), 0);
	CHECK_INT(val(js, "12.5e-1"), 1);
	CHECK_INT(val(js, "1e-400"), 1);
	/* the literal decides, not the double (which is exactly 1.0) */
	CHECK_INT(val(js, "1.0000000000000000000001"), 1);
	CHECK_STR(F.v[0].message, "type: expected integer, got number");
	CHECK_INT(val_dbl(js, "1.0"), 0);
	jschema_free(js);

	js = sc("{\"maximum\":10,\"exclusiveMinimum\":-0.5}");
	CHECK_INT(val(js, "10.000000000000000000"), 0);
	CHECK_INT(val(js, "10.000000000000000001"), 1);
	CHECK_STR(F.v[0].message,
	    "maximum: 10.000000000000000001 is greater than 10");
	CHECK_INT(val(js, "-0.5"), 1);
	CHECK_STR(F.v[0].message,
	    "exclusiveMinimum: -0.5 is not greater than -0.5");
	CHECK_INT(val(js, "-0.49999999999999999999"), 0);
	CHECK_INT(val(js, "-5e-1"), 1);
	jschema_free(js);

	js = sc("{\"enum\":[1.5,{\"a\":[1,2]}],\"uniqueItems\":true}");
	CHECK_INT(val(js, "1.50"), 0);
	CHECK_INT(val(js, "15e-1"), 0);
	CHECK_INT(val(js, "{\"a\":[1.0,2e0]}"), 0);
	CHECK_INT(val(js, "{\"a\":[2,1]}"), 1);
	CHECK_STR(F.v[0].message, "enum: value is not one of the 2 allowed "
	    "values");
	jschema_free(js);

	js = sc("{\"uniqueItems\":true}");
	CHECK_INT(val(js, "[1,\"1\",true,0,false,null,[1],[true],{}]"), 0);
	CHECK_INT(val(js, "[1,2,1.0]"), 1);
	CHECK_STR(F.v[0].message, "uniqueItems: items [0] and [2] are equal");
	CHECK_INT(val(js, "[{\"a\":1,\"b\":[2]},{\"b\":[2.0],\"a\":1}]"), 1);
	CHECK_INT(val(js, "[0,-0,0.0]"), 1);
	jschema_free(js);

	js = sc("{\"const\":{\"n\":100}}");
	CHECK_INT(val(js, "{\"n\":1e2}"), 0);
	CHECK_INT(val(js, "{\"n\":100.0000000000000000001}"), 1);
	CHECK_STR(F.v[0].message, "const: value is not the one allowed");
	jschema_free(js);

	/* limits written as 2.0 are integers; negative or fractional not */
	js = sc("{\"maxLength\":2.0}");
	CHECK(js != NULL, "maxLength 2.0: %s", E);
	jschema_free(js);
	CHECK(refused("{\"maxLength\":-1}", "non-negative integer"), "-1");
	CHECK(refused("{\"minItems\":1.5}", "non-negative integer"), "1.5");
	CHECK(refused("{\"multipleOf\":0}", "greater than 0"), "mo 0");
	CHECK(refused("{\"multipleOf\":-2}", "greater than 0"), "mo -2");
	CHECK(refused("{\"exclusiveMaximum\":true}", "draft-04"), "draft4");
	CHECK(refused("{\"maximum\":\"1\"}", "must be a number"), "max str");
}

/* Code points, not bytes. */
static void
test_strings(void)
{
	struct jschema *js;

	js = sc("{\"minLength\":2,\"maxLength\":3}");
	CHECK_INT(val(js, "\"\\u00e9\""), 1);		/* 2 bytes, 1 char */
	CHECK_STR(F.v[0].message, "minLength: 1 characters, at least 2 "
	    "required");
	CHECK_INT(val(js, "\"\\u00e9\\u00e9\\u00e9\""), 0);	/* 6 bytes */
	CHECK_INT(val(js, "\"\\ud834\\udd1e\\ud834\\udd1e\""), 0);
	CHECK_INT(val(js, "\"abcd\""), 1);
	jschema_free(js);
}

struct pat {
	const char	*pattern, *subject;
	int		 want;
};

static void
test_patterns(void)
{
	/* pattern and subject as JSON string contents */
	static const struct pat v[] = {
		{ "^\\\\d{3}-\\\\d{2}$", "123-45", 0 },
		{ "^\\\\d{3}-\\\\d{2}$", "12a-45", 1 },
		{ "^[\\\\w.-]+@[\\\\w.-]+$", "a.b-c_d@x.y", 0 },
		{ "^[\\\\w.-]+@[\\\\w.-]+$", "a b@x", 1 },
		{ "^\\\\s*$", " \\t\\n", 0 },
		{ "^\\\\S+$", "a b", 1 },
		{ "^\\\\D\\\\W$", "a-", 0 },
		{ "^\\\\D\\\\W$", "1-", 1 },
		{ "^.$", "\\u00e9", 0 },		/* one code point */
		{ "^.$", "\\n", 1 },			/* ECMA: no newline */
		{ "^(?:ab)+?$", "abab", 0 },
		{ "^(?<x>a)b*?c$", "abbc", 0 },
		{ "^[^\\\\]]+$", "abc", 0 },
		{ "^[^\\\\]]+$", "a]c", 1 },
		{ "^[\\\\-a]$", "-", 0 },
		{ "^[a-c-e]$", "-", 0 },
		{ "^[a-c-e]$", "d", 1 },
		{ "^[\\\\^]$", "^", 0 },
		{ "^[\\\\[\\\\]]+$", "[]", 0 },
		{ "^[\\\\d.]+$", "1.5", 0 },
		{ "^[\\\\d.]+$", "1,5", 1 },
		{ "a\\\\.b", "xa.by", 0 },
		{ "a\\\\.b", "axb", 1 },
		{ "^\\\\u00e9\\\\x41$", "\\u00e9A", 0 },
		{ "^\\\\/\\\\}$", "/}", 0 },
		{ "^a{$", "a{", 0 },
		{ "^x{2,}$", "xxx", 0 },
		{ "^x{2,}$", "x", 1 },
		{ "^[\\\\t ]$", "\\t", 0 },
		{ "^[\\u00e0-\\u00fc]$", "\\u00e9", 0 },
		{ "^\\\\ud834\\\\udd1e$", "\\ud834\\udd1e", 0 },
	};
	static const char *const bad[] = {
		"(?=a)", "(?!a)", "(?<=a)", "\\\\1", "\\\\b", "[\\\\D]", "[]",
		"\\\\q", "a\\\\", "[a", "\\\\u12", "\\\\u0000", "(",
	};
	char buf[256], inst[128];
	struct jschema *js;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"pattern\":\"%s\"}", v[i].pattern);
		snprintf(inst, sizeof(inst), "\"%s\"", v[i].subject);
		js = sc(buf);
		CHECK(js != NULL, "%s: %s", buf, E);
		CHECK(val(js, inst) == v[i].want, "%s on %s: want %d", buf,
		    inst, v[i].want);
		jschema_free(js);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"patternProperties\":{\"%s\":{}}}",
		    bad[i]);
		CHECK(refused(buf, "pattern"), "%s", buf);
	}
	js = sc("{\"pattern\":\"^a*$\"}");
	CHECK_INT(val(js, "\"ab\""), 1);
	CHECK_STR(F.v[0].message, "pattern: does not match \"^a*$\"");
	jschema_free(js);
}

static void
test_refs(void)
{
	struct jschema *js;

	/* plain-name $id, relative $id, dot segments */
	js = sc("{\"$id\":\"http://x.test/a/b.json\","
	    "\"definitions\":{\"A\":{\"$id\":\"#foo\",\"type\":\"integer\"},"
	    "\"C\":{\"$id\":\"c.json\",\"type\":\"string\"}},"
	    "\"properties\":{\"a\":{\"$ref\":\"#foo\"},"
	    "\"c\":{\"$ref\":\"sub/../c.json\"},"
	    "\"d\":{\"$ref\":\"http://x.test/a/b.json#/definitions/A\"},"
	    "\"e\":{\"$ref\":\"#/definitions/C\"}}}");
	CHECK(js != NULL, "compile: %s", E);
	CHECK_INT(val(js, "{\"a\":1,\"c\":\"s\",\"d\":2,\"e\":\"t\"}"), 0);
	CHECK_INT(val(js, "{\"a\":\"s\",\"c\":1,\"d\":\"u\",\"e\":5}"), 1);
	CHECK_INT(F.n, 4);
	jschema_free(js);

	/* $ref into a non-keyword place, and into array items */
	js = sc("{\"x~y/z%\":{\"maximum\":3},\"items\":[{\"type\":\"string\"}],"
	    "\"properties\":{\"p\":{\"$ref\":\"#/x~0y~1z%25\"},"
	    "\"q\":{\"$ref\":\"#/items/0\"}}}");
	CHECK(js != NULL, "compile: %s", E);
	CHECK_INT(val(js, "{\"p\":4,\"q\":\"s\"}"), 1);
	CHECK_STR(F.v[0].path, "p");
	CHECK_INT(val(js, "{\"p\":3,\"q\":1}"), 1);
	CHECK_STR(F.v[0].path, "q");
	jschema_free(js);

	/* loops that never consume the instance are refused */
	CHECK(refused("{\"$ref\":\"#\"}", "loop"), "self");
	CHECK(refused("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},"
	    "\"b\":{\"$ref\":\"#/definitions/a\"}},"
	    "\"properties\":{\"x\":{\"$ref\":\"#/definitions/a\"}}}",
	    "loop"), "a-b");
	CHECK(refused("{\"allOf\":[{\"$ref\":\"#\"}]}", "loop"), "allOf");
	CHECK(refused("{\"definitions\":{\"a\":{\"not\":{\"$ref\":\"#\"}}},"
	    "\"anyOf\":[{\"$ref\":\"#/definitions/a\"}]}", "loop"), "anyOf");
	CHECK(refused("{\"if\":{\"$ref\":\"#\"}}", "loop"), "if");
	CHECK(refused("{\"dependencies\":{\"a\":{\"$ref\":\"#\"}}}", "loop"),
	    "deps");
	/* recursion through a property consumes depth: fine */
	js = sc("{\"properties\":{\"x\":{\"$ref\":\"#\"}},"
	    "\"additionalProperties\":false}");
	CHECK(js != NULL, "recursive: %s", E);
	CHECK_INT(val(js, "{\"x\":{\"x\":{}}}"), 0);
	CHECK_INT(val(js, "{\"x\":{\"y\":{}}}"), 1);
	CHECK_STR(F.v[0].path, "x.y");
	jschema_free(js);

	CHECK(refused("{\"$ref\":\"http://example.com/s.json\"}",
	    "cannot be resolved"), "remote");
	CHECK(refused("{\"properties\":{\"a\":{\"$ref\":\"#/definitions/no\"}}}",
	    "cannot be resolved"), "missing");
	CHECK(refused("{\"properties\":{\"a\":{\"$ref\":\"#/items/7\"}},"
	    "\"items\":[true]}", "cannot be resolved"), "index");
	CHECK(refused("{\"properties\":{\"a\":{\"$ref\":\"#/minimum\"}},"
	    "\"minimum\":1}", "object or a boolean"), "not a schema");
	CHECK(refused("{\"$ref\":5}", "$ref must be a string"), "ref type");
	CHECK(refused("{\"$ref\":\"/../x\"}", "cannot be resolved"), "dots");
	CHECK(refused("{\"$id\":\"http://h/a/\",\"properties\":{\"x\":{"
	    "\"$ref\":\"../../..\"}}}", "\"http://h/\" cannot be resolved"),
	    "dots up");
	/* $id beside $ref is ignored: "" is this document, a loop */
	CHECK(refused("{\"$id\":\"http://h/a/\",\"$ref\":\"../../..\"}",
	    "loop"), "ref beside id");
}

static void
test_schema_errors(void)
{
	CHECK(refused("5", "object or a boolean"), "root");
	CHECK(refused("{\"type\":\"float\"}", "type must"), "type");
	CHECK(refused("{\"type\":[\"string\",3]}", "type must"), "type arr");
	CHECK(refused("{\"required\":[1]}", "array of strings"), "required");
	CHECK(refused("{\"allOf\":[]}", "non-empty"), "allOf");
	CHECK(refused("{\"enum\":1}", "enum"), "enum");
	CHECK(refused("{\"properties\":[]}", "must be an object"), "props");
	CHECK(refused("{\"properties\":{\"a\":{\"items\":3}}}",
	    "#/properties/a/items"), "pointer in message");
	CHECK(refused("{\"uniqueItems\":1}", "boolean"), "unique");
	CHECK(jschema_compile(NULL, E, sizeof(E)) == NULL, "NULL schema");
	CHECK(jschema_compile(NULL, NULL, 0) == NULL, "NULL err");
}

static cJSON *
nest(const char *key, int n)
{
	cJSON *j = NULL, *o;
	int i;

	for (i = 0; i < n; i++) {
		if (key == NULL) {
			o = cJSON_CreateArray();
			if (j != NULL)
				cJSON_AddItemToArray(o, j);
		} else {
			o = cJSON_CreateObject();
			cJSON_AddItemToObject(o, key, j ? j :
			    cJSON_CreateObject());
		}
		j = o;
	}
	return j;
}

static void
test_limits(void)
{
	struct jschema *js;
	cJSON *x;
	int i;
	char *big;
	size_t n, cap = 600000;

	/* schema depth: 65 nested objects reach depth 64, 66 go past */
	x = nest("not", 64);
	js = jschema_compile(x, E, sizeof(E));
	CHECK(js != NULL, "64 levels: %s", E);
	jschema_free(js);
	cJSON_Delete(x);
	x = nest("not", 65);
	js = jschema_compile(x, E, sizeof(E));
	CHECK(js == NULL && strstr(E, "deeper than 64") != NULL, "65: %s", E);
	jschema_free(js);
	cJSON_Delete(x);

	/* instance depth: values down to depth 64 are looked at, no deeper */
	js = sc("{\"items\":{\"$ref\":\"#\"}}");
	x = nest(NULL, 65);		/* innermost [] at depth 64 */
	findings_clear(&F);
	CHECK_INT(jschema_validate(js, x, &F), 0);
	cJSON_Delete(x);
	x = nest(NULL, 66);
	findings_clear(&F);
	CHECK_INT(jschema_validate(js, x, &F), 1);
	CHECK_INT(F.n, 1);
	CHECK(strstr(F.v[0].message, "deeper than 64") != NULL, "%s",
	    F.v[0].message);
	CHECK(strncmp(F.v[0].path, "[0][0][0]", 9) == 0, "%s", F.v[0].path);
	cJSON_Delete(x);
	jschema_free(js);

	/* "not" must not turn the depth stop into a success */
	js = sc("{\"not\":{\"$ref\":\"#/definitions/d\"},"
	    "\"definitions\":{\"d\":{\"items\":{\"$ref\":\"#/definitions/d\"}"
	    "}}}");
	x = nest(NULL, 100);
	findings_clear(&F);
	CHECK_INT(jschema_validate(js, x, &F), 1);
	CHECK(F.n == 1 && strstr(F.v[0].message, "deeper") != NULL, "not");
	cJSON_Delete(x);
	jschema_free(js);

	/*
	 * No loop, but 25 in-place allOf levels at each of 50 instance levels:
	 * the total of nested applications is bounded too.
	 */
	{
		char sch[1024];
		size_t k = 0;

		k += (size_t)snprintf(sch + k, sizeof(sch) - k,
		    "{\"$ref\":\"#/definitions/d\",\"definitions\":{\"d\":");
		for (i = 0; i < 25; i++)
			k += (size_t)snprintf(sch + k, sizeof(sch) - k,
			    "{\"allOf\":[");
		k += (size_t)snprintf(sch + k, sizeof(sch) - k,
		    "{\"items\":{\"$ref\":\"#/definitions/d\"}}");
		for (i = 0; i < 25; i++)
			k += (size_t)snprintf(sch + k, sizeof(sch) - k, "]}");
		snprintf(sch + k, sizeof(sch) - k, "}}");
		js = sc(sch);
		CHECK(js != NULL, "allOf tower: %s", E);
		x = nest(NULL, 30);
		findings_clear(&F);
		CHECK_INT(jschema_validate(js, x, &F), 0);
		cJSON_Delete(x);
		x = nest(NULL, 60);
		findings_clear(&F);
		CHECK_INT(jschema_validate(js, x, &F), 1);
		CHECK(F.n == 1 && strstr(F.v[0].message, "schema applications "
		    "nested deeper than 1024") != NULL, "frames: %s",
		    F.n ? F.v[0].message : "");
		cJSON_Delete(x);
		jschema_free(js);
	}

	/* uniqueItems and const compare within the same depth budget */
	js = sc("{\"uniqueItems\":true}");
	x = cJSON_CreateArray();
	cJSON_AddItemToArray(x, nest(NULL, 80));
	cJSON_AddItemToArray(x, nest(NULL, 80));
	findings_clear(&F);
	CHECK_INT(jschema_validate(js, x, &F), 1);
	CHECK(F.n == 1 && strstr(F.v[0].message, "deeper") != NULL, "uniq");
	cJSON_Delete(x);
	jschema_free(js);

	/* the findings list is bounded */
	js = sc("{\"items\":{\"type\":\"string\"}}");
	x = cJSON_CreateArray();
	for (i = 0; i < 100; i++)
		cJSON_AddItemToArray(x, cJSON_CreateNumber(i));
	findings_clear(&F);
	CHECK_INT(jschema_validate(js, x, &F), 1);
	CHECK_INT(F.n, FINDINGS_MAX);
	CHECK_INT(F.dropped, 100 - FINDINGS_MAX);
	CHECK_STR(F.v[63].path, "[63]");
	cJSON_Delete(x);
	jschema_free(js);

	/* uniqueItems on a large array stays O(n log n) */
	js = sc("{\"uniqueItems\":true}");
	big = malloc(cap);
	CHECK(big != NULL, "malloc");
	if (big != NULL) {
		n = (size_t)snprintf(big, cap, "[0");
		for (i = 1; i < 50000; i++)
			n += (size_t)snprintf(big + n, cap - n, ",%d.5", i);
		snprintf(big + n, cap - n, "]");
		CHECK_INT(val(js, big), 0);
		snprintf(big + n, cap - n, ",0.0]");
		CHECK_INT(val(js, big), 1);
		CHECK_STR(F.v[0].message,
		    "uniqueItems: items [0] and [50000] are equal");
		free(big);
	}
	jschema_free(js);

	CHECK_INT(jschema_validate(NULL, NULL, &F), -1);
}

static void
test_misc(void)
{
	struct jschema *js;
	char path[] = "/tmp/test_jschema.XXXXXX";
	size_t i;
	FILE *fp;
	int fd;

	for (i = 0; jschema_keywords[i] != NULL; i++)
		;
	CHECK_INT(i, 35);
	CHECK_STR(jschema_keywords[0], "type");

	js = sc("{\"format\":\"email\",\"title\":\"t\",\"default\":3,"
	    "\"x-unknown\":{\"type\":\"string\"}}");
	CHECK_INT(val(js, "\"not an email\""), 0);
	CHECK_INT(val(js, "4"), 0);
	jschema_free(js);

	/* sibling keywords of $ref are ignored (draft-07) */
	js = sc("{\"definitions\":{\"s\":{\"type\":\"string\"}},"
	    "\"properties\":{\"a\":{\"$ref\":\"#/definitions/s\","
	    "\"maxLength\":1}}}");
	CHECK_INT(val(js, "{\"a\":\"long\"}"), 0);
	jschema_free(js);

	/* the compiled schema does not depend on the caller's tree */
	{
		cJSON *s = cJSON_Parse("{\"enum\":[\"a\"],\"pattern\":\"a\"}");

		js = jschema_compile(s, E, sizeof(E));
		cJSON_Delete(s);
		CHECK_INT(val(js, "\"a\""), 0);
		CHECK_INT(val(js, "\"b\""), 1);
		jschema_free(js);
	}

	if ((fd = mkstemp(path)) >= 0 && (fp = fdopen(fd, "w")) != NULL) {
		fputs("{\"type\": \"object\", \"required\": [\"a\"]}\n", fp);
		fclose(fp);
		js = jschema_load_file(path, E, sizeof(E));
		CHECK(js != NULL, "load: %s", E);
		CHECK_INT(val(js, "{}"), 1);
		jschema_free(js);
		fp = fopen(path, "w");
		fputs("{\"type\": \"object\"} trailing", fp);
		fclose(fp);
		CHECK(jschema_load_file(path, E, sizeof(E)) == NULL &&
		    strstr(E, "not valid JSON") != NULL, "trailing: %s", E);
		fp = fopen(path, "w");
		fputs("{\"minimum\": \"x\"}", fp);
		fclose(fp);
		CHECK(jschema_load_file(path, E, sizeof(E)) == NULL &&
		    strncmp(E, path, strlen(path)) == 0 &&
		    strstr(E, "#/minimum") != NULL, "prefix: %s", E);
		unlink(path);
	} else
		CHECK(0, "mkstemp");
	CHECK(jschema_load_file("/nonexistent/x.json", E, sizeof(E)) == NULL &&
	    strstr(E, "/nonexistent/x.json") != NULL, "missing: %s", E);
	CHECK(jschema_load_file("/nonexistent/x.json", NULL, 0) == NULL,
	    "NULL err");
}

int
main(void)
{
	test_paths();
	test_combinators();
	test_numbers();
	test_strings();
	test_patterns();
	test_refs();
	test_schema_errors();
	test_limits();
	test_misc();
	return tap_done();
}
