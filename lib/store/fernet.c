/*
 * fernet.c - Fernet tokens (see fernet.h).
 *
 * Invariants:
 *  1. Nothing is decrypted before the HMAC over version, timestamp, IV and
 *     ciphertext has been checked in constant time (CRYPTO_memcmp): an
 *     altered token never reaches the CBC decryptor, so there is no padding
 *     oracle.
 *  2. Every buffer that held key material or plaintext is wiped with
 *     OPENSSL_cleanse before it is freed or goes out of scope, on error
 *     paths too.
 *  3. The token is exactly the spec's byte layout; the only freedom (the
 *     IV) comes from RAND_bytes.
 *
 * SECURITY: the token is untrusted (it comes from the database, which an
 * attacker with file access may have edited); the key is trusted.  Errors
 * say which check failed but never echo key or plaintext bytes.  Timing:
 * the MAC comparison is constant-time; the length and base64 checks
 * before it depend only on public data.
 *
 * Durability: none here; the caller stores the token (store.c).
 */
#include "store/fernet.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "util/base64.h"

#define VERSION		0x80
#define HDR_LEN		(1 + 8 + 16)	/* version, timestamp, IV */
#define MAC_LEN		32
#define BLOCK		16
/* The largest token we will look at: the plaintext limit, padded. */
#define MAX_RAW		(HDR_LEN + FERNET_MAX_PLAINTEXT + BLOCK + MAC_LEN)

/*
 * base64url with padding, strict: the url-safe alphabet only (a '+' or '/'
 * is refused, as is whitespace), then the strict standard decoder.
 * Returns a malloc'd buffer and its length, or NULL.
 */
static unsigned char *
b64url_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out;
	char *std;
	size_t i;
	long got;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > MAX_RAW)
		return NULL;
	if ((std = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/') {
			OPENSSL_clear_free(std, n + 1);
			return NULL;
		}
		std[i] = c;
	}
	std[n] = '\0';
	if ((out = malloc(n / 4 * 3 + 1)) == NULL) {
		OPENSSL_clear_free(std, n + 1);
		return NULL;
	}
	/* The text may be a key: both copies are wiped (invariant 2). */
	got = base64_decode(std, n, out, n / 4 * 3);
	OPENSSL_clear_free(std, n + 1);
	if (got < 0) {
		OPENSSL_clear_free(out, n / 4 * 3 + 1);
		return NULL;
	}
	*outlen = (size_t)got;
	return out;
}

static char *
b64url_encode(const unsigned char *p, size_t n)
{
	char *out;
	size_t i, len;

	if (n > MAX_RAW || (out = malloc(BASE64_LEN(n) + 1)) == NULL)
		return NULL;
	len = base64_encode(p, n, out);
	for (i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

int
fernet_key_parse(const char *b64, unsigned char key[32])
{
	unsigned char *raw;
	size_t n;

	if (b64 == NULL || strlen(b64) != FERNET_KEY_CHARS)
		return -1;
	if ((raw = b64url_decode(b64, FERNET_KEY_CHARS, &n)) == NULL)
		return -1;
	if (n != FERNET_KEY_BYTES) {
		OPENSSL_clear_free(raw, n);
		return -1;
	}
	memcpy(key, raw, FERNET_KEY_BYTES);
	OPENSSL_clear_free(raw, n);
	return 0;
}

void
fernet_key_format(const unsigned char key[32], char out[45])
{
	size_t i;

	/* Not through b64url_encode: no heap copy of the key to wipe. */
	base64_encode(key, FERNET_KEY_BYTES, out);
	for (i = 0; i < FERNET_KEY_CHARS; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
}

int
fernet_key_generate(unsigned char key[32])
{
	return RAND_bytes(key, FERNET_KEY_BYTES) == 1 ? 0 : -1;
}

/* HMAC-SHA256 with the signing half of the key; 0 or -1. */
static int
mac(const unsigned char key[32], const unsigned char *p, size_t n,
    unsigned char md[MAC_LEN])
{
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), key, BLOCK, p, n, md, &mdlen) == NULL ||
	    mdlen != MAC_LEN)
		return -1;
	return 0;
}

