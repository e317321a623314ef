#!/usr/bin/env python3
"""Tests of fdms-sim, against a real simulator process.

    python3 tests/fdms-sim/test_sim.py [-v]

One shared simulator (free port, temporary state directory, close delay
0.2 s) serves most tests; each test uses fresh device IDs so tests do not
depend on each other. Restart, --config/--devices and --fault tests start
their own processes. Receipts, signature strings, counters and CSRs are
built by testkit.py, an implementation independent of the simulator's sim/
package, checked here against the worked examples of fdms-reference 4.6.
"""
import base64
import datetime
import decimal
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import testkit as tk  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

D = decimal.Decimal
PREV = "hNVJXP/ACOiE8McD3pKsDlqBXpuaUqQOfPnMyfZWI9k="
OPID = re.compile(r"^0HN[0-9A-V]{10}:[0-9A-F]{8}$")
SIM = None
TMP = None
_next = [1000]


def setUpModule():
    global SIM, TMP
    warnings.filterwarnings("ignore", category=ResourceWarning)
    TMP = tempfile.mkdtemp(prefix="fdms-sim-test-")
    SIM = tk.SimProcess(os.path.join(TMP, "state"), "--close-delay-s", "0.2")


def tearDownModule():
    rc = SIM.stop()
    shutil.rmtree(TMP, ignore_errors=True)
    if rc != 0:
        raise RuntimeError("simulator exited with %s" % rc)


def new_id():
    _next[0] += 1
    return _next[0]


def codes(resp):
    return {e["validationErrorCode"]: e["validationErrorColor"]
            for e in resp.json["validationErrors"]}


def sim_call(method, path, body=None):
    c = SIM.client()
    try:
        return c.request(method, "/_sim/" + path, body, headers={})
    finally:
        c.close()


class Base(unittest.TestCase):
    sim = None

    def simproc(self):
        return self.sim or SIM

    def tearDown(self):
        for d in getattr(self, "_devices", []):
            d.close()

    def device(self, kind="ecdsa", register=True, opened=None, open_day=True, serial=None):
        wd = tempfile.mkdtemp(dir=TMP)
        d = tk.DeviceKit(self.simproc(), new_id(), serial=serial, kind=kind, workdir=wd)
        self.__dict__.setdefault("_devices", []).append(d)
        if register:
            r = d.register()
            self.assertEqual(r.status, 200, r)
        if register and open_day:
            r = d.open_day(opened or tk.now_local() - datetime.timedelta(minutes=5))
            self.assertEqual(r.status, 200, r)
        return d

    def good(self, d, lines=None, **kw):
        rc = d.make(lines or [("Bread", "5.00", "1", 1, None),
                              ("Soap", "11.55", "1", 517, "15.5")], **kw)
        r = d.submit(rc)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["validationErrors"], [], r)
        return rc, r

    def problem(self, r, status, code=None):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json["status"], status)
        if code:
            self.assertEqual(r.json["errorCode"], code, r)
        self.assertTrue(OPID.match(r.json["operationID"]), r.json)
        self.assertEqual(r.headers.get("operationid"), r.json["operationID"])


# ====================================================================== vectors

FI1_TAXES = [
    {"taxCode": "A", "taxID": 1, "taxAmount": D("0"), "salesAmountWithTax": D("2500.00")},
    {"taxCode": "B", "taxPercent": D("0"), "taxID": 2, "taxAmount": D("0"),
     "salesAmountWithTax": D("3500.00")},
    {"taxCode": "D", "taxPercent": D("15"), "taxID": 3, "taxAmount": D("300.00"),
     "salesAmountWithTax": D("2300.00")},
    {"taxCode": "C", "taxPercent": D("15"), "taxID": 3, "taxAmount": D("150.00"),
     "salesAmountWithTax": D("1150.00")},
]


def negate(taxes):
    return [dict(t, taxAmount=-t["taxAmount"], salesAmountWithTax=-t["salesAmountWithTax"])
            for t in taxes]


RECEIPT_VECTORS = [
    # (name, device, type, currency, globalNo, date, total, taxes, prev, hash)
    ("FI-1", 321, "FiscalInvoice", "ZWL", 432, "2019-09-19T15:43:12", D("9450.00"), FI1_TAXES,
     PREV, "eHAAOVqxrRVRliVOsik4sONXJ10nckqCWIhPyoMyguM="),
    ("CN-1", 321, "CreditNote", "ZWL", 432, "2020-09-19T15:43:12", D("-9450.00"),
     negate(FI1_TAXES), PREV, "vtYlyJzJGgZvxcdiuckVSTqxn4iIFHJj6ub/zHkvA00="),
    ("DN-1", 321, "DebitNote", "ZWL", 432, "2020-09-19T15:43:12", D("9450.00"), FI1_TAXES,
     PREV, "w2NMJKYPItCR/jR4a8Toc1EeXGw1ZkaZdNkNLSNArow="),
    ("Panier-1", 24455, "FiscalInvoice", "USD", 7, "2025-05-06T12:40:34", D("5.81"),
     [{"taxID": 1, "taxAmount": D("0"), "salesAmountWithTax": D("5.81")}], None,
     "oDCrjJ5wjYdt+DjjqEJ6Z9zEtjttpb5OYLlYh9Avsic="),
    ("Panier-2", 24455, "CreditNote", "USD", 8, "2025-05-06T12:54:46", D("-5.81"),
     [{"taxID": 1, "taxAmount": D("0"), "salesAmountWithTax": D("-5.81")}],
     "oDCrjJ5wjYdt+DjjqEJ6Z9zEtjttpb5OYLlYh9Avsic=",
     "F7ZV6q3zDkgKK2/d2970TkxtrwyyQwg9AUXeu6b1Pr8="),
]

DAY_SPEC_ORDER = [  # the spec's DAY example, in its own (non-canonical) order, no "L"
    ((0, "ZWL", 1, None), D("23000.00")), ((0, "ZWL", 2, D("0")), D("12000.00")),
    ((0, "USD", 3, D("14.5")), D("25.00")), ((0, "ZWL", 3, D("15")), D("12.00")),
    ((1, "USD", 3, D("15")), D("2.50")), ((1, "ZWL", 3, D("15")), D("2300.00")),
    ((6, "USD", 0, None), D("37.00")), ((6, "ZWL", 0, None), D("20000.00")),
    ((6, "ZWL", 1, None), D("15000.00")),
]

SEC8_LINES = [
    {"receiptLineType": "Sale", "receiptLineNo": 1, "receiptLineHSCode": "12345678",
     "receiptLineName": "Bread", "receiptLinePrice": D("5.00"), "receiptLineQuantity": D("1"),
     "receiptLineTotal": D("5.00"), "taxID": 1},
    {"receiptLineType": "Sale", "receiptLineNo": 2, "receiptLineHSCode": "87654321",
     "receiptLineName": "Soap", "receiptLinePrice": D("11.55"), "receiptLineQuantity": D("1"),
     "receiptLineTotal": D("11.55"), "taxPercent": D("15.5"), "taxID": 517},
]


class TestVectors(unittest.TestCase):
    """The test's own builders against fdms-reference 4.6 and 8."""

    def test_receipt_vectors(self):
        for name, dev, rt, cur, g, date, total, taxes, prev, want in RECEIPT_VECTORS:
            with self.subTest(name):
                s = tk.receipt_string(dev, rt, cur, g, date, total, taxes, prev)
                self.assertEqual(tk.sha_b64(s), want, s)

    def test_fi1_string(self):
        s = tk.receipt_string(321, "FiscalInvoice", "ZWL", 432, "2019-09-19T15:43:12",
                              D("9450.00"), FI1_TAXES, PREV)
        self.assertEqual(s, "321FISCALINVOICEZWL4322019-09-19T15:43:12945000A0250000B0.000350000"
                            "C15.0015000115000D15.0030000230000" + PREV)

    def test_literal_vectors(self):
        cn2 = ("322CREDITNOTEUSD852020-09-19T09:23:07-40350-7000.000-100014.50-300-2300" + PREV)
        self.assertEqual(tk.sha_b64(cn2), "F9/QB0vhxQlEF2nk+oebwP8V+qBcNlOFvoTeE/1QxPc=")
        srv = ("YyXTSizBBrMjMk4VQL+sCNr+2AC6aQbDAn9JMV2rk3yJ6MDZwie0wqQW3oisNWrMkeZsuAyFSnFkU2A+pKm91"
               "sOHVdjeRBebjQgAQQIMTCVIcYrx+BizQ7Ib9iCdsVI+Jel2nThqQiQzfRef6EgtgsaIAN+PV55xSrHvPkIe+Bc="
               "483772019-09-19T15:43:12")
        self.assertEqual(tk.sha_b64(srv), "JQoIo/AgOsvm+PUQpvlQ/U7YMei3m/jbygNrBVfz6Sg=")

    def test_day_vectors(self):
        s = tk.day_string(321, 84, "2019-09-23", DAY_SPEC_ORDER)
        self.assertEqual(tk.sha_b64(s), "pnHxEoVK8sDLkTT3kiQtP7umuR0U9v6U7m4oxjUpTXY=", s)
        self.assertEqual(tk.sha_b64("10626172024-09-02"),
                         "vi9+Dvh6hl8GEHGljbPjjD8B4zeBOY5HiaO+Y82ViEk=")
        self.assertEqual(tk.day_string(10626, 17, "2024-09-02", []), "10626172024-09-02")

    def test_section8_example(self):
        taxes = tk.group_taxes(SEC8_LINES, True)
        self.assertEqual(taxes[1]["taxAmount"], D("1.55"))
        s = tk.receipt_string(12345, "FiscalInvoice", "USD", 101, "2026-03-02T10:15:00",
                              D("16.55"), taxes, None)
        self.assertEqual(s, "12345FISCALINVOICEUSD1012026-03-02T10:15:001655050015.501551155")
        self.assertEqual(tk.sha_b64(s), "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=")
        rc = {"receiptType": "FiscalInvoice", "receiptCurrency": "USD", "receiptTaxes": taxes,
              "receiptPayments": [{"moneyTypeCode": "Cash", "paymentAmount": D("16.55")}]}
        day = tk.day_string(12345, 7, "2026-03-02", tk.day_counters([rc]))
        self.assertEqual(day, "1234572026-03-02SALEBYTAXUSD500SALEBYTAXUSD15.501155"
                              "SALETAXBYTAXUSD15.50155BALANCEBYMONEYTYPEUSDCASH1655")
        self.assertEqual(tk.sha_b64(day), "ZHBVa2irjfWJRF5b70fM6xd7ValdwNqqXy+Ees5usxU=")

    def test_half_even_per_group(self):
        # 0.25 x 10% exclusive = 0.025 -> 0.02 (half-even), not 0.03
        lines = [{"receiptLineTotal": D("0.25"), "taxID": 9, "taxPercent": D("10")}]
        self.assertEqual(tk.group_taxes(lines, False)[0]["taxAmount"], D("0.02"))
        # per group: 3 x 0.10 at 15% inclusive: per line 0.01 each (0.03), per group 0.04
        lines = [{"receiptLineTotal": D("0.10"), "taxID": 3, "taxPercent": D("15")}] * 3
        self.assertEqual(tk.group_taxes(lines, True)[0]["taxAmount"], D("0.04"))


