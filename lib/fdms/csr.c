/*
 * csr.c - PKCS#10 requests for FDMS and checks on the certificates it
 * returns (see csr.h).
 *
 * SECURITY: the private key never leaves its EVP_PKEY (borrowed from
 * struct sigkey through sigkey_evp); only the request, which carries the
 * public key, is written out.  Certificates come from the network and are
 * untrusted: size-capped, parsed by OpenSSL from memory, and read with a
 * password callback that refuses, so a PEM claiming to be encrypted can
 * never make us prompt on a terminal.
 *
 * Invariants: the CSR subject holds exactly one attribute, the CN; the
 * signature digest is SHA-256 whatever the key type (RSA gets PKCS#1 v1.5,
 * i.e. sha256WithRSAEncryption; EC gets ecdsa-with-SHA256).
 */
#include "fdms/csr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fdms/fdms.h"
#include "fiscal/sign.h"
#include "util/utf8.h"

#define CERT_PEM_MAX	(64 * 1024)

static void
set_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char ebuf[160];

	if (err != NULL && errlen > 0) {
		if (e != 0) {
			ERR_error_string_n(e, ebuf, sizeof(ebuf));
			snprintf(err, errlen, "%s (%s)", what, ebuf);
		} else
			snprintf(err, errlen, "%s", what);
	}
	ERR_clear_error();
}

int
fdms_csr_cn(const char *serial, int64_t device_id, char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)serial;
	size_t n, i, k;
	int w;

	if (serial == NULL || device_id < 1 || device_id > FDMS_DEVICE_ID_MAX)
		return -1;
	n = strlen(serial);
	/* "ZIMRA-" + serial + "-" + 10 digits must fit ub-common-name. */
	if (n == 0 || n > FDMS_CN_MAX - 17)
		return -1;
	for (i = 0; i < n; i += k) {
		if (s[i] < 0x20 || s[i] == 0x7f ||
		    (k = utf8_decode(s + i, n - i, NULL)) == 0)
			return -1;
	}
	w = snprintf(out, len, "ZIMRA-%s-%010" PRId64, serial, device_id);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

char *
fdms_csr_pem(const struct sigkey *key, const char *serial, int64_t device_id,
    char *err, size_t errlen)
{
	EVP_PKEY *pk = sigkey_evp(key);
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem;
	char cn[FDMS_CN_MAX + 1], *out = NULL;

	if (fdms_csr_cn(serial, device_id, cn, sizeof(cn)) == -1) {
		set_err(err, errlen, "serial number or device ID cannot make "
		    "a CN of at most 64 characters");
		return NULL;
	}
	if ((req = X509_REQ_new()) == NULL ||
	    (name = X509_NAME_new()) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL) {
		set_err(err, errlen, "out of memory");
		goto done;
	}
	/* PKCS#10 v1 is version 0; CN only, UTF-8 (the serial is verbatim). */
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, pk) != 1) {
		set_err(err, errlen, "cannot build the certificate request");
		goto done;
	}
	if (X509_REQ_sign(req, pk, EVP_sha256()) <= 0) {
		set_err(err, errlen, "cannot sign the certificate request "
		    "(no private key?)");
		goto done;
	}
	if (PEM_write_bio_X509_REQ(bio, req) != 1 ||
	    BIO_get_mem_ptr(bio, &mem) <= 0 ||
	    (out = malloc(mem->length + 1)) == NULL) {
		set_err(err, errlen, "cannot write the certificate request");
		goto done;
	}
	memcpy(out, mem->data, mem->length);
	out[mem->length] = '\0';
done:
	BIO_free(bio);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return out;
}

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static X509 *
read_cert(const char *pem, size_t len)
{
	BIO *bio;
	X509 *x;

	if (pem == NULL || len == 0 || len > CERT_PEM_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, no_password, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

int
fdms_cert_not_after(const char *pem, size_t len, char out[20])
{
	X509 *x = read_cert(pem, len);
	struct tm tm;
	char tmp[80];
	int rc = -1;

	if (x == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 &&
	    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec) == FDMS_DATE_LEN) {
		memcpy(out, tmp, FDMS_DATE_LEN + 1);
		rc = 0;
	}
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int
fdms_cert_thumbprint(const char *pem, size_t len,
    char out[FDMS_THUMBPRINT_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	X509 *x = read_cert(pem, len);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	int rc = -1;

	if (x == NULL)
		return -1;
	if (X509_digest(x, EVP_sha1(), md, &n) == 1 && n == 20) {
		for (i = 0; i < n; i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 15];
		}
		out[2 * n] = '\0';
		rc = 0;
	}
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int
fdms_cert_cn(const char *pem, size_t len, char *out, size_t outlen)
{
	X509 *x = read_cert(pem, len);
	X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int idx, n, rc = -1;

	if (x == NULL)
		return -1;
	if ((idx = X509_NAME_get_index_by_NID(X509_get_subject_name(x),
	    NID_commonName, -1)) >= 0 &&
	    (e = X509_NAME_get_entry(X509_get_subject_name(x), idx)) != NULL &&
	    (n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(e))) >= 0 &&
	    (size_t)n < outlen && memchr(utf8, '\0', (size_t)n) == NULL) {
		memcpy(out, utf8, (size_t)n);
		out[n] = '\0';
		rc = 0;
	}
	OPENSSL_free(utf8);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int
fdms_cert_matches_key(const char *pem, size_t len, const struct sigkey *key)
{
	X509 *x = read_cert(pem, len);
	EVP_PKEY *pub;
	int rc;

	if (x == NULL)
		return -1;
	pub = X509_get0_pubkey(x);
	rc = pub != NULL && EVP_PKEY_eq(pub, sigkey_evp(key)) == 1 ? 1 : 0;
	X509_free(x);
	ERR_clear_error();
	return rc;
}
