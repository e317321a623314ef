/*
 * jschema.c - JSON Schema draft-07 validator over cJSON (see jschema.h).
 *
 * Purpose: check untrusted documents (receipts) against our own schemas
 * and say, per offending value, what is wrong and where.
 *
 * Trust: the schema is ours, but it is still checked at compile time: it
 * must be well formed, at most JSCHEMA_MAX_DEPTH levels deep, free of
 * remote $refs and of $ref loops that never descend into the instance
 * (allOf: [{$ref: "#"}] at the root would recurse forever on any value).
 * The instance is untrusted: evaluation never looks at a value more than
 * JSCHEMA_MAX_DEPTH levels below the root (a finding, and the document is
 * invalid, even under "not"), never nests more than MAX_FRAMES schema
 * applications, and allocates only for uniqueItems (O(n), sorted hashes
 * instead of the O(n^2) pairwise comparison an attacker could exploit).
 *
 * Invariants:
 *  - struct jschema is immutable once jschema_compile returns, so one may
 *    be shared by threads; nodes live in one arena and point into js->doc,
 *    our private copy of the schema.
 *  - every number of js->doc carries a decimal literal in valuestring (the
 *    caller's, or the shortest text that round-trips the double), so all
 *    numeric comparisons are exact decimal arithmetic on text.
 *  - eval() returns 0 valid, 1 invalid, -1 stop (c->stop says why). A stop
 *    propagates through every combinator unchanged.
 *  - eval() with f == NULL is a boolean trial: it adds no findings and
 *    returns at the first failure. anyOf, oneOf, not, if, contains and
 *    propertyNames evaluate their branches that way and then report one
 *    finding of their own, so trial errors never leak to the caller.
 *  - the instance path in c->path is restored by whoever extends it, on
 *    every return path.
 *
 * Numbers: a literal is split into significant digits and an exponent.
 * Comparison, the integer test (1.0 and 1e2 are integers) and multipleOf
 * (x/m must be an integer; tested as a remainder over the digits of x) need
 * no floating point. Only a multipleOf divisor with more than 18
 * significant digits falls back to doubles. Text for a double (numbers
 * without a literal) comes from snprintf/strtod under our own locale
 * object (uselocale), never the process's locale.
 *
 * Patterns: ECMA-262 syntax translated to POSIX ERE: \d \D \w \W \s \S
 * (ASCII, as ECMA without the u flag; \s is ASCII whitespace only), \t \n
 * \v \f \r \cX \xHH \uXXXX, escaped punctuation, "." excluding \n and \r,
 * (?:...) and (?<name>...) as plain groups, lazy quantifiers as greedy ones
 * (with REG_NOSUB only whether a match exists matters, and laziness does
 * not change that). Compiled once, REG_EXTENDED|REG_NOSUB, under a private
 * C.UTF-8 locale so "." is one code point whatever the process locale is
 * ("C" if C.UTF-8 is missing: then byte-wise). glibc's C.UTF-8 has no
 * collation table and refuses non-ASCII range endpoints, so such ranges are
 * spelt out member by member (up to 1024 code points). Lookaround,
 * backreferences, \b \B and negated class escapes inside [...] are refused
 * at compile time.
 *
 * Keywords: type enum const multipleOf maximum exclusiveMaximum minimum
 * exclusiveMinimum maxLength minLength pattern items additionalItems
 * maxItems minItems uniqueItems contains maxProperties minProperties
 * required properties patternProperties additionalProperties dependencies
 * propertyNames if then else allOf anyOf oneOf not $ref $id definitions,
 * and the boolean schemas true and false. $ref resolves JSON pointers
 * (~0 ~1 and %-escapes) and $id-based URIs (RFC 3986 resolution, plain-name
 * fragments) within the one document; siblings of $ref are ignored as
 * draft-07 says. "format" is an annotation and never asserted; so are
 * title, description, default, examples, $comment, $schema, readOnly,
 * writeOnly, contentMediaType, contentEncoding; unknown keywords are
 * ignored, as the spec requires.
 */
#include "io/jschema.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fiscal/findings.h"
#include "util/arena.h"

#define MAX_FRAMES	1024		/* nested schema applications */
#define MAX_CHAIN	512		/* in-place applicator chain (compile) */
#define ARENA_LIMIT	(64u * 1024 * 1024)
#define MAX_FILE	(4 * 1024 * 1024)
#define EXP_CLAMP	1000000000000000LL	/* beyond any real exponent */
#define NUMBUF		40		/* "%.17g" of any double, with room */

enum {
	TY_NULL = 1, TY_BOOL = 2, TY_OBJECT = 4, TY_ARRAY = 8, TY_NUMBER = 16,
	TY_STRING = 32, TY_INTEGER = 64
};
static const char *const type_names[] = {
	"null", "boolean", "object", "array", "number", "string", "integer"
};

const char *const jschema_keywords[] = {
	"type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum",
	"minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
	"items", "additionalItems", "maxItems", "minItems", "uniqueItems",
	"contains", "maxProperties", "minProperties", "required", "properties",
	"patternProperties", "additionalProperties", "dependencies",
	"propertyNames", "if", "then", "else", "allOf", "anyOf", "oneOf", "not",
	"$ref", "$id", "definitions", NULL
};

struct node;

struct nlist {
	struct node	**v;
	size_t		  n;
};

struct prop {
	const char	*name;
	struct node	*s;
};

struct pprop {
	const char	*src;
	const regex_t	*re;
	struct node	*s;
};

struct dep {
	const char	*name;
	const cJSON	*req;		/* array of names, or NULL */
	struct node	*s;		/* schema form, or NULL */
};

struct node {
	struct node	*next;		/* all nodes, in compile order */
	const cJSON	*src;		/* where it came from, in js->doc */
	const char	*refuri;	/* $ref resolved against the base URI */
	struct node	*ref;		/* when set, nothing else applies */
	int		 boolean;	/* -1: object schema; else true/false */
	int		 mark;		/* cycle check: 0 new, 1 open, 2 done */
	unsigned	 types;		/* TY_* bits, 0 without "type" */
	const cJSON	*enumv, *constv;
	const cJSON	*multipleof, *maximum, *exmaximum, *minimum, *exminimum;
	long long	 maxlen, minlen, maxitems, minitems, maxprops, minprops;
	int		 unique;
	const char	*pattern_src;
	const regex_t	*pattern;
	int		 items_array;
	struct node	*items;
	struct nlist	 itemv;
	struct node	*additems, *contains, *addprops, *propnames;
	struct node	*if_, *then_, *else_, *not_;
	const cJSON	*required;
	struct prop	*props;
	size_t		 nprops;
	struct pprop	*pprops;
	size_t		 npprops;
	struct dep	*deps;
	size_t		 ndeps;
	struct nlist	 allof, anyof, oneof;
};

struct rx {
	regex_t		 re;
	struct rx	*next;
};

struct jschema {
	struct arena	*a;
	cJSON		*doc;
	struct node	*root;
	struct rx	*rxs;
	locale_t	 loc;
};

/* ---------------------------------------------------------------- text */

/* Growable string; after any put, p is NUL-terminated or oom is set. */
struct sb {
	char	*p;
	size_t	 n, cap;
	int	 oom;
};