class TestSimModuleVectors(unittest.TestCase):
    """The simulator's own signing/counters modules against the same vectors."""

    @classmethod
    def setUpClass(cls):
        from sim import counters, signing
        cls.signing, cls.counters = signing, counters

    def test_receipts(self):
        for name, dev, rt, cur, g, date, total, taxes, prev, want in RECEIPT_VECTORS:
            with self.subTest(name):
                r = {"receiptType": rt, "receiptCurrency": cur, "receiptGlobalNo": g,
                     "receiptDate": date, "receiptTotal": total, "receiptTaxes": taxes}
                s = self.signing.receipt_string(dev, r, prev)
                self.assertEqual(base64.b64encode(self.signing.sha256(s)).decode(), want)

    def test_day_and_counters(self):
        taxes = tk.group_taxes(SEC8_LINES, True)
        rc = {"receiptType": "FiscalInvoice", "receiptCurrency": "USD", "receiptTaxes": taxes,
              "receiptPayments": [{"moneyTypeCode": "Cash", "paymentAmount": D("16.55")}]}
        own = self.counters.compute([rc])
        s = self.signing.day_string(12345, 7, "2026-03-02", own)
        self.assertEqual(base64.b64encode(self.signing.sha256(s)).decode(),
                         "ZHBVa2irjfWJRF5b70fM6xd7ValdwNqqXy+Ees5usxU=")

    def test_canonical_order_two_currencies(self):
        mk = lambda t, cur, tid=None, p=None, mt=None, v="1.00": dict(  # noqa: E731
            fiscalCounterType=t, fiscalCounterCurrency=cur, fiscalCounterTaxID=tid,
            fiscalCounterTaxPercent=p, fiscalCounterMoneyType=mt, fiscalCounterValue=D(v))
        cs = [mk("BalanceByMoneyType", "USD", mt="Card"), mk("BalanceByMoneyType", "USD", mt="Cash"),
              mk("SaleTaxByTax", "USD", 3, D(15)), mk("SaleByTax", "ZWG", 1),
              mk("SaleByTax", "USD", 3, D(15)), mk("SaleByTax", "USD", 1),
              mk("SaleByTax", "USD", 2, D(0), v="0.00")]
        got = [(c["fiscalCounterType"], c["fiscalCounterCurrency"], c["fiscalCounterTaxID"],
                c["fiscalCounterMoneyType"]) for c in self.counters.canonical(cs)]
        self.assertEqual(got, [("SaleByTax", "USD", 1, None), ("SaleByTax", "USD", 3, None),
                               ("SaleByTax", "ZWG", 1, None), ("SaleTaxByTax", "USD", 3, None),
                               ("BalanceByMoneyType", "USD", None, "Cash"),
                               ("BalanceByMoneyType", "USD", None, "Card")])

    def test_fault_grammar(self):
        from sim import faults
        r = faults.Rule("SubmitReceipt@42:3=500")
        self.assertEqual((r.endpoint, r.device, r.lo, r.hi, r.status), ("SubmitReceipt", 42, 3, 3, 500))
        self.assertEqual(faults.Rule("2+=429").arg, 1)
        self.assertEqual(faults.Rule("*=hang").arg, 60000)
        self.assertEqual(faults.Rule("ping:%3=drop").every, 3)
        self.assertEqual(faults.Rule("1-5=503/9").arg, 9)
        r = faults.Rule("1=close-fail/BadCertificateSignature")
        self.assertEqual((r.endpoint, r.action, r.arg),
                         ("CloseDay", "close-fail", "BadCertificateSignature"))
        r = faults.Rule("SubmitReceipt:1=redirect")
        self.assertEqual((r.action, r.status), ("redirect", 307))
        self.assertEqual(faults.Rule("*=redirect/301").status, 301)
        for bad in ("Nope:1=500", "0=500", "3=200", "1=explode", "5-2=500", "3",
                    "1=close-fail/Nope", "Ping:1=close-fail/InternalError",
                    "1=redirect/200", "1=redirect/404"):
            with self.subTest(bad), self.assertRaises(faults.FaultError):
                faults.Rule(bad)


# ====================================================================== process basics

class TestProcess(Base):
    def test_ready_line(self):
        self.assertRegex(SIM.ready_line, r"^READY https://127\.0\.0\.1:\d+ ca=/.*/ca\.pem$")
        self.assertTrue(os.path.exists(SIM.ca))

    def test_usage_errors(self):
        import subprocess
        for args in (["--state", TMP], ["--listen", "127.0.0.1:0", "--state", TMP, "--fault", "x"],
                     ["--listen", "nope", "--state", TMP]):
            p = subprocess.run([sys.executable, tk.SIM] + args, capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stderr))

    def test_operation_ids_and_routing(self):
        c = SIM.client()
        r1 = c.request("GET", "/Public/v1/GetServerCertificate")
        r2 = c.request("GET", "/public/v1/getservercertificate")
        self.assertEqual((r1.status, r2.status), (200, 200))
        for r in (r1, r2):
            self.assertTrue(OPID.match(r.json["operationID"]))
            self.assertEqual(r.headers["operationid"], r.json["operationID"])
        # same connection: same connection ID, request number + 1
        self.assertEqual(r1.json["operationID"][:13], r2.json["operationID"][:13])
        self.assertEqual(int(r2.json["operationID"][14:], 16), int(r1.json["operationID"][14:], 16) + 1)
        self.problem(c.request("GET", "/Device/v1/5/NoSuchThing"), 404)
        r = c.request("GET", "/Public/v1/5/RegisterDevice")
        self.problem(r, 405)
        self.assertEqual(r.headers.get("allow"), "POST")
        self.problem(c.request("POST", "/Public/v1/GetServerCertificate"), 405)
        self.problem(c.request("POST", "/Public/v1/abc/VerifyTaxpayerInformation", {}), 400)

    def test_keep_alive(self):
        c = SIM.client()
        c.request("GET", "/Public/v1/GetServerCertificate")
        sock = c.conn.sock
        for _ in range(5):
            self.assertEqual(c.request("GET", "/Public/v1/GetServerCertificate").status, 200)
        self.assertIs(c.conn.sock, sock)


# ====================================================================== certificates

