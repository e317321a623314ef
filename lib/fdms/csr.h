/*
 * csr.h - device certificate requests and certificate checks
 * (fdms-reference §7).
 *
 * The CSR is PKCS#10 PEM whose subject is the single attribute
 * CN=ZIMRA-<serial>-<deviceID zero-padded to 10 digits> (serial verbatim,
 * spaces included; nothing else, so no OpenSSL "ST=Some-State" default),
 * signed ecdsa-with-SHA256 (P-256 key) or sha256WithRSAEncryption
 * (RSA-2048 key) with the device's own key (struct sigkey).
 *
 * The certificate helpers read what FDMS sent back (untrusted PEM) to
 * record its expiry, its thumbprint and to check, before the certificate
 * replaces the old one, that it certifies our key and our device.
 */
#ifndef FDMS_CSR_H
#define FDMS_CSR_H

#include <stddef.h>
#include <stdint.h>

struct sigkey;

#define FDMS_CN_MAX		64	/* X.520 ub-common-name */
#define FDMS_THUMBPRINT_LEN	40	/* SHA-1 hex */

/* The CN; 0, or -1 when serial or device ID cannot make a valid one. */
int	 fdms_csr_cn(const char *serial, int64_t device_id, char *out,
	    size_t len);
/* The CSR as PEM (free() it); NULL with err. */
char	*fdms_csr_pem(const struct sigkey *, const char *serial,
	    int64_t device_id, char *err, size_t errlen);

/*
 * Certificate helpers; pem[0..len) is the first certificate of a PEM text.
 * 0 ok, -1 not a certificate (or the field cannot be read).
 */
/* notAfter as "YYYY-MM-DDTHH:MM:SS", UTC. */
int	 fdms_cert_not_after(const char *pem, size_t len, char out[20]);
/* SHA-1 of the DER, upper-case hex (as .NET and FDMS print it). */
int	 fdms_cert_thumbprint(const char *pem, size_t len,
	    char out[FDMS_THUMBPRINT_LEN + 1]);
/* The subject CN (first one). */
int	 fdms_cert_cn(const char *pem, size_t len, char *out, size_t outlen);
/* 1 the certificate's public key is key's, 0 it is not, -1 unreadable. */
int	 fdms_cert_matches_key(const char *pem, size_t len,
	    const struct sigkey *key);

#endif
