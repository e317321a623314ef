/*
 * jsonrx.c - untrusted JSON in (see jsonrx.h).
 *
 * SECURITY: the input is a file a POS (or anybody with write access to the
 * share) dropped. We trust nothing in it. Before cJSON sees a byte we check,
 * in one pass over the text with an explicit stack (no recursion):
 *   - the size cap;
 *   - strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF)
 *     and no raw control characters inside strings;
 *   - escapes: only the JSON ones, \u0000 refused (it would truncate a C
 *     string and make what we validate differ from what we sign), UTF-16
 *     surrogates only in valid pairs;
 *   - the full JSON grammar, numbers included (cJSON alone accepts "01",
 *     "+1", "1." and friends through strtod);
 *   - nesting depth <= JSONRX_MAX_DEPTH, so cJSON's recursion is bounded.
 * Then cJSON builds the tree, we reject duplicate member names (cJSON keeps
 * both and lookups return the first: what we validate and what we sign could
 * differ), and we hang each number's literal on its node.
 *
 * Invariant: cJSON creates number nodes in document order and a pre-order
 * walk visits them in that order, so the k-th number node gets the k-th
 * literal. We check the counts agree.
 */
#include "io/jsonrx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fiscal/findings.h"
#include "util/utf8.h"

struct span {
	size_t	off, len;
};

struct lex {
	const unsigned char	*s;
	size_t			 n, i;
	struct span		*nums;
	size_t			 n_nums, cap_nums;
	const char		*err;
	size_t			 err_off;
};

static int
fail(struct lex *lx, const char *msg)
{
	if (lx->err == NULL) {
		lx->err = msg;
		lx->err_off = lx->i;
	}
	return -1;
}

static int
hex4(const unsigned char *s, unsigned *out)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		v <<= 4;
		if (s[k] >= '0' && s[k] <= '9')
			v |= s[k] - '0';
		else if (s[k] >= 'a' && s[k] <= 'f')
			v |= s[k] - 'a' + 10;
		else if (s[k] >= 'A' && s[k] <= 'F')
			v |= s[k] - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int
