/*
 * tap.h - the smallest test harness that says what failed.
 *
 * Each unit test program includes this, uses CHECK* and ends main() with
 * `return tap_done();`, which prints `# passed N failed M`; tests/run-tests
 * adds those lines up.  A failed check prints file:line and the values, and
 * the program goes on so one run shows every failure.
 */
#ifndef TAP_H
#define TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_pass, tap_fail;

#define CHECK(cond, ...) do { \
	if (cond) { tap_pass++; } else { tap_fail++; \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
	} while (0)

#define CHECK_INT(got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	CHECK(g_ == w_, "%s = %lld, want %lld", #got, g_, w_); \
	} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	CHECK(g_ != NULL && strcmp(g_, w_) == 0, "%s = \"%s\", want \"%s\"", \
	    #got, g_ ? g_ : "(null)", w_); \
	} while (0)

static inline int
tap_done(void)
{
	printf("# passed %d failed %d\n", tap_pass, tap_fail);
	return tap_fail ? 1 : 0;
}

#endif
