/*
 * privdrop.h - give up root for the configured account (config "user",
 * $SPOOLD_USER; docs/daemon.md "Running as root").
 *
 * spoold started as root reads its configuration (which may be readable
 * by root alone: it holds the Fernet key), parses the key, detaches, and
 * then calls privdrop() before it opens anything else (logs, locks,
 * journal, spool folders) and long before it reads any inbox file: every
 * file it creates belongs to the account, and no untrusted byte is ever
 * parsed with root's rights.
 */
#ifndef DAEMON_PRIVDROP_H
#define DAEMON_PRIVDROP_H

#include <stddef.h>

/*
 * user NULL: nothing to do (0).  Otherwise, as root: supplementary
 * groups, group and user ids (real, effective, saved) become the
 * account's, no_new_privs is set, core dumps stay off, and setuid(0)
 * is verified to fail.  Not root: 0 if already running as that user,
 * else -1.  -1 with the reason in err; the process must then exit.
 */
int	privdrop(const char *user, char *err, size_t errlen);

#endif