static void
sb_putn(struct sb *b, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (b->oom)
		return;
	if (b->cap - b->n <= n) {
		cap = b->cap ? b->cap : 64;
		while (cap - b->n <= n) {
			if (cap > SIZE_MAX / 2) {
				b->oom = 1;
				return;
			}
			cap *= 2;
		}
		if ((np = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sb_puts(struct sb *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void
sb_putc(struct sb *b, char c)
{
	sb_putn(b, &c, 1);
}

/* <ctype.h> depends on the locale; these do not. */
static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t
utf8_put(unsigned long cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static unsigned long
utf8_get(const char *s, size_t n)
{
	unsigned long cp = (unsigned char)s[0];
	size_t i;

	if (n > 1)
		cp &= 0x7f >> n;
	for (i = 1; i < n; i++)
		cp = cp << 6 | ((unsigned char)s[i] & 0x3f);
	return cp;
}

/* minLength/maxLength count code points: every byte but continuations. */
static unsigned long long
utf8_count(const char *s)
{
	unsigned long long n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* ------------------------------------------------------------- numbers */

/*
 * A decimal literal as digits in the text: value = sig * 10^exp where sig
 * is digits [lz, lz + nsig) of the concatenation ip|fp. nsig == 0 is zero
 * (of either sign). Normalised so equal values have equal nsig, digits and
 * exp; that is what makes hashing and comparison exact.
 */
struct dec {
	int		 neg;
	const char	*ip, *fp;
	size_t		 ni, nf, lz, nsig;
	long long	 exp;
};

static char
dec_raw(const struct dec *d, size_t i)
{
	return i < d->ni ? d->ip[i] : d->fp[i - d->ni];
}

static int
dec_dig(const struct dec *d, size_t k)
{
	return k < d->nsig ? dec_raw(d, d->lz + k) - '0' : 0;
}

/* JSON number grammar (leading zeros tolerated); whole string. */
static int
dec_parse(const char *s, struct dec *d)
{
	const char *p = s;
	long long e = 0;
	size_t i, tz, total;
	int eneg = 0;

	memset(d, 0, sizeof(*d));
	if (*p == '-') {
		d->neg = 1;
		p++;
	}
	for (d->ip = p; is_digit(*p); p++)
		;
	if ((d->ni = (size_t)(p - d->ip)) == 0)
		return -1;
	d->fp = p;
	if (*p == '.') {
		for (d->fp = ++p; is_digit(*p); p++)
			;
		if ((d->nf = (size_t)(p - d->fp)) == 0)
			return -1;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		if (!is_digit(*p))
			return -1;
		for (; is_digit(*p); p++)
			if (e < EXP_CLAMP)
				e = e * 10 + (*p - '0');
	}
	if (*p != '\0')
		return -1;
	total = d->ni + d->nf;
	for (i = 0; i < total && dec_raw(d, i) == '0'; i++)
		;
	d->lz = i;
	if (i == total) {
		d->neg = 0;
		return 0;
	}
	for (tz = 0; dec_raw(d, total - 1 - tz) == '0'; tz++)
		;
	d->nsig = total - d->lz - tz;
	d->exp = (eneg ? -e : e) - (long long)d->nf + (long long)tz;
	return 0;
}

/* Shortest text that strtod maps back to v, in locale loc ('.' point). */
static int
dbl_text(locale_t loc, double v, char *buf, size_t len)
{
	locale_t old;
	long x;
	int p;

	if (!isfinite(v))
		return -1;
	old = uselocale(loc);
	for (p = 1; p <= 17; p++) {
		snprintf(buf, len, "%.*e", p - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/*
	 * Plain notation for people ("10", not "1e+01") where it is the same
	 * number: below 1e15 the padded integer digits are exact.
	 */
	x = strtol(strchr(buf, 'e') + 1, NULL, 10);
	if (x >= -4 && x < 15)
		snprintf(buf, len, "%.*g", (int)x + 1 > p ? (int)x + 1 : p, v);
	uselocale(old);
	return 0;
}

/*
 * The decimal of number node n: its literal when it carries a valid one,
 * else the shortest text of its double, made in buf (NUMBUF bytes).
 */
static int
num_dec(locale_t loc, const cJSON *n, char *buf, struct dec *d,
    const char **text)
{
	if (n->valuestring != NULL && dec_parse(n->valuestring, d) == 0) {
		*text = n->valuestring;
		return 0;
	}
	if (dbl_text(loc, n->valuedouble, buf, NUMBUF) < 0 ||
	    dec_parse(buf, d) < 0)
		return -1;
	*text = buf;
	return 0;
}

static int
dec_cmp(const struct dec *a, const struct dec *b)
{
	int sa, sb, m = 0;
	long long ma, mb;
	size_t k, n;

	sa = a->nsig == 0 ? 0 : a->neg ? -1 : 1;
	sb = b->nsig == 0 ? 0 : b->neg ? -1 : 1;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (sa == 0)
		return 0;
	/* Same sign: compare magnitudes, position of the leading digit first. */
	ma = (long long)a->nsig + a->exp;
	mb = (long long)b->nsig + b->exp;
	if (ma != mb)
		m = ma < mb ? -1 : 1;
	else {
		n = a->nsig > b->nsig ? a->nsig : b->nsig;
		for (k = 0; k < n && m == 0; k++)
			if (dec_dig(a, k) != dec_dig(b, k))
				m = dec_dig(a, k) < dec_dig(b, k) ? -1 : 1;
	}
	return sa * m;
}

static int
dec_is_int(const struct dec *d)
{
	return d->nsig == 0 || d->exp >= 0;
}

/* A non-negative integer as long long, saturating (for the limits). */
static long long
dec_to_ll(const struct dec *d)
{
	long long v = 0;
	long long k;

	if (d->nsig == 0)
		return 0;
	if ((long long)d->nsig + d->exp > 18)
		return LLONG_MAX;
	for (k = 0; k < (long long)d->nsig + d->exp; k++)
		v = v * 10 + dec_dig(d, (size_t)k);
	return v;
}

/*
 * Is x a multiple of m (m > 0)? With x = X*10^a, m = M*10^b, X and M
 * integers without trailing zeros: x/m = (X/M)*10^(a-b). If a < b the
 * quotient would need X divisible by 10, which it is not (X != 0). Else
 * the answer is X*10^(a-b) mod M == 0, computed digit by digit. Because
 * M < 10^18 < 2^60 has at most 59 factors 2 and 25 factors 5, multiplying
 * by more than 64 tens changes nothing, so the loop is bounded.
 * Returns 1 yes, 0 no, -1 when M is too long (caller falls back).
 */
static int
dec_multiple(const struct dec *x, const struct dec *m)
{
	unsigned long long mv = 0, r = 0;
	long long k;
	size_t i;

	if (x->nsig == 0)
		return 1;
	if (x->exp < m->exp)
		return 0;
	if (m->nsig > 18)
		return -1;
	for (i = 0; i < m->nsig; i++)
		mv = mv * 10 + (unsigned long long)dec_dig(m, i);
	for (i = 0; i < x->nsig; i++)
		r = (r * 10 + (unsigned long long)dec_dig(x, i)) % mv;
	k = x->exp - m->exp;
	for (k = k > 64 ? 64 : k; k > 0 && r != 0; k--)
		r = r * 10 % mv;
	return r == 0;
}

/* ------------------------------------------------------------- regexes */

static const char re_special[] = ".[\\()*+?{|^$";

/* Emit code point cp as a literal outside brackets. */
static void
re_lit(struct sb *o, unsigned long cp)
{
	char u[4];

	if (cp < 0x80 && strchr(re_special, (int)cp) != NULL)
		sb_putc(o, '\\');
	sb_putn(o, u, utf8_put(cp, u));
}

/*
 * \d \D \w \W \s \S: 1 emitted, 0 not one, -1 unsupported (negated class
 * inside [...], which POSIX brackets cannot express).
 */
static int
re_class_esc(char c, int inclass, struct sb *o, const char **why)
{
	const char *set;

	switch (c) {
	case 'd': case 'D':
		set = "0-9";
		break;
	case 'w': case 'W':
		set = "A-Za-z0-9_";
		break;
	case 's': case 'S':
		set = " \t\n\v\f\r";
		break;
	default:
		return 0;
	}
	if (inclass) {
		if (c == 'D' || c == 'W' || c == 'S') {
			*why = "\\D, \\W or \\S inside [...] is not supported";
			return -1;
		}
		sb_puts(o, set);
		return 1;
	}
	sb_puts(o, c == 'd' || c == 'w' || c == 's' ? "[" : "[^");
	sb_puts(o, set);
	sb_putc(o, ']');
	return 1;
}

/*
 * A character escape at p (just after the backslash): the code point in
 * *cp, the number of characters consumed, 0 when unsupported.
 */
static int
hexn(const char *p, int n, unsigned long *v)
{
	int h;

	for (*v = 0; n-- > 0; p++) {
		if ((h = hexval(*p)) < 0)
			return -1;
		*v = *v * 16 + (unsigned long)h;
	}
	return 0;
}

static size_t
re_char_esc(const char *p, unsigned long *cp, const char **why)
{
	unsigned long lo;
	int n;

	switch (*p) {
	case 't': *cp = '\t'; return 1;
	case 'n': *cp = '\n'; return 1;
	case 'v': *cp = '\v'; return 1;
	case 'f': *cp = '\f'; return 1;
	case 'r': *cp = '\r'; return 1;
	case 'c':
		if (!is_alpha(p[1]))
			break;
		*cp = (unsigned long)p[1] % 32;
		return 2;
	case 'x': case 'u':
		n = *p == 'x' ? 2 : 4;
		if (hexn(p + 1, n, cp) < 0) {
			*why = "malformed \\x or \\u escape";
			return 0;
		}
		if (*cp == 0) {
			*why = "NUL in a pattern is not supported";
			return 0;
		}
		/* a UTF-16 pair, as JSON writes characters beyond the BMP */
		if (*cp >= 0xd800 && *cp < 0xdc00 && p[5] == '\\' &&
		    p[6] == 'u' && hexn(p + 7, 4, &lo) == 0 &&
		    lo >= 0xdc00 && lo < 0xe000) {
			*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
			return 11;
		}
		if (*cp >= 0xd800 && *cp < 0xe000) {
			*why = "lone surrogate in a pattern";
			return 0;
		}
		return (size_t)n + 1;
	case '\0':
		*why = "pattern ends with a backslash";
		return 0;
	default:
		break;
	}
	if (*p == 'b' || *p == 'B')
		*why = "\\b and \\B are not supported";
	else if (is_digit(*p))
		*why = "backreferences and \\0 are not supported";
	else if (is_alpha(*p) || (unsigned char)*p >= 0x80)
		*why = "unknown escape";
	else {
		*cp = (unsigned char)*p;	/* escaped punctuation */
		return 1;
	}
	return 0;
}

/*
 * One class atom at p: a class escape (appended to body, *kind 1) or one
 * character (its bytes in buf[*n], *kind 0). Returns the next p or NULL.
 */
static const char *
re_atom(const char *p, struct sb *body, char *buf, size_t *n, int *kind,
    const char **why)
{
	unsigned long cp;
	size_t k;
	int r;

	*kind = 0;
	if (*p == '\\') {
		if ((r = re_class_esc(p[1], 1, body, why)) != 0) {
			*kind = 1;
			return r < 0 ? NULL : p + 2;
		}
		if (p[1] == 'b') {		/* backspace, inside a class */
			cp = 8;
			k = 1;
		} else if ((k = re_char_esc(p + 1, &cp, why)) == 0)
			return NULL;
		*n = utf8_put(cp, buf);
		return p + 1 + k;
	}
	/* One UTF-8 sequence, so ranges like [à-ü] keep their endpoints. */
	*n = 0;
	do {
		buf[(*n)++] = *p++;
	} while (*n < 4 && ((unsigned char)*p & 0xc0) == 0x80);
	return p;
}

/*
 * A range lo-hi inside brackets. glibc refuses non-ASCII range endpoints
 * in C.UTF-8 (it has no collation table), so the non-ASCII part is spelt
 * out member by member, within reason.
 */
static int
re_range(struct sb *body, const char *lo, size_t nlo, const char *hi,
    size_t nhi, const char **why)
{
	unsigned long cl = utf8_get(lo, nlo), ch = utf8_get(hi, nhi), cp;
	char u[4];

	if (ch < cl) {
		*why = "range out of order";
		return -1;
	}
	if (cl < 0x80) {
		sb_putn(body, lo, nlo);
		sb_putc(body, '-');
		if (ch < 0x80) {
			sb_putn(body, hi, nhi);
			return 0;
		}
		sb_putc(body, 0x7f);
		cl = 0x80;
	}
	if (ch - cl >= 1024) {
		*why = "a range of more than 1024 non-ASCII characters is "
		    "not supported";
		return -1;
	}
	for (cp = cl; cp <= ch; cp++)
		if (cp < 0xd800 || cp >= 0xe000)
			sb_putn(body, u, utf8_put(cp, u));
	return 0;
}

/*
 * [...] at p (after '['). POSIX brackets have no escapes: "]" must come
 * first, "-" last, "^" not first, and "[" is safe last; so those literals
 * are collected as flags and placed where POSIX wants them.
 */
static const char *
re_bracket(const char *p, struct sb *o, const char **why)
{
	struct sb body = { 0 };
	char lo[4], hi[4];
	size_t nlo, nhi;
	int neg = 0, rb = 0, hy = 0, ca = 0, lb = 0, klo, khi;
	const char *q;

	if (*p == '^') {
		neg = 1;
		p++;
	}
	if (*p == ']') {
		*why = "empty class [] or [^] is not supported";
		return NULL;
	}
	while (*p != ']') {
		if (*p == '\0') {
			*why = "unterminated [";
			goto fail;
		}
		if ((p = re_atom(p, &body, lo, &nlo, &klo, why)) == NULL)
			goto fail;
		if (klo == 0 && p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			if ((q = re_atom(p + 1, &body, hi, &nhi, &khi,
			    why)) == NULL)
				goto fail;
			if (khi == 0) {
				if ((nlo == 1 && strchr("]-^[", lo[0])) ||
				    (nhi == 1 && strchr("]-^[", hi[0]))) {
					*why = "range with ] - ^ or [ as an "
					    "endpoint is not supported";
					goto fail;
				}
				if (re_range(&body, lo, nlo, hi, nhi, why) < 0)
					goto fail;
				p = q;
				continue;
			}
			/* [a-\d]: ECMA reads a literal "-" here. */
			hy = 1;
			p = q;
		}
		if (klo == 1)
			continue;
		if (nlo == 1 && lo[0] == ']')
			rb = 1;
		else if (nlo == 1 && lo[0] == '-')
			hy = 1;
		else if (nlo == 1 && lo[0] == '^')
			ca = 1;
		else if (nlo == 1 && lo[0] == '[')
			lb = 1;
		else
			sb_putn(&body, lo, nlo);
	}
	if (!neg && !rb && !lb && ca && body.n == 0)
		sb_puts(o, hy ? "[-^]" : "\\^");
	else {
		sb_putc(o, '[');
		if (neg)
			sb_putc(o, '^');
		if (rb)
			sb_putc(o, ']');
		if (body.n > 0)
			sb_putn(o, body.p, body.n);
		if (lb)
			sb_putc(o, '[');
		if (ca)
			sb_putc(o, '^');
		if (hy)
			sb_putc(o, '-');
		sb_putc(o, ']');
	}
	if (body.oom)
		o->oom = 1;
	free(body.p);
	return p + 1;
fail:
	free(body.p);
	return NULL;
}

/* Length of a {n}, {n,} or {n,m} quantifier at p, else 0. */
static size_t
re_quant(const char *p)
{
	const char *q = p + 1;

	if (!is_digit(*q))
		return 0;
	while (is_digit(*q))
		q++;
	if (*q == ',')
		for (q++; is_digit(*q); q++)
			;
	return *q == '}' ? (size_t)(q + 1 - p) : 0;
}

static int
re_translate(const char *p, struct sb *o, const char **why)
{
	unsigned long cp;
	size_t n;
	int r;

	sb_puts(o, "");
	while (*p != '\0') {
		switch (*p) {
		case '\\':
			if ((r = re_class_esc(p[1], 0, o, why)) != 0) {
				p += 2;
				break;
			}
			if ((n = re_char_esc(p + 1, &cp, why)) == 0)
				return -1;
			re_lit(o, cp);
			p += 1 + n;
			break;
		case '.':
			sb_puts(o, "[^\n\r]");
			p++;
			break;
		case '(':
			p++;
			if (p[0] == '?' && p[1] == ':')
				p += 2;
			else if (p[0] == '?' && p[1] == '<' && p[2] != '=' &&
			    p[2] != '!') {
				if ((p = strchr(p, '>')) == NULL) {
					*why = "unterminated group name";
					return -1;
				}
				p++;
			} else if (p[0] == '?') {
				*why = "lookaround is not supported";
				return -1;
			}
			sb_putc(o, '(');
			break;
		case '[':
			if ((p = re_bracket(p + 1, o, why)) == NULL)
				return -1;
			break;
		case '*': case '+': case '?': case '{':
			n = *p == '{' ? re_quant(p) : 1;
			if (n == 0) {		/* a literal "{" in ECMA */
				sb_puts(o, "\\{");
				p++;
				break;
			}
			sb_putn(o, p, n);
			p += n;
			if (*p == '?')		/* lazy: same match set */
				p++;
			break;
		default:
			sb_putc(o, *p++);
			break;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- compile */

struct ident {
	const char	*uri;		/* absolute, "doc" or "doc#name" */
	const char	*base;		/* base URI in effect at j */
	const cJSON	*j;
	struct ident	*next;
};

struct cctx {
	struct jschema	*js;
	struct node	*head, *tail;
	struct ident	*ids;
	char		*err;
	size_t		 errlen;
	int		 failed;
	size_t		 plen;
	char		 ptr[256];	/* JSON pointer being compiled */
};

static int
cerr(struct cctx *cc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
cerr(struct cctx *cc, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (cc->failed++ || cc->err == NULL || cc->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(cc->err, cc->errlen, "schema #%s: %s", cc->ptr, msg);
	return -1;
}

static int
oom(struct cctx *cc)
{
	return cerr(cc, "out of memory");
}

static size_t
ptr_push(struct cctx *cc, const char *tok)
{
	size_t save = cc->plen;
	const char *t;

	if (cc->plen + 1 < sizeof(cc->ptr))
		cc->ptr[cc->plen++] = '/';
	for (t = tok; *t != '\0' && cc->plen + 3 < sizeof(cc->ptr); t++) {
		if (*t == '~' || *t == '/') {
			cc->ptr[cc->plen++] = '~';
			cc->ptr[cc->plen++] = *t == '~' ? '0' : '1';
		} else
			cc->ptr[cc->plen++] = *t;
	}
	cc->ptr[cc->plen] = '\0';
	return save;
}

static void
ptr_pop(struct cctx *cc, size_t save)
{
	cc->plen = save;
	cc->ptr[save] = '\0';
}

/* --- URIs: RFC 3986 reference resolution, enough for $id and $ref. */

struct span {
	const char	*p;
	size_t		 n;
	int		 on;
};

struct uri {
	struct span	 s, a, p, q, f;
};

static struct span
span(const char *p, size_t n)
{
	struct span s;

	s.p = p;
	s.n = n;
	s.on = 1;
	return s;
}

static void
uri_split(const char *u, struct uri *r)
{
	const char *p = u, *e;

	memset(r, 0, sizeof(*r));
	for (e = p; is_alpha(*e) || (e > p && (is_digit(*e) ||
	    *e == '+' || *e == '-' || *e == '.')); e++)
		;
	if (e > p && *e == ':') {
		r->s = span(p, (size_t)(e - p));
		p = e + 1;
	}
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		e = p + strcspn(p, "/?#");
		r->a = span(p, (size_t)(e - p));
		p = e;
	}
	e = p + strcspn(p, "?#");
	r->p = span(p, (size_t)(e - p));
	p = e;
	if (*p == '?') {
		p++;
		e = p + strcspn(p, "#");
		r->q = span(p, (size_t)(e - p));
		p = e;
	}
	if (*p == '#') {
		p++;
		r->f = span(p, strlen(p));
	}
}

/* RFC 3986 5.2.4 on the n bytes at in, appended to o. */
static void
remove_dots(const char *in, size_t n, struct sb *o)
{
	struct sb t = { 0 };
	size_t i = 0, start = o->n, seg;
	char *s;

	sb_puts(o, "");		/* o->p exists before anything is popped */
	sb_putn(&t, in, n);
	if (t.oom || o->oom) {
		o->oom = 1;
		return;
	}
	s = t.p;
	while (i < n) {
		if (strncmp(s + i, "../", 3) == 0)
			i += 3;
		else if (strncmp(s + i, "./", 2) == 0)
			i += 2;
		else if (strncmp(s + i, "/./", 3) == 0)
			i += 2;
		else if (strcmp(s + i, "/.") == 0)
			s[++i] = '/';
		else if (strncmp(s + i, "/../", 4) == 0 ||
		    strcmp(s + i, "/..") == 0) {
			/* "/../x" -> "/x", "/.." -> "/" */
			if (s[i + 3] == '/')
				i += 3;
			else
				s[i += 2] = '/';
			while (o->n > start && o->p[o->n - 1] != '/')
				o->n--;
			if (o->n > start)
				o->n--;
			o->p[o->n] = '\0';
		} else if (strcmp(s + i, ".") == 0 || strcmp(s + i, "..") == 0)
			i = n;
		else {
			seg = strcspn(s + i + 1, "/") + 1;
			sb_putn(o, s + i, seg);
			i += seg;
		}
	}
	free(t.p);
}

static char *
uri_resolve(struct cctx *cc, const char *base, const char *ref)
{
	struct uri b, r, t;
	struct sb o = { 0 }, m = { 0 };
	const char *slash;
	char *res;

	uri_split(base, &b);
	uri_split(ref, &r);
	memset(&t, 0, sizeof(t));
	sb_puts(&o, "");
	if (r.s.on) {
		t = r;
		t.p.on = 0;
		remove_dots(r.p.p, r.p.n, &m);
	} else {
		t.s = b.s;
		if (r.a.on) {
			t.a = r.a;
			t.q = r.q;
			remove_dots(r.p.p, r.p.n, &m);
		} else {
			t.a = b.a;
			if (r.p.n == 0) {
				sb_putn(&m, b.p.p, b.p.n);
				t.q = r.q.on ? r.q : b.q;
			} else if (r.p.p[0] == '/') {
				remove_dots(r.p.p, r.p.n, &m);
				t.q = r.q;
			} else {
				/* merge: base path up to its last "/" */
				struct sb mg = { 0 };

				if (b.a.on && b.p.n == 0)
					sb_putc(&mg, '/');
				else {
					for (slash = b.p.p + b.p.n;
					    slash > b.p.p && slash[-1] != '/';
					    slash--)
						;
					sb_putn(&mg, b.p.p,
					    (size_t)(slash - b.p.p));
				}
				sb_putn(&mg, r.p.p, r.p.n);
				if (mg.oom)
					m.oom = 1;
				else
					remove_dots(mg.p, mg.n, &m);
				free(mg.p);
			}
		}
	}
	t.f = r.f;
	if (t.s.on) {
		sb_putn(&o, t.s.p, t.s.n);
		sb_putc(&o, ':');
	}
	if (t.a.on) {
		sb_puts(&o, "//");
		sb_putn(&o, t.a.p, t.a.n);
	}
	if (m.n > 0)
		sb_putn(&o, m.p, m.n);
	if (t.q.on) {
		sb_putc(&o, '?');
		sb_putn(&o, t.q.p, t.q.n);
	}
	if (t.f.on) {
		sb_putc(&o, '#');
		sb_putn(&o, t.f.p, t.f.n);
	}
	res = o.oom || m.oom ? NULL : arena_strdup(cc->js->a, o.p);
	free(o.p);
	free(m.p);
	if (res == NULL)
		oom(cc);
	return res;
}

static int
id_add(struct cctx *cc, const char *uri, const char *base, const cJSON *j)
{
	struct ident *id;

	if ((id = arena_alloc(cc->js->a, sizeof(*id))) == NULL)
		return oom(cc);
	id->uri = uri;
	id->base = base;
	id->j = j;
	id->next = cc->ids;
	cc->ids = id;
	return 0;
}

static const struct ident *
id_find(const struct cctx *cc, const char *uri, size_t n)
{
	const struct ident *id;

	for (id = cc->ids; id != NULL; id = id->next)
		if (strlen(id->uri) == n && memcmp(id->uri, uri, n) == 0)
			return id;
	return NULL;
}

/*
 * RFC 6901 pointer `frag` (still %-encoded, as URI fragments are) from j.
 * NULL when it leads nowhere.
 */
static const cJSON *
ptr_walk(const cJSON *j, const char *frag)
{
	size_t len = strlen(frag), i = 0, k;
	unsigned long idx;
	const char *s;
	char *d, *tok;
	int hi, lo;

	if ((d = malloc(2 * len + 2)) == NULL)
		return NULL;
	tok = d + len + 1;
	for (s = frag; *s != '\0'; s++) {
		if (*s != '%') {
			d[i++] = *s;
			continue;
		}
		if ((hi = hexval(s[1])) < 0 || (lo = hexval(s[2])) < 0 ||
		    hi * 16 + lo == 0)
			goto fail;
		d[i++] = (char)(hi * 16 + lo);
		s += 2;
	}
	d[i] = '\0';
	for (s = d; j != NULL && *s == '/'; ) {
		for (k = 0, s++; *s != '\0' && *s != '/'; s++) {
			if (*s != '~')
				tok[k++] = *s;
			else if (s[1] == '0' || s[1] == '1')
				tok[k++] = *++s == '0' ? '~' : '/';
			else
				goto fail;
		}
		tok[k] = '\0';
		if (cJSON_IsObject(j))
			j = cJSON_GetObjectItemCaseSensitive(j, tok);
		else if (cJSON_IsArray(j)) {
			if (k == 0 || (k > 1 && tok[0] == '0'))
				goto fail;
			for (idx = 0, i = 0; i < k; i++) {
				if (!is_digit(tok[i]) || idx > INT_MAX / 10)
					goto fail;
				idx = idx * 10 + (unsigned long)(tok[i] - '0');
			}
			j = idx > INT_MAX ? NULL : cJSON_GetArrayItem(j,
			    (int)idx);
		} else
			j = NULL;
	}
	if (*s != '\0')		/* not a pointer at all */
		j = NULL;
	free(d);
	return j;
fail:
	free(d);
	return NULL;
}

static const regex_t *
re_compile(struct cctx *cc, const char *src)
{
	struct sb o = { 0 };
	const char *why = "out of memory";
	struct rx *rx;
	locale_t old;
	char msg[128];
	int rc;

	if (re_translate(src, &o, &why) < 0 || o.oom) {
		free(o.p);
		cerr(cc, "pattern \"%.80s\": %s", src, why);
		return NULL;
	}
	if ((rx = arena_alloc(cc->js->a, sizeof(*rx))) == NULL) {
		free(o.p);
		oom(cc);
		return NULL;
	}
	old = uselocale(cc->js->loc);
	rc = regcomp(&rx->re, o.p, REG_EXTENDED | REG_NOSUB);
	uselocale(old);
	free(o.p);
	if (rc != 0) {
		regerror(rc, &rx->re, msg, sizeof(msg));
		cerr(cc, "pattern \"%.80s\": %s", src, msg);
		return NULL;
	}
	rx->next = cc->js->rxs;
	cc->js->rxs = rx;
	return &rx->re;
}

/* Every number of the copy gets a literal we can do exact arithmetic on. */
static int
fill_literals(cJSON *j, locale_t loc)
{
	struct dec d;
	char buf[NUMBUF], *s;
	cJSON *c;

	if (cJSON_IsNumber(j) && (j->valuestring == NULL ||
	    dec_parse(j->valuestring, &d) < 0)) {
		if (dbl_text(loc, j->valuedouble, buf, sizeof(buf)) < 0 ||
		    (s = cJSON_malloc(strlen(buf) + 1)) == NULL)
			return -1;
		memcpy(s, buf, strlen(buf) + 1);
		cJSON_free(j->valuestring);
		j->valuestring = s;
	}
	for (c = j->child; c != NULL; c = c->next)
		if (fill_literals(c, loc) < 0)
			return -1;
	return 0;
}

/* Value depth below j, stopping as soon as it passes the limit. */
static int
depth_ok(const cJSON *j, int depth)
{
	const cJSON *c;

	if (depth > JSCHEMA_MAX_DEPTH)
		return 0;
	for (c = j->child; c != NULL; c = c->next)
		if (!depth_ok(c, depth + 1))
			return 0;
	return 1;
}

static struct node *compile(struct cctx *, const cJSON *, const char *);

/* The subschema j, at pointer token tok (if any) below the keyword. */
static struct node *
sub(struct cctx *cc, const cJSON *j, const char *tok, const char *base)
{
	struct node *n;
	size_t save = cc->plen;

	if (tok != NULL)
		ptr_push(cc, tok);
	n = compile(cc, j, base);
	if (n != NULL)
		ptr_pop(cc, save);	/* on error keep it for the message */
	return n;
}

static size_t
count(const cJSON *j)
{
	const cJSON *c;
	size_t n = 0;

	for (c = j->child; c != NULL; c = c->next)
		n++;
	return n;
}

static int
sublist(struct cctx *cc, const cJSON *k, const char *base, struct nlist *l)
{
	const cJSON *c;
	char idx[24];
	size_t i;

	if (!cJSON_IsArray(k) || (l->n = count(k)) == 0)
		return cerr(cc, "%s must be a non-empty array of schemas",
		    k->string);
	if ((l->v = arena_alloc(cc->js->a, l->n * sizeof(*l->v))) == NULL)
		return oom(cc);
	for (i = 0, c = k->child; c != NULL; c = c->next, i++) {
		snprintf(idx, sizeof(idx), "%zu", i);
		if ((l->v[i] = sub(cc, c, idx, base)) == NULL)
			return -1;
	}
	return 0;
}

static int
nonneg(struct cctx *cc, const cJSON *k, long long *out)
{
	struct dec d;

	if (!cJSON_IsNumber(k) || dec_parse(k->valuestring, &d) < 0 ||
	    d.neg || !dec_is_int(&d))
		return cerr(cc, "%s must be a non-negative integer",
		    k->string);
	*out = dec_to_ll(&d);
	return 0;
}

static int
names(struct cctx *cc, const cJSON *k, const char *what)
{
	const cJSON *c;

	if (!cJSON_IsArray(k))
		return cerr(cc, "%s must be an array of strings", what);
	for (c = k->child; c != NULL; c = c->next)
		if (!cJSON_IsString(c))
			return cerr(cc, "%s must be an array of strings",
			    what);
	return 0;
}

static int
kw_type(struct cctx *cc, struct node *n, const cJSON *k)
{
	const cJSON *c;
	size_t i;

	for (c = cJSON_IsArray(k) ? k->child : k; c != NULL;
	    c = c == k ? NULL : c->next) {
		for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
			if (cJSON_IsString(c) &&
			    strcmp(c->valuestring, type_names[i]) == 0)
				break;
		if (i == sizeof(type_names) / sizeof(type_names[0]))
			return cerr(cc, "type must name JSON types (null, "
			    "boolean, object, array, number, string, "
			    "integer)");
		n->types |= 1u << i;
	}
	if (n->types == 0)	/* "type": [] allows nothing */
		n->types = 1u << 7;
	return 0;
}

static int
kw_object(struct cctx *cc, struct node *n, const cJSON *k, const char *base)
{
	const char *kw = k->string;
	const cJSON *c;
	size_t i, m;

	if (!cJSON_IsObject(k))
		return cerr(cc, "%s must be an object", kw);
	m = count(k);
	if (strcmp(kw, "properties") == 0) {
		if ((n->props = arena_alloc(cc->js->a,
		    m * sizeof(*n->props))) == NULL)
			return oom(cc);
		for (i = 0, c = k->child; c != NULL; c = c->next, i++) {
			n->props[i].name = c->string;
			if ((n->props[i].s = sub(cc, c, c->string,
			    base)) == NULL)
				return -1;
		}
		n->nprops = m;
	} else if (strcmp(kw, "patternProperties") == 0) {
		if ((n->pprops = arena_alloc(cc->js->a,
		    m * sizeof(*n->pprops))) == NULL)
			return oom(cc);
		for (i = 0, c = k->child; c != NULL; c = c->next, i++) {
			n->pprops[i].src = c->string;
			if ((n->pprops[i].s = sub(cc, c, c->string,
			    base)) == NULL ||
			    (n->pprops[i].re = re_compile(cc, c->string)) ==
			    NULL)
				return -1;
		}
		n->npprops = m;
	} else if (strcmp(kw, "dependencies") == 0) {
		if ((n->deps = arena_alloc(cc->js->a,
		    m * sizeof(*n->deps))) == NULL)
			return oom(cc);
		for (i = 0, c = k->child; c != NULL; c = c->next, i++) {
			n->deps[i].name = c->string;
			if (cJSON_IsArray(c)) {
				if (names(cc, c, "dependencies") < 0)
					return -1;
				n->deps[i].req = c;
			} else if ((n->deps[i].s = sub(cc, c, c->string,
			    base)) == NULL)
				return -1;
		}
		n->ndeps = m;
	} else {		/* definitions: compiled for $ref targets */
		for (c = k->child; c != NULL; c = c->next)
			if (sub(cc, c, c->string, base) == NULL)
				return -1;
	}
	return 0;
}

static int
kw_number(struct cctx *cc, const cJSON *k, const cJSON **slot)
{
	struct dec d;

	if (cJSON_IsBool(k))
		return cerr(cc, "%s: the draft-04 boolean form is not "
		    "supported", k->string);
	if (!cJSON_IsNumber(k) || dec_parse(k->valuestring, &d) < 0)
		return cerr(cc, "%s must be a number", k->string);
	if (slot == NULL)	/* multipleOf */
		return d.neg || d.nsig == 0 ?
		    cerr(cc, "multipleOf must be greater than 0") : 0;
	*slot = k;
	return 0;
}

static int
keyword(struct cctx *cc, struct node *n, const cJSON *k, const char *base)
{
	const char *kw = k->string;
	static const struct {
		const char	*kw;
		size_t		 off;
	} sch[] = {
		{ "additionalItems", offsetof(struct node, additems) },
		{ "contains", offsetof(struct node, contains) },
		{ "additionalProperties", offsetof(struct node, addprops) },
		{ "propertyNames", offsetof(struct node, propnames) },
		{ "if", offsetof(struct node, if_) },
		{ "then", offsetof(struct node, then_) },
		{ "else", offsetof(struct node, else_) },
		{ "not", offsetof(struct node, not_) },
	}, lim[] = {
		{ "maxLength", offsetof(struct node, maxlen) },
		{ "minLength", offsetof(struct node, minlen) },
		{ "maxItems", offsetof(struct node, maxitems) },
		{ "minItems", offsetof(struct node, minitems) },
		{ "maxProperties", offsetof(struct node, maxprops) },
		{ "minProperties", offsetof(struct node, minprops) },
	}, num[] = {
		{ "maximum", offsetof(struct node, maximum) },
		{ "exclusiveMaximum", offsetof(struct node, exmaximum) },
		{ "minimum", offsetof(struct node, minimum) },
		{ "exclusiveMinimum", offsetof(struct node, exminimum) },
	};
	struct node **sp;
	size_t i;

	for (i = 0; i < sizeof(sch) / sizeof(sch[0]); i++)
		if (strcmp(kw, sch[i].kw) == 0) {
			sp = (struct node **)(void *)((char *)n + sch[i].off);
			return (*sp = sub(cc, k, NULL, base)) ? 0 : -1;
		}
	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
		if (strcmp(kw, lim[i].kw) == 0)
			return nonneg(cc, k, (long long *)(void *)
			    ((char *)n + lim[i].off));
	for (i = 0; i < sizeof(num) / sizeof(num[0]); i++)
		if (strcmp(kw, num[i].kw) == 0)
			return kw_number(cc, k, (const cJSON **)(void *)
			    ((char *)n + num[i].off));
	if (strcmp(kw, "multipleOf") == 0) {
		n->multipleof = k;
		return kw_number(cc, k, NULL);
	}
	if (strcmp(kw, "type") == 0)
		return kw_type(cc, n, k);
	if (strcmp(kw, "enum") == 0) {
		n->enumv = k;
		return cJSON_IsArray(k) ? 0 : cerr(cc, "enum must be an array");
	}
	if (strcmp(kw, "const") == 0) {
		n->constv = k;
		return 0;
	}
	if (strcmp(kw, "pattern") == 0) {
		if (!cJSON_IsString(k))
			return cerr(cc, "pattern must be a string");
		n->pattern_src = k->valuestring;
		return (n->pattern = re_compile(cc, k->valuestring)) ? 0 : -1;
	}
	if (strcmp(kw, "items") == 0) {
		if (!cJSON_IsArray(k))
			return (n->items = sub(cc, k, NULL, base)) ? 0 : -1;
		n->items_array = 1;
		/* "items": [] is legal: every item is additional. */
		return count(k) == 0 ? 0 : sublist(cc, k, base, &n->itemv);
	}
	if (strcmp(kw, "uniqueItems") == 0) {
		n->unique = cJSON_IsTrue(k);
		return cJSON_IsBool(k) ? 0 :
		    cerr(cc, "uniqueItems must be a boolean");
	}
	if (strcmp(kw, "required") == 0) {
		n->required = k;
		return names(cc, k, "required");
	}
	if (strcmp(kw, "properties") == 0 ||
	    strcmp(kw, "patternProperties") == 0 ||
	    strcmp(kw, "dependencies") == 0 ||
	    strcmp(kw, "definitions") == 0)
		return kw_object(cc, n, k, base);
	if (strcmp(kw, "allOf") == 0)
		return sublist(cc, k, base, &n->allof);
	if (strcmp(kw, "anyOf") == 0)
		return sublist(cc, k, base, &n->anyof);
	if (strcmp(kw, "oneOf") == 0)
		return sublist(cc, k, base, &n->oneof);
	return 0;		/* annotation, $id or unknown: ignored */
}

static struct node *
compile(struct cctx *cc, const cJSON *j, const char *base)
{
	const cJSON *k;
	struct node *n;
	char *uri, *hash;
	size_t save;

	if ((n = arena_alloc(cc->js->a, sizeof(*n))) == NULL) {
		oom(cc);
		return NULL;
	}
	n->src = j;
	n->boolean = -1;
	n->maxlen = n->minlen = n->maxitems = n->minitems = -1;
	n->maxprops = n->minprops = -1;
	if (cc->tail != NULL)
		cc->tail->next = n;
	else
		cc->head = n;
	cc->tail = n;
	if (cJSON_IsBool(j)) {
		n->boolean = cJSON_IsTrue(j);
		return n;
	}
	if (!cJSON_IsObject(j)) {
		cerr(cc, "a schema must be an object or a boolean");
		return NULL;
	}
	if ((k = cJSON_GetObjectItemCaseSensitive(j, "$ref")) != NULL) {
		/* draft-07: all other members of a $ref object are ignored */
		if (!cJSON_IsString(k)) {
			cerr(cc, "$ref must be a string");
			return NULL;
		}
		n->refuri = uri_resolve(cc, base, k->valuestring);
		return n->refuri != NULL ? n : NULL;
	}
	if ((k = cJSON_GetObjectItemCaseSensitive(j, "$id")) != NULL) {
		if (!cJSON_IsString(k)) {
			cerr(cc, "$id must be a string");
			return NULL;
		}
		if ((uri = uri_resolve(cc, base, k->valuestring)) == NULL)
			return NULL;
		/* "#name" names this subschema; anything else rebases. */
		if ((hash = strchr(uri, '#')) != NULL && hash[1] != '\0') {
			if (id_add(cc, uri, base, j) < 0)
				return NULL;
		}
		if (k->valuestring[0] != '#') {
			if ((base = arena_strndup(cc->js->a, uri,
			    hash ? (size_t)(hash - uri) : strlen(uri))) ==
			    NULL || id_add(cc, base, base, j) < 0) {
				oom(cc);
				return NULL;
			}
		}
	}
	for (k = j->child; k != NULL; k = k->next) {
		save = ptr_push(cc, k->string);
		if (keyword(cc, n, k, base) < 0)
			return NULL;	/* the pointer stays for the message */
		ptr_pop(cc, save);
	}
	return n;
}

/* Link every $ref to its node, compiling targets outside keyword places. */
static int
resolve_refs(struct cctx *cc)
{
	const struct ident *id;
	const cJSON *j;
	struct node *n, *m;
	const char *hash, *frag;

	for (n = cc->head; n != NULL; n = n->next) {
		if (n->refuri == NULL)
			continue;
		hash = strchr(n->refuri, '#');
		frag = hash ? hash + 1 : "";
		ptr_pop(cc, 0);
		snprintf(cc->ptr, sizeof(cc->ptr), "%s", frag);
		cc->plen = strlen(cc->ptr);
		j = NULL;
		if (*frag != '\0' && *frag != '/') {
			if ((id = id_find(cc, n->refuri,
			    strlen(n->refuri))) != NULL)
				j = id->j;
		} else if ((id = id_find(cc, n->refuri, hash ?
		    (size_t)(hash - n->refuri) : strlen(n->refuri))) != NULL)
			j = ptr_walk(id->j, frag);
		if (j == NULL)
			return cerr(cc, "$ref \"%.100s\" cannot be resolved "
			    "(only references within this document are "
			    "supported)", n->refuri);
		for (m = cc->head; m != NULL && m->src != j; m = m->next)
			;
		if (m == NULL && (m = compile(cc, j, id->base)) == NULL)
			return -1;
		n->ref = m;
	}
	ptr_pop(cc, 0);
	return 0;
}

/*
 * Refuse loops of in-place applications ($ref, allOf, anyOf, oneOf, not,
 * if/then/else, schema dependencies): they evaluate the same value again
 * and again without ever descending into it.
 */
static int
inplace(struct cctx *cc, struct node *n, int depth)
{
	const struct nlist *l[] = { &n->allof, &n->anyof, &n->oneof };
	struct node *one[] = { n->ref, n->not_, n->if_, n->then_, n->else_ };
	size_t i, k;

	if (n->mark == 2)
		return 0;
	if (n->mark == 1)
		return cerr(cc, "$ref loop that never descends into the "
		    "instance%s%.100s%s", n->refuri ? " ($ref \"" : "",
		    n->refuri ? n->refuri : "", n->refuri ? "\")" : "");
	if (depth > MAX_CHAIN)
		return cerr(cc, "$ref chain longer than %d", MAX_CHAIN);
	n->mark = 1;
	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (one[i] != NULL && inplace(cc, one[i], depth + 1) < 0)
			return -1;
	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		for (k = 0; k < l[i]->n; k++)
			if (inplace(cc, l[i]->v[k], depth + 1) < 0)
				return -1;
	for (i = 0; i < n->ndeps; i++)
		if (n->deps[i].s != NULL &&
		    inplace(cc, n->deps[i].s, depth + 1) < 0)
			return -1;
	n->mark = 2;
	return 0;
}

void
jschema_free(struct jschema *js)
{
	struct rx *rx;

	if (js == NULL)
		return;
	for (rx = js->rxs; rx != NULL; rx = rx->next)
		regfree(&rx->re);
	arena_free(js->a);
	cJSON_Delete(js->doc);
	if (js->loc != (locale_t)0)
		freelocale(js->loc);
	free(js);
}

struct jschema *
jschema_compile(const cJSON *schema, char *err, size_t errlen)
{
	struct jschema *js;
	struct cctx cc;
	struct node *n;

	memset(&cc, 0, sizeof(cc));
	cc.err = err;
	cc.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (schema == NULL) {
		cerr(&cc, "no schema");
		return NULL;
	}
	if (!depth_ok(schema, 0)) {
		cerr(&cc, "nested deeper than %d levels", JSCHEMA_MAX_DEPTH);
		return NULL;
	}
	if ((cc.js = js = calloc(1, sizeof(*js))) == NULL) {
		oom(&cc);
		return NULL;
	}
	/* "." as a code point in patterns; "." as decimal point in numbers. */
	if ((js->loc = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0)) ==
	    (locale_t)0)
		js->loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (js->loc == (locale_t)0 ||
	    (js->a = arena_new(ARENA_LIMIT)) == NULL ||
	    (js->doc = cJSON_Duplicate(schema, 1)) == NULL ||
	    fill_literals(js->doc, js->loc) < 0 ||
	    id_add(&cc, "", "", js->doc) < 0) {
		oom(&cc);
		goto fail;
	}
	if ((js->root = compile(&cc, js->doc, "")) == NULL ||
	    resolve_refs(&cc) < 0)
		goto fail;
	for (n = cc.head; n != NULL; n = n->next)
		if (inplace(&cc, n, 0) < 0)
			goto fail;
	return js;
fail:
	jschema_free(js);
	return NULL;
}

struct jschema *
jschema_load_file(const char *path, char *err, size_t errlen)
{
	struct jschema *js = NULL;
	const char *end;
	char *buf = NULL, *nb, msg[256];
	size_t n = 0, cap = 0, got;
	cJSON *doc;
	FILE *fp;

	if (err == NULL)
		errlen = 0;	/* snprintf(NULL, 0, ...) is fine */
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - n < 4096) {
			if (cap >= MAX_FILE) {
				snprintf(err, errlen, "%s: larger than %d bytes",
				    path, MAX_FILE);
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			buf = nb;
		}
		if ((got = fread(buf + n, 1, cap - n, fp)) == 0)
			break;
		n += got;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	buf[n] = '\0';
	/*
	 * Numbers of a schema file come from cJSON's doubles; compile gives
	 * them their shortest literal, exact for up to 15 digits.
	 */
	end = NULL;
	if (memchr(buf, '\0', n) != NULL ||
	    (doc = cJSON_ParseWithLengthOpts(buf, n + 1, &end, 1)) == NULL) {
		snprintf(err, errlen, "%s: not valid JSON (near byte %td)",
		    path, end != NULL && end >= buf && end <= buf + n ?
		    end - buf : (ptrdiff_t)0);
		goto out;
	}
	if ((js = jschema_compile(doc, msg, sizeof(msg))) == NULL)
		snprintf(err, errlen, "%s: %s", path, msg);
	cJSON_Delete(doc);
out:
	fclose(fp);
	free(buf);
	return js;
}

/* ------------------------------------------------------------ validate */

enum { STOP_DEEP = 1, STOP_ERR };

struct vctx {
	const struct jschema	*js;
	struct findings		*out;		/* the caller's list */
	int			 frames, stop;
	size_t			 plen;
	char			 path[sizeof(((struct finding *)NULL)->path)];
};

/* A bad value makes `bad`; a trial (f == NULL) needs no more than one. */
#define TRY(expr) do {							\
	int r_ = (expr);						\
	if (r_ < 0)							\
		return -1;						\
	if (r_ > 0) {							\
		bad = 1;						\
		if (f == NULL)						\
			return 1;					\
	}								\
} while (0)

static int eval(struct vctx *, const struct node *, const cJSON *, int,
    struct findings *);

static size_t
path_push(struct vctx *c, const char *key, size_t idx)
{
	size_t save = c->plen, room = sizeof(c->path) - save;
	int n;

	if (key != NULL)
		n = snprintf(c->path + save, room, "%s%s", save ? "." : "",
		    key);
	else
		n = snprintf(c->path + save, room, "[%zu]", idx);
	c->plen = n < 0 ? save : (size_t)n >= room ? sizeof(c->path) - 1 :
	    save + (size_t)n;
	return save;
}

static void
path_pop(struct vctx *c, size_t save)
{
	c->plen = save;
	c->path[save] = '\0';
}

static int
fail(struct vctx *c, struct findings *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct vctx *c, struct findings *f, const char *fmt, ...)
{
	char msg[sizeof(((struct finding *)NULL)->message)];
	va_list ap;

	if (f != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		findings_add(f, "SCHEMA", COLOUR_NONE, c->path, "%s", msg);
	}
	return 1;
}

/* The same, at the member `key` of the current value. */
static int
fail_at(struct vctx *c, struct findings *f, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail_at(struct vctx *c, struct findings *f, const char *key,
    const char *fmt, ...)
{
	char msg[sizeof(((struct finding *)NULL)->message)];
	va_list ap;
	size_t save;

	if (f != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		save = path_push(c, key, 0);
		findings_add(f, "SCHEMA", COLOUR_NONE, c->path, "%s", msg);
		path_pop(c, save);
	}
	return 1;
}

/* Depth and recursion limits end the whole evaluation, trial or not. */
static int
stop_deep(struct vctx *c, const char *what)
{
	if (c->stop == 0)
		findings_add(c->out, "SCHEMA", COLOUR_NONE, c->path,
		    "%s deeper than %d levels: not validated", what,
		    what[0] == 'i' ? JSCHEMA_MAX_DEPTH : MAX_FRAMES);
	c->stop = STOP_DEEP;
	return -1;
}

static int
stop_err(struct vctx *c)
{
	c->stop = STOP_ERR;
	return -1;
}

static int
num(struct vctx *c, const cJSON *x, char *buf, struct dec *d,
    const char **text)
{
	return num_dec(c->js->loc, x, buf, d, text) < 0 ? stop_err(c) : 0;
}

static int
re_match(struct vctx *c, const regex_t *re, const char *s)
{
	locale_t old;
	int rc;

	old = uselocale(c->js->loc);
	rc = regexec(re, s, 0, NULL, 0);
	uselocale(old);
	if (rc == 0)
		return 1;
	return rc == REG_NOMATCH ? 0 : stop_err(c);
}

/*
 * JSON equality (1 == 1.0; members in any order) of a and b, values at
 * instance depth `depth`: 1 equal, 0 not, -1 stop.
 */
static int
equal(struct vctx *c, const cJSON *a, const cJSON *b, int depth)
{
	const cJSON *x, *y;
	char ba[NUMBUF], bb[NUMBUF];
	const char *ta, *tb;
	struct dec da, db;
	int r;

	if ((a->type & 0xff) != (b->type & 0xff))
		return 0;
	switch (a->type & 0xff) {
	case cJSON_Number:
		if (num(c, a, ba, &da, &ta) < 0 || num(c, b, bb, &db, &tb) < 0)
			return -1;
		return dec_cmp(&da, &db) == 0;
	case cJSON_String:
	case cJSON_Raw:
		return strcmp(a->valuestring ? a->valuestring : "",
		    b->valuestring ? b->valuestring : "") == 0;
	case cJSON_Array:
		if (count(a) != count(b))
			return 0;
		if (a->child != NULL && depth >= JSCHEMA_MAX_DEPTH)
			return stop_deep(c, "instance nested");
		for (x = a->child, y = b->child; x != NULL;
		    x = x->next, y = y->next)
			if ((r = equal(c, x, y, depth + 1)) != 1)
				return r;
		return 1;
	case cJSON_Object:
		/*
		 * Same names, equal values. Duplicate names (jsonrx refuses
		 * them) have no defined meaning; the first one counts.
		 */
		if (count(a) != count(b))
			return 0;
		if (a->child != NULL && depth >= JSCHEMA_MAX_DEPTH)
			return stop_deep(c, "instance nested");
		for (x = a->child; x != NULL; x = x->next) {
			if ((y = cJSON_GetObjectItemCaseSensitive(b,
			    x->string)) == NULL)
				return 0;
			if ((r = equal(c, x, y, depth + 1)) != 1)
				return r;
		}
		for (y = b->child; y != NULL; y = y->next)
			if (cJSON_GetObjectItemCaseSensitive(a, y->string) ==
			    NULL)
				return 0;
		return 1;
	default:			/* null, true, false */
		return 1;
	}
}

static uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t
fnv(uint64_t h, const char *s, size_t n)
{
	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

/* A hash consistent with equal(): numbers by value, members unordered. */
static int
hash(struct vctx *c, const cJSON *x, int depth, uint64_t *out)
{
	uint64_t h = 0xcbf29ce484222325ULL + (unsigned)(x->type & 0xff), e;
	char buf[NUMBUF], dg;
	const char *t;
	const cJSON *y;
	struct dec d;
	size_t k;

	switch (x->type & 0xff) {
	case cJSON_Number:
		if (num(c, x, buf, &d, &t) < 0)
			return -1;
		h = fnv(h, d.neg ? "-" : "+", 1);
		for (k = 0; k < d.nsig; k++) {
			dg = (char)('0' + dec_dig(&d, k));
			h = fnv(h, &dg, 1);
		}
		h = mix(h ^ (uint64_t)d.exp);
		break;
	case cJSON_String:
	case cJSON_Raw:
		t = x->valuestring ? x->valuestring : "";
		h = fnv(h, t, strlen(t));
		break;
	case cJSON_Array:
	case cJSON_Object:
		if (x->child != NULL && depth >= JSCHEMA_MAX_DEPTH)
			return stop_deep(c, "instance nested");
		for (e = 0, y = x->child; y != NULL; y = y->next) {
			if (hash(c, y, depth + 1, out) < 0)
				return -1;
			if (cJSON_IsArray(x))
				h = mix(h ^ *out);
			else {
				t = y->string ? y->string : "";
				e += mix(fnv(0xcbf29ce484222325ULL, t,
				    strlen(t)) ^ *out);
			}
		}
		h = mix(h ^ e);
		break;
	default:
		break;
	}
	*out = mix(h);
	return 0;
}

struct uent {
	uint64_t	 h;
	size_t		 i;
	const cJSON	*x;
};

static int
uent_cmp(const void *a, const void *b)
{
	const struct uent *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Hash, sort, compare only within equal hashes: O(n log n) typically. */
static int
check_unique(struct vctx *c, const cJSON *x, size_t n, int depth,
    struct findings *f)
{
	struct uent *v;
	const cJSON *e;
	size_t i, j, a = 0, b = 0;
	int r = 0;

	if (n < 2)
		return 0;
	if (depth >= JSCHEMA_MAX_DEPTH)
		return stop_deep(c, "instance nested");
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return stop_err(c);
	for (i = 0, e = x->child; e != NULL && r == 0; e = e->next, i++) {
		v[i].i = i;
		v[i].x = e;
		r = hash(c, e, depth + 1, &v[i].h);
	}
	if (r == 0)
		qsort(v, n, sizeof(*v), uent_cmp);
	for (i = 0; i + 1 < n && r == 0; i++)
		for (j = i + 1; j < n && v[j].h == v[i].h && r == 0; j++)
			if ((r = equal(c, v[i].x, v[j].x, depth + 1)) == 1) {
				a = v[i].i;
				b = v[j].i;
			}
	free(v);
	if (r < 0)
		return -1;
	return r ? fail(c, f, "uniqueItems: items [%zu] and [%zu] are equal",
	    a, b) : 0;
}

/* Evaluate s on member/item x of the current value. */
static int
child(struct vctx *c, const struct node *s, const cJSON *x, const char *key,
    size_t idx, int depth, struct findings *f)
{
	size_t save;
	int r;

	save = path_push(c, key, idx);
	if (depth >= JSCHEMA_MAX_DEPTH)
		r = stop_deep(c, "instance nested");
	else
		r = eval(c, s, x, depth + 1, f);
	path_pop(c, save);
	return r;
}

static int
check_type(struct vctx *c, const struct node *s, const cJSON *x,
    struct findings *f)
{
	char want[96], buf[NUMBUF];
	const char *t;
	struct dec d;
	unsigned have;
	const char *got = "unknown";
	size_t i, n = 0;

	switch (x->type & 0xff) {
	case cJSON_NULL:	have = TY_NULL;		break;
	case cJSON_False:
	case cJSON_True:	have = TY_BOOL;		break;
	case cJSON_Object:	have = TY_OBJECT;	break;
	case cJSON_Array:	have = TY_ARRAY;	break;
	case cJSON_String:	have = TY_STRING;	break;
	case cJSON_Number:
		if (num(c, x, buf, &d, &t) < 0)
			return -1;
		have = TY_NUMBER | (dec_is_int(&d) ? TY_INTEGER : 0);
		break;
	default:		have = 0;		break;
	}
	if (s->types & have)
		return 0;
	want[0] = '\0';
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (s->types & (1u << i))
			n += (size_t)snprintf(want + n, sizeof(want) - n,
			    "%s%s", n ? " or " : "", type_names[i]);
	/* the last bit set is the most specific: integer over number */
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (have & (1u << i))
			got = type_names[i];
	return fail(c, f, "type: expected %s, got %s",
	    want[0] != '\0' ? want : "nothing", got);
}

static int
check_number(struct vctx *c, const struct node *s, const cJSON *x,
    struct findings *f)
{
	/* bad when sign * cmp(x, limit) > 0, or == 0 for exclusive ones */
	static const struct {
		size_t		 off;
		int		 sign, strict;
		const char	*kw, *rel;
	} lim[] = {
		{ offsetof(struct node, maximum), 1, 0,
		    "maximum", "greater than" },
		{ offsetof(struct node, exmaximum), 1, 1,
		    "exclusiveMaximum", "not less than" },
		{ offsetof(struct node, minimum), -1, 0,
		    "minimum", "less than" },
		{ offsetof(struct node, exminimum), -1, 1,
		    "exclusiveMinimum", "not greater than" },
	};
	char xb[NUMBUF], lb[NUMBUF];
	const char *xt, *lt;
	const cJSON *l;
	struct dec xd, ld;
	size_t i;
	int bad = 0, r, cmp;

	if (num(c, x, xb, &xd, &xt) < 0)
		return -1;
	if (s->multipleof != NULL) {
		if (num(c, s->multipleof, lb, &ld, &lt) < 0)
			return -1;
		if ((r = dec_multiple(&xd, &ld)) < 0) {
			/* divisor beyond 18 digits: doubles, as a last resort */
			double q = x->valuedouble / s->multipleof->valuedouble;

			r = isfinite(q) && floor(q) == q;
		}
		if (r == 0)
			TRY(fail(c, f, "multipleOf: %.40s is not a multiple of "
			    "%.40s", xt, lt));
	}
	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		l = *(const cJSON *const *)(const void *)((const char *)s +
		    lim[i].off);
		if (l == NULL)
			continue;
		if (num(c, l, lb, &ld, &lt) < 0)
			return -1;
		cmp = dec_cmp(&xd, &ld);
		if (cmp * lim[i].sign > 0 || (lim[i].strict && cmp == 0))
			TRY(fail(c, f, "%s: %.40s is %s %.40s", lim[i].kw, xt,
			    lim[i].rel, lt));
	}
	return bad;
}

static int
check_string(struct vctx *c, const struct node *s, const cJSON *x,
    struct findings *f)
{
	const char *str = x->valuestring ? x->valuestring : "";
	unsigned long long len;
	int bad = 0, r;

	if (s->maxlen >= 0 || s->minlen >= 0) {
		len = utf8_count(str);
		if (s->maxlen >= 0 && len > (unsigned long long)s->maxlen)
			TRY(fail(c, f, "maxLength: %llu characters, at most "
			    "%lld allowed", len, s->maxlen));
		if (s->minlen >= 0 && len < (unsigned long long)s->minlen)
			TRY(fail(c, f, "minLength: %llu characters, at least "
			    "%lld required", len, s->minlen));
	}
	if (s->pattern != NULL) {
		if ((r = re_match(c, s->pattern, str)) < 0)
			return -1;
		if (r == 0)
			TRY(fail(c, f, "pattern: does not match \"%.80s\"",
			    s->pattern_src));
	}
	return bad;
}

static int
check_array(struct vctx *c, const struct node *s, const cJSON *x, int depth,
    struct findings *f)
{
	const struct node *is;
	const cJSON *e;
	size_t n = count(x), i;
	int bad = 0, r;

	if (s->maxitems >= 0 && n > (unsigned long long)s->maxitems)
		TRY(fail(c, f, "maxItems: %zu items, at most %lld allowed", n,
		    s->maxitems));
	if (s->minitems >= 0 && n < (unsigned long long)s->minitems)
		TRY(fail(c, f, "minItems: %zu items, at least %lld required",
		    n, s->minitems));
	if (s->items_array && s->additems != NULL &&
	    s->additems->boolean == 0 && n > s->itemv.n)
		TRY(fail(c, f, "additionalItems: %zu items, at most %zu "
		    "allowed", n, s->itemv.n));
	for (i = 0, e = x->child; e != NULL; e = e->next, i++) {
		if (!s->items_array)
			is = s->items;
		else if (i < s->itemv.n)
			is = s->itemv.v[i];
		else
			is = s->additems;
		/* true needs no look; a false additionalItems is said above */
		if (is == NULL || is->boolean == 1 ||
		    (s->items_array && i >= s->itemv.n && is->boolean == 0))
			continue;
		TRY(child(c, is, e, NULL, i, depth, f));
	}
	if (s->unique)
		TRY(check_unique(c, x, n, depth, f));
	if (s->contains != NULL) {
		for (r = 1, i = 0, e = x->child; e != NULL && r == 1;
		    e = e->next, i++)
			if ((r = child(c, s->contains, e, NULL, i, depth,
			    NULL)) < 0)
				return -1;
		if (r != 0)
			TRY(fail(c, f, "contains: no item matches the schema"));
	}
	return bad;
}

static int
check_object(struct vctx *c, const struct node *s, const cJSON *x,
    int depth, struct findings *f)
{
	const cJSON *m, *q;
	const char *name;
	size_t n = count(x), i;
	int bad = 0, r, matched;
	cJSON tmp;

	if (s->maxprops >= 0 && n > (unsigned long long)s->maxprops)
		TRY(fail(c, f, "maxProperties: %zu properties, at most %lld "
		    "allowed", n, s->maxprops));
	if (s->minprops >= 0 && n < (unsigned long long)s->minprops)
		TRY(fail(c, f, "minProperties: %zu properties, at least %lld "
		    "required", n, s->minprops));
	for (q = s->required ? s->required->child : NULL; q; q = q->next)
		if (cJSON_GetObjectItemCaseSensitive(x, q->valuestring) == NULL)
			TRY(fail_at(c, f, q->valuestring, "required: property "
			    "\"%.60s\" is missing", q->valuestring));
	for (m = x->child; m != NULL; m = m->next) {
		name = m->string ? m->string : "";
		matched = 0;
		for (i = 0; i < s->nprops; i++)
			if (strcmp(s->props[i].name, name) == 0) {
				matched = 1;
				TRY(child(c, s->props[i].s, m, name, 0, depth,
				    f));
			}
		for (i = 0; i < s->npprops; i++) {
			if ((r = re_match(c, s->pprops[i].re, name)) < 0)
				return -1;
			if (r) {
				matched = 1;
				TRY(child(c, s->pprops[i].s, m, name, 0, depth,
				    f));
			}
		}
		if (matched || s->addprops == NULL)
			continue;
		if (s->addprops->boolean == 0)
			TRY(fail_at(c, f, name, "additionalProperties: "
			    "property \"%.60s\" is not allowed", name));
		else
			TRY(child(c, s->addprops, m, name, 0, depth, f));
	}
	for (i = 0; i < s->ndeps; i++) {
		if (cJSON_GetObjectItemCaseSensitive(x, s->deps[i].name) ==
		    NULL)
			continue;
		if (s->deps[i].s != NULL)
			TRY(eval(c, s->deps[i].s, x, depth, f));
		for (q = s->deps[i].req ? s->deps[i].req->child : NULL; q;
		    q = q->next)
			if (cJSON_GetObjectItemCaseSensitive(x,
			    q->valuestring) == NULL)
				TRY(fail(c, f, "dependencies: property "
				    "\"%.60s\" requires property \"%.60s\"",
				    s->deps[i].name, q->valuestring));
	}
	if (s->propnames != NULL) {
		for (m = x->child; m != NULL; m = m->next) {
			/* A name is a string instance of its own. */
			memset(&tmp, 0, sizeof(tmp));
			tmp.type = cJSON_String;
			tmp.valuestring = m->string;
			if ((r = eval(c, s->propnames, &tmp, depth, NULL)) < 0)
				return -1;
			if (r)
				TRY(fail_at(c, f, m->string, "propertyNames: "
				    "name \"%.60s\" does not match the schema",
				    m->string));
		}
	}
	return bad;
}

static int
check_logic(struct vctx *c, const struct node *s, const cJSON *x, int depth,
    struct findings *f)
{
	size_t i, k;
	int bad = 0, r;

	for (i = 0; i < s->allof.n; i++)
		TRY(eval(c, s->allof.v[i], x, depth, f));
	if (s->anyof.n > 0) {
		for (r = 1, i = 0; i < s->anyof.n && r == 1; i++)
			if ((r = eval(c, s->anyof.v[i], x, depth, NULL)) < 0)
				return -1;
		if (r)
			TRY(fail(c, f, "anyOf: value matches none of the %zu "
			    "alternatives", s->anyof.n));
	}
	if (s->oneof.n > 0) {
		for (k = 0, i = 0; i < s->oneof.n && k < 2; i++) {
			if ((r = eval(c, s->oneof.v[i], x, depth, NULL)) < 0)
				return -1;
			k += r == 0;
		}
		if (k != 1)
			TRY(fail(c, f, "oneOf: value matches %s of the %zu "
			    "alternatives, exactly one required",
			    k ? "more than one" : "none", s->oneof.n));
	}
	if (s->not_ != NULL) {
		if ((r = eval(c, s->not_, x, depth, NULL)) < 0)
			return -1;
		if (r == 0)
			TRY(fail(c, f, "not: value must not match the schema"));
	}
	if (s->if_ != NULL) {
		/* The if branch is a trial; then/else are assertions. */
		if ((r = eval(c, s->if_, x, depth, NULL)) < 0)
			return -1;
		if (r == 0 && s->then_ != NULL)
			TRY(eval(c, s->then_, x, depth, f));
		else if (r == 1 && s->else_ != NULL)
			TRY(eval(c, s->else_, x, depth, f));
	}
	return bad;
}

static int
eval_node(struct vctx *c, const struct node *s, const cJSON *x, int depth,
    struct findings *f)
{
	const cJSON *e;
	int bad = 0, r;

	if (s->ref != NULL)
		return eval(c, s->ref, x, depth, f);
	if (s->boolean >= 0)
		return s->boolean ? 0 :
		    fail(c, f, "false: no value is allowed here");
	if (s->types != 0)
		TRY(check_type(c, s, x, f));
	if (s->enumv != NULL) {
		for (r = 0, e = s->enumv->child; e != NULL && r == 0;
		    e = e->next)
			if ((r = equal(c, e, x, depth)) < 0)
				return -1;
		if (r == 0)
			TRY(fail(c, f, "enum: value is not one of the %zu "
			    "allowed values", count(s->enumv)));
	}
	if (s->constv != NULL) {
		if ((r = equal(c, s->constv, x, depth)) < 0)
			return -1;
		if (r == 0)
			TRY(fail(c, f, "const: value is not the one allowed"));
	}
	switch (x->type & 0xff) {
	case cJSON_Number:
		TRY(check_number(c, s, x, f));
		break;
	case cJSON_String:
		TRY(check_string(c, s, x, f));
		break;
	case cJSON_Array:
		TRY(check_array(c, s, x, depth, f));
		break;
	case cJSON_Object:
		TRY(check_object(c, s, x, depth, f));
		break;
	default:
		break;
	}
	TRY(check_logic(c, s, x, depth, f));
	return bad;
}

static int
eval(struct vctx *c, const struct node *s, const cJSON *x, int depth,
    struct findings *f)
{
	int r;

	if (c->frames >= MAX_FRAMES)
		return stop_deep(c, "schema applications nested");
	c->frames++;
	r = eval_node(c, s, x, depth, f);
	c->frames--;
	return r;
}

int
jschema_validate(const struct jschema *js, const cJSON *instance,
    struct findings *f)
{
	struct vctx c;
	int r;

	if (js == NULL || instance == NULL || f == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	c.js = js;
	c.out = f;
	r = eval(&c, js->root, instance, 0, f);
	if (r < 0)
		return c.stop == STOP_DEEP ? 1 : -1;
	return r;
}
