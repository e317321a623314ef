/*
 * loop.h - the spool daemon itself: start-up, recovery, the single
 * poll() loop over every device's inbox, the FDMS client's sockets,
 * signals and timers, and the orderly stop (interface.md §1).
 *
 * spoold's main parses the options and calls loop_main; everything a test
 * would want to reach is below it in lib/.
 */
#ifndef DAEMON_LOOP_H
#define DAEMON_LOOP_H

#include <stdbool.h>

/* Exit statuses of loop_main (and so of spoold). */
#define LOOP_EXIT_OK		0	/* stopped by a signal; --once: all done */
#define LOOP_EXIT_FAIL		1	/* environment: journal, disk, lock held */
#define LOOP_EXIT_CONFIG	2	/* configuration or installation */
#define LOOP_EXIT_PENDING	75	/* --once: left for a later run (EX_TEMPFAIL) */

struct loop_opts {
	const char	*config_path;	/* NULL: the default search */
	bool		 foreground;	/* -f: no fork; log to stderr as well */
	bool		 once;		/* --once */
	int		 verbose;	/* -v: DEBUG lines too */
};

/*
 * Run the daemon until SIGTERM/SIGINT (or, with once, until nothing more
 * can be done in this run); returns the process exit status.  Without
 * foreground and outside systemd (no NOTIFY_SOCKET) it detaches first;
 * the parent exits 0 once the daemon is ready, 1 if it failed to start.
 */
int	loop_main(const struct loop_opts *);

#endif
