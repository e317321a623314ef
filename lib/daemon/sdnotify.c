/*
 * sdnotify.c - sd_notify(3) in a few lines (see sdnotify.h).
 *
 * Why not libsystemd: the protocol is one datagram with "KEY=VALUE" lines,
 * and a dependency for it would be another library in a daemon that holds
 * signing keys.  Only the plain messages are implemented: no file
 * descriptor passing, no credentials.
 *
 * SECURITY.  NOTIFY_SOCKET comes from the environment the service manager
 * set; it is used only as a destination address (never opened as a file),
 * bounded by sun_path, and a name that does not fit is refused rather than
 * cut (a cut name could reach another socket).  The messages are ours.
 */
#include "daemon/sdnotify.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


bool
sdnotify_enabled(void)
{
	const char *s = getenv("NOTIFY_SOCKET");

	return s != NULL && (s[0] == '/' || s[0] == '@') && s[1] != '\0';
}

int
sdnotify(const char *state)
{
	struct sockaddr_un sa;
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t salen;
	size_t len;
	ssize_t n;
	int fd, saved;

	if (!sdnotify_enabled())
		return 1;
	len = strlen(path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (len > sizeof(sa.sun_path) || (path[0] == '/' &&
	    len == sizeof(sa.sun_path))) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* Linux abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/' ? 1 : 0));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (const struct sockaddr *)&sa, salen);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return n == (ssize_t)strlen(state) ? 0 : -1;
}

/* A positive decimal integer, whole string; -1 otherwise. */
static long long
number(const char *s)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : v;
}

int64_t
sdnotify_watchdog_ms(void)
{
	long long us = number(getenv("WATCHDOG_USEC"));
	const char *pid = getenv("WATCHDOG_PID");

	if (us <= 0)
		return 0;
	/* Set for another process (we are not the main PID): not ours. */
	if (pid != NULL && number(pid) != (long long)getpid())
		return 0;
	return us / 1000 > 0 ? us / 1000 : 1;
}