class TestServerCertificate(Base):
    def test_chain_and_thumbprint(self):
        r = SIM.client().request("GET", "/Public/v1/GetServerCertificate", headers={})
        self.assertEqual(r.status, 200)
        leaf = x509.load_pem_x509_certificate(r.json["certificate"][0].encode())
        ca = x509.load_pem_x509_certificate(r.json["certificate"][1].encode())
        with open(SIM.ca, "rb") as f:
            self.assertEqual(ca, x509.load_pem_x509_certificate(f.read()))
        ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes,
                               ec.ECDSA(leaf.signature_hash_algorithm))
        self.assertRegex(r.json["certificateValidTill"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
        thumb = hashlib.sha1(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()
        c = SIM.client()
        self.assertEqual(c.request("GET", "/Public/v1/GetServerCertificate?thumbprint=" + thumb,
                                   headers={}).status, 200)
        self.assertEqual(c.request("GET", "/Public/v1/GetServerCertificate?thumbprint="
                                   + thumb.upper(), headers={}).status, 200)
        self.problem(c.request("GET", "/Public/v1/GetServerCertificate?thumbprint=" + "0" * 40,
                               headers={}), 404)

    def test_server_cert_names(self):
        ctx = ssl.create_default_context(cafile=SIM.ca)
        for host in ("localhost", "127.0.0.1"):
            conn = http.client.HTTPSConnection(host, SIM.port, context=ctx, timeout=10)
            conn.request("GET", "/Public/v1/GetServerCertificate")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()


class TestRegistration(Base):
    def test_verify_taxpayer(self):
        d = self.device(register=False)
        c = d.public
        r = c.request("POST", "/Public/v1/%d/VerifyTaxpayerInformation" % d.id,
                      {"activationKey": "testkey1", "deviceSerialNo": d.serial}, headers={})
        self.assertEqual(r.status, 200, r)
        for k in ("taxPayerName", "taxPayerTIN", "vatNumber", "deviceBranchName",
                  "deviceBranchAddress"):
            self.assertIn(k, r.json)
        r = c.request("POST", "/Public/v1/%d/VerifyTaxpayerInformation" % d.id,
                      {"activationKey": "WRONGKEY", "deviceSerialNo": d.serial}, headers={})
        self.problem(r, 422, "DEV02")
        # the serial is now bound: a CSR with another serial is refused
        other = tk.make_csr(d.key, tk.cn_for("OTHER", d.id))
        self.problem(d.register(csr=other), 422, "DEV03")
        self.assertEqual(d.register().status, 200)

    def test_register_ecdsa_and_certificate(self):
        d = self.device(open_day=False)
        cert = x509.load_pem_x509_certificate(d.cert_pem.encode())
        self.assertEqual(cert.version, x509.Version.v3)
        self.assertEqual(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
                         tk.cn_for(d.serial, d.id))
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        self.assertIn(ExtendedKeyUsageOID.CLIENT_AUTH, list(eku))
        life = (getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after) - \
            (getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)
        self.assertTrue(datetime.timedelta(days=364) < life < datetime.timedelta(days=367), life)
        with open(SIM.ca, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                               ec.ECDSA(cert.signature_hash_algorithm))
        self.assertEqual(d.call("GET", "GetConfig").status, 200)

    def test_register_rsa(self):
        d = self.device(kind="rsa", open_day=False)
        self.assertIsInstance(x509.load_pem_x509_certificate(d.cert_pem.encode()).public_key(),
                              rsa.RSAPublicKey)
        d.open_day()
        self.good(d)

    def test_activation_key(self):
        d = self.device(register=False)
        self.problem(d.register(key="NOTRIGHT"), 422, "DEV02")
        self.assertEqual(d.register(key="testKey1").status, 200)

    def test_csr_rules(self):
        d = self.device(register=False)
        Z = NameOID
        cases = [
            ("padding", tk.make_csr(d.key, "ZIMRA-%s-%d" % (d.serial, d.id))),
            ("other id", tk.make_csr(d.key, tk.cn_for(d.serial, d.id + 1))),
            ("no hyphen", tk.make_csr(d.key, "ZIMRA-%s%010d" % (d.serial, d.id))),
            ("ST default", tk.make_csr(d.key, tk.cn_for(d.serial, d.id),
                                       extra=[(Z.STATE_OR_PROVINCE_NAME, "Some-State")])),
            ("OU", tk.make_csr(d.key, tk.cn_for(d.serial, d.id),
                               extra=[(Z.ORGANIZATIONAL_UNIT_NAME, "FDMS")])),
            ("C", tk.make_csr(d.key, tk.cn_for(d.serial, d.id), extra=[(Z.COUNTRY_NAME, "ZA")])),
            ("RSA-1024", tk.make_csr(tk.make_key("rsa", 1024), tk.cn_for(d.serial, d.id))),
            ("P-384", tk.make_csr(tk.make_key("ecdsa", curve=ec.SECP384R1()),
                                  tk.cn_for(d.serial, d.id), hash_alg=hashes.SHA256())),
            ("SHA-384", tk.make_csr(d.key, tk.cn_for(d.serial, d.id), hash_alg=hashes.SHA384())),
            ("garbage", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
            ("not PEM", "hello"),
        ]
        for name, csr in cases:
            with self.subTest(name):
                self.problem(d.register(csr=csr), 422, "DEV03")
        ok = tk.make_csr(d.key, tk.cn_for(d.serial, d.id),
                         extra=[(Z.COUNTRY_NAME, "ZW"), (Z.ORGANIZATION_NAME, "Zimbabwe Revenue Authority"),
                                (Z.STATE_OR_PROVINCE_NAME, "Zimbabwe")])
        self.assertEqual(d.register(csr=ok).status, 200)

    def test_serial_with_space(self):
        d = self.device(serial="SN: 001", open_day=False)
        self.assertEqual(d.call("GET", "GetConfig").json["deviceSerialNo"], "SN: 001")

    def test_register_headers(self):
        d = self.device(register=False)
        r = d.register(headers={"DeviceModelName": "Server"})
        self.problem(r, 400)
        self.assertIn("DeviceModelVersion", r.json["errors"])
        self.problem(d.register(headers={"DeviceModelName": "Other", "DeviceModelVersion": "v1"}),
                     422, "DEV06")

    def test_issue_certificate(self):
        d = self.device(open_day=False)
        old_cert, old_key = d.cert_pem, d.key
        old_files = (d.certfile + ".old", d.keyfile + ".old")
        shutil.copy(d.certfile, old_files[0])
        shutil.copy(d.keyfile, old_files[1])
        key2 = tk.make_key("rsa")
        r = d.call("POST", "IssueCertificate",
                   {"certificateRequest": tk.make_csr(key2, tk.cn_for(d.serial, d.id))})
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.json["certificate"], old_cert)
        d.set_cert(r.json["certificate"], key2)
        self.assertEqual(d.call("GET", "GetConfig").status, 200)
        old = SIM.client(*old_files)
        self.assertEqual(old.request("GET", "/Device/v1/%d/GetConfig" % d.id).status, 200,
                         "replaced certificate stays valid until it expires")
        bad = tk.make_csr(key2, tk.cn_for("OTHER", d.id))
        self.problem(d.call("POST", "IssueCertificate", {"certificateRequest": bad}), 422, "DEV03")
        # receipts signed with the new key verify
        d.open_day()
        self.good(d)
        del old_key

    def test_reregistration_revokes(self):
        d = self.device(open_day=False)
        shutil.copy(d.certfile, d.certfile + ".old")
        shutil.copy(d.keyfile, d.keyfile + ".old")
        self.assertEqual(d.register().status, 200)
        old = SIM.client(d.certfile + ".old", d.keyfile + ".old")
        self.problem(old.request("GET", "/Device/v1/%d/GetConfig" % d.id), 401)
        self.assertEqual(d.call("GET", "GetConfig").status, 200)


class TestMutualTLS(Base):
    def test_no_client_certificate(self):
        d = self.device(open_day=False)
        for method, name in (("GET", "GetConfig"), ("GET", "GetStatus"), ("POST", "Ping"),
                             ("POST", "OpenDay"), ("POST", "SubmitReceipt")):
            with self.subTest(name):
                r = d.public.request(method, "/Device/v1/%d/%s" % (d.id, name), {} if method == "POST" else None)
                self.problem(r, 401)

    def test_other_devices_certificate(self):
        a = self.device(open_day=False)
        b = self.device(open_day=False)
        r = a.conn().request("GET", "/Device/v1/%d/GetConfig" % b.id)
        self.problem(r, 401)
        self.problem(a.conn().request("GET", "/Device/v1/999999/GetStatus"), 401)

    def test_revoked(self):
        d = self.device(open_day=False)
        self.assertEqual(d.call("GET", "GetConfig").status, 200)
        self.assertEqual(sim_call("POST", "revoke/%d" % d.id).status, 200)
        self.problem(d.call("GET", "GetConfig"), 401)

    def test_expired(self):
        self.assertEqual(sim_call("POST", "settings", {"certValiditySeconds": 1}).status, 200)
        try:
            d = self.device(open_day=False)
        finally:
            sim_call("POST", "settings", {"certValiditySeconds": 365 * 86400})
        time.sleep(2.2)
        r = d.call("GET", "GetConfig")
        self.problem(r, 401)
        self.assertIn("expired", r.json["detail"])

    def test_foreign_ca_fails_handshake(self):
        key = tk.make_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, tk.cn_for("X", 5))])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(7)
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
        cf, kf = os.path.join(TMP, "foreign.pem"), os.path.join(TMP, "foreign-key.pem")
        with open(cf, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(kf, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        c = SIM.client(cf, kf, timeout=5)
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            c.request("GET", "/Device/v1/5/GetConfig")

    def test_model_headers(self):
        d = self.device(open_day=False)
        r = d.call("GET", "GetConfig", headers={})
        self.problem(r, 400)
        self.assertIn("DeviceModelName", r.json["errors"])
        self.problem(d.call("GET", "GetConfig", headers={"DeviceModelName": "Server",
                                                          "DeviceModelVersion": "v2"}), 422, "DEV06")
        self.problem(d.call("POST", "Ping", headers={"DeviceModelName": "POS",
                                                      "DeviceModelVersion": "v1"}), 422, "DEV06")


# ====================================================================== config, status, ping

class TestConfig(Base):
    def test_default_config(self):
        d = self.device(open_day=False)
        r = d.call("GET", "GetConfig")
        c = r.json
        self.assertEqual(r.status, 200)
        self.assertEqual(c["deviceOperatingMode"], "Online")
        self.assertEqual(c["qrUrl"], "https://fdmstest.zimra.co.zw")
        self.assertEqual((c["taxPayerDayMaxHrs"], c["taxpayerDayEndNotificationHrs"]), (24, 2))
        self.assertTrue(c["vatNumber"])
        self.assertEqual(c["deviceSerialNo"], d.serial)
        taxes = {t["taxID"]: t.get("taxPercent") for t in c["applicableTaxes"]}
        self.assertEqual(taxes, {1: None, 2: 0, 3: 15, 517: D("15.5"), 514: 5})
        valid_till = datetime.datetime.strptime(c["certificateValidTill"], "%Y-%m-%dT%H:%M:%S")
        self.assertGreater(valid_till, datetime.datetime.now() + datetime.timedelta(days=300))

    def test_device_override(self):
        d = self.device(open_day=False)
        r = sim_call("PUT", "config/%d" % d.id, {"vatNumber": "", "qrUrl": "https://example.test",
                                                  "taxPayerDayMaxHrs": 12})
        self.assertEqual(r.status, 200, r)
        c = d.call("GET", "GetConfig").json
        self.assertEqual((c["vatNumber"], c["qrUrl"], c["taxPayerDayMaxHrs"]),
                         ("", "https://example.test", 12))

    def test_ping(self):
        d = self.device(open_day=False)
        r = d.call("POST", "Ping")
        self.assertEqual((r.status, r.json["reportingFrequency"]), (200, 5))
        r = d.call("POST", "Ping", {})
        self.assertEqual(r.status, 200)
        self.assertIsNotNone(sim_call("GET", "state/%d" % d.id).json["lastPing"])

    def test_status_new_device(self):
        d = self.device(open_day=False)
        s = d.call("GET", "GetStatus").json
        self.assertEqual(s["fiscalDayStatus"], "FiscalDayClosed")
        self.assertNotIn("lastFiscalDayNo", s)
        self.assertNotIn("lastReceiptGlobalNo", s)


# ====================================================================== day and receipts

class TestOpenDay(Base):
    def test_open_rules(self):
        d = self.device(open_day=False)
        self.problem(d.open_day(day_no=2), 422, "FISC01")
        r = d.open_day(day_no=1)
        self.assertEqual((r.status, r.json["fiscalDayNo"]), (200, 1))
        self.problem(d.open_day(), 422, "FISC01")
        s = d.call("GET", "GetStatus").json
        self.assertEqual((s["fiscalDayStatus"], s["lastFiscalDayNo"]), ("FiscalDayOpened", 1))
        self.problem(d.call("POST", "OpenDay", {"fiscalDayNo": 2}), 400)
        self.problem(d.call("POST", "OpenDay", {"fiscalDayOpened": "2026-01-01 10:00:00"}), 400)

    def test_submit_without_open_day(self):
        d = self.device(open_day=False)
        d.opened = tk.now_local()
        r = d.submit(d.make([("Bread", "5.00", "1", 1, None)]))
        self.problem(r, 422, "RCPT01")
        self.assertEqual(sim_call("GET", "ledger/%d" % d.id).json["receipts"], [])


class TestReceipts(Base):
    def test_good_receipts_and_server_signature(self):
        d = self.device()
        rc, r = self.good(d)
        self.assertRegex(r.json["serverDate"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
        self.assertTrue(OPID.match(r.json["operationID"]))
        ss = r.json["receiptServerSignature"]
        text = rc["receiptDeviceSignature"]["signature"] + str(r.json["receiptID"]) + r.json["serverDate"]
        self.assertEqual(ss["hash"], tk.sha_b64(text))
        cr = SIM.client().request("GET", "/Public/v1/GetServerCertificate?thumbprint="
                                  + ss["certificateThumbprint"], headers={})
        leaf = x509.load_pem_x509_certificate(cr.json["certificate"][0].encode())
        self.assertTrue(tk.verify(leaf.public_key(), base64.b64decode(ss["signature"]), text))
        # more receipts: exclusive, several currencies, payment types, discounts
        self.good(d, [("Tea", "2.00", "3", 3, "15"), ("Salt", "1.10", "1", 2, "0")], inclusive=False)
        self.good(d, [("Sugar", "7.00", "1", 517, "15.5")], currency="ZWG",
                  payments=[{"moneyTypeCode": "Card", "paymentAmount": D("7.00")}])
        self.good(d, [("Milk", "3.00", "2", 517, "15.5"), ("Promo", "-1.00", "1", 517, "15.5")],
                  payments=[{"moneyTypeCode": "MobileWallet", "paymentAmount": D("2.00")},
                            {"moneyTypeCode": "Cash", "paymentAmount": D("3.00")}])
        self.good(d, [("Rice", "10.00", "1", 514, "5")], hs="1006")
        ids = [e["receiptID"] for e in sim_call("GET", "ledger/%d" % d.id).json["receipts"]]
        self.assertEqual(len(ids), 5)
        self.assertEqual(ids, sorted(ids))

    def test_rsa_device_receipts(self):
        d = self.device(kind="rsa")
        self.good(d)
        self.good(d)

    def test_credit_and_debit_notes(self):
        d = self.device()
        _, fi = self.good(d, [("TV", "100.00", "1", 517, "15.5")])
        self.good(d, [("TV", "-40.00", "1", 517, "15.5")], rtype="CreditNote",
                  credit={"receiptID": fi.json["receiptID"]})
        self.good(d, [("TV", "10.00", "1", 517, "15.5")], rtype="DebitNote",
                  credit={"deviceID": d.id, "receiptGlobalNo": 1, "fiscalDayNo": d.day_no})
        self.good(d, [("TV", "-70.00", "1", 517, "15.5")], rtype="CreditNote",
                  credit={"receiptID": fi.json["receiptID"]})

    def test_case_insensitive_json(self):
        d = self.device()

        def lower_enums(rc):
            rc["receiptType"] = "fiscalInvoice"
            for p in rc["receiptPayments"]:
                p["moneyTypeCode"] = "cash"
            for ln in rc["receiptLines"]:
                ln["receiptLineType"] = "sale"
        rc = d.make([("Bread", "5.00", "1", 1, None)], mutate=lower_enums)
        rc["ReceiptTotal"] = rc.pop("receiptTotal")
        r = d.submit(rc)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["validationErrors"], [])

    def test_identical_resubmission(self):
        d = self.device()
        rc, r1 = self.good(d)
        c2 = d.sim.client(d.certfile, d.keyfile)
        r2 = c2.request("POST", "/Device/v1/%d/SubmitReceipt" % d.id, {"receipt": rc})
        self.assertEqual(r2.status, 200)
        for k in ("receiptID", "serverDate", "receiptServerSignature", "validationErrors"):
            self.assertEqual(r1.json[k], r2.json[k])
        self.assertNotEqual(r1.json["operationID"], r2.json["operationID"])
        self.assertEqual(len(sim_call("GET", "ledger/%d" % d.id).json["receipts"]), 1)

    def test_same_global_number_other_hash(self):
        d = self.device()
        rc1, r1 = self.good(d)
        rc2 = d.make([("Other", "1.00", "1", 1, None)], counter=1, global_no=1, advance=False)
        r2 = d.submit(rc2)
        self.assertEqual(r2.status, 200)
        self.assertNotEqual(r2.json["receiptID"], r1.json["receiptID"])
        self.assertEqual(codes(r2).get("RCPT012"), "Red", r2.json)
        self.assertEqual(len(sim_call("GET", "ledger/%d" % d.id).json["receipts"]), 2)

    def test_last_receipt_global_no_quirk(self):
        d = self.device()
        t = tk.now_local()
        d.submit(d.make([("A", "1.00", "1", 1, None)], date=t + datetime.timedelta(seconds=200)))
        r = d.submit(d.make([("B", "1.00", "1", 1, None)], date=t + datetime.timedelta(seconds=10)))
        self.assertEqual(codes(r).get("RCPT030"), "Red")
        self.assertEqual(d.call("GET", "GetStatus").json["lastReceiptGlobalNo"], 1)
        self.assertEqual(sim_call("GET", "state/%d" % d.id).json["lastReceiptGlobalNo"], 2)


class TestHardRejections(Base):
    def test_bad_decimals(self):
        d = self.device()
        rc = d.make([("Bread", "5.00", "1", 1, None)], advance=False)
        rc["receiptTotal"] = D("5.001")
        r = d.submit(rc)
        self.problem(r, 400)
        self.assertTrue(any("ReceiptTotal" in k for k in r.json["errors"]), r.json)
        rc["receiptTotal"] = "5.00"
        self.problem(d.submit(rc), 400)

    def test_structure(self):
        d = self.device()
        self.problem(d.call("POST", "SubmitReceipt", {"receipt": None}), 400)
        self.problem(d.call("POST", "SubmitReceipt", b"{not json"), 400)
        rc = d.make([("Bread", "5.00", "1", 1, None)], advance=False)
        del rc["receiptDate"]
        self.problem(d.submit(rc), 400)
        rc = d.make([("Bread", "5.00", "1", 1, None)], advance=False)
        rc["receiptDate"] = rc["receiptDate"] + ".123"
        self.problem(d.submit(rc), 400)
        rc = d.make([("Bread", "5.00", "1", 1, None)], advance=False)
        rc["receiptDeviceSignature"]["hash"] = "not base64!"
        self.problem(d.submit(rc), 400)
        rc = d.make([("Bread", "5.00", "1", 1, None)], advance=False)
        rc["receiptCounter"] = "1"
        self.problem(d.submit(rc), 400)

    def test_field_length(self):
        d = self.device()
        rc = d.make([("Bread", "5.00", "1", 1, None)], invoice_no="X" * 51, advance=False)
        self.problem(d.submit(rc), 422, "RCPT02")
        rc = d.make([("B" * 201, "5.00", "1", 1, None)], advance=False)
        self.problem(d.submit(rc), 422, "RCPT02")
        self.assertEqual(sim_call("GET", "ledger/%d" % d.id).json["receipts"], [])


class TestRules(Base):
    """Each rule: a crafted receipt gets the code with its colour."""

    def check(self, want, lines=None, d=None, **kw):
        d = d or self.device()
        rc = d.make(lines or [("Bread", "5.00", "1", 1, None), ("Soap", "11.55", "1", 517, "15.5")],
                    **kw)
        r = d.submit(rc)
        self.assertEqual(r.status, 200, r)
        got = codes(r)
        for code, colour in want.items():
            self.assertEqual(got.get(code), colour, "%s: %s" % (code, r.json["validationErrors"]))
        return r, d

    def test_rcpt010_currency(self):
        self.check({"RCPT010": "Red"}, currency="XYZ")

    def test_rcpt011_duplicate_counter(self):
        d = self.device()
        self.good(d)
        self.check({"RCPT011": "Red"}, d=d, counter=1)

    def test_rcpt012_global_gap(self):
        d = self.device()
        self.good(d)
        self.check({"RCPT012": "Red"}, d=d, global_no=5)

    def test_rcpt012_across_days(self):
        d = self.device()
        self.good(d)
        r, _, _ = d.close_day()
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")
        d.open_day()
        r, _ = self.check({}, d=d, global_no=2)           # previous day's last + 1
        self.assertEqual(r.json["validationErrors"], [])
        d2 = self.device()
        self.good(d2)
        self.good(d2)
        d2.close_day()
        d2.wait_status()
        d2.open_day()
        r, _ = self.check({}, d=d2, global_no=1)          # reset to 1 on the first receipt
        self.assertEqual(r.json["validationErrors"], [])
        d2.global_no = 1
        self.good(d2)
        d2.close_day()
        self.assertEqual(d2.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")
        d2.open_day()
        self.good(d2)                                     # 3 follows day 2's 2, not day 1's 2
        d3 = self.device()
        self.good(d3)
        d3.close_day()
        d3.wait_status()
        d3.open_day()
        self.check({"RCPT012": "Red"}, d=d3, global_no=7)

    def test_rcpt013_invoice_no(self):
        a = self.device()
        b = self.device()
        self.good(a, invoice_no="DUP-%d" % a.id)
        self.check({"RCPT013": "Red"}, d=b, invoice_no="DUP-%d" % a.id)

    def test_rcpt014_before_opening(self):
        d = self.device(opened=tk.now_local())
        self.check({"RCPT014": "Yellow"}, d=d, date=tk.now_local() - datetime.timedelta(minutes=10))

    def test_rcpt015_no_reference(self):
        self.check({"RCPT015": "Red"}, [("X", "-1.00", "1", 1, None)], rtype="CreditNote")

    def test_rcpt016_017_018_missing_parts(self):
        for field, code in (("receiptLines", "RCPT016"), ("receiptTaxes", "RCPT017"),
                            ("receiptPayments", "RCPT018")):
            with self.subTest(code):
                self.check({code: "Red"}, mutate=lambda rc, f=field: rc.__setitem__(f, []))

    def test_rcpt019_inclusive_total(self):
        self.check({"RCPT019": "Red"}, mutate=lambda rc: rc.__setitem__("receiptTotal", D("17.00")))

    def test_rcpt020_signature(self):
        d = self.device()
        rc = d.make([("Bread", "5.00", "1", 1, None)])
        other = tk.sign(d.key, "something else")
        rc["receiptDeviceSignature"]["signature"] = tk.b64(other)
        r = d.submit(rc)
        self.assertEqual(codes(r).get("RCPT020"), "Red")
        self.assertEqual(r.json["validationErrors"][0]["validationErrorDescription"][:30],
                         "Invoice signature is not valid"[:30])

    def test_rcpt020_raw_ecdsa_and_bad_hash(self):
        d = self.device()
        rc = d.make([("Bread", "5.00", "1", 1, None)])
        text = tk.receipt_string(d.id, "FiscalInvoice", "USD", rc["receiptGlobalNo"], rc["receiptDate"],
                                 rc["receiptTotal"], rc["receiptTaxes"], None)
        r_, s_ = decode_dss_signature(base64.b64decode(rc["receiptDeviceSignature"]["signature"]))
        rc["receiptDeviceSignature"]["signature"] = tk.b64(r_.to_bytes(32, "big") + s_.to_bytes(32, "big"))
        self.assertEqual(codes(d.submit(rc)).get("RCPT020"), "Red")
        rc2 = d.make([("Bread", "5.00", "1", 1, None)])
        rc2["receiptDeviceSignature"]["hash"] = tk.sha_b64(text + "x")
        self.assertEqual(codes(d.submit(rc2)).get("RCPT020"), "Red")

    def test_rcpt020_wrong_previous_hash(self):
        d = self.device()
        self.good(d)
        self.check({"RCPT020": "Red"}, d=d, prev_hash=PREV)
        d2 = self.device()
        self.good(d2)
        self.check({"RCPT020": "Red"}, d=d2, prev_hash=None)

    def test_rcpt021_vat_by_non_vat_taxpayer(self):
        d = self.device()
        sim_call("PUT", "config/%d" % d.id, {"vatNumber": ""})
        self.check({"RCPT021": "Red"}, d=d, lines=[("X", "11.55", "1", 517, "15.5")], hs="1234")
        r, _ = self.check({}, d=d, lines=[("X", "10.00", "1", 514, "5")], hs=None)
        self.assertEqual(r.json["validationErrors"], [])

    def test_rcpt022_price_sign(self):
        d = self.device()
        line = {"receiptLineType": "Sale", "receiptLineNo": 1, "receiptLineHSCode": "12345678",
                "receiptLineName": "X", "receiptLinePrice": D("-5.00"), "receiptLineQuantity": D("-1"),
                "receiptLineTotal": D("5.00"), "taxID": 1}
        self.check({"RCPT022": "Red", "RCPT023": "Red"}, d=d, lines=[line])
        disc = dict(line, receiptLineType="Discount", receiptLinePrice=D("5.00"),
                    receiptLineQuantity=D("1"))
        self.check({"RCPT022": "Red"}, lines=[disc])

    def test_rcpt023_quantity(self):
        line = {"receiptLineType": "Sale", "receiptLineNo": 1, "receiptLineHSCode": "12345678",
                "receiptLineName": "X", "receiptLineQuantity": D("0"),
                "receiptLineTotal": D("5.00"), "taxID": 1}
        r, _ = self.check({"RCPT023": "Red"}, lines=[line])
        self.assertNotIn("RCPT024", codes(r))   # no price: nothing to multiply

    def test_rcpt024_line_total(self):
        line = {"receiptLineType": "Sale", "receiptLineNo": 1, "receiptLineHSCode": "12345678",
                "receiptLineName": "X", "receiptLinePrice": D("3.00"), "receiptLineQuantity": D("3"),
                "receiptLineTotal": D("10.00"), "taxID": 1}
        r, _ = self.check({"RCPT024": "Red"}, lines=[line])
        self.assertEqual(list(codes(r)), ["RCPT024"])
        ok = dict(line, receiptLinePrice=D("0.333333"), receiptLineQuantity=D("3"),
                  receiptLineTotal=D("1.00"))
        r, _ = self.check({}, lines=[ok])
        self.assertEqual(r.json["validationErrors"], [])

    def test_rcpt025_taxes(self):
        cases = [[("X", "1.00", "1", 99, "15")], [("X", "1.00", "1", 1, "0")],
                 [("X", "1.00", "1", 2, None)], [("X", "1.00", "1", 517, "15")]]
        for lines in cases:
            with self.subTest(lines):
                self.check({"RCPT025": "Red"}, lines=lines)
        d = self.device(opened=datetime.datetime(2025, 12, 1, 8, 0, 0))
        sim_call("PUT", "config/%d" % d.id, {"taxPayerDayMaxHrs": 100000})
        self.check({"RCPT025": "Red"}, d=d, lines=[("X", "1.155", "1", 517, "15.5")],
                   date=datetime.datetime(2025, 12, 1, 9, 0, 0))
        d = self.device()
        sim_call("PUT", "config/%d" % d.id, {"applicableTaxes": [
            {"taxID": 3, "taxPercent": 15, "taxName": "old", "validFrom": "2020-01-01T00:00:00",
             "validTill": "2024-01-01T00:00:00"}]})
        self.check({"RCPT025": "Red"}, d=d, lines=[("X", "1.00", "1", 3, "15")])

    def test_rcpt026_027_tax_maths(self):
        def bump_tax(rc):
            rc["receiptTaxes"][1]["taxAmount"] += D("0.01")
        self.check({"RCPT026": "Red"}, mutate=bump_tax)

        def bump_sales(rc):
            rc["receiptTaxes"][1]["salesAmountWithTax"] += D("0.01")
        self.check({"RCPT027": "Red", "RCPT038": "Red"}, mutate=bump_sales)

        def per_line(rc):   # per-line rounding instead of per group
            rc["receiptTaxes"][0]["taxAmount"] = D("0.03")
        r, _ = self.check({"RCPT026": "Red"}, lines=[("X", "0.10", "1", 3, "15")] * 3,
                          mutate=per_line)

    def test_rcpt028_payment_sign(self):
        self.check({"RCPT028": "Red"}, lines=[("X", "5.00", "1", 1, None)],
                   payments=[{"moneyTypeCode": "Cash", "paymentAmount": D("6.00")},
                             {"moneyTypeCode": "Card", "paymentAmount": D("-1.00")}])

    def test_rcpt029_reference_on_invoice(self):
        self.check({"RCPT029": "Red"}, credit={"receiptID": 1})

    def test_rcpt030_same_second(self):
        d = self.device()
        t = tk.now_local()
        self.good(d, date=t)
        self.check({"RCPT030": "Red"}, d=d, date=t)

    def test_rcpt031_future(self):
        self.check({"RCPT031": "Yellow"}, date=tk.now_local() + datetime.timedelta(hours=1))

    def test_rcpt032_no_original(self):
        self.check({"RCPT032": "Red"}, [("X", "-1.00", "1", 1, None)], rtype="CreditNote",
                   credit={"receiptID": 987654321})
        self.check({"RCPT032": "Red"}, [("X", "-1.00", "1", 1, None)], rtype="CreditNote",
                   credit={"deviceID": 1, "receiptGlobalNo": 1, "fiscalDayNo": 77})

    def test_rcpt033_old_original(self):
        old = tk.now_local() - datetime.timedelta(days=400)
        d = self.device(opened=old)
        _, fi = self.good(d, [("X", "5.00", "1", 1, None)], date=old + datetime.timedelta(minutes=1))
        r, _ = self.check({"RCPT033": "Red", "RCPT041": "Yellow"}, d=d,
                          lines=[("X", "-1.00", "1", 1, None)], rtype="CreditNote",
                          credit={"receiptID": fi.json["receiptID"]})

    def test_rcpt034_notes(self):
        d = self.device()
        _, fi = self.good(d, [("X", "5.00", "1", 1, None)])
        self.check({"RCPT034": "Red"}, d=d, lines=[("X", "-1.00", "1", 1, None)],
                   rtype="CreditNote", notes="", credit={"receiptID": fi.json["receiptID"]})

    def test_rcpt035_over_credit(self):
        d = self.device()
        _, fi = self.good(d, [("X", "10.00", "1", 1, None)])
        ref = {"receiptID": fi.json["receiptID"]}
        self.good(d, [("X", "-6.00", "1", 1, None)], rtype="CreditNote", credit=ref)
        self.check({"RCPT035": "Red"}, d=d, lines=[("X", "-6.00", "1", 1, None)],
                   rtype="CreditNote", credit=ref)

    def test_rcpt036_other_taxes(self):
        d = self.device()
        _, fi = self.good(d, [("X", "10.00", "1", 1, None)])
        self.check({"RCPT036": "Red"}, d=d, lines=[("X", "-1.00", "1", 517, "15.5")],
                   rtype="CreditNote", credit={"receiptID": fi.json["receiptID"]})

    def test_rcpt037_exclusive_total(self):
        self.check({"RCPT037": "Red"}, inclusive=False,
                   mutate=lambda rc: rc.__setitem__("receiptTotal", rc["receiptTotal"] - 1))

    def test_rcpt038_total_vs_taxes(self):
        def m(rc):
            rc["receiptTaxes"][0]["salesAmountWithTax"] += 1
        self.check({"RCPT038": "Red"}, mutate=m)

    def test_rcpt039_payments(self):
        self.check({"RCPT039": "Red"},
                   payments=[{"moneyTypeCode": "Cash", "paymentAmount": D("1.00")}])

    def test_rcpt040_total_sign(self):
        self.check({"RCPT040": "Red", "RCPT028": "Red"}, lines=[("Disc", "-5.00", "1", 1, None)])

    def test_rcpt041_after_day_end(self):
        d = self.device(opened=tk.now_local() - datetime.timedelta(hours=25))
        self.check({"RCPT041": "Yellow"}, d=d)

    def test_rcpt042_currency_of_original(self):
        d = self.device()
        _, fi = self.good(d, [("X", "10.00", "1", 1, None)])
        self.check({"RCPT042": "Red"}, d=d, lines=[("X", "-1.00", "1", 1, None)], currency="ZWG",
                   rtype="CreditNote", credit={"receiptID": fi.json["receiptID"]})

    def test_rcpt043_buyer(self):
        self.check({"RCPT043": "Red"}, mutate=lambda rc: rc.__setitem__(
            "buyerData", {"buyerRegisterName": "ACME", "buyerTradeName": "ACME"}))
        r, _ = self.check({}, mutate=lambda rc: rc.__setitem__(
            "buyerData", {"buyerRegisterName": "ACME", "buyerTIN": "1234567890"}))
        self.assertEqual(r.json["validationErrors"], [])

    def test_rcpt047_048_hs_codes(self):
        self.check({"RCPT047": "Red"}, hs=None)
        self.check({"RCPT048": "Red"}, lines=[("X", "1.00", "1", 1, None)], hs="1234")
        self.check({"RCPT048": "Red"}, lines=[("X", "1.00", "1", 3, "15")], hs="123456")
        self.check({"RCPT048": "Red"}, lines=[("X", "1.00", "1", 3, "15")], hs="12ab")
        r, _ = self.check({}, lines=[("X", "1.00", "1", 3, "15")], hs="1234")
        self.assertEqual(r.json["validationErrors"], [])
        d = self.device()
        sim_call("PUT", "config/%d" % d.id, {"vatNumber": None})
        r, _ = self.check({}, d=d, lines=[("X", "1.00", "1", 1, None)], hs="1234")
        self.assertEqual(r.json["validationErrors"], [])
        self.check({"RCPT048": "Red"}, d=d, lines=[("X", "1.00", "1", 1, None)], hs="123")

    def test_chain_gap_is_grey_then_reevaluated(self):
        d = self.device()
        r1 = d.make([("A", "1.00", "1", 1, None)])
        r2 = d.make([("B", "2.00", "1", 1, None)])
        r3 = d.make([("C", "3.00", "1", 1, None)])
        self.assertEqual(d.submit(r1).json["validationErrors"], [])
        a3 = d.submit(r3)
        self.assertEqual(codes(a3), {"RCPT011": "Grey"})
        # a gap blocks the close: MissingReceipts
        r, _, _ = d.close_day()
        self.assertEqual(r.status, 200)
        self.assertEqual(d.wait_status().json.get("fiscalDayClosingErrorCode"), "MissingReceipts")
        self.assertEqual(d.submit(r2).json["validationErrors"], [])
        led = sim_call("GET", "ledger/%d" % d.id).json["receipts"]
        self.assertEqual([x["receiptGlobalNo"] for x in led], [1, 3, 2])
        self.assertEqual(led[1]["validationErrors"], [], "re-evaluated once its predecessor came")
        r, _, _ = d.close_day()
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")

    def test_grey_then_bad_chain(self):
        d = self.device()
        r1 = d.make([("A", "1.00", "1", 1, None)])
        r2 = d.make([("B", "2.00", "1", 1, None)])
        r3 = d.make([("C", "3.00", "1", 1, None)], prev_hash=PREV)   # wrong chain
        d.submit(r1)
        self.assertEqual(codes(d.submit(r3)), {"RCPT011": "Grey"})
        d.submit(r2)
        led = sim_call("GET", "ledger/%d" % d.id).json["receipts"]
        self.assertEqual({e["validationErrorCode"] for e in led[1]["validationErrors"]}, {"RCPT020"})


# ====================================================================== close day

class TestCloseDay(Base):
    def test_close_success_and_server_signature(self):
        d = self.device()
        self.good(d)
        self.good(d, [("Tea", "2.00", "3", 3, "15")], inclusive=False)
        self.good(d, [("Soap", "-11.55", "1", 517, "15.5")], rtype="CreditNote",
                  credit={"receiptID": sim_call("GET", "ledger/%d" % d.id).json["receipts"][0]["receiptID"]})
        self.good(d, [("Gum", "1.00", "1", 1, None)], currency="ZWG",
                  payments=[{"moneyTypeCode": "Card", "paymentAmount": D("1.00")}])
        r, text, dsig = d.close_day()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json), {"operationID"})
        s = d.call("GET", "GetStatus").json
        self.assertEqual(s["fiscalDayStatus"], "FiscalDayCloseInitiated")
        self.problem(d.submit(d.make([("X", "1.00", "1", 1, None)], advance=False)), 422, "RCPT01")
        s = d.wait_status().json
        self.assertEqual(s["fiscalDayStatus"], "FiscalDayClosed", s)
        self.assertEqual(s["fiscalDayReconciliationMode"], "Auto")
        self.assertEqual((s["lastFiscalDayNo"], s["lastReceiptGlobalNo"]), (1, 4))
        srv = (str(d.id) + "1" + d.opened.strftime("%Y-%m-%d") + s["fiscalDayClosed"] + "AUTO"
               + text[len(str(d.id) + "1" + "2026-01-01"):] + dsig)
        self.assertEqual(s["fiscalDayServerSignature"]["hash"], tk.sha_b64(srv))
        cr = SIM.client().request("GET", "/Public/v1/GetServerCertificate", headers={})
        leaf = x509.load_pem_x509_certificate(cr.json["certificate"][0].encode())
        self.assertTrue(tk.verify(leaf.public_key(),
                                  base64.b64decode(s["fiscalDayServerSignature"]["signature"]), srv))
        self.problem(d.close_day()[0], 422, "FISC04")
        r = d.open_day()
        self.assertEqual(r.json["fiscalDayNo"], 2)
        self.good(d)    # global number continues: 5, counter 1, no previous hash

    def test_empty_day(self):
        d = self.device()
        r, text, _ = d.close_day()
        self.assertEqual(text, "%d1%s" % (d.id, d.opened.strftime("%Y-%m-%d")))
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")

    def test_bad_certificate_signature_wrong_date(self):
        d = self.device(opened=tk.now_local() - datetime.timedelta(days=2))
        sim_call("PUT", "config/%d" % d.id, {"taxPayerDayMaxHrs": 100})
        self.good(d)
        d.close_day(date=tk.now_local())
        s = d.wait_status().json
        self.assertEqual((s["fiscalDayStatus"], s["fiscalDayClosingErrorCode"]),
                         ("FiscalDayCloseFailed", "BadCertificateSignature"))
        self.good(d)     # receipts still accepted after a failed close
        d.close_day()
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")

    def test_bad_signature_other_key(self):
        d = self.device()
        self.good(d)
        d.close_day(key=tk.make_key())
        self.assertEqual(d.wait_status().json["fiscalDayClosingErrorCode"], "BadCertificateSignature")

    def test_counters_mismatch(self):
        d = self.device()
        self.good(d)
        cs = tk.day_counters(d.receipts)
        (k, v) = cs[0]
        cs[0] = (k, v + D("0.01"))
        d.close_day(counters=cs)
        self.assertEqual(d.wait_status().json["fiscalDayClosingErrorCode"], "CountersMismatch")
        d.close_day(counters=tk.day_counters(d.receipts)[1:])      # one counter missing
        self.assertEqual(d.wait_status().json["fiscalDayClosingErrorCode"], "CountersMismatch")
        d.close_day()
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")

    def test_counter_order_in_json_does_not_matter_but_string_does(self):
        d = self.device()
        self.good(d)
        cs = tk.day_counters(d.receipts)
        text = tk.day_string(d.id, d.day_no, d.opened.strftime("%Y-%m-%d"), list(reversed(cs)))
        body = {"fiscalDayNo": d.day_no, "fiscalDayCounters": tk.counters_json(cs),
                "fiscalDayDeviceSignature": {"hash": tk.sha_b64(text),
                                             "signature": tk.b64(tk.sign(d.key, text))},
                "receiptCounter": d.counter}
        self.assertEqual(d.call("POST", "CloseDay", body).status, 200)
        self.assertEqual(d.wait_status().json["fiscalDayClosingErrorCode"], "BadCertificateSignature")
        text = tk.day_string(d.id, d.day_no, d.opened.strftime("%Y-%m-%d"), cs)
        body["fiscalDayCounters"] = list(reversed(tk.counters_json(cs)))
        body["fiscalDayDeviceSignature"] = {"hash": tk.sha_b64(text),
                                            "signature": tk.b64(tk.sign(d.key, text))}
        self.assertEqual(d.call("POST", "CloseDay", body).status, 200)
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")

    def test_red_receipt_blocks_close(self):
        d = self.device()
        self.good(d)
        r = d.submit(d.make([("X", "1.00", "1", 1, None)], currency="XYZ"))
        self.assertEqual(codes(r).get("RCPT010"), "Red")
        d.close_day()
        s = d.wait_status().json
        self.assertEqual(s["fiscalDayClosingErrorCode"], "ReceiptsWithValidationErrors")
        # only the portal can close it now
        m = sim_call("POST", "manual-close/%d" % d.id)
        self.assertEqual(m.status, 200, m)
        s = d.call("GET", "GetStatus").json
        self.assertEqual((s["fiscalDayStatus"], s["fiscalDayReconciliationMode"]),
                         ("FiscalDayClosed", "Manual"))
        self.assertTrue(s["fiscalDayCounter"])
        self.assertEqual(sum(q["receiptQuantity"] for q in s["fiscalDayDocumentQuantities"]), 2)

    def test_yellow_does_not_block(self):
        d = self.device()
        r = d.submit(d.make([("X", "1.00", "1", 1, None)],
                            date=tk.now_local() + datetime.timedelta(hours=1)))
        self.assertEqual(codes(r), {"RCPT031": "Yellow"})
        d.close_day()
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")

    def test_missing_last_receipt(self):
        d = self.device()
        self.good(d)
        d.close_day(receipt_counter=2)
        self.assertEqual(d.wait_status().json["fiscalDayClosingErrorCode"], "MissingReceipts")
        d.close_day(receipt_counter=0, counters=[])
        self.assertIn(d.wait_status().json["fiscalDayClosingErrorCode"],
                      ("CountersMismatch",))

    def test_fisc03_fisc04(self):
        d = self.device(open_day=False)
        d.day_no, d.opened, d.receipts = 1, tk.now_local(), []
        self.problem(d.close_day()[0], 422, "FISC04")
        d.open_day()
        d.day_no = 2
        self.problem(d.close_day()[0], 422, "FISC04")
        d.day_no = 1
        sim_call("POST", "settings", {"closeDelayS": "1.5"})
        try:
            self.assertEqual(d.close_day()[0].status, 200)
            self.problem(d.close_day()[0], 422, "FISC03")
            self.problem(d.open_day(), 422, "FISC01")
        finally:
            sim_call("POST", "settings", {"closeDelayS": "0.2"})
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")

    def test_close_body_validation(self):
        d = self.device()
        self.good(d)
        cs = tk.counters_json(tk.day_counters(d.receipts))
        cs[2]["fiscalCounterValue"] = D("15.499999")
        r = d.call("POST", "CloseDay", {"fiscalDayNo": 1, "fiscalDayCounters": cs,
                                        "fiscalDayDeviceSignature": {"hash": PREV, "signature": PREV},
                                        "receiptCounter": 1})
        self.problem(r, 400)
        self.assertIn("fiscalDayCounters[2].FiscalCounterValue", r.json["errors"])


# ====================================================================== faults

class TestFaults(Base):
    def tearDown(self):
        sim_call("DELETE", "fault")
        sim_call("POST", "settings", {"latencyMs": 0})
        super().tearDown()

    def add(self, spec):
        r = sim_call("POST", "fault", spec)
        self.assertEqual(r.status, 200, r)

    def test_nth_request_500(self):
        d = self.device()
        self.add("SubmitReceipt@%d:2=500" % d.id)
        self.good(d)
        rc = d.make([("X", "1.00", "1", 1, None)])
        r = d.submit(rc)
        self.problem(r, 500)
        self.assertEqual(len(sim_call("GET", "ledger/%d" % d.id).json["receipts"]), 1)
        r = d.submit(rc)
        self.assertEqual((r.status, r.json["validationErrors"]), (200, []))

    def test_429_retry_after_and_range(self):
        d = self.device(open_day=False)
        self.add("Ping@%d:1-2=429/7" % d.id)
        for _ in range(2):
            r = d.call("POST", "Ping")
            self.problem(r, 429)
            self.assertEqual(r.headers.get("retry-after"), "7")
        self.assertEqual(d.call("POST", "Ping").status, 200)
        self.add("GetStatus@%d:%%2=503" % d.id)
        got = [d.call("GET", "GetStatus").status for _ in range(4)]
        self.assertEqual(got, [200, 503, 200, 503])

    def test_every_request_then_clear(self):
        d = self.device(open_day=False)
        self.add("@%d:*=502" % d.id)
        self.assertEqual(d.call("GET", "GetConfig").status, 502)
        self.assertEqual(d.call("POST", "Ping").status, 502)
        self.assertEqual(sim_call("DELETE", "fault").status, 200)
        self.assertEqual(d.call("GET", "GetConfig").status, 200)

    def test_drop_and_reset(self):
        d = self.device(open_day=False)
        self.add("GetStatus@%d:1=drop" % d.id)
        with self.assertRaises((http.client.HTTPException, ConnectionError, ssl.SSLError)):
            d.call("GET", "GetStatus")
        self.assertEqual(d.call("GET", "GetStatus").status, 200)
        self.add("GetStatus@%d:1=reset" % d.id)
        with self.assertRaises((http.client.HTTPException, ConnectionError, ssl.SSLError, OSError)):
            d.call("GET", "GetStatus")
        self.assertEqual(d.call("GET", "GetStatus").status, 200)

    def test_hang(self):
        d = self.device(open_day=False)
        self.add("Ping@%d:1=hang/1500" % d.id)
        c = d.sim.client(d.certfile, d.keyfile, timeout=0.5)
        t0 = time.time()
        with self.assertRaises((socket.timeout, TimeoutError, OSError)):
            c.request("POST", "/Device/v1/%d/Ping" % d.id)
        self.assertLess(time.time() - t0, 1.4)
        self.assertEqual(d.call("POST", "Ping").status, 200)

    def test_commit_then_drop(self):
        d = self.device()
        self.add("SubmitReceipt@%d:1=commit-drop" % d.id)
        rc = d.make([("X", "1.00", "1", 1, None)])
        with self.assertRaises((http.client.HTTPException, ConnectionError, ssl.SSLError)):
            d.submit(rc)
        led = sim_call("GET", "ledger/%d" % d.id).json["receipts"]
        self.assertEqual(len(led), 1)
        r = d.submit(rc)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["receiptID"], led[0]["receiptID"])
        self.assertEqual(r.json["serverDate"], led[0]["serverDate"])
        self.assertEqual(r.json["receiptServerSignature"], led[0]["receiptServerSignature"])
        self.assertEqual(len(sim_call("GET", "ledger/%d" % d.id).json["receipts"]), 1)

    def test_delay_and_latency(self):
        d = self.device(open_day=False)
        self.add("Ping@%d:1=delay/400" % d.id)
        t0 = time.time()
        self.assertEqual(d.call("POST", "Ping").status, 200)
        self.assertGreaterEqual(time.time() - t0, 0.4)
        sim_call("POST", "settings", {"latencyMs": 300})
        t0 = time.time()
        self.assertEqual(d.call("GET", "GetConfig").status, 200)
        self.assertGreaterEqual(time.time() - t0, 0.3)

    def test_bad_spec_and_listing(self):
        self.assertEqual(sim_call("POST", "fault", "Bogus:1=500").status, 400)
        self.add("Ping@1:3=500; GetStatus@1:1+=drop")
        rules = sim_call("GET", "fault").json["rules"]
        self.assertEqual([r["spec"] for r in rules], ["Ping@1:3=500", "GetStatus@1:1+=drop"])

    def test_sim_endpoints_never_faulted(self):
        self.add("*=500")
        self.assertEqual(sim_call("GET", "fault").status, 200)

    def test_close_fail_forces_the_outcome(self):
        d = self.device()
        self.good(d)
        self.add("CloseDay@%d:1=close-fail/countersmismatch" % d.id)
        r, _, _ = d.close_day()
        self.assertEqual(r.status, 200, r)
        s = d.wait_status().json
        self.assertEqual((s["fiscalDayStatus"], s["fiscalDayClosingErrorCode"]),
                         ("FiscalDayCloseFailed", "CountersMismatch"), s)
        # The same, correct request closes once the rule has fired.
        r, _, _ = d.close_day()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")
        rules = sim_call("GET", "fault").json["rules"]
        self.assertEqual((rules[0]["seen"], rules[0]["fired"]), (2, 1))
        for bad in ("CloseDay:1=close-fail/Nope", "Ping:1=close-fail/CountersMismatch"):
            self.assertEqual(sim_call("POST", "fault", bad).status, 400, bad)


# ====================================================================== offline files

class TestOffline(Base):
    def offline_device(self):
        d = self.device(open_day=False)
        r = sim_call("POST", "devices", [{"deviceID": d.id, "operatingMode": "Offline"}])
        self.assertEqual(r.status, 200, r)
        d.opened = tk.now_local() - datetime.timedelta(minutes=10)
        d.day_no, d.receipts, d.counter = 1, [], 0
        return d

    def file_doc(self, d, receipts, seq=1, footer=True):
        doc = {"header": {"deviceID": d.id, "fiscalDayNo": d.day_no,
                          "fiscalDayOpened": tk.fmt(d.opened), "fileSequence": seq},
               "content": {"receipts": receipts}}
        if footer:
            cs = tk.day_counters(d.receipts)
            text = tk.day_string(d.id, d.day_no, d.opened.strftime("%Y-%m-%d"), cs)
            doc["footer"] = {"fiscalDayCounters": tk.counters_json(cs),
                             "fiscalDayDeviceSignature": {"hash": tk.sha_b64(text),
                                                          "signature": tk.b64(tk.sign(d.key, text))},
                             "receiptCounter": d.counter, "fiscalDayClosed": tk.fmt(tk.now_local())}
        return doc

    def files(self, d):
        q = "?FileUploadedFrom=2020-01-01T00:00:00&FileUploadedTill=2100-01-01T00:00:00&Offset=0&Limit=50"
        r = d.call("GET", "SubmittedFileList", query=q)
        self.assertEqual(r.status, 200, r)
        return r.json

    def wait_files(self, d, n, timeout=10):
        end = time.time() + timeout
        while True:
            j = self.files(d)
            done = [x for x in j["rows"] if x["fileProcessingStatus"] not in
                    ("InProgress", "WaitingForPreviousFile")]
            if len(done) >= n or time.time() > end:
                return j
            time.sleep(0.05)

    def test_offline_refuses_online_calls(self):
        d = self.offline_device()
        self.problem(d.open_day(), 422, "DEV01")
        self.problem(d.call("GET", "GetStatus"), 422, "DEV01")
        self.assertEqual(d.call("GET", "GetConfig").json["deviceOperatingMode"], "Offline")

    def test_submit_file_raw_and_base64(self):
        d = self.offline_device()
        rcs = [d.make([("A", "5.00", "1", 1, None)]), d.make([("B", "11.55", "1", 517, "15.5")])]
        doc = self.file_doc(d, rcs)
        r = d.call("POST", "SubmitFile", tk.dumps(doc), headers=dict(tk.HEADERS, **{"Content-Type": "text/plain"}))
        self.assertEqual(r.status, 200, r)
        j = self.wait_files(d, 1)
        row = j["rows"][0]
        self.assertEqual((row["fileProcessingStatus"], row["fileProcessingError"], row["hasFooter"]),
                         ("CompleteSuccessful", None, True), row)
        self.assertEqual(row["operationId"], r.json["operationID"])
        led = sim_call("GET", "ledger/%d" % d.id).json["receipts"]
        self.assertEqual([(x["receiptGlobalNo"], x["source"]) for x in led],
                         [(1, "SubmitFile"), (2, "SubmitFile")])
        fl = sim_call("GET", "files/%d" % d.id).json["files"]
        self.assertEqual([(f["fileSequence"], f["status"], f["hasFooter"], f["operationID"])
                          for f in fl], [(1, "CompleteSuccessful", True, r.json["operationID"])])
        self.assertEqual(fl[0]["body"], tk.dumps(doc))
        # day 2 as base64, then the same file again for the closed day: FILE04
        d.day_no, d.opened, d.counter, d.receipts, d.prev_hash = 2, tk.now_local(), 0, [], None
        doc2 = self.file_doc(d, [d.make([("C", "1.00", "1", 1, None)])])
        body = base64.b64encode(tk.dumps(doc2).encode())
        self.assertEqual(d.call("POST", "SubmitFile", body, headers=dict(tk.HEADERS, **{"Content-Type": "text/plain"})).status, 200)
        j = self.wait_files(d, 2)
        self.assertEqual(j["total"], 2)
        self.assertEqual({x["fileProcessingStatus"] for x in j["rows"]}, {"CompleteSuccessful"}, j)
        self.problem(d.call("POST", "SubmitFile", tk.dumps(doc)), 422, "FILE04")

    def test_file_errors(self):
        d = self.offline_device()
        self.problem(d.call("POST", "SubmitFile", b"garbage!"), 422, "FILE02")
        self.problem(d.call("POST", "SubmitFile", b'{"content": {}}'), 422, "FILE02")
        doc = self.file_doc(d, [], footer=False)
        doc["header"]["deviceID"] = d.id + 1
        self.problem(d.call("POST", "SubmitFile", tk.dumps(doc)), 422, "FILE05")
        online = self.device(open_day=False)
        self.problem(online.call("POST", "SubmitFile", tk.dumps(doc)), 422, "FILE03")
        r = d.call("GET", "SubmittedFileList", query="?Offset=0")
        self.problem(r, 400)
        big = tk.dumps(self.file_doc(d, [], footer=False)).encode() + b" " * (3 * 1024 * 1024)
        self.problem(d.call("POST", "SubmitFile", big), 422, "FILE01")

    def test_file_with_bad_receipt_and_order(self):
        d = self.offline_device()
        a = d.make([("A", "5.00", "1", 1, None)])
        b = d.make([("B", "5.00", "1", 1, None)], currency="XYZ")
        f2 = self.file_doc(d, [b], seq=2)
        f1 = self.file_doc(d, [a], seq=1, footer=False)
        self.assertEqual(d.call("POST", "SubmitFile", tk.dumps(f2)).status, 200)
        time.sleep(0.5)
        rows = self.files(d)["rows"]
        self.assertEqual(rows[0]["fileProcessingStatus"], "WaitingForPreviousFile")
        self.assertEqual(d.call("POST", "SubmitFile", tk.dumps(f1)).status, 200)
        j = self.wait_files(d, 2)
        by_seq = {x["fileSequence"]: x for x in j["rows"]}
        self.assertEqual(by_seq[1]["fileProcessingStatus"], "CompleteSuccessful")
        self.assertEqual(by_seq[2]["fileProcessingStatus"], "FailedWithErrors")
        self.assertEqual(by_seq[2]["fileProcessingError"], "ReceiptsWithValidationErrors")
        self.assertEqual(by_seq[2]["invoiceWithValidationErrors"][0]["receiptGlobalNo"], 2)


# ====================================================================== /_sim

class TestSimEndpoints(Base):
    def test_ledger_and_state(self):
        d = self.device()
        rc, r = self.good(d)
        led = sim_call("GET", "ledger/%d" % d.id).json
        e = led["receipts"][0]
        self.assertEqual((e["receiptGlobalNo"], e["receiptCounter"], e["fiscalDayNo"], e["receiptID"]),
                         (1, 1, 1, r.json["receiptID"]))
        self.assertEqual(e["hash"], rc["receiptDeviceSignature"]["hash"])
        self.assertEqual(e["receipt"]["invoiceNo"], rc["invoiceNo"])
        self.assertEqual(e["validationErrors"], [])
        self.assertIn('"receipt"', e["requestBody"])
        st = sim_call("GET", "state/%d" % d.id).json
        self.assertEqual((st["fiscalDayStatus"], st["fiscalDayNo"], st["receiptCount"]),
                         ("FiscalDayOpened", 1, 1))
        self.assertEqual(len(st["certificates"]), 1)
        cert = x509.load_pem_x509_certificate(d.cert_pem.encode())
        self.assertEqual(st["certificates"][0]["serial"], "%X" % cert.serial_number)
        self.assertEqual({c["fiscalCounterType"] for c in st["counters"]},
                         {"SaleByTax", "SaleTaxByTax", "BalanceByMoneyType"})
        self.assertEqual(sim_call("GET", "state/424242424").status, 422)
        self.assertEqual(sim_call("GET", "nothing").status, 404)


# ====================================================================== own processes

class TestBadServerCertificate(Base):
    """--server-cert-mode: what a client that verifies the server sees, and
    the redirect fault (never processed)."""

    def handshake(self, p, host="127.0.0.1"):
        ctx = ssl.create_default_context(cafile=p.ca)
        with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=host):
                return None

    def test_modes(self):
        base = os.path.join(TMP, "certmode")
        want = {"expired": "certificate has expired",
                "notyet": "certificate is not yet valid",
                "wronghost": "mismatch",
                "otherca": "unable to get local issuer certificate"}
        ca = None
        for mode in ("expired", "notyet", "wronghost", "otherca", "good"):
            p = tk.SimProcess(base, "--server-cert-mode", mode)
            try:
                if ca is not None:   # the CA never changes with the mode
                    self.assertEqual(open(p.ca).read(), ca)
                ca = open(p.ca).read()
                if mode == "good":
                    self.assertIsNone(self.handshake(p))
                    continue
                with self.subTest(mode), self.assertRaises(ssl.SSLCertVerificationError) as e:
                    self.handshake(p)
                self.assertIn(want[mode], str(e.exception))
            finally:
                self.assertEqual(p.stop(), 0)

    def test_redirect_not_processed(self):
        d = self.device()
        r = sim_call("POST", "fault", "SubmitReceipt@%d:1=redirect/308" % d.id)
        self.assertEqual(r.status, 200, r)
        try:
            rc = d.make([("X", "1.00", "1", 1, None)])
            r = d.submit(rc)
            self.assertEqual(r.status, 308)
            self.assertEqual(r.headers.get("location"),
                             "https://fdms-redirect.invalid/Device/v1/%d/SubmitReceipt" % d.id)
            self.assertEqual(sim_call("GET", "ledger/%d" % d.id).json["receipts"], [])
            r = d.submit(rc)
            self.assertEqual((r.status, r.json["validationErrors"]), (200, []))
        finally:
            sim_call("DELETE", "fault")


