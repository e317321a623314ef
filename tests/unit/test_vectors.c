/*
 * test_vectors.c - every corrected worked example of fdms-reference §4.6
 * and §8: signature strings built from receipt models, their SHA-256, the
 * deterministic RSA signatures with the spec's example key, QR parts, the
 * fiscal-day strings and FDMS's own signature strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/qr.h"
#include "fiscal/receipt.h"
#include "fiscal/sigstr.h"
#include "fiscal/sign.h"
#include "io/jsonrx.h"
#include "io/receipt_tree.h"
#include "tap.h"
#include "util/buf.h"

#define PREV "hNVJXP/ACOiE8McD3pKsDlqBXpuaUqQOfPnMyfZWI9k="

static struct sigkey *spec_key;

struct tx {
	const char	*code;
	int		 has_pct;
	int32_t		 pct;
	int64_t		 amount, sales;
};

static struct receipt *
mk(enum receipt_type type, const char *cur, int64_t global, const char *date,
    int64_t total, const struct tx *tx, size_t ntx)
{
	struct receipt *r = receipt_new(1 << 20);
	size_t i;

	r->type = type;
	r->currency = cur;
	r->has_global_no = true;
	r->global_no = global;
	r->date = date;
	r->total = total;
	r->taxes = calloc(ntx, sizeof(*r->taxes));
	r->n_taxes = ntx;
	r->has_taxes = true;
	for (i = 0; i < ntx; i++) {
		r->taxes[i].tax_code = tx[i].code;
		r->taxes[i].has_tax_percent = tx[i].has_pct;
		r->taxes[i].tax_percent = tx[i].pct;
		r->taxes[i].tax_id = (int64_t)i + 1;
		r->taxes[i].tax_amount = tx[i].amount;
		r->taxes[i].sales_amount_with_tax = tx[i].sales;
	}
	return r;
}

static void
unmk(struct receipt *r)
{
	free(r->taxes);
	receipt_free(r);
}

/* String, hash, and (when sig != NULL) RSA signature and QR part. */
static void
check_receipt(const char *id, struct receipt *r, int64_t dev, const char *prev,
    const char *want_str, const char *want_hash, const char *want_sig,
    const char *want_qr)
{
	struct buf b;
	char hash[SHA256_B64_LEN + 1], sig[SIG_B64_MAX + 1], err[256];
	char qr[QR_HEX_LEN + 1];

	buf_init(&b, 4096);
	CHECK(sigstr_receipt(r, dev, prev, &b) == 0, "%s: sigstr failed", id);
	CHECK_STR(buf_str(&b), want_str);
	sign_sha256_b64(b.p, b.len, hash);
	CHECK(strcmp(hash, want_hash) == 0, "%s: hash %s, want %s", id, hash,
	    want_hash);
	if (want_sig != NULL) {
		CHECK(sign_b64(spec_key, b.p, b.len, sig, sizeof(sig), err,
		    sizeof(err)) == 0, "%s: %s", id, err);
		CHECK(strcmp(sig, want_sig) == 0, "%s: signature differs: %s", id,
		    sig);
		CHECK(sign_verify_b64(spec_key, b.p, b.len, sig) == 1,
		    "%s: verify", id);
		CHECK(qr_md5_hex16(sig, qr) == 0, "%s: qr", id);
		CHECK(strcmp(qr, want_qr) == 0, "%s: QR part %s, want %s", id,
		    qr, want_qr);
	}
	buf_free(&b);
}

static const struct tx fi1_taxes[] = {
	{ "A", 0, 0, 0, 250000 },
	{ "B", 1, 0, 0, 350000 },
	{ "C", 1, 1500, 15000, 115000 },
	{ "D", 1, 1500, 30000, 230000 },
};

