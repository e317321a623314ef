"""Client-side helpers for the simulator's tests and load script.

Deliberately independent of the simulator's own package (sim/): the
signature strings, tax arithmetic and counters here are a separate
implementation of fdms-reference 3 and 4, checked against the worked
examples of 4.6, so that the tests do not merely agree with themselves.

* SimProcess  start fdms-sim on a free port with a state directory, wait for
              READY, stop with SIGTERM.
* Client      one keep-alive HTTPS connection (http.client + ssl), optional
              client certificate; returns (status, headers, json).
* DeviceKit   a device: key (ECDSA P-256 or RSA-2048), CSR, registration,
              certificate files, connections with its certificate.
* receipt()   builds a signed FDMS receipt from simple line tuples.
"""
import base64
import datetime
import decimal
import hashlib
import http.client
import json
import os
import select
import signal
import ssl
import subprocess
import sys
import tempfile
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

D = decimal.Decimal
HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "fdms-sim")
HEADERS = {"DeviceModelName": "Server", "DeviceModelVersion": "v1"}


# ------------------------------------------------------------------ process

class SimProcess:
    def __init__(self, state_dir, *args, python=None):
        self.state = state_dir
        cmd = [python or sys.executable, SIM, "--listen", "127.0.0.1:0",
               "--state", state_dir] + list(args)
        self.errlog = open(os.path.join(state_dir + ".stderr"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.errlog)
        line = self._readline(30)
        if not line.startswith("READY https://127.0.0.1:"):
            self.proc.kill()
            raise RuntimeError("simulator did not start: %r (stderr in %s.stderr)"
                               % (line, state_dir))
        parts = line.split()
        self.url = parts[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.ca = parts[2][3:]
        self.ready_line = line

    def _readline(self, timeout):
        end = time.time() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                ch = os.read(fd, 1)
                if not ch:
                    break
                if ch == b"\n":
                    return buf.decode()
                buf += ch
            elif self.proc.poll() is not None:
                break
        return buf.decode()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.errlog.close()
        return self.proc.returncode

    def client(self, cert=None, key=None, timeout=30):
        return Client(self.port, self.ca, cert, key, timeout)


# ------------------------------------------------------------------ HTTP

def dumps(o):
    """JSON with Decimal written exactly (json cannot)."""
    if isinstance(o, D):
        s = format(o, "f")
        return s
    if isinstance(o, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dumps(v) for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in o) + "]"
    return json.dumps(o)


def loads(b):
    return json.loads(b, parse_float=D)


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.raw[:300])


class Client:
    def __init__(self, port, ca, cert=None, key=None, timeout=30):
        self.port = port
        ctx = ssl.create_default_context(cafile=ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        self.ctx = ctx
        self.timeout = timeout
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                                timeout=self.timeout)

    def request(self, method, path, body=None, headers=None, raw=False):
        if self.conn is None:
            self._connect()
        h = dict(headers if headers is not None else HEADERS)
        data = None
        if body is not None:
            if isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            self.conn.request(method, path, data, h)
            resp = self.conn.getresponse()
            payload = resp.read()
        except Exception:
            self.close()
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ------------------------------------------------------------------ devices

def make_key(kind="ecdsa", bits=2048, curve=None):
    if kind == "rsa":
        return rsa.generate_private_key(65537, bits)
    return ec.generate_private_key(curve or ec.SECP256R1())


def make_csr(key, cn, extra=(), hash_alg=None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    attrs += [x509.NameAttribute(oid, v) for oid, v in extra]
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name(attrs))
            .sign(key, hash_alg or hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM).decode())


def cn_for(serial, device_id):
    return "ZIMRA-%s-%010d" % (serial, device_id)


def sign(key, text):
    data = text.encode("utf-8")
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify(pub, sig, text):
    data = text.encode("utf-8")
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            pub.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        return True
    except Exception:  # noqa: BLE001
        return False


def b64(b):
    return base64.b64encode(b).decode()


def sha_b64(text):
    return b64(hashlib.sha256(text.encode("utf-8")).digest())


