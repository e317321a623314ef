/*
 * testhook.c - named crash points (see testhook.h for the design, the
 * grammar of SPOOLD_CRASH and the list of points).
 *
 * Compiled to nothing unless SPOOLD_TEST_HOOKS is defined, so a release
 * binary holds neither the code nor the "spoold-test-hooks" marker.
 *
 * Invariants (test builds).
 *  1. The environment is read once, at the first hit of any point; later
 *     changes to it are not seen (a hook must not depend on when it ran).
 *  2. Hits are counted per rule, so only armed points cost more than a
 *     few string compares; an unarmed point is never counted.
 *  3. The kill is raise(SIGKILL), after at most one write(2) to the
 *     SPOOLD_CRASH_LOG file: no stdio, no atexit, no signal handler.
 * The daemon is single-threaded where the points are; the counters are
 * not atomic and need not be.
 */
#include "util/testhook.h"

#ifdef SPOOLD_TEST_HOOKS

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_MAX_LEN	48
#define HITS_MAX	8	/* Ns per rule */

/* Found by the fault suite (grep) to tell a test build from a release. */
static const char testhook_marker[] = "spoold-test-hooks";

struct rule {
	char		name[NAME_MAX_LEN];
	long		at[HITS_MAX];
	size_t		nat;
	long		hits;
};

static struct rule rules[TESTHOOK_RULES_MAX];
static size_t nrules;
static int loaded;

static void
complain(const char *rule, size_t len, const char *why)
{
	fprintf(stderr, "%s: %s: ignoring rule \"%.*s\": %s\n",
	    testhook_marker, TESTHOOK_ENV, (int)len, rule, why);
}

/* One RULE of len bytes at s: NAME ':' N [',' N]... */
static void
parse_rule(const char *s, size_t len)
{
	const char *colon, *p, *end = s + len;
	struct rule *r;
	char num[24], *e;
	size_t n;
	long v;

	if (nrules >= TESTHOOK_RULES_MAX) {
		complain(s, len, "too many rules");
		return;
	}
	if ((colon = memchr(s, ':', len)) == NULL || colon == s ||
	    (size_t)(colon - s) >= NAME_MAX_LEN) {
		complain(s, len, "expected NAME:N[,N...]");
		return;
	}
	r = &rules[nrules];
	memset(r, 0, sizeof(*r));
	memcpy(r->name, s, (size_t)(colon - s));
	for (p = colon + 1; p < end; ) {
		n = 0;
		while (p + n < end && p[n] != ',')
			n++;
		if (n == 0 || n >= sizeof(num) || r->nat >= HITS_MAX) {
			complain(s, len, "bad hit list");
			return;
		}
		memcpy(num, p, n);
		num[n] = '\0';
		errno = 0;
		v = strtol(num, &e, 10);
		if (errno != 0 || *e != '\0' || v < 1) {
			complain(s, len, "a hit number is a positive integer");
			return;
		}
		r->at[r->nat++] = v;
		p += n;
		if (p < end)
			p++;		/* the comma */
	}
	if (r->nat == 0) {
		complain(s, len, "no hit number");
		return;
	}
	nrules++;
}

static void
load(void)
{
	const char *env, *p;
	size_t n;

	loaded = 1;
	if ((env = getenv(TESTHOOK_ENV)) == NULL)
		return;
	for (p = env; *p != '\0'; ) {
		n = strcspn(p, "; ");
		if (n > 0)
			parse_rule(p, n);
		p += n;
		if (*p != '\0')
			p++;
	}
}

static struct rule *
find(const char *name)
{
	size_t i;

	if (!loaded)
		load();
	for (i = 0; i < nrules; i++)
		if (strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

/* Invariant 3: one write(2), best effort; the kill follows regardless. */
static void
note_kill(const char *name, long hit)
{
	const char *path;
	char line[NAME_MAX_LEN + 48];
	int fd, n;

	if ((path = getenv(TESTHOOK_LOG_ENV)) == NULL || *path == '\0')
		return;
	n = snprintf(line, sizeof(line), "%s %ld %ld\n", name, hit,
	    (long)getpid());
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		return;
	(void)!write(fd, line, (size_t)n);	/* the test sees it or not */
	(void)close(fd);			/* about to die anyway */
}

void
testhook_crash(const char *name)
{
	struct rule *r;
	size_t i;

	if ((r = find(name)) == NULL)
		return;
	r->hits++;
	for (i = 0; i < r->nat; i++)
		if (r->at[i] == r->hits) {
			note_kill(name, r->hits);
			(void)raise(SIGKILL);
			_exit(137);	/* not reached: SIGKILL cannot be caught */
		}
}

int
testhook_armed(const char *name)
{
	return find(name) != NULL;
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int testhook_compiled_out;

#endif /* SPOOLD_TEST_HOOKS */