static void
test_fi1_cn1_dn1(void)
{
	struct tx neg[4];
	struct receipt *r;
	size_t i;

	r = mk(RECEIPT_FISCAL_INVOICE, "ZWL", 432, "2019-09-19T15:43:12",
	    945000, fi1_taxes, 4);
	check_receipt("FI-1", r, 321, PREV,
	    "321FISCALINVOICEZWL4322019-09-19T15:43:12945000A0250000B0.000350000"
	    "C15.0015000115000D15.0030000230000" PREV,
	    "eHAAOVqxrRVRliVOsik4sONXJ10nckqCWIhPyoMyguM=",
	    "gnus4kMC4Ap4dJjwB5fhznIRbRBUY6uOspjx4g+JDywXQHn48qQIFv4J8gQgF2TuTSRL"
	    "TycQze5jmXM4bJGgVhsQt3yCerjo7SomjMTuHZnqdmMmojwyXnL/MUnQWNARGkvpi0Xj"
	    "ScBcCbNQw0HSWamUj8MvwKZT0GUYwQwkIU30c30/z7fhtrtkWmwM2VR6463dV6Fhedu"
	    "wIoPhE5Rydf0Q8Y6dYB41V6bX0kGmV3K8RNFIzFef81rHeFMzX/TFi/xrwbvNlPCxjaM"
	    "IraT38v69xJSIxH6hAjapoKocrf9tNWjIerSBysQd2IGpK5A3oADFnqA2tWr9sLn4BBE"
	    "1fg==", "8D0DEA397A865FD9");
	unmk(r);

	/* Taxes handed over out of order sort by taxID. */
	{
		struct tx rev[4] = { fi1_taxes[3], fi1_taxes[2], fi1_taxes[1],
		    fi1_taxes[0] };

		r = mk(RECEIPT_DEBIT_NOTE, "ZWL", 432, "2020-09-19T15:43:12",
		    945000, rev, 4);
		for (i = 0; i < 4; i++)
			r->taxes[i].tax_id = 4 - (int64_t)i;
		check_receipt("DN-1", r, 321, PREV,
		    "321DEBITNOTEZWL4322020-09-19T15:43:12945000A0250000"
		    "B0.000350000C15.0015000115000D15.0030000230000" PREV,
		    "w2NMJKYPItCR/jR4a8Toc1EeXGw1ZkaZdNkNLSNArow=", NULL, NULL);
		unmk(r);
	}

	for (i = 0; i < 4; i++) {
		neg[i] = fi1_taxes[i];
		neg[i].amount = -neg[i].amount;	/* 0 stays 0, never -0 */
		neg[i].sales = -neg[i].sales;
	}
	r = mk(RECEIPT_CREDIT_NOTE, "ZWL", 432, "2020-09-19T15:43:12", -945000,
	    neg, 4);
	check_receipt("CN-1", r, 321, PREV,
	    "321CREDITNOTEZWL4322020-09-19T15:43:12-945000A0-250000B0.000-350000"
	    "C15.00-15000-115000D15.00-30000-230000" PREV,
	    "vtYlyJzJGgZvxcdiuckVSTqxn4iIFHJj6ub/zHkvA00=", NULL, NULL);
	unmk(r);
}

