/*
 * test_money.c - exact decimal parsing, rendering and half-even rounding.
 */
#include <string.h>

#include "fiscal/money.h"
#include "tap.h"

static void
cents(const char *s, enum money_status want, int64_t v)
{
	int64_t got = -1;
	enum money_status st = money_parse_cents(s, strlen(s), &got);

	CHECK(st == want, "\"%s\": status %d (%s), want %d", s, st,
	    money_strerror(st), want);
	if (want == MONEY_OK)
		CHECK(got == v, "\"%s\" = %lld cents, want %lld", s,
		    (long long)got, (long long)v);
}

static void
micro(const char *s, enum money_status want, int64_t v)
{
	int64_t got = -1;
	enum money_status st = money_parse_micro(s, strlen(s), &got);

	CHECK(st == want, "\"%s\": status %d, want %d", s, st, want);
	if (want == MONEY_OK)
		CHECK(got == v, "\"%s\" = %lld micro, want %lld", s,
		    (long long)got, (long long)v);
}

static void
test_parse(void)
{
	/* Values binary floating point gets wrong. */
	cents("0.29", MONEY_OK, 29);
	cents("0.1", MONEY_OK, 10);
	cents("1.15", MONEY_OK, 115);
	cents("4.35", MONEY_OK, 435);
	cents("9999999999999.99", MONEY_OK, INT64_C(999999999999999));
	cents("-9999999999999.99", MONEY_OK, -INT64_C(999999999999999));
	cents("10000000000000.00", MONEY_RANGE, 0);
	cents("99999999999999999999999", MONEY_RANGE, 0);
	cents("1.005", MONEY_PRECISION, 0);
	cents("0.001", MONEY_PRECISION, 0);
	cents("5.000", MONEY_OK, 500);		/* exact: trailing zeros */
	cents("5.0000000", MONEY_OK, 500);
	cents("5.00000000", MONEY_OK, 500);		/* six extra zeros */
	cents("5.000000000", MONEY_PRECISION, 0);	/* seven: as the schemas */
	cents("0", MONEY_OK, 0);
	cents("-0", MONEY_OK, 0);
	cents("-0.00", MONEY_OK, 0);
	cents("12", MONEY_OK, 1200);
	cents("-945000.5", MONEY_OK, -94500050);
	/* Not plain decimals: exponents, NaN, infinities, junk. */
	cents("1e400", MONEY_SYNTAX, 0);
	cents("1E2", MONEY_SYNTAX, 0);
	cents("NaN", MONEY_SYNTAX, 0);
	cents("Infinity", MONEY_SYNTAX, 0);
	cents("-Infinity", MONEY_SYNTAX, 0);
	cents("+1", MONEY_SYNTAX, 0);
	cents("01", MONEY_SYNTAX, 0);
	cents("1.", MONEY_SYNTAX, 0);
	cents(".5", MONEY_SYNTAX, 0);
	cents("", MONEY_SYNTAX, 0);
	cents("-", MONEY_SYNTAX, 0);
	cents(" 1", MONEY_SYNTAX, 0);
	cents("1 ", MONEY_SYNTAX, 0);
	cents("1,5", MONEY_SYNTAX, 0);
	cents("0x10", MONEY_SYNTAX, 0);
	cents("9007199254740993", MONEY_RANGE, 0);	/* past 2^53 */
	micro("0.000001", MONEY_OK, 1);
	micro("3.333333", MONEY_OK, 3333333);
	micro("1.0000001", MONEY_PRECISION, 0);
	micro("999999999999.999999", MONEY_OK, INT64_C(999999999999999999));
	micro("1000000000000", MONEY_RANGE, 0);
	{
		int32_t p = -1;

		CHECK(money_parse_percent("15.5", 4, &p) == MONEY_OK && p == 1550,
		    "15.5 -> %d", p);
		CHECK(money_parse_percent("0", 1, &p) == MONEY_OK && p == 0, "0");
		CHECK(money_parse_percent("14.555", 6, &p) == MONEY_PRECISION,
		    "14.555");
		CHECK(money_parse_percent("1000", 4, &p) == MONEY_RANGE, "1000");
	}
	/* Length-bounded: the text need not be NUL-terminated. */
	{
		int64_t v = 0;

		CHECK(money_parse_cents("12.345", 4, &v) == MONEY_OK && v == 1230,
		    "prefix 12.3 -> %lld", (long long)v);
	}
}

static void
test_format(void)
{
	char b[MONEY_BUFSZ];

	CHECK_STR(money_format(1655, 2, b, sizeof(b)), "16.55");
	CHECK_STR(money_format(5, 2, b, sizeof(b)), "0.05");
	CHECK_STR(money_format(-945000, 2, b, sizeof(b)), "-9450.00");
	CHECK_STR(money_format(0, 2, b, sizeof(b)), "0.00");
	CHECK_STR(money_format(1550, 2, b, sizeof(b)), "15.50");
	CHECK_STR(money_format(-1, 2, b, sizeof(b)), "-0.01");
	CHECK_STR(money_format(3333333, 6, b, sizeof(b)), "3.333333");
	CHECK_STR(money_format(INT64_MIN, 2, b, sizeof(b)),
	    "-92233720368547758.08");
	CHECK_STR(money_format(42, 0, b, sizeof(b)), "42");
}

static void
test_rounding(void)
{
	/* Half to even on exact ties, both signs. */
	CHECK_INT(money_div_half_even(5, 10), 0);	/* 0.5 -> 0 */
	CHECK_INT(money_div_half_even(15, 10), 2);	/* 1.5 -> 2 */
	CHECK_INT(money_div_half_even(25, 10), 2);	/* 2.5 -> 2 */
	CHECK_INT(money_div_half_even(-25, 10), -2);
	CHECK_INT(money_div_half_even(-35, 10), -4);
	CHECK_INT(money_div_half_even(26, 10), 3);
	CHECK_INT(money_div_half_even(-26, 10), -3);
	CHECK_INT(money_div_half_even(24, 10), 2);
	/* §8: 11.55 at 15.5% inclusive = 1.55 exactly. */
	CHECK_INT(money_tax_amount(1155, 1550, 1), 155);
	CHECK_INT(money_tax_amount(-1155, 1550, 1), -155);
	/* Exclusive 15%: 0.10 -> 0.015 -> 0.02; 0.30 -> 0.045 -> 0.04. */
	CHECK_INT(money_tax_amount(10, 1500, 0), 2);
	CHECK_INT(money_tax_amount(30, 1500, 0), 4);
	CHECK_INT(money_tax_amount(-30, 1500, 0), -4);
	CHECK_INT(money_tax_amount(-10, 1500, 0), -2);
	/* Inclusive 15%: 115.00 -> 15.00; 1.15 -> 0.15. */
	CHECK_INT(money_tax_amount(11500, 1500, 1), 1500);
	CHECK_INT(money_tax_amount(115, 1500, 1), 15);
	/* Zero-rated and the largest amount do not overflow. */
	CHECK_INT(money_tax_amount(INT64_C(999999999999999), 0, 1), 0);
	CHECK_INT(money_tax_amount(INT64_C(999999999999999), 1500, 0),
	    INT64_C(150000000000000));	/* 149999999999999.85 -> .00 */
}

int
main(void)
{
	test_parse();
	test_format();
	test_rounding();
	return tap_done();
}
