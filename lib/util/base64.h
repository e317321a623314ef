/*
 * base64.h - standard base64 (RFC 4648 §4, '+' '/', '=' padding, no line
 * breaks), as FDMS uses for hashes and signatures. Decoding is strict:
 * no whitespace, correct padding, no bits left over.
 */
#ifndef UTIL_BASE64_H
#define UTIL_BASE64_H

#include <stddef.h>

#define BASE64_LEN(n)	((((n) + 2) / 3) * 4)

/* Encode n bytes into out (needs BASE64_LEN(n) + 1). Returns the length. */
size_t	base64_encode(const void *in, size_t n, char *out);
/* Decode; returns the decoded length, or -1 when malformed or too long. */
long	base64_decode(const char *in, size_t n, unsigned char *out, size_t outmax);

#endif