class DeviceKit:
    """A simulated fiscal device on the client side."""

    def __init__(self, sim, device_id, serial=None, kind="ecdsa", workdir=None):
        self.sim = sim
        self.id = device_id
        self.serial = serial or "SN-%d" % device_id
        self.key = make_key(kind)
        self.dir = workdir or tempfile.mkdtemp(prefix="dev%d-" % device_id)
        self.cert_pem = None
        self.certfile = os.path.join(self.dir, "cert.pem")
        self.keyfile = os.path.join(self.dir, "key.pem")
        with open(self.keyfile, "wb") as f:
            f.write(self.key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        self._conn = None
        self.public = sim.client()
        # chain state
        self.global_no = 0
        self.counter = 0
        self.prev_hash = None
        self.day_no = None
        self.opened = None
        self.last_date = None
        self.receipts = []
        self.headers = HEADERS

    def csr(self, **kw):
        return make_csr(self.key, cn_for(self.serial, self.id), **kw)

    def register(self, key="TESTKEY1", csr=None, headers=None):
        r = self.public.request("POST", "/Public/v1/%d/RegisterDevice" % self.id,
                                {"activationKey": key, "certificateRequest": csr or self.csr()},
                                headers)
        if r.status == 200:
            self.set_cert(r.json["certificate"])
        return r

    def set_cert(self, pem, key=None):
        self.cert_pem = pem
        if key is not None:
            self.key = key
            with open(self.keyfile, "wb") as f:
                f.write(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        with open(self.certfile, "w") as f:
            f.write(pem)
        if self._conn:
            self._conn.close()
        self._conn = None

    def conn(self):
        if self._conn is None:
            self._conn = self.sim.client(self.certfile, self.keyfile)
        return self._conn

    def call(self, method, name, body=None, headers=None, query=""):
        return self.conn().request(method, "/Device/v1/%d/%s%s" % (self.id, name, query),
                                   body, self.headers if headers is None else headers)

    def close(self):
        self.public.close()
        if self._conn:
            self._conn.close()

    def open_day(self, opened=None, day_no=None):
        opened = opened or now_local()
        body = {"fiscalDayOpened": fmt(opened)}
        if day_no is not None:
            body["fiscalDayNo"] = day_no
        r = self.call("POST", "OpenDay", body)
        if r.status == 200:
            self.day_no = r.json["fiscalDayNo"]
            self.opened = opened
            self.counter = 0
            self.prev_hash = None
            self.receipts = []
        return r

    def next_date(self):
        d = max(now_local(), (self.last_date or self.opened) + SECOND)
        self.last_date = d
        return d

    def make(self, lines, rtype="FiscalInvoice", currency="USD", inclusive=True,
             payments=None, date=None, mutate=None, counter=None, global_no=None,
             prev_hash="auto", advance=True, **kw):
        """A signed receipt continuing this device's chain."""
        c = self.counter + 1 if counter is None else counter
        g = self.global_no + 1 if global_no is None else global_no
        ph = (None if c == 1 else self.prev_hash) if prev_hash == "auto" else prev_hash
        date = date or self.next_date()
        rc = receipt(self.id, self.key, lines, rtype=rtype, currency=currency,
                     inclusive=inclusive, payments=payments, counter=c, global_no=g,
                     date=date, prev_hash=ph, mutate=mutate, **kw)
        if advance:
            self.counter, self.global_no = c, g
            self.prev_hash = rc["receiptDeviceSignature"]["hash"]
            self.receipts.append(rc)
        return rc

    def submit(self, rc):
        return self.call("POST", "SubmitReceipt", {"receipt": rc})

    def close_day(self, counters=None, date=None, receipt_counter=None, key=None):
        counters = day_counters(self.receipts) if counters is None else counters
        text = day_string(self.id, self.day_no, (date or self.opened).strftime("%Y-%m-%d"),
                          counters)
        sig = sign(key or self.key, text)
        body = {"fiscalDayNo": self.day_no, "fiscalDayCounters": counters_json(counters),
                "fiscalDayDeviceSignature": {"hash": sha_b64(text), "signature": b64(sig)},
                "receiptCounter": self.counter if receipt_counter is None else receipt_counter}
        return self.call("POST", "CloseDay", body), text, b64(sig)

    def wait_status(self, want=("FiscalDayClosed", "FiscalDayCloseFailed"), timeout=15):
        end = time.time() + timeout
        while True:
            r = self.call("GET", "GetStatus")
            if r.json and r.json.get("fiscalDayStatus") in want or time.time() > end:
                return r
            time.sleep(0.05)


# ------------------------------------------------------------------ receipts

SECOND = datetime.timedelta(seconds=1)
CAT = datetime.timezone(datetime.timedelta(hours=2))


def now_local():
    return datetime.datetime.now(CAT).replace(tzinfo=None, microsecond=0)


def fmt(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def q2(d):
    return d.quantize(D("0.01"), rounding=decimal.ROUND_HALF_EVEN)


def cents(d):
    return str(int(d * 100))


def pct(p):
    return "" if p is None else "%s" % p.quantize(D("0.01"))


def receipt_string(device_id, rtype, currency, global_no, date, total, taxes, prev_hash):
    """fdms-reference 4.2, written again for the tests."""
    s = "%d%s%s%d%s%s" % (device_id, rtype.upper(), currency.upper(), global_no, date,
                          cents(total))
    for t in sorted(taxes, key=lambda t: (t["taxID"], t.get("taxCode") or "")):
        s += (t.get("taxCode") or "") + pct(t.get("taxPercent")) + cents(t["taxAmount"]) \
            + cents(t["salesAmountWithTax"])
    return s + (prev_hash or "")


def group_taxes(lines, inclusive):
    groups = {}
    for ln in lines:
        k = (ln["taxID"], ln.get("taxPercent"))
        groups[k] = groups.get(k, D(0)) + ln["receiptLineTotal"]
    taxes = []
    for (tid, p), s in sorted(groups.items(), key=lambda kv: kv[0][0]):
        rate = p or D(0)
        if inclusive:
            tax = q2(s * rate / (100 + rate))
            sales = s
        else:
            tax = q2(s * rate / 100)
            sales = s + tax
        t = {"taxID": tid}
        if p is not None:
            t["taxPercent"] = p
        t["taxAmount"] = tax
        t["salesAmountWithTax"] = sales
        taxes.append(t)
    return taxes


def receipt(device_id, key, lines, rtype="FiscalInvoice", currency="USD", inclusive=True,
            payments=None, counter=1, global_no=1, date=None, prev_hash=None, mutate=None,
            invoice_no=None, notes=None, credit=None, hs="12345678"):
    """lines: (name, price, qty, taxID, percent) or dicts; amounts as text."""
    rl = []
    for i, ln in enumerate(lines, 1):
        if isinstance(ln, dict):
            rl.append(ln)
            continue
        name, price, qty, tid, p = ln
        price, qty = D(price), D(qty)
        line = {"receiptLineType": "Sale" if (price > 0) != (rtype == "CreditNote") else "Discount",
                "receiptLineNo": i, "receiptLineHSCode": hs, "receiptLineName": name,
                "receiptLinePrice": price, "receiptLineQuantity": qty,
                "receiptLineTotal": q2(price * qty), "taxID": tid}
        if hs is None:
            del line["receiptLineHSCode"]
        if p is not None:
            line["taxPercent"] = D(p)
        rl.append(line)
    taxes = group_taxes(rl, inclusive)
    total = sum((t["salesAmountWithTax"] for t in taxes), D(0))
    rc = {"receiptType": rtype, "receiptCurrency": currency, "receiptCounter": counter,
          "receiptGlobalNo": global_no,
          "invoiceNo": invoice_no or "INV-%d-%d-%d" % (device_id, global_no, time.time_ns() % 10**9),
          "receiptDate": fmt(date or now_local()), "receiptLinesTaxInclusive": inclusive,
          "receiptLines": rl, "receiptTaxes": taxes,
          "receiptPayments": payments if payments is not None else
          [{"moneyTypeCode": "Cash", "paymentAmount": total}],
          "receiptTotal": total, "receiptPrintForm": "Receipt48"}
    if notes is not None:
        rc["receiptNotes"] = notes
    elif rtype != "FiscalInvoice":
        rc["receiptNotes"] = "refund"
    if credit is not None:
        rc["creditDebitNote"] = credit
    if mutate:
        mutate(rc)
    text = receipt_string(device_id, rc["receiptType"], rc["receiptCurrency"],
                          rc["receiptGlobalNo"], rc["receiptDate"], rc["receiptTotal"],
                          rc["receiptTaxes"], prev_hash)
    rc["receiptDeviceSignature"] = {"hash": sha_b64(text), "signature": b64(sign(key, text))}
    return rc


# ------------------------------------------------------------------ counters

TYPES = ["SaleByTax", "SaleTaxByTax", "CreditNoteByTax", "CreditNoteTaxByTax",
         "DebitNoteByTax", "DebitNoteTaxByTax", "BalanceByMoneyType"]
MONEY = ["Cash", "Card", "MobileWallet", "Coupon", "Credit", "BankTransfer", "Other"]


def day_counters(receipts):
    acc = {}
    for rc in receipts:
        by, tax = {"FiscalInvoice": (0, 1), "CreditNote": (2, 3), "DebitNote": (4, 5)}[rc["receiptType"]]
        cur = rc["receiptCurrency"].upper()
        for t in rc["receiptTaxes"]:
            p = t.get("taxPercent")
            for ti, v in ((by, t["salesAmountWithTax"]), (tax, t["taxAmount"])):
                k = (ti, cur, t["taxID"], p)
                acc[k] = acc.get(k, D(0)) + v
        for pm in rc["receiptPayments"]:
            k = (6, cur, MONEY.index(pm["moneyTypeCode"]), None)
            acc[k] = acc.get(k, D(0)) + pm["paymentAmount"]
    out = []
    for k in sorted(acc, key=lambda k: (k[0], k[1], k[2])):
        if acc[k] != 0:
            out.append((k, acc[k]))
    return out


def counter_text(k, v):
    ti, cur, x, p = k
    mid = MONEY[x].upper() if ti == 6 else pct(p)
    return TYPES[ti].upper() + cur + mid + cents(v)


def day_string(device_id, day_no, date, counters):
    return "%d%d%s" % (device_id, day_no, date) + "".join(counter_text(k, v) for k, v in counters)


def counters_json(counters):
    out = []
    for (ti, cur, x, p), v in counters:
        c = {"fiscalCounterType": TYPES[ti], "fiscalCounterCurrency": cur}
        if ti == 6:
            c["fiscalCounterMoneyType"] = MONEY[x]
        else:
            c["fiscalCounterTaxID"] = x
            if p is not None:
                c["fiscalCounterTaxPercent"] = p
        c["fiscalCounterValue"] = v
        out.append(c)
    return out