static void
test_fi2_cn2_dn2(void)
{
	/* The spec's illustration: taxes need not add up to the total. */
	static const struct tx t[] = {
		{ NULL, 0, 0, 70, 0 },
		{ NULL, 1, 0, 0, 1000 },
		{ NULL, 1, 1450, 5, 35 },
	};
	static const struct tx dn[] = {
		{ NULL, 0, 0, 70, 0 },
		{ NULL, 1, 0, 0, 1000 },
		{ NULL, 1, 1450, 300, 2300 },
	};
	static const struct tx cn[] = {
		{ NULL, 0, 0, -70, 0 },
		{ NULL, 1, 0, 0, -1000 },
		{ NULL, 1, 1450, -300, -2300 },
	};
	struct receipt *r;

	r = mk(RECEIPT_FISCAL_INVOICE, "USD", 85, "2019-09-19T09:23:07", 40350,
	    t, 3);
	check_receipt("FI-2", r, 322, PREV,
	    "322FISCALINVOICEUSD852019-09-19T09:23:07403507000.000100014.50535"
	    PREV, "V/IDhHKdBCnVE/iDR3DJaAmyPsCx3JAh4zh2XU7tImA=", NULL, NULL);
	unmk(r);

	r = mk(RECEIPT_CREDIT_NOTE, "USD", 85, "2020-09-19T09:23:07", -40350,
	    cn, 3);
	check_receipt("CN-2", r, 322, PREV,
	    "322CREDITNOTEUSD852020-09-19T09:23:07-40350-7000.000-100014.50-300"
	    "-2300" PREV, "F9/QB0vhxQlEF2nk+oebwP8V+qBcNlOFvoTeE/1QxPc=",
	    "vyRCBSqVMeu4RF/LvnN4lD1sKy2R+VBue2Hky64Rr0vlo1N324fPKM6CTGJYMufbcp"
	    "Mzvn4qaTZkpI66N3ihlVR/A0nWRPR07LDLOQ1wddveLX7ZfCgUKzTCoYzN8dgcF50d"
	    "KweFIL+gCe/SZIzufrmexGGyXY2G+Wa0EZyTtiPh6hnCwhCYQaw3K2pUa1p4hlcgCx"
	    "w0buq4FIvEiWbYtcjzJNZPTk2YrtZ0iFn4DM1EYjNG8LBkt2C1nC1pogIW3vJkfYVx"
	    "MC6Uz/9GgO9vn75wcMVKCsriRiyNj1wtyjDb4hk1F7oqsf+F1ZqLY3ZJltj537GOO2m"
	    "9m5eK7x3fgw==", "93D34B085461C83C");
	unmk(r);

	r = mk(RECEIPT_DEBIT_NOTE, "USD", 85, "2020-09-19T09:23:07", 40350,
	    dn, 3);
	check_receipt("DN-2", r, 322, PREV,
	    "322DEBITNOTEUSD852020-09-19T09:23:07403507000.000100014.503002300"
	    PREV, "rTnu6dMMdqCEMpdouW+Uf/y2bU9ogCA+L0+at59QepU=", NULL, NULL);
	unmk(r);
}

static void
test_panier(void)
{
	static const struct tx fi[] = { { NULL, 0, 0, 0, 581 } };
	static const struct tx cn[] = { { NULL, 0, 0, 0, -581 } };
	struct receipt *r;

	r = mk(RECEIPT_FISCAL_INVOICE, "USD", 7, "2025-05-06T12:40:34", 581,
	    fi, 1);
	/* First receipt of the day: no previous hash, NULL or "". */
	check_receipt("Panier-1", r, 24455, NULL,
	    "24455FISCALINVOICEUSD72025-05-06T12:40:345810581",
	    "oDCrjJ5wjYdt+DjjqEJ6Z9zEtjttpb5OYLlYh9Avsic=", NULL, NULL);
	check_receipt("Panier-1b", r, 24455, "",
	    "24455FISCALINVOICEUSD72025-05-06T12:40:345810581",
	    "oDCrjJ5wjYdt+DjjqEJ6Z9zEtjttpb5OYLlYh9Avsic=", NULL, NULL);
	unmk(r);
	r = mk(RECEIPT_CREDIT_NOTE, "USD", 8, "2025-05-06T12:54:46", -581, cn, 1);
	check_receipt("Panier-2", r, 24455,
	    "oDCrjJ5wjYdt+DjjqEJ6Z9zEtjttpb5OYLlYh9Avsic=",
	    "24455CREDITNOTEUSD82025-05-06T12:54:46-5810-581"
	    "oDCrjJ5wjYdt+DjjqEJ6Z9zEtjttpb5OYLlYh9Avsic=",
	    "F7ZV6q3zDkgKK2/d2970TkxtrwyyQwg9AUXeu6b1Pr8=", NULL, NULL);
	unmk(r);
}

