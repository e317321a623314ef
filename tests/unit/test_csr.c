/*
 * test_csr.c - device CSRs (CN exact, CN only, SHA-256 signature that
 * verifies, ECDSA and RSA) and the certificate helpers, checked against
 * OpenSSL directly with a certificate made here.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fdms/csr.h"
#include "fdms/fdms.h"
#include "fiscal/sign.h"
#include "tap.h"

static X509_REQ *
read_req(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_REQ *r = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return r;
}

static void
check_csr(enum sigkey_type type)
{
	char err[200], cn[128];
	struct sigkey *k = sigkey_generate(type, err, sizeof(err));
	X509_REQ *req;
	X509_NAME *name;
	EVP_PKEY *pub;
	char *pem;
	int n;

	CHECK(k != NULL, "keygen: %s", err);
	if (k == NULL)
		return;
	pem = fdms_csr_pem(k, "SN: 001", 187, err, sizeof(err));
	CHECK(pem != NULL, "csr: %s", err);
	if (pem == NULL) {
		sigkey_free(k);
		return;
	}
	CHECK(strncmp(pem, "-----BEGIN CERTIFICATE REQUEST-----\n", 36) == 0,
	    "PEM header: %.40s", pem);
	req = read_req(pem);
	CHECK(req != NULL, "OpenSSL cannot read the CSR");
	if (req != NULL) {
		CHECK_INT(X509_REQ_get_version(req), 0);
		name = X509_REQ_get_subject_name(req);
		/* CN only: no ST=Some-State, no C, no O. */
		CHECK_INT(X509_NAME_entry_count(name), 1);
		n = X509_NAME_get_text_by_NID(name, NID_commonName, cn,
		    sizeof(cn));
		CHECK(n > 0, "no CN");
		CHECK_STR(cn, "ZIMRA-SN: 001-0000000187");
		pub = X509_REQ_get_pubkey(req);
		CHECK(pub != NULL && EVP_PKEY_eq(pub, sigkey_evp(k)) == 1,
		    "public key is not ours");
		CHECK(pub != NULL && X509_REQ_verify(req, pub) == 1,
		    "CSR signature does not verify");
		CHECK_INT(X509_REQ_get_signature_nid(req),
		    type == SIGKEY_ECDSA ? NID_ecdsa_with_SHA256 :
		    NID_sha256WithRSAEncryption);
		EVP_PKEY_free(pub);
		X509_REQ_free(req);
	}
	free(pem);

	/* A public-only key cannot sign a CSR. */
	{
		BIO *b = BIO_new(BIO_s_mem());
		BUF_MEM *mem;
		struct sigkey *pk = NULL;
		char *csr2;

		if (b != NULL && PEM_write_bio_PUBKEY(b, sigkey_evp(k)) == 1 &&
		    BIO_get_mem_ptr(b, &mem) > 0)
			pk = sigkey_load_public(mem->data, mem->length, err,
			    sizeof(err));
		BIO_free(b);
		CHECK(pk != NULL, "public key: %s", err);
		if (pk != NULL) {
			csr2 = fdms_csr_pem(pk, "SN: 001", 187, err,
			    sizeof(err));
			CHECK(csr2 == NULL, "CSR signed without a private key");
			free(csr2);
			sigkey_free(pk);
		}
	}
	sigkey_free(k);
}

static void
test_cn(void)
{
	char cn[FDMS_CN_MAX + 1];
	char long_serial[64];

	CHECK_INT(fdms_csr_cn("SN: 001", 187, cn, sizeof(cn)), 0);
	CHECK_STR(cn, "ZIMRA-SN: 001-0000000187");
	CHECK_INT(fdms_csr_cn("ABC-123", 2147483647, cn, sizeof(cn)), 0);
	CHECK_STR(cn, "ZIMRA-ABC-123-2147483647");
	CHECK_INT(fdms_csr_cn("Caf\xc3\xa9", 1, cn, sizeof(cn)), 0);
	CHECK_STR(cn, "ZIMRA-Caf\xc3\xa9-0000000001");
	CHECK_INT(fdms_csr_cn("x", 0, cn, sizeof(cn)), -1);
	CHECK_INT(fdms_csr_cn("x", -5, cn, sizeof(cn)), -1);
	CHECK_INT(fdms_csr_cn("x", INT64_C(2147483648), cn, sizeof(cn)), -1);
	CHECK_INT(fdms_csr_cn("", 1, cn, sizeof(cn)), -1);
	CHECK_INT(fdms_csr_cn(NULL, 1, cn, sizeof(cn)), -1);
	CHECK_INT(fdms_csr_cn("a\nb", 1, cn, sizeof(cn)), -1);
	CHECK_INT(fdms_csr_cn("bad \xff", 1, cn, sizeof(cn)), -1);
	memset(long_serial, 'S', 47);
	long_serial[47] = '\0';
	CHECK_INT(fdms_csr_cn(long_serial, 1, cn, sizeof(cn)), 0);
	CHECK_INT(strlen(cn), FDMS_CN_MAX);
	long_serial[47] = 'S';
	long_serial[48] = '\0';
	CHECK_INT(fdms_csr_cn(long_serial, 1, cn, sizeof(cn)), -1);
	CHECK_INT(fdms_csr_cn("SN: 001", 187, cn, 10), -1);
}

