/*
 * fernet.h - Fernet tokens, byte-compatible with Python's
 * cryptography.fernet (https://github.com/fernet/spec).
 *
 * Used to keep device private keys encrypted at rest with
 * FDMS_ENCRYPTION_KEY, so a journal written by this daemon can be read by
 * the Python tools of the same product and the reverse.
 *
 *	token = base64url( 0x80 | timestamp (8, big-endian) | IV (16) |
 *	                   AES-128-CBC-PKCS7(plaintext) | HMAC-SHA256 (32) )
 *
 * The key is 32 bytes: the first 16 sign, the last 16 encrypt.  Keys and
 * tokens are url-safe base64 WITH '=' padding.  Decoding here is strict
 * (canonical base64 only, no whitespace); Python's encoder never produces
 * anything else.
 */
#ifndef STORE_FERNET_H
#define STORE_FERNET_H

#include <stddef.h>
#include <stdint.h>

#define FERNET_KEY_BYTES	32
#define FERNET_KEY_CHARS	44	/* base64url of 32 bytes, '=' padded */
#define FERNET_MAX_CLOCK_SKEW	60	/* seconds, as in cryptography.fernet */
#define FERNET_MAX_PLAINTEXT	(16 * 1024 * 1024)

enum fernet_rc {
	FERNET_OK = 0,
	FERNET_MALFORMED,	/* not base64url, wrong version, wrong length */
	FERNET_BAD_MAC,		/* wrong key, or the token was altered */
	FERNET_EXPIRED,		/* older than the TTL */
	FERNET_FUTURE,		/* more than FERNET_MAX_CLOCK_SKEW ahead */
	FERNET_BAD_PADDING,	/* MAC good but the plaintext does not unpad */
	FERNET_ERROR		/* out of memory, OpenSSL failure */
};

/* Strict: 44 characters of base64url decoding to 32 bytes; 0 or -1. */
int		 fernet_key_parse(const char *b64, unsigned char key[32]);
/* The base64url text of a key into out (45 bytes with the NUL). */
void		 fernet_key_format(const unsigned char key[32], char out[45]);
/* A fresh random key (RAND_bytes); 0 or -1. */
int		 fernet_key_generate(unsigned char key[32]);

/*
 * Encrypt len bytes at time now (seconds since the epoch) with a random
 * IV.  Returns a malloc'd NUL-terminated token, or NULL.
 */
char		*fernet_encrypt(const unsigned char key[32], const void *pt,
		    size_t len, uint64_t now);
/* The same with a given IV: only for test vectors; never reuse an IV. */
char		*fernet_encrypt_iv(const unsigned char key[32], const void *pt,
		    size_t len, uint64_t now, const unsigned char iv[16]);
/*
 * Verify and decrypt.  ttl 0: no age check (nor the clock-skew check,
 * exactly as Python without ttl); otherwise the token must be at most ttl
 * seconds old at now and not more than FERNET_MAX_CLOCK_SKEW ahead.  On
 * FERNET_OK *out is a malloc'd buffer of *outlen bytes plus a NUL (so a
 * PEM can be used as a string), to be released with fernet_free().
 */
enum fernet_rc	 fernet_decrypt(const unsigned char key[32], const char *token,
		    uint64_t ttl, uint64_t now, unsigned char **out,
		    size_t *outlen);
/* Wipe and free a plaintext from fernet_decrypt (len as returned). */
void		 fernet_free(void *p, size_t len);
const char	*fernet_strerror(enum fernet_rc);

#endif