class TestRestart(Base):
    def test_persistence_across_restart(self):
        state = os.path.join(TMP, "restart")
        p = tk.SimProcess(state, "--close-delay-s", "0")
        self.sim = p
        try:
            d = self.device()
            self.good(d)
            self.good(d)
            ca1 = open(p.ca).read()
            d.conn().close()
        finally:
            self.assertEqual(p.stop(), 0)
        p = tk.SimProcess(state, "--close-delay-s", "0")
        self.sim = p
        try:
            d.sim = p
            d._conn = None
            self.assertEqual(open(p.ca).read(), ca1)
            self.assertEqual(d.call("GET", "GetStatus").json["fiscalDayStatus"], "FiscalDayOpened")
            self.good(d)
            c = p.client()
            led = c.request("GET", "/_sim/ledger/%d" % d.id, headers={}).json["receipts"]
            self.assertEqual([x["receiptGlobalNo"] for x in led], [1, 2, 3])
            d.close_day()
            self.assertEqual(d.wait_status().json["fiscalDayStatus"], "FiscalDayClosed")
        finally:
            self.assertEqual(p.stop(), 0)

    def test_restart_during_close(self):
        state = os.path.join(TMP, "restart-close")
        p = tk.SimProcess(state, "--close-delay-s", "3")
        self.sim = p
        try:
            d = self.device()
            self.good(d)
            self.assertEqual(d.close_day()[0].status, 200)
            self.assertEqual(d.call("GET", "GetStatus").json["fiscalDayStatus"],
                             "FiscalDayCloseInitiated")
            d.conn().close()
        finally:
            self.assertEqual(p.stop(), 0)
        p = tk.SimProcess(state, "--close-delay-s", "0.1")
        self.sim = p
        try:
            d.sim = p
            d._conn = None
            s = d.wait_status(timeout=10).json
            self.assertEqual(s["fiscalDayStatus"], "FiscalDayClosed", s)
        finally:
            p.stop()


