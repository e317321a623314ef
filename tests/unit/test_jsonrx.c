/*
 * test_jsonrx.c - the hardened JSON reader: what it refuses and the number
 * literals it keeps.
 */
#include <stdlib.h>
#include <string.h>

#include "fiscal/findings.h"
#include "io/jsonrx.h"
#include "tap.h"

static cJSON *
parse(const char *s, size_t len, struct findings *f)
{
	findings_clear(f);
	return jsonrx_parse(s, len, JSONRX_MAX_SIZE, f);
}

static void
refuse(const char *s, size_t len, const char *code, const char *needle)
{
	struct findings f;
	cJSON *t = parse(s, len, &f);

	CHECK(t == NULL, "accepted: %.60s", s);
	cJSON_Delete(t);
	CHECK(f.n == 1 && strcmp(f.v[0].code, code) == 0, "%.60s: code %s",
	    s, f.n ? f.v[0].code : "none");
	if (f.n == 1 && needle != NULL)
		CHECK(strstr(f.v[0].message, needle) != NULL, "%.60s: message "
		    "\"%s\" lacks \"%s\"", s, f.v[0].message, needle);
}

#define REFUSE(s, code, needle)	refuse((s), sizeof(s) - 1, (code), (needle))

static void
accept(const char *s)
{
	struct findings f;
	cJSON *t = parse(s, strlen(s), &f);

	CHECK(t != NULL, "refused %.60s: %s", s, f.n ? f.v[0].message : "");
	cJSON_Delete(t);
}

static void
test_literals(void)
{
	struct findings f;
	const char *doc = "{\"a\": 0.29, \"b\": [1.005, -0, 9999999999999.99,"
	    " {\"c\": 1e400}], \"d\": \"7.10\", \"e\": 12345678901234567890}";
	cJSON *t = parse(doc, strlen(doc), &f), *b;

	CHECK(t != NULL, "parse");
	if (t == NULL)
		return;
	CHECK_STR(jsonrx_number_text(cJSON_GetObjectItemCaseSensitive(t, "a")),
	    "0.29");
	b = cJSON_GetObjectItemCaseSensitive(t, "b");
	CHECK_STR(jsonrx_number_text(cJSON_GetArrayItem(b, 0)), "1.005");
	CHECK_STR(jsonrx_number_text(cJSON_GetArrayItem(b, 1)), "-0");
	CHECK_STR(jsonrx_number_text(cJSON_GetArrayItem(b, 2)),
	    "9999999999999.99");
	CHECK_STR(jsonrx_number_text(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(b, 3), "c")), "1e400");
	CHECK(jsonrx_number_text(cJSON_GetObjectItemCaseSensitive(t, "d")) ==
	    NULL, "a string is not a number");
	CHECK_STR(jsonrx_number_text(cJSON_GetObjectItemCaseSensitive(t, "e")),
	    "12345678901234567890");
	cJSON_Delete(t);

	t = jsonrx_number_node("11.55", 5);
	CHECK(t != NULL && strcmp(jsonrx_number_text(t), "11.55") == 0 &&
	    t->valuedouble > 11.5 && t->valuedouble < 11.6, "number node");
	cJSON_Delete(t);
}