lex_string(struct lex *lx)
{
	const unsigned char *s = lx->s;
	unsigned u, lo;
	size_t len;

	lx->i++;	/* opening quote */
	for (;;) {
		if (lx->i >= lx->n)
			return fail(lx, "unterminated string");
		if (s[lx->i] == '"') {
			lx->i++;
			return 0;
		}
		if (s[lx->i] < 0x20)
			return fail(lx, "control character in string");
		if (s[lx->i] != '\\') {
			if ((len = utf8_decode(s + lx->i, lx->n - lx->i, NULL)) == 0)
				return fail(lx, "invalid UTF-8");
			lx->i += len;
			continue;
		}
		if (lx->i + 1 >= lx->n)
			return fail(lx, "unterminated string");
		switch (s[lx->i + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			lx->i += 2;
			continue;
		case 'u':
			break;
		default:
			return fail(lx, "invalid escape");
		}
		if (lx->i + 6 > lx->n || hex4(s + lx->i + 2, &u) == -1)
			return fail(lx, "invalid \\u escape");
		if (u == 0)
			return fail(lx, "\\u0000 is not allowed");
		if (u >= 0xdc00 && u <= 0xdfff)
			return fail(lx, "unpaired UTF-16 surrogate");
		if (u >= 0xd800 && u <= 0xdbff) {
			if (lx->i + 12 > lx->n || s[lx->i + 6] != '\\' ||
			    s[lx->i + 7] != 'u' || hex4(s + lx->i + 8, &lo) == -1 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return fail(lx, "unpaired UTF-16 surrogate");
			lx->i += 6;
		}
		lx->i += 6;
	}
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
lex_number(struct lex *lx)
{
	const unsigned char *s = lx->s;
	size_t start = lx->i, i = lx->i;
	struct span *v;

	if (i < lx->n && s[i] == '-')
		i++;
	if (i >= lx->n || !is_digit(s[i]))
		return fail(lx, "invalid number");
	if (s[i] == '0')
		i++;
	else
		while (i < lx->n && is_digit(s[i]))
			i++;
	if (i < lx->n && s[i] == '.') {
		if (++i >= lx->n || !is_digit(s[i]))
			return fail(lx, "invalid number");
		while (i < lx->n && is_digit(s[i]))
			i++;
	}
	if (i < lx->n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < lx->n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= lx->n || !is_digit(s[i]))
			return fail(lx, "invalid number");
		while (i < lx->n && is_digit(s[i]))
			i++;
	}
	/* cJSON copies at most 63 characters of a number. */
	if (i - start > 63)
		return fail(lx, "number literal too long");
	if (lx->n_nums == lx->cap_nums) {
		size_t cap = lx->cap_nums ? lx->cap_nums * 2 : 64;

		if ((v = realloc(lx->nums, cap * sizeof(*v))) == NULL)
			return fail(lx, "out of memory");
		lx->nums = v;
		lx->cap_nums = cap;
	}
	lx->nums[lx->n_nums].off = start;
	lx->nums[lx->n_nums].len = i - start;
	lx->n_nums++;
	lx->i = i;
	return 0;
}

static void
skip_ws(struct lex *lx)
{
	while (lx->i < lx->n && (lx->s[lx->i] == ' ' || lx->s[lx->i] == '\t' ||
	    lx->s[lx->i] == '\n' || lx->s[lx->i] == '\r'))
		lx->i++;
}

static int
lex_word(struct lex *lx, const char *w)
{
	size_t len = strlen(w);

	if (lx->n - lx->i < len || memcmp(lx->s + lx->i, w, len) != 0)
		return fail(lx, "unexpected character");
	lx->i += len;
	return 0;
}

/*
 * The grammar as a loop over an explicit stack of open containers.
 * After a value we are "after value": expect ',' or the closer of the
 * innermost container, or end of input at depth 0.
 */
static int
lex_document(struct lex *lx)
{
	char stack[JSONRX_MAX_DEPTH];
	int depth = 0;
	unsigned char c;

	skip_ws(lx);
	for (;;) {
		/* expecting a value */
		if (lx->i >= lx->n)
			return fail(lx, "unexpected end of input");
		c = lx->s[lx->i];
		if (c == '{' || c == '[') {
			if (depth == JSONRX_MAX_DEPTH)
				return fail(lx, "nesting too deep");
			stack[depth++] = (char)c;
			lx->i++;
			skip_ws(lx);
			if (lx->i < lx->n && lx->s[lx->i] == (c == '{' ? '}' : ']')) {
				lx->i++;
				depth--;
				goto after_value;
			}
			if (c == '[')
				continue;
			goto member_key;
		}
		if (c == '"') {
			if (lex_string(lx) == -1)
				return -1;
		} else if (c == '-' || is_digit(c)) {
			if (lex_number(lx) == -1)
				return -1;
		} else if (c == 't') {
			if (lex_word(lx, "true") == -1)
				return -1;
		} else if (c == 'f') {
			if (lex_word(lx, "false") == -1)
				return -1;
		} else if (c == 'n') {
			if (lex_word(lx, "null") == -1)
				return -1;
		} else
			return fail(lx, "unexpected character");
after_value:
		skip_ws(lx);
		if (depth == 0) {
			if (lx->i != lx->n)
				return fail(lx, "trailing data after the document");
			return 0;
		}
		if (lx->i >= lx->n)
			return fail(lx, "unexpected end of input");
		c = lx->s[lx->i];
		if (c == (stack[depth - 1] == '{' ? '}' : ']')) {
			lx->i++;
			depth--;
			goto after_value;
		}
		if (c != ',')
			return fail(lx, "expected ',' or a closing bracket");
		lx->i++;
		skip_ws(lx);
		if (stack[depth - 1] == '[')
			continue;
member_key:
		if (lx->i >= lx->n || lx->s[lx->i] != '"')
			return fail(lx, "expected a member name");
		if (lex_string(lx) == -1)
			return -1;
		skip_ws(lx);
		if (lx->i >= lx->n || lx->s[lx->i] != ':')
			return fail(lx, "expected ':'");
		lx->i++;
		skip_ws(lx);
	}
}

static int
cmp_keys(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* Depth is bounded by the lexer, so recursion here is bounded too. */
static const char *
check_tree(cJSON *node, struct lex *lx, size_t *k)
{
	const cJSON **keys = NULL;
	const char *dup = NULL;
	cJSON *c;
	size_t n = 0, i;

	if (cJSON_IsNumber(node)) {
		struct span *sp;

		if (*k >= lx->n_nums)
			return "number count mismatch";
		sp = &lx->nums[(*k)++];
		if ((node->valuestring = malloc(sp->len + 1)) == NULL)
			return "out of memory";
		memcpy(node->valuestring, lx->s + sp->off, sp->len);
		node->valuestring[sp->len] = '\0';
		return NULL;
	}
	for (c = node->child; c != NULL; c = c->next)
		n++;
	if (cJSON_IsObject(node) && n > 1) {
		if ((keys = malloc(n * sizeof(*keys))) == NULL)
			return "out of memory";
		for (i = 0, c = node->child; c != NULL; c = c->next)
			keys[i++] = c;
		qsort(keys, n, sizeof(*keys), cmp_keys);
		for (i = 1; i < n; i++)
			if (strcmp(keys[i - 1]->string, keys[i]->string) == 0) {
				dup = keys[i]->string;
				break;
			}
		free(keys);
		if (dup != NULL)
			return dup;	/* caller tells a name from an error */
	}
	for (c = node->child; c != NULL; c = c->next) {
		const char *e = check_tree(c, lx, k);

		if (e != NULL)
			return e;
	}
	return NULL;
}

cJSON *
jsonrx_parse(const char *buf, size_t len, size_t max_size, struct findings *f)
{
	struct lex lx;
	cJSON *root;
	const char *e;
	size_t k = 0;

	if (len > max_size) {
		findings_add(f, "TOO_LARGE", COLOUR_NONE, "",
		    "document is %zu bytes, the limit is %zu", len, max_size);
		return NULL;
	}
	memset(&lx, 0, sizeof(lx));
	lx.s = (const unsigned char *)buf;
	lx.n = len;
	if (lex_document(&lx) == -1) {
		findings_add(f, "PARSE", COLOUR_NONE, "",
		    "invalid JSON at byte %zu: %s", lx.err_off, lx.err);
		free(lx.nums);
		return NULL;
	}
	if ((root = cJSON_ParseWithLength(buf, len)) == NULL) {
		findings_add(f, "PARSE", COLOUR_NONE, "",
		    "invalid JSON (cJSON refused it)");
		free(lx.nums);
		return NULL;
	}
	e = check_tree(root, &lx, &k);
	if (e == NULL && k != lx.n_nums)
		e = "number count mismatch";
	free(lx.nums);
	if (e != NULL) {
		if (strcmp(e, "out of memory") == 0 ||
		    strcmp(e, "number count mismatch") == 0)
			findings_add(f, "PARSE", COLOUR_NONE, "",
			    "cannot read the JSON document: %s", e);
		else
			findings_add(f, "PARSE", COLOUR_NONE, "",
			    "duplicate member name \"%.64s\"", e);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

cJSON *
jsonrx_number_node(const char *literal, size_t len)
{
	cJSON *n;
	char tmp[64];

	if (len >= sizeof(tmp))
		return NULL;
	memcpy(tmp, literal, len);
	tmp[len] = '\0';
	/* strtod in the C locale: we never call setlocale(). */
	if ((n = cJSON_CreateNumber(strtod(tmp, NULL))) == NULL)
		return NULL;
	if ((n->valuestring = malloc(len + 1)) == NULL) {
		cJSON_Delete(n);
		return NULL;
	}
	memcpy(n->valuestring, tmp, len + 1);
	return n;
}

const char *
jsonrx_number_text(const cJSON *n)
{
	return cJSON_IsNumber(n) ? n->valuestring : NULL;
}
