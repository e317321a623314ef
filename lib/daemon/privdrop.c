/*
 * privdrop.c - give up root for the configured account (see privdrop.h).
 *
 * Design.  The OpenBSD daemons' order: initgroups, then setresgid, then
 * setresuid (the group first, while we still may change it), all three
 * ids of each, so neither a saved nor a real id can bring root back.
 * Then we check rather than trust: setuid(0) must now fail and every id
 * must be the account's.  Changing the effective ids resets the
 * "dumpable" flag to /proc/sys/fs/suid_dumpable, so nocore() runs again
 * afterwards (RLIMIT_CORE 0 survives the change on its own).
 * PR_SET_NO_NEW_PRIVS keeps a set-user-ID program we might ever execute
 * (we execute none) from handing privileges back.
 *
 * We do not chdir: the configuration's relative paths are relative to
 * the working directory (loop.c, "Detaching"), and the account needs
 * search permission on it, which a failing open will name.
 *
 * Trust.  The account name comes from the configuration (root's file)
 * and the password database.
 */
#define _GNU_SOURCE		/* setresuid, getresuid */

#include "daemon/privdrop.h"

#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/nocore.h"

int
privdrop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (user == NULL)
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: %s", user, errno != 0 ?
		    strerror(errno) : "no such user");
		return -1;
	}
	if (geteuid() != 0) {
		if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
			return 0;	/* started as the account already */
		snprintf(err, errlen, "user = %s needs spoold started as root "
		    "or as %s (running as uid %lu)", user, user,
		    (unsigned long)geteuid());
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user = %s is root: name an unprivileged "
		    "account", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot become %s: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 || getresuid(&ru, &eu, &su) == -1 ||
	    getresgid(&rg, &eg, &sg) == -1 || ru != pw->pw_uid ||
	    eu != pw->pw_uid || su != pw->pw_uid || rg != pw->pw_gid ||
	    eg != pw->pw_gid || sg != pw->pw_gid) {
		snprintf(err, errlen, "became %s, but root could come back",
		    user);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 || nocore() == -1) {
		snprintf(err, errlen, "after becoming %s: %s", user,
		    strerror(errno));
		return -1;
	}
	return 0;
}
