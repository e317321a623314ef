/*
 * nocore.h - keep key material out of core dumps (anchors B.10): no core
 * file (RLIMIT_CORE 0) and not dumpable (prctl PR_SET_DUMPABLE 0, which
 * also keeps other users' ptrace and /proc/PID/mem away). Called first
 * thing by every program that decrypts a device key.
 */
#ifndef UTIL_NOCORE_H
#define UTIL_NOCORE_H

/* 0, or -1 with errno when either setting could not be applied. */
int	nocore(void);

#endif
