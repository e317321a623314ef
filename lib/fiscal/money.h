/*
 * money.h - exact decimal amounts as scaled int64, never binary floating point.
 *
 * Scales used by FDMS (fdms-reference §2, §3):
 *   amounts    cents      (2 decimals)  decimal(21,2), we cap at 13 integer digits
 *   quantity,  micro      (6 decimals)  decimal(25,6), we cap at 12 integer digits
 *   price
 *   percent    hundredths (2 decimals)  decimal(5,2), 0..999.99
 *
 * Parsing is from the document's own text (JSON number literal, decimal
 * string, XML text). Accepted grammar: -?DIGITS[.DIGITS], no exponent, no
 * leading '+', no NaN/Infinity, no whitespace; more decimals than the scale
 * are accepted only when the extra digits are zeros, at most
 * MONEY_MAX_EXTRA_ZEROS of them ("5.000" is exactly 5; so say the schemas).
 * The caps keep every product we form (price x quantity) inside __int128 and
 * every sum of up to 10^3 amounts inside int64.
 */
#ifndef FISCAL_MONEY_H
#define FISCAL_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define CENTS_MAX	INT64_C(999999999999999)	/* 9999999999999.99 */
#define MICRO_MAX	INT64_C(999999999999999999)	/* 999999999999.999999 */
#define PERCENT_MAX	99999				/* 999.99 */
#define MICRO_PER_UNIT	INT64_C(1000000)
#define MONEY_MAX_EXTRA_ZEROS	6

enum money_status {
	MONEY_OK = 0,
	MONEY_SYNTAX,		/* not a plain decimal number */
	MONEY_PRECISION,	/* more significant decimals than the scale */
	MONEY_RANGE		/* magnitude above the cap */
};

/* Parse text[0..len) with `decimals` places, |value| <= max_abs. */
enum money_status money_parse(const char *text, size_t len, int decimals,
		    int64_t max_abs, int64_t *out);
enum money_status money_parse_cents(const char *text, size_t len, int64_t *out);
enum money_status money_parse_micro(const char *text, size_t len, int64_t *out);
enum money_status money_parse_percent(const char *text, size_t len, int32_t *out);
const char	*money_strerror(enum money_status);

/*
 * Render v with `decimals` places ("-12.34", "0.00", "15.50"); never "-0".
 * Returns buf. buf needs at most 24 bytes.
 */
#define MONEY_BUFSZ	32
char		*money_format(int64_t v, int decimals, char *buf, size_t len);

/* num / den rounded half to even (banker's), den > 0. */
int64_t		 money_div_half_even(__int128 num, __int128 den);

/*
 * Tax on a group of line totals, in cents, half-even (fdms-reference §3.2):
 * inclusive: sum * p / (100 + p);  exclusive: sum * p / 100.
 * percent in hundredths.
 */
int64_t		 money_tax_amount(int64_t sum_cents, int32_t percent, int inclusive);

#endif
