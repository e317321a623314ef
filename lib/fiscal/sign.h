/*
 * sign.h - hashes and signatures over the FDMS strings (fdms-reference §4.1).
 *
 * SHA-256 over the string's bytes, base64; the signature is over the same
 * bytes (never over the hash text, never hashed twice): RSA-2048 PKCS#1 v1.5
 * with SHA-256, or ECDSA P-256 with SHA-256 in ASN.1 DER. Every signature is
 * verified with the public key before it is returned, so a broken key or
 * library never yields a receipt FDMS will call RCPT020.
 *
 * OpenSSL stays behind this header: callers see an opaque struct sigkey.
 */
#ifndef FISCAL_SIGN_H
#define FISCAL_SIGN_H

#include <stddef.h>

#define SHA256_B64_LEN	44		/* 32 bytes in base64 */
#define SIG_MAX_BYTES	512
#define SIG_B64_MAX	(((SIG_MAX_BYTES + 2) / 3) * 4)

enum sigkey_type {
	SIGKEY_RSA,
	SIGKEY_ECDSA
};

struct sigkey;

/* Private key (PEM, optionally with passphrase) or public key/certificate. */
struct sigkey	*sigkey_load_private(const char *pem, size_t len,
		    const char *pass, char *err, size_t errlen);
struct sigkey	*sigkey_load_public(const char *pem, size_t len, char *err,
		    size_t errlen);
struct sigkey	*sigkey_generate(enum sigkey_type, char *err, size_t errlen);
void		 sigkey_free(struct sigkey *);
enum sigkey_type sigkey_type(const struct sigkey *);
/* PEM of the private key (encrypted when pass) / public key; free() it. */
char		*sigkey_private_pem(const struct sigkey *, const char *pass);
/*
 * The OpenSSL EVP_PKEY behind k, borrowed (valid while k lives), as void *
 * so OpenSSL stays out of this header.  For lib/fdms (CSR, certificate
 * checks); never to export key material.
 */
void		*sigkey_evp(const struct sigkey *);

/* out: SHA256_B64_LEN + 1 bytes. */
void		 sign_sha256_b64(const void *msg, size_t len, char *out);

/*
 * Sign msg; out gets the base64 signature (SIG_B64_MAX + 1 bytes).
 * Verified before return. 0 ok, -1 error (message in err).
 */
int		 sign_b64(const struct sigkey *, const void *msg, size_t len,
		    char *out, size_t outlen, char *err, size_t errlen);
/* 1 valid, 0 invalid, -1 malformed input. */
int		 sign_verify_b64(const struct sigkey *, const void *msg,
		    size_t len, const char *sig_b64);

/* Is the signature a DER SEQUENCE of two positive INTEGERs (ECDSA)? */
int		 sign_is_der_ecdsa(const unsigned char *sig, size_t len);

#endif
