/*
 * testcert.h - a throw-away device identity for unit tests: a self-signed
 * P-256 certificate valid from now for a year, and its private key, both
 * PEM.  Generated at run time (no key is ever committed).  Header-only:
 * include it from one test program at a time.
 */
#ifndef TESTS_TESTCERT_H
#define TESTS_TESTCERT_H

#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* The certificate with subject CN cn (malloc'd, NULL on failure); the
 * key in *key_pem (malloc'd, NULL on failure). */
static char *
testcert_p256(const char *cn, char **key_pem)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	BIO *b;
	char *p, *out = NULL;
	long len;

	*key_pem = NULL;
	if (k == NULL || x == NULL)
		goto done;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, k, EVP_sha256()) == 0)
		goto done;
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		if (PEM_write_bio_X509(b, x) == 1 &&
		    (len = BIO_get_mem_data(b, &p)) > 0)
			out = strndup(p, (size_t)len);
		BIO_free(b);
	}
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
		    NULL) == 1 && (len = BIO_get_mem_data(b, &p)) > 0)
			*key_pem = strndup(p, (size_t)len);
		BIO_free(b);
	}
done:
	EVP_PKEY_free(k);
	X509_free(x);
	return out;
}

#endif
