/*
 * nocore.c - no core dumps (see nocore.h).
 */
#include "util/nocore.h"

#include <sys/prctl.h>
#include <sys/resource.h>

int
nocore(void)
{
	struct rlimit rl = { 0, 0 };
	int rc = 0;

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		rc = -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		rc = -1;
	return rc;
}
