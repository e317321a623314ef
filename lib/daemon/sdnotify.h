/*
 * sdnotify.h - the systemd readiness protocol, without libsystemd
 * (sd_notify(3)): one datagram per message to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
 *
 *	sdnotify("READY=1");			after the start-up recovery
 *	sdnotify("STATUS=serving 2 devices");
 *	sdnotify("RELOADING=1"); ... sdnotify("READY=1");	SIGHUP
 *	sdnotify("STOPPING=1");
 *	sdnotify("WATCHDOG=1");			every sdnotify_watchdog_ms() / 2
 */
#ifndef DAEMON_SDNOTIFY_H
#define DAEMON_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Is there a NOTIFY_SOCKET to talk to (i.e. are we under Type=notify)? */
bool	 sdnotify_enabled(void);
/* 0 sent, 1 nobody to tell (no NOTIFY_SOCKET), -1 failed (errno). */
int	 sdnotify(const char *state);
/* The watchdog period asked for this process in ms (WATCHDOG_USEC), 0: none. */
int64_t	 sdnotify_watchdog_ms(void);

#endif
