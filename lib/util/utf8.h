/*
 * utf8.h - strict UTF-8 decoding, shared by every reader of untrusted text
 * (JSON, XML) and by the log escaper, so all of them agree on what valid
 * UTF-8 is: no overlong forms, no surrogates, nothing past U+10FFFF.
 */
#ifndef UTIL_UTF8_H
#define UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length (1..4) of the sequence at s[0..n), n >= 1, storing its code point
 * in *cp when cp is not NULL; 0 when it is not strict UTF-8.
 */
size_t	utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