static void
add_counter(struct counters *c, enum counter_type t, const char *cur,
    int64_t tax_id, int has_pct, int32_t pct, enum money_type mt, int64_t v)
{
	struct counter x;

	memset(&x, 0, sizeof(x));
	x.type = t;
	snprintf(x.currency, sizeof(x.currency), "%s", cur);
	x.tax_id = tax_id;
	x.has_percent = has_pct;
	x.percent = pct;
	x.money_type = mt;
	x.value = v;
	CHECK(counters_add(c, &x) == 0, "counters_add");
}

/* The spec's day example, in the spec's own order (taxID before currency). */
static void
spec_day_counters(struct counters *c)
{
	add_counter(c, COUNTER_SALE_BY_TAX, "ZWL", 1, 0, 0, 0, 2300000);
	add_counter(c, COUNTER_SALE_BY_TAX, "ZWL", 2, 1, 0, 0, 1200000);
	add_counter(c, COUNTER_SALE_BY_TAX, "USD", 3, 1, 1450, 0, 2500);
	add_counter(c, COUNTER_SALE_BY_TAX, "ZWL", 4, 1, 1500, 0, 1200);
	add_counter(c, COUNTER_SALE_TAX_BY_TAX, "USD", 4, 1, 1500, 0, 250);
	add_counter(c, COUNTER_SALE_TAX_BY_TAX, "ZWL", 4, 1, 1500, 0, 230000);
	add_counter(c, COUNTER_BALANCE_BY_MONEY_TYPE, "USD", 0, 0, 0, MONEY_CASH,
	    3700);
	add_counter(c, COUNTER_BALANCE_BY_MONEY_TYPE, "ZWL", 0, 0, 0, MONEY_CASH,
	    2000000);
	add_counter(c, COUNTER_BALANCE_BY_MONEY_TYPE, "ZWL", 0, 0, 0, MONEY_CARD,
	    1500000);
}

#define DAY_STR "321842019-09-23SALEBYTAXZWL2300000SALEBYTAXZWL0.001200000" \
	"SALEBYTAXUSD14.502500SALEBYTAXZWL15.001200SALETAXBYTAXUSD15.00250" \
	"SALETAXBYTAXZWL15.00230000BALANCEBYMONEYTYPEUSDCASH3700" \
	"BALANCEBYMONEYTYPEZWLCASH2000000BALANCEBYMONEYTYPEZWLCARD1500000"

static void
test_day(void)
{
	struct counters c;
	struct buf b;
	char hash[SHA256_B64_LEN + 1], sig[SIG_B64_MAX + 1], err[200];

	counters_init(&c);
	buf_init(&b, 8192);
	spec_day_counters(&c);
	/* Opening datetime: only its date is rendered. */
	CHECK(sigstr_day(321, 84, "2019-09-23T07:00:00", &c, &b) == 0, "day");
	CHECK_STR(buf_str(&b), DAY_STR);
	sign_sha256_b64(b.p, b.len, hash);
	CHECK_STR(hash, "pnHxEoVK8sDLkTT3kiQtP7umuR0U9v6U7m4oxjUpTXY=");
	CHECK(sign_b64(spec_key, b.p, b.len, sig, sizeof(sig), err,
	    sizeof(err)) == 0, "%s", err);
	CHECK_STR(sig,
	    "k8gqftEDNSG2bs1lmqDziPsHYXNZdaUNH3WkxJofdY8uSaRjaU6UTfOBa2BpJ8EDLTyx"
	    "gzhbGtCXfEMrfbbbN28kdNfrQPdxQYMqvoaF9Sy2nbZyVtWfunTge09aAdvCy5LshPJG"
	    "4aUi1GIHzJBrrWACVCS5L8NbT/w00hZIlbCR2KjOl7pQTWUVMD60kGE6nlBkSuGwXf3L"
	    "vOtH6Bog0Uzz33ujHBCdhzivYcumByqpljUPE1SBGvf3nmfhOFdgP3+lvt6g+Jrc1+ue"
	    "Xo0+O8RZOujOL0NqMrF703ys3m1nQvQinA4nQVwZADtEN9knAByw+ufMtdkRioOTRNOu"
	    "hw==");

	/* DAY-SRV: FDMS's string puts closing time and mode after the date. */
	buf_reset(&b);
	CHECK(sigstr_server_day(321, 84, "2019-09-23", "2019-09-23T22:21:14", 0,
	    &c, "SIG=", &b) == 0, "server day");
	CHECK_STR(buf_str(&b), "321842019-09-232019-09-23T22:21:14AUTO"
	    "SALEBYTAXZWL2300000SALEBYTAXZWL0.001200000SALEBYTAXUSD14.502500"
	    "SALEBYTAXZWL15.001200SALETAXBYTAXUSD15.00250SALETAXBYTAXZWL15.00230000"
	    "BALANCEBYMONEYTYPEUSDCASH3700BALANCEBYMONEYTYPEZWLCASH2000000"
	    "BALANCEBYMONEYTYPEZWLCARD1500000SIG=");
	buf_reset(&b);
	CHECK(sigstr_server_day(321, 84, "2019-09-23", "2019-09-23T22:21:14", 1,
	    &c, "SIG=", &b) == 0, "server day manual");
	CHECK(strstr(buf_str(&b), "MANUAL") != NULL &&
	    strstr(buf_str(&b), "SIG=") == NULL, "manual close omits signature");

	/* Empty day. */
	counters_free(&c);
	buf_reset(&b);
	CHECK(sigstr_day(10626, 17, "2024-09-02T06:00:00", &c, &b) == 0, "empty");
	CHECK_STR(buf_str(&b), "10626172024-09-02");
	sign_sha256_b64(b.p, b.len, hash);
	CHECK_STR(hash, "vi9+Dvh6hl8GEHGljbPjjD8B4zeBOY5HiaO+Y82ViEk=");
	buf_free(&b);
}