class TestCommandLineConfig(Base):
    def test_config_devices_and_fault_options(self):
        cfg = os.path.join(TMP, "config.json")
        with open(cfg, "w") as f:
            json.dump({"vatNumber": "", "qrUrl": "https://qr.example", "taxPayerDayMaxHrs": 12,
                       "applicableTaxes": [{"taxID": 1, "taxName": "Exempt"},
                                           {"taxID": 514, "taxPercent": 5, "taxName": "Withholding"}]}, f)
        devs = os.path.join(TMP, "devices.json")
        with open(devs, "w") as f:
            json.dump([{"deviceID": 501, "serialNo": "POS-501", "activationKey": "ABCD1234",
                        "modelName": "Till", "modelVersion": "2.0"},
                       {"deviceID": 502, "serialNo": "POS-502", "status": "Blacklisted"},
                       {"deviceID": 503, "serialNo": "POS-503", "status": "TaxpayerInactive"}], f)
        p = tk.SimProcess(os.path.join(TMP, "cli"), "--config", cfg, "--devices", devs,
                          "--activation-key", "GLOBAL01", "--fault", "GetConfig:1=503")
        self.sim = p
        try:
            hdr = {"DeviceModelName": "Till", "DeviceModelVersion": "2.0"}
            d = tk.DeviceKit(p, 501, serial="POS-501", workdir=tempfile.mkdtemp(dir=TMP))
            d.headers = hdr
            self.problem(d.register(key="TESTKEY1", headers=hdr), 422, "DEV02")
            self.problem(d.register(key="abcd1234"), 422, "DEV06")
            self.assertEqual(d.register(key="abcd1234", headers=hdr).status, 200)
            self.assertEqual(d.call("GET", "GetConfig", headers=hdr).status, 503)
            c = d.call("GET", "GetConfig", headers=hdr).json
            self.assertEqual((c["vatNumber"], c["qrUrl"], c["taxPayerDayMaxHrs"]),
                             ("", "https://qr.example", 12))
            self.assertEqual([t["taxID"] for t in c["applicableTaxes"]], [1, 514])
            for dev_id, code in ((502, "DEV04"), (503, "DEV05")):
                x = tk.DeviceKit(p, dev_id, serial="POS-%d" % dev_id, workdir=tempfile.mkdtemp(dir=TMP))
                self.problem(x.register(), 422, code)
            unknown = tk.DeviceKit(p, 599, workdir=tempfile.mkdtemp(dir=TMP))
            self.problem(unknown.register(key="GLOBAL01"), 422, "DEV01")
            # non-VAT taxpayer: no HS code needed, withholding tax allowed, exempt fine
            d.open_day(tk.now_local() - datetime.timedelta(minutes=1))
            rc = d.make([("Rice", "10.00", "1", 514, "5")], hs=None)
            r = d.call("POST", "SubmitReceipt", {"receipt": rc}, headers=hdr)
            self.assertEqual((r.status, r.json["validationErrors"]), (200, []), r)
        finally:
            self.assertEqual(p.stop(), 0)

    def test_auto_create_with_global_key(self):
        p = tk.SimProcess(os.path.join(TMP, "cli2"), "--activation-key", "SECRET99",
                          "--close-delay-s", "0")
        self.sim = p
        try:
            d = tk.DeviceKit(p, 77, workdir=tempfile.mkdtemp(dir=TMP))
            self.problem(d.register(), 422, "DEV02")
            self.assertEqual(d.register(key="secret99").status, 200)
        finally:
            p.stop()


class TestManyDevices(Base):
    def test_200_devices_concurrently(self):
        import threading
        devs = [self.device(open_day=False) for _ in range(200)]
        errors = []

        def run(d):
            try:
                for _ in range(5):
                    if d.call("GET", "GetStatus").status != 200:
                        errors.append(d.id)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
        ts = [threading.Thread(target=run, args=(d,)) for d in devs]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
