/*
 * timeutil.c - local time in the configured zone (see timeutil.h).
 *
 * Design.  The zone is process-wide state (TZ plus tzset), set once at
 * start-up and again on SIGHUP from the configuration; localtime_r reads it.
 * Everything else is pure arithmetic on the civil calendar (proleptic
 * Gregorian, years 1..9999), so parsing, validating and subtracting FDMS
 * date strings give the same answer whatever TZ, locale or libc DST tables
 * say.
 *
 * Trust.  Zone names come from the configuration file or the environment.
 * They are checked to be a relative path of plain name characters with no
 * "." or ".." component before anything is opened, so a zone name cannot
 * make us read outside TIMEUTIL_ZONEINFO, and the file must start with the
 * TZif magic so that zone.tab and friends are not taken for zones.  Date
 * strings come from receipts (untrusted): the parser reads exactly 19 bytes
 * and checks every one.
 */
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZONE_NAME_MAX	255

static int
zone_name_ok(const char *tz)
{
	const char *p, *comp;
	size_t len;

	len = strlen(tz);
	if (len == 0 || len > ZONE_NAME_MAX || tz[0] == '/')
		return 0;
	comp = tz;
	for (p = tz;; p++) {
		if (*p == '/' || *p == '\0') {
			/* Empty, "." and ".." components are never zones. */
			if (p == comp || (p - comp == 1 && comp[0] == '.') ||
			    (p - comp == 2 && comp[0] == '.' && comp[1] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			comp = p + 1;
			continue;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == '+' || *p == '.'))
			return 0;
	}
}

int
timeutil_zone_valid(const char *tz)
{
	char path[sizeof(TIMEUTIL_ZONEINFO) + 1 + ZONE_NAME_MAX + 1];
	char magic[4];
	struct stat st;
	ssize_t n;
	int fd, ok;

	if (tz == NULL || !zone_name_ok(tz))
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", TIMEUTIL_ZONEINFO, tz) >=
	    (int)sizeof(path))
		return 0;
	/* Links in zoneinfo are normal (Debian links old names), so follow. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return 0;
	ok = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		do {
			n = read(fd, magic, sizeof(magic));
		} while (n == -1 && errno == EINTR);
		ok = n == (ssize_t)sizeof(magic) &&
		    memcmp(magic, "TZif", sizeof(magic)) == 0;
	}
	(void)close(fd);	/* read-only: nothing to lose */
	return ok;
}

int
timeutil_set_zone(const char *tz)
{
	char val[1 + ZONE_NAME_MAX + 1];

	if (!timeutil_zone_valid(tz))
		return -1;
	/*
	 * The leading colon asks glibc for the zone file, so a name such as
	 * "EST5EDT" is never read as a POSIX rule string instead.
	 */
	if (snprintf(val, sizeof(val), ":%s", tz) >= (int)sizeof(val))
		return -1;
	if (setenv("TZ", val, 1) == -1)
		return -1;
	/* localtime_r need not notice a changed TZ without this. */
	tzset();
	return 0;
}

static void
put_digits(char *p, int v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

char *
timeutil_format_local(time_t t, char buf[20])
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    tm.tm_year < 1 - 1900 || tm.tm_year > 9999 - 1900)
		return NULL;
	put_digits(buf, tm.tm_year + 1900, 4);
	buf[4] = '-';
	put_digits(buf + 5, tm.tm_mon + 1, 2);
	buf[7] = '-';
	put_digits(buf + 8, tm.tm_mday, 2);
	buf[10] = 'T';
	put_digits(buf + 11, tm.tm_hour, 2);
	buf[13] = ':';
	put_digits(buf + 14, tm.tm_min, 2);
	buf[16] = ':';
	put_digits(buf + 17, tm.tm_sec, 2);
	buf[19] = '\0';
	return buf;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int dim[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): eras of 400 years are exact, so no tables and no
 * loops.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n decimal digits at s, or -1 if any is not a digit. */
static int
digits(const char *s, int n)
{
	int v = 0;

	while (n-- > 0) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

int
timeutil_parse_local(const char *s, struct tm *out)
{
	int y, mo, d, h, mi, sec;
	int64_t days;
	struct tm tm;

	/* strnlen: s may be a bounded field that is not NUL-terminated early. */
	if (s == NULL || strnlen(s, TIMEUTIL_LOCAL_LEN + 1) != TIMEUTIL_LOCAL_LEN)
		return -1;
	if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	days = days_from_civil(y, mo, d);
	/* 1970-01-01 was a Thursday; keep the remainder non-negative. */
	tm.tm_wday = (int)(((days + 4) % 7 + 7) % 7);
	tm.tm_yday = (int)(days - days_from_civil(y, 1, 1));
	*out = tm;
	return 0;
}

static int64_t
civil_seconds(const struct tm *tm)
{
	return days_from_civil((int64_t)tm->tm_year + 1900, tm->tm_mon + 1,
	    tm->tm_mday) * 86400 + tm->tm_hour * 3600 + tm->tm_min * 60 +
	    tm->tm_sec;
}

int64_t
timeutil_diff_seconds(const char *a, const char *b)
{
	struct tm ta, tb;

	if (timeutil_parse_local(a, &ta) == -1 ||
	    timeutil_parse_local(b, &tb) == -1)
		return INT64_MIN;
	return civil_seconds(&ta) - civil_seconds(&tb);
}