/*
 * DAY-SRV, spec §13.3.2: FDMS's day signature over its own counters (USD
 * at 15.00 here, balances in the spec's order) and the device signature.
 * The printed hash was computed over the string with the "USDLCASH"
 * typo; ours differs from it by exactly that one letter.
 */
static void
test_day_srv(void)
{
	static const char *dev_sig = "YyXTSizBBrMjMk4VQL+sCNr+2AC6aQbDAn9JMV2rk3y"
	    "J6MDZwie0wqQW3oisNWrMkeZsuAyFSnFkU2A+pKm91sOHVdjeRBebjQgAQQIMTCVIcY"
	    "rx+BizQ7Ib9iCdsVI+Jel2nThqQiQzfRef6EgtgsaIAN+PV55xSrHvPkIe+Bc=";
	struct counters c;
	struct buf b, typo;
	char hash[SHA256_B64_LEN + 1];
	const char *cash;

	counters_init(&c);
	add_counter(&c, COUNTER_SALE_BY_TAX, "ZWL", 1, 0, 0, 0, 2300000);
	add_counter(&c, COUNTER_SALE_BY_TAX, "ZWL", 2, 1, 0, 0, 1200000);
	add_counter(&c, COUNTER_SALE_BY_TAX, "USD", 3, 1, 1500, 0, 2500);
	add_counter(&c, COUNTER_SALE_BY_TAX, "ZWL", 4, 1, 1500, 0, 1200);
	add_counter(&c, COUNTER_SALE_TAX_BY_TAX, "USD", 4, 1, 1500, 0, 250);
	add_counter(&c, COUNTER_SALE_TAX_BY_TAX, "ZWL", 4, 1, 1500, 0, 230000);
	add_counter(&c, COUNTER_BALANCE_BY_MONEY_TYPE, "ZWL", 0, 0, 0, MONEY_CARD,
	    1500000);
	add_counter(&c, COUNTER_BALANCE_BY_MONEY_TYPE, "USD", 0, 0, 0, MONEY_CASH,
	    3700);
	add_counter(&c, COUNTER_BALANCE_BY_MONEY_TYPE, "ZWL", 0, 0, 0, MONEY_CASH,
	    2000000);
	buf_init(&b, 8192);
	buf_init(&typo, 8192);
	CHECK(sigstr_server_day(321, 84, "2019-09-23T06:00:00",
	    "2019-09-23T22:21:14", 0, &c, dev_sig, &b) == 0, "server day");
	CHECK(strncmp(buf_str(&b), "321842019-09-232019-09-23T22:21:14AUTO"
	    "SALEBYTAXZWL2300000", 57) == 0, "DAY-SRV head: %.60s", buf_str(&b));
	cash = strstr(buf_str(&b), "BALANCEBYMONEYTYPEUSDCASH");
	CHECK(cash != NULL, "USD cash counter");
	if (cash != NULL) {
		size_t at = (size_t)(cash - b.p) + strlen("BALANCEBYMONEYTYPEUSD");

		buf_add(&typo, b.p, at);
		buf_adds(&typo, "L");
		buf_adds(&typo, b.p + at);
		sign_sha256_b64(typo.p, typo.len, hash);
		CHECK_STR(hash, "nlqwrAoFAmXLfuMJlQTdS2m0B4d5X1sTJ2gPo5/Dq+s=");
	}
	buf_free(&typo);
	buf_free(&b);
	counters_free(&c);
}

