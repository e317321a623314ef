/*
 * test_sign.c - ECDSA and RSA signing through EVP: round trips, DER shape,
 * tamper detection, key checks, base64 strictness.
 */
#include <stdlib.h>
#include <string.h>

#include "fiscal/sign.h"
#include "tap.h"
#include "util/base64.h"

static void
round_trip(enum sigkey_type type)
{
	const char *msg = "12345FISCALINVOICEUSD1012026-03-02T10:15:001655050015.501551155";
	char sig[SIG_B64_MAX + 1], sig2[SIG_B64_MAX + 1], err[200];
	unsigned char raw[SIG_MAX_BYTES];
	struct sigkey *k, *pub, *k2;
	char *pem;
	long n;
	int i;

	k = sigkey_generate(type, err, sizeof(err));
	CHECK(k != NULL, "generate: %s", err);
	if (k == NULL)
		return;
	CHECK(sigkey_type(k) == type, "type");
	CHECK(sign_b64(k, msg, strlen(msg), sig, sizeof(sig), err,
	    sizeof(err)) == 0, "sign: %s", err);
	CHECK(sign_verify_b64(k, msg, strlen(msg), sig) == 1, "verify");
	n = base64_decode(sig, strlen(sig), raw, sizeof(raw));
	if (type == SIGKEY_ECDSA) {
		/* DER SEQUENCE { INTEGER r, INTEGER s }, not raw r||s. */
		CHECK(n >= 8 && n <= 72 && raw[0] == 0x30, "DER length %ld", n);
		CHECK(sign_is_der_ecdsa(raw, (size_t)n), "DER shape");
		/* ECDSA is randomised: a second signature differs, both verify. */
		CHECK(sign_b64(k, msg, strlen(msg), sig2, sizeof(sig2), err,
		    sizeof(err)) == 0, "sign 2");
		CHECK(strcmp(sig, sig2) != 0, "ECDSA signatures repeat");
		CHECK(sign_verify_b64(k, msg, strlen(msg), sig2) == 1, "verify 2");
	} else
		CHECK(n == 256, "RSA-2048 signature is %ld bytes", n);
	/* Tampering with one byte of message or signature fails. */
	CHECK(sign_verify_b64(k, "x", 1, sig) == 0, "wrong message verifies");
	raw[n / 2] ^= 1;
	base64_encode(raw, (size_t)n, sig2);
	CHECK(sign_verify_b64(k, msg, strlen(msg), sig2) == 0,
	    "tampered signature verifies");
	CHECK(sign_verify_b64(k, msg, strlen(msg), "not base64!") == -1,
	    "garbage signature");

	/* PEM round trip, plain and encrypted; the public half verifies. */
	pem = sigkey_private_pem(k, NULL);
	CHECK(pem != NULL && strstr(pem, "PRIVATE KEY") != NULL, "pem");
	pub = pem ? sigkey_load_public(pem, strlen(pem), err, sizeof(err)) : NULL;
	CHECK(pub != NULL, "public from private pem: %s", err);
	if (pub != NULL) {
		CHECK(sign_verify_b64(pub, msg, strlen(msg), sig) == 1,
		    "public verify");
		CHECK(sign_b64(pub, msg, strlen(msg), sig2, sizeof(sig2), err,
		    sizeof(err)) == -1, "public key signed");
	}
	sigkey_free(pub);
	free(pem);
	pem = sigkey_private_pem(k, "s3cret");
	CHECK(pem != NULL && strstr(pem, "ENCRYPTED") != NULL, "encrypted pem");
	k2 = pem ? sigkey_load_private(pem, strlen(pem), "wrong", err,
	    sizeof(err)) : NULL;
	CHECK(k2 == NULL, "wrong passphrase accepted");
	k2 = pem ? sigkey_load_private(pem, strlen(pem), "s3cret", err,
	    sizeof(err)) : NULL;
	CHECK(k2 != NULL, "passphrase: %s", err);
	if (k2 != NULL)
		CHECK(sign_verify_b64(k2, msg, strlen(msg), sig) == 1, "reloaded");
	sigkey_free(k2);
	free(pem);
	for (i = 0; i < 3; i++)	/* no state leaks between signatures */
		CHECK(sign_b64(k, msg, strlen(msg), sig2, sizeof(sig2), err,
		    sizeof(err)) == 0, "sign again");
	sigkey_free(k);
}

static void
test_der(void)
{
	static const unsigned char ok[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02,
	    0x01, 0x02 };
	static const unsigned char neg[] = { 0x30, 0x06, 0x02, 0x01, 0x81, 0x02,
	    0x01, 0x02 };
	static const unsigned char pad[] = { 0x30, 0x07, 0x02, 0x02, 0x00, 0x01,
	    0x02, 0x01, 0x02 };
	static const unsigned char trail[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02,
	    0x01, 0x02, 0x00 };
	unsigned char raw64[64];

	CHECK(sign_is_der_ecdsa(ok, sizeof(ok)), "minimal DER");
	CHECK(!sign_is_der_ecdsa(neg, sizeof(neg)), "negative INTEGER");
	CHECK(!sign_is_der_ecdsa(pad, sizeof(pad)), "non-minimal INTEGER");
	CHECK(!sign_is_der_ecdsa(trail, sizeof(trail)), "trailing byte");
	memset(raw64, 0x11, sizeof(raw64));
	CHECK(!sign_is_der_ecdsa(raw64, sizeof(raw64)), "raw r||s");
}

static void
test_base64(void)
{
	unsigned char out[16];
	char enc[16];

	CHECK(base64_decode("TWFu", 4, out, sizeof(out)) == 3, "Man");
	CHECK(base64_decode("TWE=", 4, out, sizeof(out)) == 2, "Ma");
	CHECK(base64_decode("TQ==", 4, out, sizeof(out)) == 1, "M");
	CHECK(base64_decode("TR==", 4, out, sizeof(out)) == -1, "leftover bits");
	CHECK(base64_decode("TWF", 3, out, sizeof(out)) == -1, "length");
	CHECK(base64_decode("TW u", 4, out, sizeof(out)) == -1, "space");
	CHECK(base64_decode("T=Fu", 4, out, sizeof(out)) == -1, "inner pad");
	CHECK(base64_decode("TWFuTWFu", 8, out, 5) == -1, "output bound");
	CHECK(base64_encode("Ma", 2, enc) == 4 && strcmp(enc, "TWE=") == 0, "enc");
	CHECK(base64_encode("", 0, enc) == 0 && enc[0] == '\0', "empty");
}

static void
test_bad_keys(void)
{
	char err[200];
	const char *junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

	CHECK(sigkey_load_private(junk, strlen(junk), NULL, err,
	    sizeof(err)) == NULL, "junk key");
	CHECK(strstr(err, "AAAA") == NULL, "error echoes key material");
	CHECK(sigkey_load_public("hello", 5, err, sizeof(err)) == NULL, "junk pub");
}

int
main(void)
{
	round_trip(SIGKEY_ECDSA);
	round_trip(SIGKEY_RSA);
	test_der();
	test_base64();
	test_bad_keys();
	return tap_done();
}
