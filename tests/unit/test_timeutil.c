/*
 * test_timeutil.c - zone selection, local formatting, the strict parser and
 * calendar differences.
 */
#include "util/timeutil.h"

#include <stdlib.h>

#include "tap.h"

static void
test_zone(void)
{
	char buf[20];

	CHECK_INT(timeutil_zone_valid("Africa/Harare"), 1);
	CHECK_INT(timeutil_zone_valid("UTC"), 1);
	CHECK_INT(timeutil_zone_valid("Mars/Olympus_Mons"), 0);
	CHECK_INT(timeutil_zone_valid(""), 0);
	CHECK_INT(timeutil_zone_valid(NULL), 0);
	CHECK_INT(timeutil_zone_valid("/etc/passwd"), 0);
	CHECK_INT(timeutil_zone_valid("../../../etc/passwd"), 0);
	CHECK_INT(timeutil_zone_valid("Africa/../Africa/Harare"), 0);
	CHECK_INT(timeutil_zone_valid("Africa//Harare"), 0);
	CHECK_INT(timeutil_zone_valid("Africa"), 0);		/* a directory */
	CHECK_INT(timeutil_zone_valid("zone.tab"), 0);		/* not TZif */
	CHECK_INT(timeutil_zone_valid("Africa/Harare\n"), 0);

	/* A rejected zone leaves TZ alone. */
	CHECK_INT(timeutil_set_zone("UTC"), 0);
	CHECK_INT(timeutil_set_zone("No/Such_Zone"), -1);
	CHECK_STR(getenv("TZ"), ":UTC");
	CHECK_STR(timeutil_format_local(0, buf), "1970-01-01T00:00:00");

	/* Harare is UTC+2 all year. */
	CHECK_INT(timeutil_set_zone("Africa/Harare"), 0);
	CHECK_STR(timeutil_format_local(0, buf), "1970-01-01T02:00:00");
	/* 2026-03-02T08:15:01Z */
	CHECK_STR(timeutil_format_local(1772439301, buf), "2026-03-02T10:15:01");
	CHECK_STR(timeutil_format_local(951825600, buf), "2000-02-29T14:00:00");
}

static void
test_parse(void)
{
	struct tm tm;
	static const char *bad[] = {
		"", "2026-03-02", "2026-03-02T10:15", "2026-03-02 10:15:01",
		"2026-03-02T10:15:01Z", "2026-03-02T10:15:01.5",
		"2026-3-02T10:15:01", "2026-03-02T10:15:1 ", " 2026-03-02T10:15:0",
		"2026/03/02T10:15:01", "2026-03-02t10:15:01", "+026-03-02T10:15:01",
		"2026-13-01T00:00:00", "2026-00-01T00:00:00", "2026-01-00T00:00:00",
		"2026-01-32T00:00:00", "2026-04-31T00:00:00", "2026-02-29T00:00:00",
		"1900-02-29T00:00:00", "2100-02-29T00:00:00", "0000-01-01T00:00:00",
		"2026-03-02T24:00:00", "2026-03-02T23:60:00", "2026-03-02T23:59:60",
		"2026-03-02T-1:00:00", "2026-03-02T1a:00:00", "2026-03-02T10:15:01\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(timeutil_parse_local(bad[i], &tm) == -1, "accepted \"%s\"",
		    bad[i]);
	CHECK_INT(timeutil_parse_local(NULL, &tm), -1);

	CHECK_INT(timeutil_parse_local("2026-03-02T10:15:01", &tm), 0);
	CHECK_INT(tm.tm_year, 126);
	CHECK_INT(tm.tm_mon, 2);
	CHECK_INT(tm.tm_mday, 2);
	CHECK_INT(tm.tm_hour, 10);
	CHECK_INT(tm.tm_min, 15);
	CHECK_INT(tm.tm_sec, 1);
	CHECK_INT(tm.tm_wday, 1);	/* a Monday */
	CHECK_INT(tm.tm_yday, 60);
	CHECK_INT(tm.tm_isdst, -1);

	/* Leap years: divisible by 4, except centuries not divisible by 400. */
	CHECK_INT(timeutil_parse_local("2024-02-29T00:00:00", &tm), 0);
	CHECK_INT(timeutil_parse_local("2000-02-29T23:59:59", &tm), 0);
	CHECK_INT(tm.tm_wday, 2);
	CHECK_INT(tm.tm_yday, 59);
	CHECK_INT(timeutil_parse_local("2024-12-31T00:00:00", &tm), 0);
	CHECK_INT(tm.tm_yday, 365);
	CHECK_INT(timeutil_parse_local("0001-01-01T00:00:00", &tm), 0);
	CHECK_INT(tm.tm_wday, 1);
	CHECK_INT(timeutil_parse_local("9999-12-31T23:59:59", &tm), 0);
	CHECK_INT(tm.tm_wday, 5);
	CHECK_INT(timeutil_parse_local("1969-12-31T23:59:59", &tm), 0);
	CHECK_INT(tm.tm_wday, 3);
}

static void
test_diff(void)
{
	char buf[20];
	time_t t;

	CHECK_INT(timeutil_diff_seconds("2026-03-02T10:15:01",
	    "2026-03-02T10:15:00"), 1);
	CHECK_INT(timeutil_diff_seconds("2026-03-02T10:15:00",
	    "2026-03-02T10:15:01"), -1);
	CHECK_INT(timeutil_diff_seconds("2024-03-01T00:00:00",
	    "2024-02-28T00:00:00"), 2 * 86400);
	CHECK_INT(timeutil_diff_seconds("2023-03-01T00:00:00",
	    "2023-02-28T00:00:00"), 86400);
	CHECK_INT(timeutil_diff_seconds("2027-01-01T00:00:00",
	    "2026-01-01T00:00:00"), 365 * 86400);
	CHECK_INT(timeutil_diff_seconds("2001-01-01T00:00:00",
	    "2000-01-01T00:00:00"), 366 * 86400);
	CHECK_INT(timeutil_diff_seconds("1970-01-01T00:00:00",
	    "0001-01-01T00:00:00"), INT64_C(62135596800));
	CHECK_INT(timeutil_diff_seconds("9999-12-31T23:59:59",
	    "0001-01-01T00:00:00"), INT64_C(315537897599));
	CHECK_INT(timeutil_diff_seconds("2026-03-02T10:15:01", "bad"),
	    INT64_MIN);
	CHECK_INT(timeutil_diff_seconds(NULL, "2026-03-02T10:15:01"),
	    INT64_MIN);

	/* Formatting and the calendar agree (Harare: no DST, UTC+2). */
	CHECK_INT(timeutil_set_zone("Africa/Harare"), 0);
	for (t = 0; t < (time_t)4102444800; t += 86400 * 97 + 3607) {
		if (timeutil_format_local(t, buf) == NULL) {
			CHECK(0, "format %lld failed", (long long)t);
			break;
		}
		if (timeutil_diff_seconds(buf, "1970-01-01T02:00:00") != t) {
			CHECK(0, "%s is not %lld s after the epoch", buf,
			    (long long)t);
			break;
		}
	}
	CHECK(t >= (time_t)4102444800, "round trip stopped early");
}

int
main(void)
{
	test_zone();
	test_parse();
	test_diff();
	return tap_done();
}
