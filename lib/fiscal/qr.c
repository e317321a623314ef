/*
 * qr.c - QR data and verification code (see qr.h).
 *
 * MD5 here is FDMS's choice for a short receipt fingerprint, not a security
 * control of ours. Input is the decoded signature bytes (4 implementations
 * agree; the spec text is ambiguous), output upper-case.
 */
#include "fiscal/qr.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "fiscal/sign.h"
#include "util/base64.h"

int
qr_md5_hex16(const char *sig_b64, char *hex16)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char sig[SIG_MAX_BYTES], md[16];
	unsigned int mdlen = 0;
	long n;
	int i;

	n = base64_decode(sig_b64, strlen(sig_b64), sig, sizeof(sig));
	if (n <= 0)
		return -1;
	if (EVP_Digest(sig, (size_t)n, md, &mdlen, EVP_md5(), NULL) != 1)
		return -1;
	for (i = 0; i < QR_HEX_LEN / 2; i++) {
		hex16[2 * i] = hex[md[i] >> 4];
		hex16[2 * i + 1] = hex[md[i] & 15];
	}
	hex16[QR_HEX_LEN] = '\0';
	return 0;
}

int
qr_verification_code(const char *sig_b64, char *code)
{
	char h[QR_HEX_LEN + 1];

	if (qr_md5_hex16(sig_b64, h) == -1)
		return -1;
	snprintf(code, QR_CODE_LEN + 1, "%.4s-%.4s-%.4s-%.4s", h, h + 4, h + 8,
	    h + 12);
	return 0;
}

int
qr_data(const char *qr_url, int64_t device_id, const char *d,
    int64_t global_no, const char *sig_b64, char *out, size_t outlen)
{
	char h[QR_HEX_LEN + 1];
	size_t ulen;
	int n;

	if (d == NULL || strlen(d) < 10 || d[4] != '-' || d[7] != '-' ||
	    device_id < 0 || device_id > INT64_C(9999999999) || global_no < 0 ||
	    global_no > INT64_C(9999999999) || qr_md5_hex16(sig_b64, h) == -1)
		return -1;
	ulen = strlen(qr_url);
	if (ulen > 0 && qr_url[ulen - 1] == '/')
		ulen--;
	n = snprintf(out, outlen, "%.*s/%010lld%.2s%.2s%.4s%010lld%s",
	    (int)ulen, qr_url, (long long)device_id, d + 8, d + 5, d,
	    (long long)global_no, h);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
