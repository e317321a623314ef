/*
 * fdms_json.c - the JSON we send and the JSON we read (see fdms_int.h).
 *
 * Out: request bodies are written by hand into a bounded buf, not through
 * cJSON, because cJSON prints numbers from doubles; every number here is
 * printed from an int64 (money_format for fixed point), so 16.55 goes out
 * as "16.55" and never as 16.550000000000001.
 *
 * In: SECURITY: every FDMS answer is untrusted (a broken server, a proxy's
 * error page, an attacker between us and FDMS if TLS were ever
 * misconfigured).  Bodies go through jsonrx (size cap, strict UTF-8, depth
 * limit, no duplicate keys, number literals kept), and every access checks
 * the type; a present value of the wrong type is an error, never a guess.
 * Numbers are read from their literal text (money_parse), never from
 * valuedouble.  Strings are copied into the reply's arena with a length
 * cap, so nothing in a reply points into the cJSON tree.
 *
 * Names: FDMS is ASP.NET and matches names case-insensitively; it sends
 * camelCase.  We look a member up by its exact name first and fall back to
 * a case-insensitive match, so "operationId" and "OperationID" are found
 * too, but an exact match always wins.
 */
#include "fdms/fdms_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "io/jsonrx.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/utf8.h"

/* ---- out ---- */

int
jw_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, len;
	char esc[8];

	if (buf_add(b, "\"", 1) == -1)
		return -1;
	while (i < n) {
		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			if (buf_add(b, esc, 2) == -1)
				return -1;
			i++;
		} else if (p[i] < 0x20) {
			switch (p[i]) {
			case '\n':
				len = (size_t)snprintf(esc, sizeof(esc), "\\n");
				break;
			case '\r':
				len = (size_t)snprintf(esc, sizeof(esc), "\\r");
				break;
			case '\t':
				len = (size_t)snprintf(esc, sizeof(esc), "\\t");
				break;
			default:
				len = (size_t)snprintf(esc, sizeof(esc),
				    "\\u%04x", p[i]);
			}
			if (buf_add(b, esc, len) == -1)
				return -1;
			i++;
		} else {
			/* Whatever we send must be valid UTF-8 JSON. */
			if ((len = utf8_decode(p + i, n - i, NULL)) == 0)
				return -1;
			if (buf_add(b, p + i, len) == -1)
				return -1;
			i += len;
		}
	}
	return buf_add(b, "\"", 1);
}

int
jw_key(struct buf *b, bool *first, const char *key)
{
	if (!*first && buf_add(b, ",", 1) == -1)
		return -1;
	*first = false;
	if (jw_str(b, key) == -1)
		return -1;
	return buf_add(b, ":", 1);
}

int
jw_kstr(struct buf *b, bool *first, const char *key, const char *s)
{
	if (jw_key(b, first, key) == -1)
		return -1;
	return jw_str(b, s);
}

int
jw_kint(struct buf *b, bool *first, const char *key, int64_t v)
{
	if (jw_key(b, first, key) == -1)
		return -1;
	return buf_printf(b, "%" PRId64, v);
}

int
jw_kfix(struct buf *b, bool *first, const char *key, int64_t v, int decimals)
{
	char num[MONEY_BUFSZ];

	if (jw_key(b, first, key) == -1)
		return -1;
	return buf_adds(b, money_format(v, decimals, num, sizeof(num)));
}

int
jw_kmicro(struct buf *b, bool *first, const char *key, int64_t v)
{
	char num[MONEY_BUFSZ];
	size_t n;
	char *dot;

	money_format(v, 6, num, sizeof(num));
	n = strlen(num);
	if ((dot = strchr(num, '.')) != NULL)
		while (n > (size_t)(dot - num) + 3 && num[n - 1] == '0')
			num[--n] = '\0';
	if (jw_key(b, first, key) == -1)
		return -1;
	return buf_add(b, num, n);
}

/* ---- in ---- */

cJSON *
jr_parse(const char *body, size_t len, size_t max, char *err, size_t errlen)
{
	struct findings *f;
	cJSON *root;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	root = jsonrx_parse(body, len, max, f);
	if (root == NULL)
		snprintf(err, errlen, "%s%s%s",
		    f->n ? f->v[0].message : "bad JSON",
		    f->n && f->v[0].path[0] ? " at " : "",
		    f->n ? f->v[0].path : "");
	free(f);
	return root;
}