static void
test_refusals(void)
{
	char *big, *deep;
	size_t i;

	REFUSE("{\"a\":1,\"a\":2}", "PARSE", "duplicate member name \"a\"");
	REFUSE("{\"a\":1,\"\\u0061\":2}", "PARSE", "duplicate");
	REFUSE("{\"x\":{\"k\":1,\"j\":2,\"k\":3}}", "PARSE", "duplicate");
	REFUSE("{\"a\":01}", "PARSE", NULL);
	REFUSE("{\"a\":+1}", "PARSE", NULL);
	REFUSE("{\"a\":1.}", "PARSE", "invalid number");
	REFUSE("{\"a\":.5}", "PARSE", NULL);
	REFUSE("{\"a\":NaN}", "PARSE", NULL);
	REFUSE("{\"a\":Infinity}", "PARSE", NULL);
	REFUSE("{\"a\":-}", "PARSE", "invalid number");
	REFUSE("{\"a\":1}x", "PARSE", "trailing data");
	REFUSE("{\"a\":1} {}", "PARSE", "trailing data");
	REFUSE("{\"a\":1,}", "PARSE", "member name");
	REFUSE("[1,]", "PARSE", NULL);
	REFUSE("{\"a\" 1}", "PARSE", "':'");
	REFUSE("{\"a\":\"\x01\"}", "PARSE", "control character");
	REFUSE("{\"a\":\"\\x\"}", "PARSE", "invalid escape");
	REFUSE("{\"a\":\"\\u0000\"}", "PARSE", "\\u0000");
	REFUSE("{\"a\":\"\\ud800\"}", "PARSE", "surrogate");
	REFUSE("{\"a\":\"\\udc00\\ud800\"}", "PARSE", "surrogate");
	REFUSE("{\"a\":\"\xff\"}", "PARSE", "UTF-8");
	REFUSE("{\"a\":\"\xc0\xaf\"}", "PARSE", "UTF-8");	/* overlong */
	REFUSE("{\"a\":\"\xed\xa0\x80\"}", "PARSE", "UTF-8");	/* surrogate */
	REFUSE("{\"a\":\"\xf4\x90\x80\x80\"}", "PARSE", "UTF-8");	/* > 10FFFF */
	REFUSE("{\"a\":\"\xe2\x82\"}", "PARSE", NULL);		/* truncated */
	REFUSE("{\"a\":\"abc", "PARSE", "unterminated");
	REFUSE("", "PARSE", "end of input");
	REFUSE("   ", "PARSE", "end of input");
	REFUSE("{\"a\":tru}", "PARSE", NULL);
	REFUSE("{\"a\":1\0}", "PARSE", NULL);
	REFUSE("\xef\xbb\xbf{}", "PARSE", NULL);	/* BOM is not JSON */
	REFUSE("{\"a\":123456789012345678901234567890123456789012345678901234567890"
	    "1234}", "PARSE", "too long");

	/* 100,000 levels: refused by the lexer before cJSON recurses. */
	deep = malloc(200001);
	for (i = 0; i < 100000; i++)
		deep[i] = '[';
	for (; i < 200000; i++)
		deep[i] = ']';
	refuse(deep, 200000, "PARSE", "nesting too deep");
	/* Exactly the limit is fine, one more is not. */
	for (i = 0; i < JSONRX_MAX_DEPTH; i++)
		deep[i] = '[';
	for (; i < 2 * JSONRX_MAX_DEPTH; i++)
		deep[i] = ']';
	deep[i] = '\0';
	accept(deep);
	memmove(deep + 1, deep, 2 * JSONRX_MAX_DEPTH + 1);
	deep[0] = '[';
	deep[2 * JSONRX_MAX_DEPTH + 1] = ']';
	deep[2 * JSONRX_MAX_DEPTH + 2] = '\0';
	refuse(deep, strlen(deep), "PARSE", "nesting");
	free(deep);

	/* Size cap. */
	big = malloc(JSONRX_MAX_SIZE + 2);
	memset(big, ' ', JSONRX_MAX_SIZE + 1);
	big[0] = '1';
	refuse(big, JSONRX_MAX_SIZE + 1, "TOO_LARGE", "limit");
	free(big);
}

static void
test_accepts(void)
{
	accept("{}");
	accept("[]");
	accept("{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false}");
	accept("{\"A\":1,\"a\":2}");	/* case differs: not a duplicate */
	accept("{\"name\":\"Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x9e\"}");
	accept("{\"s\":\"\\ud83c\\udf5e \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}");
	accept(" \t\r\n{ \"a\" : -1.5e-3 } \n");
	accept("0");
}

int
main(void)
{
	test_literals();
	test_refusals();
	test_accepts();
	return tap_done();
}