char *
fernet_encrypt_iv(const unsigned char key[32], const void *pt, size_t len,
    uint64_t now, const unsigned char iv[16])
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *raw = NULL;
	size_t cap, n = 0;
	char *token = NULL;
	int i, out1 = 0, out2 = 0;

	if (len > FERNET_MAX_PLAINTEXT)
		return NULL;
	/* PKCS7 always adds 1..16 bytes. */
	cap = HDR_LEN + (len / BLOCK + 1) * BLOCK + MAC_LEN;
	if ((raw = malloc(cap)) == NULL)
		return NULL;
	raw[n++] = VERSION;
	for (i = 7; i >= 0; i--)
		raw[n++] = (unsigned char)(now >> (i * 8));
	memcpy(raw + n, iv, BLOCK);
	n += BLOCK;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key + BLOCK,
	    iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 1) != 1 ||
	    EVP_EncryptUpdate(ctx, raw + n, &out1, pt, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, raw + n + out1, &out2) != 1)
		goto out;
	n += (size_t)out1 + (size_t)out2;
	if (n + MAC_LEN != cap || mac(key, raw, n, raw + n) == -1)
		goto out;
	n += MAC_LEN;
	token = b64url_encode(raw, n);
out:
	EVP_CIPHER_CTX_free(ctx);	/* clears its key schedule */
	OPENSSL_clear_free(raw, cap);
	return token;
}

char *
fernet_encrypt(const unsigned char key[32], const void *pt, size_t len,
    uint64_t now)
{
	unsigned char iv[BLOCK];

	if (RAND_bytes(iv, sizeof(iv)) != 1)
		return NULL;
	return fernet_encrypt_iv(key, pt, len, now, iv);
}

enum fernet_rc
fernet_decrypt(const unsigned char key[32], const char *token, uint64_t ttl,
    uint64_t now, unsigned char **out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char md[MAC_LEN], *raw, *pt = NULL;
	enum fernet_rc rc = FERNET_ERROR;
	size_t n, ctlen = 0;
	uint64_t ts = 0;
	int i, out1 = 0, out2 = 0;

	*out = NULL;
	*outlen = 0;
	if (token == NULL ||
	    (raw = b64url_decode(token, strlen(token), &n)) == NULL)
		return FERNET_MALFORMED;
	/* At least one cipher block: PKCS7 never yields an empty ciphertext. */
	if (n < HDR_LEN + BLOCK + MAC_LEN || raw[0] != VERSION ||
	    (n - HDR_LEN - MAC_LEN) % BLOCK != 0) {
		rc = FERNET_MALFORMED;
		goto out;
	}
	/* Invariant 1: authenticate first. */
	if (mac(key, raw, n - MAC_LEN, md) == -1)
		goto out;
	if (CRYPTO_memcmp(md, raw + n - MAC_LEN, MAC_LEN) != 0) {
		rc = FERNET_BAD_MAC;
		goto out;
	}
	for (i = 1; i <= 8; i++)
		ts = ts << 8 | raw[i];
	if (ttl != 0) {
		/* As Python: ts + ttl < now is expired (no overflow: checked). */
		if (ts <= UINT64_MAX - ttl && ts + ttl < now) {
			rc = FERNET_EXPIRED;
			goto out;
		}
		if (now <= UINT64_MAX - FERNET_MAX_CLOCK_SKEW &&
		    now + FERNET_MAX_CLOCK_SKEW < ts) {
			rc = FERNET_FUTURE;
			goto out;
		}
	}
	ctlen = n - HDR_LEN - MAC_LEN;
	if ((pt = malloc(ctlen + 1)) == NULL)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key + BLOCK,
	    raw + 9) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 1) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &out1, raw + HDR_LEN, (int)ctlen) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, pt + out1, &out2) != 1) {
		rc = FERNET_BAD_PADDING;
		goto out;
	}
	*outlen = (size_t)out1 + (size_t)out2;
	pt[*outlen] = '\0';
	*out = pt;
	pt = NULL;
	rc = FERNET_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (pt != NULL)
		OPENSSL_clear_free(pt, ctlen + 1);
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_clear_free(raw, n);
	return rc;
}

void
fernet_free(void *p, size_t len)
{
	if (p != NULL)
		OPENSSL_clear_free(p, len + 1);	/* the NUL too */
}

const char *
fernet_strerror(enum fernet_rc rc)
{
	switch (rc) {
	case FERNET_OK:
		return "ok";
	case FERNET_MALFORMED:
		return "not a Fernet token";
	case FERNET_BAD_MAC:
		return "wrong key, or the token was altered";
	case FERNET_EXPIRED:
		return "token expired";
	case FERNET_FUTURE:
		return "token timestamp is in the future";
	case FERNET_BAD_PADDING:
		return "token decrypts to bad padding";
	case FERNET_ERROR:
		break;
	}
	return "internal error (out of memory or OpenSSL)";
}