void
jr_fail(struct jr *j, const char *name, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (j->bad)
		return;		/* report the first problem only */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(j->err, sizeof(j->err), "%.95s%s%.48s%s%.100s", j->where,
	    j->where[0] != '\0' && name[0] != '\0' ? "." : "", name,
	    j->where[0] != '\0' || name[0] != '\0' ? ": " : "", msg);
	j->bad = true;
}

const cJSON *
jr_member(const cJSON *obj, const char *name)
{
	const cJSON *c;

	if (!cJSON_IsObject(obj))
		return NULL;
	if ((c = cJSON_GetObjectItemCaseSensitive(obj, name)) != NULL)
		return c;
	for (c = obj->child; c != NULL; c = c->next)
		if (c->string != NULL && strcasecmp(c->string, name) == 0)
			return c;
	return NULL;
}

const cJSON *
jr_get(const cJSON *obj, const char *name)
{
	const cJSON *v = jr_member(obj, name);

	return v == NULL || cJSON_IsNull(v) ? NULL : v;
}

static const char *
type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "something else";
}

const char *
jr_str(struct jr *j, const cJSON *obj, const char *name, bool required,
    size_t maxlen)
{
	const cJSON *v = jr_get(obj, name);
	const char *s;
	size_t n;

	if (v == NULL) {
		if (required)
			jr_fail(j, name, "missing");
		return NULL;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		jr_fail(j, name, "is %s, not a string", type_name(v));
		return NULL;
	}
	n = strlen(v->valuestring);
	if (n > maxlen) {
		jr_fail(j, name, "longer than %zu bytes", maxlen);
		return NULL;
	}
	if ((s = arena_strndup(j->a, v->valuestring, n)) == NULL)
		jr_fail(j, name, "out of memory");
	return s;
}

/* The literal of a number member; NULL with an error for anything else. */
static const char *
number_text(struct jr *j, const cJSON *v, const char *name)
{
	const char *t;

	if (!cJSON_IsNumber(v)) {
		jr_fail(j, name, "is %s, not a number", type_name(v));
		return NULL;
	}
	if ((t = jsonrx_number_text(v)) == NULL)
		jr_fail(j, name, "number without its literal");
	return t;
}

int
jr_int(struct jr *j, const cJSON *obj, const char *name, bool required,
    int64_t min, int64_t max, int64_t *out)
{
	const cJSON *v = jr_get(obj, name);
	const char *t;
	int64_t x;
	enum money_status st;

	if (v == NULL) {
		if (required)
			jr_fail(j, name, "missing");
		return required ? -1 : 0;
	}
	if ((t = number_text(j, v, name)) == NULL)
		return -1;
	st = money_parse(t, strlen(t), 0, INT64_MAX, &x);
	if (st != MONEY_OK || x < min || x > max) {
		jr_fail(j, name, "%s is not an integer in %" PRId64 "..%"
		    PRId64, st == MONEY_OK ? "value" : money_strerror(st), min,
		    max);
		return -1;
	}
	*out = x;
	return 1;
}

int
jr_cents(struct jr *j, const cJSON *obj, const char *name, bool required,
    int64_t *out)
{
	const cJSON *v = jr_get(obj, name);
	const char *t;
	enum money_status st;

	if (v == NULL) {
		if (required)
			jr_fail(j, name, "missing");
		return required ? -1 : 0;
	}
	if ((t = number_text(j, v, name)) == NULL)
		return -1;
	if ((st = money_parse_cents(t, strlen(t), out)) != MONEY_OK) {
		jr_fail(j, name, "not an amount: %s", money_strerror(st));
		return -1;
	}
	return 1;
}

/*
 * GetConfig's taxPercent is decimal(5,2) at FDMS, but fdms-reference §9
 * tells us to round what arrives to hundredths rather than choke on a
 * float rendering such as 15.499999999: digits past the second decimal
 * are rounded half to even, from the text, without floating point.
 */
int
fdms_parse_percent(const char *t, int32_t *out)
{
	size_t i = 0, n = strlen(t), k, ndig = 0;
	int64_t v = 0;
	int frac = 0, cmp = 0;

	if (money_parse_percent(t, n, out) == MONEY_OK)
		return *out >= 0 ? 0 : -1;
	if (n == 0 || n > 64 || t[0] < '0' || t[0] > '9')
		return -1;
	if (t[0] == '0' && n > 1 && t[1] >= '0' && t[1] <= '9')
		return -1;
	for (; i < n && t[i] >= '0' && t[i] <= '9'; i++) {
		if (++ndig > 3)
			return -1;
		v = v * 10 + (t[i] - '0');
	}
	if (i == n || t[i] != '.' || i + 1 == n)
		return -1;
	for (i++; i < n && frac < 2; i++, frac++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		v = v * 10 + (t[i] - '0');
	}
	for (; frac < 2; frac++)
		v *= 10;
	/* Compare the rest with one half: 5 then only zeros is a tie. */
	for (k = i; k < n; k++) {
		if (t[k] < '0' || t[k] > '9')
			return -1;
		if (k == i)
			cmp = t[k] > '5' ? 1 : t[k] < '5' ? -1 : 0;
		else if (cmp == 0 && t[k] != '0')
			cmp = 1;
	}
	if (k > i && (cmp > 0 || (cmp == 0 && (v & 1))))
		v++;
	if (v > PERCENT_MAX)
		return -1;
	*out = (int32_t)v;
	return 0;
}

