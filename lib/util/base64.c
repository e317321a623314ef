/*
 * base64.c - strict standard base64 (see base64.h).
 */
#include "util/base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < n) {
		v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, size_t n, unsigned char *out, size_t outmax)
{
	size_t i, o = 0, pad = 0;
	unsigned v;
	int k, d;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	if ((n / 4) * 3 - pad > outmax)
		return -1;
	for (i = 0; i < n; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++) {
			if (i + 4 == n && k >= 4 - (int)pad) {
				v <<= 6;
				continue;
			}
			if ((d = value_of(in[i + k])) < 0)
				return -1;
			v = v << 6 | (unsigned)d;
		}
		out[o++] = (unsigned char)(v >> 16);
		if (i + 4 < n || pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (i + 4 < n || pad < 1)
			out[o++] = (unsigned char)v;
		/* Non-canonical encodings leave bits set past the data. */
		if (i + 4 == n && ((pad == 2 && (v & 0xffff)) ||
		    (pad == 1 && (v & 0xff))))
			return -1;
	}
	return (long)o;
}