static void
test_server_receipt(void)
{
	struct buf b;
	char hash[SHA256_B64_LEN + 1];

	buf_init(&b, 4096);
	CHECK(sigstr_server_receipt("YyXTSizBBrMjMk4VQL+sCNr+2AC6aQbDAn9JMV2rk3y"
	    "J6MDZwie0wqQW3oisNWrMkeZsuAyFSnFkU2A+pKm91sOHVdjeRBebjQgAQQIMTCVIcY"
	    "rx+BizQ7Ib9iCdsVI+Jel2nThqQiQzfRef6EgtgsaIAN+PV55xSrHvPkIe+Bc=",
	    48377, "2019-09-19T15:43:12", &b) == 0, "server receipt");
	sign_sha256_b64(b.p, b.len, hash);
	CHECK_STR(hash, "JQoIo/AgOsvm+PUQpvlQ/U7YMei3m/jbygNrBVfz6Sg=");
	buf_free(&b);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *p;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	p = malloc((size_t)n + 1);
	if (p != NULL && fread(p, 1, (size_t)n, fp) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(fp);
	if (p != NULL) {
		p[n] = '\0';
		*len = (size_t)n;
	}
	return p;
}

/* §8 end to end: JSON text -> model -> string, hash, QR, day string. */
static void
test_section8(void)
{
	struct findings f;
	struct receipt *r;
	struct counters c;
	struct buf b;
	cJSON *root;
	char *text, hash[SHA256_B64_LEN + 1], sig[SIG_B64_MAX + 1], err[200];
	char qr[256];
	size_t len = 0;

	findings_clear(&f);
	text = slurp("tests/data/section8.json", &len);
	CHECK(text != NULL, "tests/data/section8.json missing");
	if (text == NULL)
		return;
	root = jsonrx_parse(text, len, JSONRX_MAX_SIZE, &f);
	CHECK(root != NULL, "parse: %s", f.n ? f.v[0].message : "?");
	r = root ? receipt_from_tree(root, &f) : NULL;
	CHECK(r != NULL, "model: %s %s", f.n ? f.v[0].path : "",
	    f.n ? f.v[0].message : "?");
	if (r == NULL)
		goto out;
	CHECK_INT(r->device_id, 12345);
	CHECK_INT(r->lines[1].price, 11550000);
	CHECK_INT(r->lines[1].tax_percent, 1550);
	CHECK_INT(r->total, 1655);
	buf_init(&b, 4096);
	CHECK(sigstr_receipt(r, r->device_id, NULL, &b) == 0, "sigstr");
	CHECK_STR(buf_str(&b),
	    "12345FISCALINVOICEUSD1012026-03-02T10:15:001655050015.501551155");
	sign_sha256_b64(b.p, b.len, hash);
	CHECK_STR(hash, "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=");
	CHECK(sign_b64(spec_key, b.p, b.len, sig, sizeof(sig), err,
	    sizeof(err)) == 0, "%s", err);
	CHECK(qr_data("https://fdmstest.zimra.co.zw", 12345, r->date, 101, sig,
	    qr, sizeof(qr)) == 0, "qr");
	{
		const char *want = "https://fdmstest.zimra.co.zw/0000012345"
		    "020320260000000101";
		char hex[QR_HEX_LEN + 1];

		CHECK(qr_md5_hex16(sig, hex) == 0, "md5");
		CHECK(strncmp(qr, want, strlen(want)) == 0 &&
		    strcmp(qr + strlen(want), hex) == 0, "qr = %s", qr);
	}

	counters_init(&c);
	CHECK(counters_add_receipt(&c, r) == 0, "counters");
	counters_finish(&c);
	CHECK_INT(c.n, 4);	/* exempt SaleTaxByTax is zero: omitted */
	buf_reset(&b);
	CHECK(sigstr_day(12345, 7, "2026-03-02T08:00:00", &c, &b) == 0, "day");
	CHECK_STR(buf_str(&b), "1234572026-03-02SALEBYTAXUSD500SALEBYTAXUSD15.50"
	    "1155SALETAXBYTAXUSD15.50155BALANCEBYMONEYTYPEUSDCASH1655");
	sign_sha256_b64(b.p, b.len, hash);
	CHECK_STR(hash, "ZHBVa2irjfWJRF5b70fM6xd7ValdwNqqXy+Ees5usxU=");
	counters_free(&c);
	buf_free(&b);
	receipt_free(r);
out:
	cJSON_Delete(root);
	free(text);
}

static void
test_qr(void)
{
	char out[128], code[QR_CODE_LEN + 1];
	/* 4C8BE27663330417 is the spec's printed example: any signature works
	 * for the layout, so check layout and the "//" rule here. */
	const char *sig = "AAEC";

	CHECK(qr_data("https://invoice.zimra.co.zw/", 321, "2023-04-03T11:12:22",
	    1112223331, sig, out, sizeof(out)) == 0, "qr");
	CHECK(strncmp(out, "https://invoice.zimra.co.zw/00000003210304202311122233"
	    "31", 56) == 0 && strlen(out) == 56 + 16, "qr layout: %s", out);
	CHECK(strstr(out, "//0") == NULL, "no double slash: %s", out);
	CHECK(qr_verification_code(sig, code) == 0, "code");
	CHECK(strlen(code) == 19 && code[4] == '-' && code[9] == '-' &&
	    code[14] == '-', "code layout %s", code);
	CHECK(strncmp(out + 56, code, 4) == 0 && strncmp(out + 60, code + 5, 4) == 0
	    && strncmp(out + 64, code + 10, 4) == 0 &&
	    strncmp(out + 68, code + 15, 4) == 0, "code matches QR tail");
	CHECK(qr_data("u", 321, "bad", 1, sig, out, sizeof(out)) == -1, "bad date");
	CHECK(qr_data("u", 321, "2023-04-03T11:12:22", 1, "***", out,
	    sizeof(out)) == -1, "bad signature");
	CHECK(qr_data("u", 321, "2023-04-03T11:12:22", 1, sig, out, 10) == -1,
	    "short buffer");
}

int
main(void)
{
	size_t len = 0;
	char *pem = slurp("tests/data/spec-example-rsa2048.pem", &len);
	char err[256];

	CHECK(pem != NULL, "spec key missing");
	if (pem == NULL)
		return tap_done();
	spec_key = sigkey_load_private(pem, len, NULL, err, sizeof(err));
	CHECK(spec_key != NULL, "spec key: %s", err);
	free(pem);
	if (spec_key == NULL)
		return tap_done();
	test_fi1_cn1_dn1();
	test_fi2_cn2_dn2();
	test_panier();
	test_day();
	test_server_receipt();
	test_day_srv();
	test_section8();
	test_qr();
	sigkey_free(spec_key);
	return tap_done();
}