int
jr_percent(struct jr *j, const cJSON *obj, const char *name, bool required,
    int32_t *out)
{
	const cJSON *v = jr_get(obj, name);
	const char *t;

	if (v == NULL) {
		if (required)
			jr_fail(j, name, "missing");
		return required ? -1 : 0;
	}
	if ((t = number_text(j, v, name)) == NULL)
		return -1;
	if (fdms_parse_percent(t, out) == -1) {
		jr_fail(j, name, "not a tax percent (0..999.99)");
		return -1;
	}
	return 1;
}

int
jr_bool(struct jr *j, const cJSON *obj, const char *name, bool required,
    bool *out)
{
	const cJSON *v = jr_get(obj, name);

	if (v == NULL) {
		if (required)
			jr_fail(j, name, "missing");
		return required ? -1 : 0;
	}
	if (!cJSON_IsBool(v)) {
		jr_fail(j, name, "is %s, not a boolean", type_name(v));
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 1;
}

int
jr_enum(struct jr *j, const cJSON *obj, const char *name,
    const char *const *names, size_t n, int *out, const char **text)
{
	const cJSON *v = jr_get(obj, name);
	int64_t idx;
	size_t i;

	if (text != NULL)
		*text = NULL;
	if (v == NULL)
		return 0;
	if (cJSON_IsNumber(v)) {
		/* .NET sends enums as their index unless told otherwise. */
		if (jr_int(j, obj, name, true, 0, (int64_t)n - 1, &idx) == -1)
			return -1;
		*out = (int)idx;
		return 1;
	}
	if (!cJSON_IsString(v)) {
		jr_fail(j, name, "is %s, not a string", type_name(v));
		return -1;
	}
	for (i = 0; i < n; i++)
		if (names[i] != NULL &&
		    strcasecmp(v->valuestring, names[i]) == 0) {
			*out = (int)i;
			if (text != NULL)
				*text = names[i];
			return 1;
		}
	if (text != NULL && (*text = jr_str(j, obj, name, false, 128)) == NULL)
		return -1;
	return 2;
}

const cJSON *
jr_obj(struct jr *j, const cJSON *obj, const char *name, bool required)
{
	const cJSON *v = jr_get(obj, name);

	if (v == NULL) {
		if (required)
			jr_fail(j, name, "missing");
		return NULL;
	}
	if (!cJSON_IsObject(v)) {
		jr_fail(j, name, "is %s, not an object", type_name(v));
		return NULL;
	}
	return v;
}

const cJSON *
jr_arr(struct jr *j, const cJSON *obj, const char *name, bool required,
    size_t max, size_t *n)
{
	const cJSON *v = jr_get(obj, name);
	const cJSON *c;
	size_t k = 0;

	*n = 0;
	if (v == NULL) {
		if (required)
			jr_fail(j, name, "missing");
		return NULL;
	}
	if (!cJSON_IsArray(v)) {
		jr_fail(j, name, "is %s, not an array", type_name(v));
		return NULL;
	}
	for (c = v->child; c != NULL; c = c->next)
		if (++k > max) {
			jr_fail(j, name, "more than %zu entries", max);
			return NULL;
		}
	*n = k;
	return v;
}

void
fdms_copy_text(char *dst, size_t len, const char *src)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t n = strlen((const char *)s), i = 0, o = 0, k;

	if (len == 0)
		return;
	while (i < n) {
		k = s[i] < 0x80 ? 1 : utf8_decode(s + i, n - i, NULL);
		if (k == 0 || s[i] < 0x20 || s[i] == 0x7f)
			k = 1;
		if (o + k >= len)
			break;
		if (k == 1 && (s[i] < 0x20 || s[i] >= 0x7f))
			dst[o++] = '?';
		else {
			memcpy(dst + o, s + i, k);
			o += k;
		}
		i += k;
	}
	dst[o] = '\0';
}