/* A self-signed certificate for key, valid until not_after (ASN.1 text). */
static char *
make_cert(const struct sigkey *key, const char *cn, const char *not_after,
    X509 **keep)
{
	EVP_PKEY *pk = sigkey_evp(key);
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *mem;
	char *out = NULL;

	if (x == NULL || name == NULL || b == NULL)
		goto done;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	ASN1_TIME_set_string(X509_getm_notBefore(x), "20250101000000Z");
	if (ASN1_TIME_set_string_X509(X509_getm_notAfter(x), not_after) != 1)
		goto done;
	X509_set_pubkey(x, pk);
	if (X509_sign(x, pk, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509(b, x) != 1 || BIO_get_mem_ptr(b, &mem) <= 0 ||
	    (out = malloc(mem->length + 1)) == NULL)
		goto done;
	memcpy(out, mem->data, mem->length);
	out[mem->length] = '\0';
done:
	BIO_free(b);
	X509_NAME_free(name);
	if (keep != NULL && out != NULL)
		*keep = x;
	else
		X509_free(x);
	return out;
}

static void
test_cert_helpers(enum sigkey_type type)
{
	char err[200], date[20], tp[FDMS_THUMBPRINT_LEN + 1], want[41], cn[80];
	struct sigkey *k = sigkey_generate(type, err, sizeof(err));
	struct sigkey *other = sigkey_generate(SIGKEY_ECDSA, err, sizeof(err));
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	struct fdms_identity *id;
	X509 *x = NULL;
	char *pem, *pem2;
	int dlen;

	if (k == NULL || other == NULL) {
		CHECK(0, "keygen: %s", err);
		sigkey_free(k);
		sigkey_free(other);
		return;
	}
	pem = make_cert(k, "ZIMRA-SN: 001-0000000187", "20270102030405Z", &x);
	CHECK(pem != NULL, "make cert");
	if (pem == NULL)
		goto out;
	CHECK_INT(fdms_cert_not_after(pem, strlen(pem), date), 0);
	CHECK_STR(date, "2027-01-02T03:04:05");

	/* Thumbprint = SHA-1 of the DER, computed here independently. */
	dlen = i2d_X509(x, &der);
	CHECK(dlen > 0 && EVP_Digest(der, (size_t)dlen, md, &mdlen, EVP_sha1(),
	    NULL) == 1 && mdlen == 20, "sha1");
	for (i = 0; i < mdlen; i++)
		snprintf(want + 2 * i, 3, "%02X", md[i]);
	CHECK_INT(fdms_cert_thumbprint(pem, strlen(pem), tp), 0);
	CHECK_STR(tp, want);
	OPENSSL_free(der);

	CHECK_INT(fdms_cert_cn(pem, strlen(pem), cn, sizeof(cn)), 0);
	CHECK_STR(cn, "ZIMRA-SN: 001-0000000187");
	CHECK_INT(fdms_cert_cn(pem, strlen(pem), cn, 5), -1);

	CHECK_INT(fdms_cert_matches_key(pem, strlen(pem), k), 1);
	CHECK_INT(fdms_cert_matches_key(pem, strlen(pem), other), 0);
	CHECK_INT(fdms_cert_matches_key("junk", 4, k), -1);
	CHECK_INT(fdms_cert_not_after("junk", 4, date), -1);
	CHECK_INT(fdms_cert_thumbprint("", 0, tp), -1);
	/* Truncated PEM. */
	CHECK_INT(fdms_cert_not_after(pem, strlen(pem) / 2, date), -1);

	/* The transport's identity checks the pair before use. */
	id = fdms_identity_new(pem, strlen(pem), k, err, sizeof(err));
	CHECK(id != NULL, "identity: %s", err);
	fdms_identity_free(id);
	id = fdms_identity_new(pem, strlen(pem), other, err, sizeof(err));
	CHECK(id == NULL && strstr(err, "not for this key") != NULL,
	    "mismatched identity accepted (%s)", err);
	fdms_identity_free(id);

	/* After 2049 X.509 switches to GeneralizedTime. */
	pem2 = make_cert(k, "x", "20510607080910Z", NULL);
	CHECK(pem2 != NULL && fdms_cert_not_after(pem2, strlen(pem2), date) == 0,
	    "generalized time");
	CHECK_STR(date, "2051-06-07T08:09:10");
	free(pem2);
	free(pem);
out:
	X509_free(x);
	sigkey_free(k);
	sigkey_free(other);
}

int
main(void)
{
	test_cn();
	check_csr(SIGKEY_ECDSA);
	check_csr(SIGKEY_RSA);
	test_cert_helpers(SIGKEY_ECDSA);
	test_cert_helpers(SIGKEY_RSA);
	return tap_done();
}
