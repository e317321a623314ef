/*
 * timeutil.h - local wall-clock time of the taxpayer, as FDMS wants it.
 *
 * FDMS dates are local times without an offset, "YYYY-MM-DDTHH:MM:SS", in
 * the taxpayer's zone (Africa/Harare unless configured otherwise).  The
 * zone is selected through TZ, never through the locale: nothing here calls
 * setlocale.  Differences between two such strings are computed on the
 * calendar (days from the civil date), not through mktime, so they do not
 * depend on the zone's DST rules or on the process environment.
 */
#ifndef UTIL_TIMEUTIL_H
#define UTIL_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#define TIMEUTIL_DEFAULT_ZONE	"Africa/Harare"
#define TIMEUTIL_ZONEINFO	"/usr/share/zoneinfo"
#define TIMEUTIL_LOCAL_LEN	19	/* strlen("2026-03-02T10:15:01") */

/* 1 if tz names a compiled zone file under TIMEUTIL_ZONEINFO, else 0. */
int		 timeutil_zone_valid(const char *tz);
/* Validate tz, then set TZ and call tzset(); 0 or -1 (TZ unchanged). */
int		 timeutil_set_zone(const char *tz);
/* t as local "YYYY-MM-DDTHH:MM:SS" into buf; buf, or NULL (year not 1..9999). */
char		*timeutil_format_local(time_t t, char buf[20]);
/*
 * Strict parse of exactly "YYYY-MM-DDTHH:MM:SS": every field two or four
 * digits, a real calendar date (leap years), hours 0-23, no leap second.
 * Fills out (tm_wday and tm_yday too, tm_isdst = -1); 0, or -1 untouched.
 */
int		 timeutil_parse_local(const char *s, struct tm *out);
/* a - b in seconds (like difftime); INT64_MIN if either does not parse. */
int64_t		 timeutil_diff_seconds(const char *a, const char *b);

#endif
