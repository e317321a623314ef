/*
 * money.c - exact decimal parsing and rendering (see money.h).
 *
 * Trusts nothing about its input text: every byte is checked against the
 * grammar, accumulation is overflow-checked before each step.
 */
#include "fiscal/money.h"

#include <stdio.h>

enum money_status
money_parse(const char *s, size_t len, int decimals, int64_t max_abs, int64_t *out)
{
	size_t i = 0;
	int neg = 0, frac = 0, extra = 0;
	int64_t v = 0;

	if (s == NULL || len == 0)
		return MONEY_SYNTAX;
	if (s[0] == '-') {
		neg = 1;
		i++;
	}
	if (i == len || s[i] < '0' || s[i] > '9')
		return MONEY_SYNTAX;
	/* JSON forbids leading zeros ("007"); so do we, for every source. */
	if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
		return MONEY_SYNTAX;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (max_abs - (s[i] - '0')) / 10)
			return MONEY_RANGE;
		v = v * 10 + (s[i] - '0');
	}
	if (i < len && s[i] == '.') {
		i++;
		if (i == len)
			return MONEY_SYNTAX;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (frac >= decimals) {
				/* Exact zeros only, and at most six of them: the
				 * schemas' limit (libxml2 reads at most 24-digit
				 * decimals), so both formats agree. */
				if (s[i] != '0' || ++extra > MONEY_MAX_EXTRA_ZEROS)
					return MONEY_PRECISION;
				continue;
			}
			if (v > (max_abs - (s[i] - '0')) / 10)
				return MONEY_RANGE;
			v = v * 10 + (s[i] - '0');
			frac++;
		}
	}
	if (i != len)
		return MONEY_SYNTAX;
	for (; frac < decimals; frac++) {
		if (v > max_abs / 10)
			return MONEY_RANGE;
		v *= 10;
	}
	*out = neg ? -v : v;
	return MONEY_OK;
}

enum money_status
money_parse_cents(const char *s, size_t len, int64_t *out)
{
	return money_parse(s, len, 2, CENTS_MAX, out);
}

enum money_status
money_parse_micro(const char *s, size_t len, int64_t *out)
{
	return money_parse(s, len, 6, MICRO_MAX, out);
}

enum money_status
money_parse_percent(const char *s, size_t len, int32_t *out)
{
	int64_t v;
	enum money_status st = money_parse(s, len, 2, PERCENT_MAX, &v);

	if (st == MONEY_OK)
		*out = (int32_t)v;
	return st;
}

const char *
money_strerror(enum money_status st)
{
	switch (st) {
	case MONEY_OK:		return "ok";
	case MONEY_SYNTAX:	return "not a plain decimal number";
	case MONEY_PRECISION:	return "too many decimal places";
	case MONEY_RANGE:	return "magnitude out of range";
	}
	return "unknown";
}

char *
money_format(int64_t v, int decimals, char *buf, size_t len)
{
	uint64_t mag, scale = 1;
	int i;

	for (i = 0; i < decimals; i++)
		scale *= 10;
	mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	if (decimals == 0)
		snprintf(buf, len, "%s%llu", v < 0 ? "-" : "",
		    (unsigned long long)mag);
	else
		snprintf(buf, len, "%s%llu.%0*llu", v < 0 ? "-" : "",
		    (unsigned long long)(mag / scale), decimals,
		    (unsigned long long)(mag % scale));
	return buf;
}

int64_t
money_div_half_even(__int128 num, __int128 den)
{
	__int128 q = num / den, r = num % den, twice;
	int neg = num < 0;

	/* C division truncates toward zero; r has the sign of num. */
	twice = (r < 0 ? -r : r) * 2;
	if (twice > den || (twice == den && (q % 2 != 0)))
		q += neg ? -1 : 1;
	return (int64_t)q;
}

int64_t
money_tax_amount(int64_t sum, int32_t percent, int inclusive)
{
	if (percent == 0)
		return 0;
	if (inclusive)
		return money_div_half_even((__int128)sum * percent,
		    (__int128)10000 + percent);
	return money_div_half_even((__int128)sum * percent, 10000);
}
