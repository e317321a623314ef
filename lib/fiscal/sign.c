/*
 * sign.c - SHA-256 and EVP signing/verification (see sign.h).
 *
 * SECURITY: private keys live only in EVP_PKEY objects owned by struct
 * sigkey; PEM text given to us is the caller's to wipe. Error strings never
 * include key material. Signing is EVP_DigestSign with SHA-256; OpenSSL's
 * defaults are PKCS#1 v1.5 padding for RSA and DER for ECDSA, which is
 * exactly what FDMS wants, and we state them explicitly anyway.
 */
#include "fiscal/sign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "util/base64.h"

struct sigkey {
	EVP_PKEY		*pkey;
	enum sigkey_type	 type;
	int			 has_private;
};

static void
set_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char ebuf[160];

	if (err == NULL || errlen == 0)
		return;
	if (e != 0) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(err, errlen, "%s (%s)", what, ebuf);
	} else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
}

static struct sigkey *
wrap(EVP_PKEY *pk, int priv, char *err, size_t errlen)
{
	struct sigkey *k;
	int id = EVP_PKEY_get_base_id(pk);

	if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC) {
		set_err(err, errlen, "key is neither RSA nor EC");
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (id == EVP_PKEY_EC) {
		char group[64];
		size_t glen;

		if (!EVP_PKEY_get_utf8_string_param(pk, "group", group,
		    sizeof(group), &glen) || strcmp(group, "prime256v1") != 0) {
			set_err(err, errlen, "EC key is not on P-256");
			EVP_PKEY_free(pk);
			return NULL;
		}
	} else if (EVP_PKEY_get_bits(pk) < 2048) {
		set_err(err, errlen, "RSA key shorter than 2048 bits");
		EVP_PKEY_free(pk);
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		set_err(err, errlen, "out of memory");
		EVP_PKEY_free(pk);
		return NULL;
	}
	k->pkey = pk;
	k->type = id == EVP_PKEY_EC ? SIGKEY_ECDSA : SIGKEY_RSA;
	k->has_private = priv;
	return k;
}

struct sigkey *
sigkey_load_private(const char *pem, size_t len, const char *pass, char *err,
    size_t errlen)
{
	BIO *bio;
	EVP_PKEY *pk;

	if (len > 64 * 1024 || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		set_err(err, errlen, "cannot read private key");
		return NULL;
	}
	/* A NULL callback with a NULL pass would prompt on the tty; never. */
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)(pass ? pass : ""));
	BIO_free(bio);
	if (pk == NULL) {
		set_err(err, errlen, "not a PEM private key (or wrong passphrase)");
		return NULL;
	}
	return wrap(pk, 1, err, errlen);
}

struct sigkey *
sigkey_load_public(const char *pem, size_t len, char *err, size_t errlen)
{
	BIO *bio;
	EVP_PKEY *pk = NULL;
	X509 *cert;

	if (len > 64 * 1024 || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		set_err(err, errlen, "cannot read public key");
		return NULL;
	}
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		pk = X509_get_pubkey(cert);
		X509_free(cert);
	} else {
		ERR_clear_error();
		(void)BIO_reset(bio);
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		if (pk == NULL) {
			/* A private key also carries the public half. */
			ERR_clear_error();
			(void)BIO_reset(bio);
			pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
		}
	}
	BIO_free(bio);
	if (pk == NULL) {
		set_err(err, errlen, "not a PEM certificate or public key");
		return NULL;
	}
	return wrap(pk, 0, err, errlen);
}

struct sigkey *
sigkey_generate(enum sigkey_type type, char *err, size_t errlen)
{
	EVP_PKEY *pk;

	if (type == SIGKEY_ECDSA)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (pk == NULL) {
		set_err(err, errlen, "key generation failed");
		return NULL;
	}
	return wrap(pk, 1, err, errlen);
}

void
sigkey_free(struct sigkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

enum sigkey_type
sigkey_type(const struct sigkey *k)
{
	return k->type;
}

void *
sigkey_evp(const struct sigkey *k)
{
	return k->pkey;
}

char *
sigkey_private_pem(const struct sigkey *k, const char *pass)
{
	BIO *bio;
	BUF_MEM *mem;
	char *out = NULL;
	int ok;

	if (!k->has_private || (bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (pass != NULL)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, k->pkey,
		    EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pass);
	else
		ok = PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL,
		    NULL);
	if (ok && BIO_get_mem_ptr(bio, &mem) > 0 &&
	    (out = malloc(mem->length + 1)) != NULL) {
		memcpy(out, mem->data, mem->length);
		out[mem->length] = '\0';
	}
	BIO_free(bio);
	return out;
}

void
sign_sha256_b64(const void *msg, size_t len, char *out)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(msg, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md)) {
		/* SHA-256 cannot fail short of a broken library. */
		fprintf(stderr, "spoold: SHA-256 failed\n");
		abort();
	}
	base64_encode(md, sizeof(md), out);
}

static int
verify_raw(const struct sigkey *k, const void *msg, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, k->pkey) == 1 &&
	    (k->type != SIGKEY_RSA ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1))
		rc = EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1 ? 1 : 0;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

int
sign_b64(const struct sigkey *k, const void *msg, size_t len, char *out,
    size_t outlen, char *err, size_t errlen)
{
	unsigned char sig[SIG_MAX_BYTES];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (!k->has_private) {
		set_err(err, errlen, "no private key to sign with");
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, k->pkey) == 1 &&
	    (k->type != SIGKEY_RSA ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		set_err(err, errlen, "signing failed");
		return -1;
	}
	if (verify_raw(k, msg, len, sig, siglen) != 1) {
		set_err(err, errlen, "signature did not verify after signing");
		return -1;
	}
	if (k->type == SIGKEY_ECDSA && !sign_is_der_ecdsa(sig, siglen)) {
		set_err(err, errlen, "ECDSA signature is not DER");
		return -1;
	}
	if (outlen < BASE64_LEN(siglen) + 1) {
		set_err(err, errlen, "signature buffer too small");
		return -1;
	}
	base64_encode(sig, siglen, out);
	return 0;
}

int
sign_verify_b64(const struct sigkey *k, const void *msg, size_t len,
    const char *sig_b64)
{
	unsigned char sig[SIG_MAX_BYTES];
	long n;

	n = base64_decode(sig_b64, strlen(sig_b64), sig, sizeof(sig));
	if (n <= 0)
		return -1;
	return verify_raw(k, msg, len, sig, (size_t)n);
}

/* One DER INTEGER at p: positive, minimal. Returns bytes used or 0. */
static size_t
der_int(const unsigned char *p, size_t len)
{
	size_t n;

	if (len < 3 || p[0] != 0x02)
		return 0;
	n = p[1];
	if (n == 0 || n > 33 || n + 2 > len)
		return 0;
	if (p[2] & 0x80)
		return 0;		/* negative */
	if (n > 1 && p[2] == 0 && !(p[3] & 0x80))
		return 0;		/* not minimal */
	return n + 2;
}

int
sign_is_der_ecdsa(const unsigned char *sig, size_t len)
{
	size_t a, b;

	if (len < 8 || sig[0] != 0x30 || sig[1] != len - 2)
		return 0;
	if ((a = der_int(sig + 2, len - 2)) == 0)
		return 0;
	if ((b = der_int(sig + 2 + a, len - 2 - a)) == 0)
		return 0;
	return 2 + a + b == len;
}
