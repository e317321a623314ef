"""The FDMS endpoints as plain functions (fdms-reference section 2), no HTTP.

Sim holds the PKI, the Store, the effective configuration and one lock: every
endpoint runs its reads and writes under that lock, so each request is one
serializable transaction. Endpoints return the answer body without
operationID (the server adds it) or raise a wire.ApiError.

Asynchronous work (CloseDay processing after --close-delay-s, SubmitFile
processing) is queued on a Scheduler thread; what is pending is also in the
store (days in FiscalDayCloseInitiated, files InProgress), so a restart
resumes it (start() requeues everything pending).
"""
import base64
import copy
import datetime
import decimal
import heapq
import threading
import time

from . import counters as ctr
from . import pki as pkimod
from . import rules, signing, wire
from .store import Store
from .wire import (BadRequest, NotFound, Unauthorized, Unprocessable, ci, fmt_dt,
                   now_local, parse_dt, parse_dt_lenient)

D = decimal.Decimal
ONLINE, OFFLINE = "Online", "Offline"
OPENED, CLOSED = "FiscalDayOpened", "FiscalDayClosed"
INITIATED, FAILED = "FiscalDayCloseInitiated", "FiscalDayCloseFailed"
MAX_FILE = 3 * 1024 * 1024

DEFAULT_TAXES = [
    {"taxID": 1, "taxName": "Exempt", "validFrom": "2023-01-01T00:00:00"},
    {"taxID": 2, "taxPercent": D(0), "taxName": "Zero rated 0%",
     "validFrom": "2023-01-01T00:00:00"},
    {"taxID": 3, "taxPercent": D(15), "taxName": "Standard rated 15%",
     "validFrom": "2023-01-01T00:00:00"},
    {"taxID": 514, "taxPercent": D(5), "taxName": "Non-VAT Withholding Tax",
     "validFrom": "2023-01-01T00:00:00"},
    {"taxID": 517, "taxPercent": D("15.5"), "taxName": "Standard rated 15.5%",
     "validFrom": "2025-12-15T00:00:00"},
]

DEFAULT_CONFIG = {
    "taxPayerName": "Simulated Taxpayer (Pvt) Ltd",
    "taxPayerTIN": "2000123456",
    "vatNumber": "220123456",
    "deviceBranchName": "Head Office",
    "deviceBranchAddress": {"province": "Harare", "city": "Harare",
                            "street": "Samora Machel Avenue", "houseNo": "1",
                            "district": "CBD"},
    "deviceBranchContacts": {"phoneNo": "+263242700000",
                             "email": "fdms-sim@example.invalid"},
    "deviceOperatingMode": ONLINE,
    "taxPayerDayMaxHrs": 24,
    "taxpayerDayEndNotificationHrs": 2,
    "applicableTaxes": DEFAULT_TAXES,
    "qrUrl": "https://fdmstest.zimra.co.zw",
}


class Settings:
    """Runtime knobs (command line, POST /_sim/settings)."""

    def __init__(self):
        self.activation_key = "TESTKEY1"
        self.auto_create = True
        self.close_delay_s = 2.0
        self.cert_validity_s = 365 * 86400
        self.reporting_frequency = 5
        self.future_skew_s = 300
        self.latency_ms = 0

    def to_json(self):
        return {"closeDelayS": str(self.close_delay_s), "certValiditySeconds": self.cert_validity_s,
                "reportingFrequency": self.reporting_frequency,
                "futureSkewSeconds": self.future_skew_s, "latencyMs": self.latency_ms,
                "activationKey": self.activation_key, "autoCreate": self.auto_create}


class Scheduler(threading.Thread):
    """Runs fn(*args) at a wall-clock time, one job at a time."""

    def __init__(self):
        super().__init__(daemon=True, name="scheduler")
        self.cv = threading.Condition()
        self.heap = []
        self.seq = 0
        self.stopped = False

    def add(self, due, fn, *args):
        with self.cv:
            self.seq += 1
            heapq.heappush(self.heap, (due, self.seq, fn, args))
            self.cv.notify()

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify()

    def run(self):
        while True:
            with self.cv:
                while not self.stopped and (not self.heap or self.heap[0][0] > time.time()):
                    self.cv.wait(None if not self.heap else max(0.0, self.heap[0][0] - time.time()))
                if self.stopped:
                    return
                _, _, fn, args = heapq.heappop(self.heap)
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - keep the scheduler alive
                import traceback
                traceback.print_exc()


def _errors_json(errors):
    return [{"validationErrorCode": c, "validationErrorColor": col,
             "validationErrorDescription": d} for c, col, d in errors]


def _has(errors, colour):
    return any(e[1] == colour for e in errors)


class ReceiptEnv(rules.Env):
    """rules.Env over the store, for a receipt of one device and day.

    own_id is the receipt's own ID when it is re-evaluated (only receipts
    stored before it count for uniqueness and credit sums)."""

    def __init__(self, sim, device_id, day, config, own_id=None, now=None):
        self.sim = sim
        self.st = sim.store
        self.device_id = device_id
        self.day_no = day["day_no"]
        self.vat_payer = bool(config.get("vatNumber"))
        self.taxes = sim.parse_taxes(config)
        self.day_opened = parse_dt(day["opened"])
        self.day_max_hrs = int(config.get("taxPayerDayMaxHrs") or 24)
        self.now = now or now_local()
        self.future_skew_s = sim.settings.future_skew_s
        self.taxpayer = config.get("taxPayerTIN") or ""
        self.own_id = own_id
        self.before = own_id if own_id is not None else 2 ** 62

    def previous(self, r):
        c = r["receiptCounter"]
        if c <= 1:
            return "first", self.st.last_before_day(self.device_id, self.day_no)
        p = self.st.receipt_by_counter(self.device_id, self.day_no, c - 1, self.own_id)
        return ("found", p) if p else ("missing", None)

    def counter_taken(self, r):
        return self.st.counter_taken(self.device_id, self.day_no, r["receiptCounter"],
                                     self.before)

    def global_taken(self, r):
        return self.st.global_taken(self.device_id, self.day_no, r["receiptGlobalNo"],
                                    r["receiptDeviceSignature"]["hash"], self.before)

    def invoice_taken(self, r):
        return self.st.invoice_taken(self.taxpayer, r["invoiceNo"], self.before)

    def original(self, ref):
        if ref.get("receiptID") is not None:
            rec = self.st.receipt(ref["receiptID"])
        elif None not in (ref.get("deviceID"), ref.get("receiptGlobalNo"), ref.get("fiscalDayNo")):
            rec = self.st.receipt_by_triple(ref["deviceID"], ref["receiptGlobalNo"],
                                            ref["fiscalDayNo"])
        else:
            return None
        if (rec is None or rec["receiptID"] >= self.before
                or rec["receiptType"] != "FiscalInvoice"
                or rec["taxpayer"] != self.taxpayer):
            return None
        return rec

    def noted_amounts(self, original_id):
        cn = dn = D(0)
        for row in self.st.noted(original_id, self.before):
            if row["receipt_type"] == "CreditNote":
                cn += D(row["total"])
            elif row["receipt_type"] == "DebitNote":
                dn += D(row["total"])
        return cn, dn

    def verify(self, text, hash_b64, signature_b64):
        return self.sim.verify_device(self.device_id, text, hash_b64, signature_b64)


class Sim:
    def __init__(self, state_dir, settings, config_override=None, devices=None):
        self.dir = state_dir
        self.settings = settings
        self.lock = threading.RLock()
        self.pki = pkimod.PKI(state_dir)
        self.store = Store(state_dir)
        self.base_config = copy.deepcopy(DEFAULT_CONFIG)
        if config_override:
            self.base_config.update(config_override)
        self.cert_cache = {}
        self.key_cache = {}
        self.scheduler = Scheduler()
        if devices:
            self.load_devices(devices)

    # ------------------------------------------------------------ lifecycle
    def start(self):
        self.scheduler.start()
        with self.lock:
            for day in self.store.pending_closes():
                self.scheduler.add(day["close_due"] or 0, self.process_close,
                                   day["device_id"], day["day_no"])
            for f in self.store.files_pending():
                self.scheduler.add(0, self.process_file, f["file_id"])

    def stop(self):
        self.scheduler.stop()
        with self.lock:
            self.store.close()

    def tx(self):
        return _Tx(self)

    # ------------------------------------------------------------ devices
    def load_devices(self, devices):
        with self.tx():
            for d in devices:
                if not isinstance(d, dict) or not isinstance(ci(d, "deviceID"), int):
                    raise ValueError("each device needs an integer deviceID: %r" % (d,))
                row = {"device_id": ci(d, "deviceID")}
                for key, col in (("serialNo", "serial_no"), ("activationKey", "activation_key"),
                                 ("modelName", "model_name"), ("modelVersion", "model_version"),
                                 ("operatingMode", "operating_mode"), ("status", "status")):
                    if ci(d, key) is not None:
                        row[col] = ci(d, key)
                if ci(d, "config") is not None:
                    row["config_json"] = wire.dumps(ci(d, "config"))
                if row.get("operating_mode") not in (None, ONLINE, OFFLINE):
                    raise ValueError("operatingMode must be Online or Offline")
                self.store.upsert_device(row)

    def device(self, device_id):
        dev = self.store.device(device_id)
        if dev is None:
            raise Unprocessable("DEV01", "Device %d is not found" % device_id)
        return dev

    @staticmethod
    def check_status(dev):
        st = dev.get("status") or "Active"
        if st == "Blacklisted":
            raise Unprocessable("DEV04", "Device model is blacklisted")
        if st == "TaxpayerInactive":
            raise Unprocessable("DEV05", "Taxpayer is not active")
        if st != "Active":
            raise Unprocessable("DEV01", "Device is not active")

    @staticmethod
    def check_model(dev, headers):
        name, version = headers.get("DeviceModelName"), headers.get("DeviceModelVersion")
        if name != dev["model_name"] or version != dev["model_version"]:
            raise Unprocessable("DEV06", "Device model and version is not registered "
                                "(registered %s %s, got %s %s)"
                                % (dev["model_name"], dev["model_version"], name, version))

    def config_for(self, dev):
        c = copy.deepcopy(self.base_config)
        if dev.get("operating_mode"):
            c["deviceOperatingMode"] = dev["operating_mode"]
        if dev.get("config_json"):
            c.update(wire.loads(dev["config_json"]))
        return c

    def mode(self, dev):
        return self.config_for(dev).get("deviceOperatingMode") or ONLINE

    @staticmethod
    def parse_taxes(config):
        out = []
        for t in config.get("applicableTaxes") or []:
            p = ci(t, "taxPercent")
            vf = ci(t, "validFrom", ci(t, "taxValidFrom"))
            vt = ci(t, "validTill", ci(t, "taxValidTill"))
            vtd = parse_dt_lenient(vt) if vt else None
            if vtd is not None and isinstance(vt, str) and len(vt) == 10:
                vtd += datetime.timedelta(days=1, seconds=-1)
            out.append({"taxID": ci(t, "taxID"),
                        "taxPercent": None if p is None else D(p),
                        "taxName": ci(t, "taxName"),
                        "validFrom": parse_dt_lenient(vf) if vf else None,
                        "validTill": vtd})
        return out

    def require_online(self, dev):
        if self.mode(dev) != ONLINE:
            raise Unprocessable("DEV01", "Operation is not allowed for a device in Offline mode")

    # ------------------------------------------------------------ certificates
    def cert_record(self, serial):
        rec = self.cert_cache.get(serial)
        if rec is None:
            with self.lock:
                row = self.store.cert(serial)
                if row is None:
                    return None
                rec = (row["device_id"], bool(row["revoked"]))
                self.cert_cache[serial] = rec
        return rec

    def authorize(self, device_id, peer):
        """mTLS rule: a certificate issued by this FDMS to this device,
        not revoked, not expired (401 otherwise)."""
        if peer is None:
            raise Unauthorized("A client certificate is required")
        serial, cn, nb, na = peer
        rec = self.cert_record(serial)
        if rec is None:
            raise Unauthorized("Client certificate was not issued by FDMS")
        m = pkimod.CN_RE.match(cn or "")
        if rec[0] != device_id or not m or int(m.group(2)) != device_id:
            raise Unauthorized("Client certificate was issued to another device")
        if rec[1]:
            raise Unauthorized("Client certificate is revoked")
        now = pkimod.utcnow()
        if now < nb or now > na:
            raise Unauthorized("Client certificate is expired or not yet valid")

    def device_keys(self, device_id):
        keys = self.key_cache.get(device_id)
        if keys is None:
            keys = []
            for c in self.store.certs_of(device_id):
                if not c["revoked"]:
                    keys.append(pkimod.load_cert_pem(c["pem"]).public_key())
            keys.reverse()  # newest first
            self.key_cache[device_id] = keys
        return keys

    def verify_device(self, device_id, text, hash_b64, signature_b64):
        """Hash must be SHA-256 of text; signature must verify with one of the
        device's (non-revoked) certificates."""
        h = signing.b64decode_strict(hash_b64)
        sig = signing.b64decode_strict(signature_b64)
        if h is None or sig is None or h != signing.sha256(text):
            return False
        return any(signing.verify(k, sig, text) for k in self.device_keys(device_id))

    def _issue(self, device_id, csr, kind):
        cert = self.pki.issue(csr, self.settings.cert_validity_s)
        self.store.add_cert(pkimod.serial_hex(cert), device_id, pkimod.pem(cert),
                            pkimod.thumbprint(cert), pkimod.not_before(cert).isoformat(),
                            pkimod.not_after(cert).isoformat(), kind)
        self.key_cache.pop(device_id, None)
        return cert

    def revoke(self, device_id, serial=None):
        with self.tx():
            self.store.revoke(device_id, serial)
        self.cert_cache.clear()
        self.key_cache.pop(device_id, None)

    # ------------------------------------------------------------ public endpoints
    def _bind_simple(self, body, fields):
        b = rules.Binder()
        if not isinstance(body, dict):
            raise BadRequest({"$": ["A JSON object is required."]})
        out = {}
        for name, kind, required, maxlen in fields:
            if kind == "str":
                out[name] = b.string(body, name, "", required, maxlen)
            elif kind == "int":
                out[name] = b.integer(body, name, "", required)
            elif kind == "dt":
                out[name] = b.datetime(body, name, "", required)
        for msg in b.lengths:
            b.err(msg.split(" ")[0], msg)
        if b.errors:
            raise BadRequest(b.errors)
        return out

    def _taxpayer_info(self, dev):
        c = self.config_for(dev)
        out = {}
        for k in ("taxPayerName", "taxPayerTIN", "vatNumber", "deviceBranchName",
                  "deviceBranchAddress", "deviceBranchContacts"):
            if k in c and c[k] is not None:
                out[k] = c[k]
        return out

    def _auto_device(self, device_id, serial):
        if device_id <= 0 or not self.settings.auto_create:
            raise Unprocessable("DEV01", "Device %d is not found" % device_id)
        self.store.upsert_device({"device_id": device_id, "serial_no": serial,
                                  "activation_key": self.settings.activation_key})
        return self.store.device(device_id)

    def _check_key(self, dev, key):
        want = dev.get("activation_key") or self.settings.activation_key
        if (key or "").lower() != want.lower():
            raise Unprocessable("DEV02", "Activation key is incorrect")

    def verify_taxpayer(self, device_id, body):
        a = self._bind_simple(body, [("activationKey", "str", True, 8),
                                     ("deviceSerialNo", "str", True, 20)])
        with self.tx():
            dev = self.store.device(device_id)
            if dev is None:
                if self.settings.auto_create and device_id > 0:
                    if a["activationKey"].lower() != self.settings.activation_key.lower():
                        raise Unprocessable("DEV02", "Activation key is incorrect")
                dev = self._auto_device(device_id, a["deviceSerialNo"])
            self.check_status(dev)
            self._check_key(dev, a["activationKey"])
            if dev.get("serial_no") and dev["serial_no"] != a["deviceSerialNo"]:
                raise Unprocessable("DEV01", "Device serial number '%s' does not match "
                                    "the registered device" % a["deviceSerialNo"])
            if not dev.get("serial_no"):
                self.store.set_device(device_id, serial_no=a["deviceSerialNo"])
            return self._taxpayer_info(dev)

    def register_device(self, device_id, body, headers):
        a = self._bind_simple(body, [("activationKey", "str", True, 8),
                                     ("certificateRequest", "str", True, None)])
        with self.tx():
            dev = self.store.device(device_id)
            if dev is None:
                if not self.settings.auto_create or device_id <= 0:
                    raise Unprocessable("DEV01", "Device %d is not found" % device_id)
                probe = {"model_name": "Server", "model_version": "v1", "status": "Active",
                         "activation_key": self.settings.activation_key}
                self.check_model(probe, headers)
                self._check_key(probe, a["activationKey"])
                csr, serial = self.pki.check_csr(a["certificateRequest"], device_id)
                dev = self._auto_device(device_id, serial)
            else:
                self.check_status(dev)
                self.check_model(dev, headers)
                self._check_key(dev, a["activationKey"])
                csr, serial = self.pki.check_csr(a["certificateRequest"], device_id,
                                                 dev.get("serial_no") or None)
                if not dev.get("serial_no"):
                    self.store.set_device(device_id, serial_no=serial)
            # Re-registration replaces the device identity: older certificates are revoked.
            self.store.revoke(device_id)
            cert = self._issue(device_id, csr, "RegisterDevice")
            self.store.set_device(device_id, registered=1)
        self.cert_cache.clear()
        return {"certificate": pkimod.pem(cert)}

    def get_server_certificate(self, thumbprint):
        if thumbprint and thumbprint.upper() != self.pki.signing_thumbprint:
            raise NotFound("Certificate with thumbprint %s is not found" % thumbprint)
        return {"certificate": [self.pki.signing_pem, self.pki.ca_pem],
                "certificateValidTill": fmt_dt(pkimod.not_after(self.pki.signing_cert))}

    # ------------------------------------------------------------ device endpoints
    def device_checked(self, device_id, headers):
        """Device endpoints after mTLS: status, model headers."""
        dev = self.device(device_id)
        self.check_status(dev)
        self.check_model(dev, headers)
        return dev

    def _cert_valid_till(self, device_id):
        best = None
        for c in self.store.certs_of(device_id):
            if not c["revoked"]:
                na = datetime.datetime.fromisoformat(c["not_after"])
                best = na if best is None or na > best else best
        if best is None:
            return None
        local = best.replace(tzinfo=datetime.timezone.utc).astimezone(wire.CAT)
        return fmt_dt(local.replace(tzinfo=None))

    def get_config(self, device_id, headers):
        with self.lock:
            dev = self.device_checked(device_id, headers)
            c = self.config_for(dev)
            out = {}
            for k in ("taxPayerName", "taxPayerTIN", "vatNumber"):
                if k in c:
                    out[k] = c[k]
            out["deviceSerialNo"] = dev.get("serial_no") or ""
            for k, v in c.items():
                if k not in out:
                    out[k] = v
            out["certificateValidTill"] = c.get("certificateValidTill") or self._cert_valid_till(device_id)
            return out

    def get_status(self, device_id, headers):
        with self.lock:
            dev = self.device_checked(device_id, headers)
            self.require_online(dev)
            return self._status(device_id)

    def _status(self, device_id):
        day = self.store.current_day(device_id)
        out = {"fiscalDayStatus": day["status"] if day else CLOSED}
        if day and day["status"] == CLOSED:
            out["fiscalDayReconciliationMode"] = day["reconciliation"] or "Auto"
            out["fiscalDayServerSignature"] = wire.loads(day["server_signature"])
            out["fiscalDayClosed"] = day["closed_at"]
            if day["reconciliation"] == "Manual":
                saved = wire.loads(day["counters"])
                out["fiscalDayCounter"] = saved["counters"]
                out["fiscalDayDocumentQuantities"] = saved["quantities"]
        if day and day["status"] == FAILED:
            out["fiscalDayClosingErrorCode"] = day["error_code"]
        last = self.store.last_global_by_date(device_id)
        if last is not None:
            out["lastReceiptGlobalNo"] = last
        if day:
            out["lastFiscalDayNo"] = day["day_no"]
        return out

    def open_day(self, device_id, headers, body):
        a = self._bind_simple(body, [("fiscalDayNo", "int", False, None),
                                     ("fiscalDayOpened", "dt", True, None)])
        with self.tx():
            dev = self.device_checked(device_id, headers)
            self.require_online(dev)
            day = self.store.current_day(device_id)
            if day and day["status"] != CLOSED:
                raise Unprocessable("FISC01", "Open new fiscal day is not possible while "
                                    "current fiscal day is not closed.")
            nxt = (day["day_no"] if day else 0) + 1
            if a["fiscalDayNo"] is not None and a["fiscalDayNo"] != nxt:
                raise Unprocessable("FISC01", "Fiscal day number must be %d, got %d"
                                    % (nxt, a["fiscalDayNo"]))
            self.store.insert_day(device_id, nxt, a["fiscalDayOpened"])
            return {"fiscalDayNo": nxt}

    def ping(self, device_id, headers):
        with self.tx():
            self.device_checked(device_id, headers)
            self.store.set_device(device_id, last_ping=fmt_dt(now_local()))
        return {"reportingFrequency": self.settings.reporting_frequency}

    def issue_certificate(self, device_id, headers, body):
        a = self._bind_simple(body, [("certificateRequest", "str", True, None)])
        with self.tx():
            dev = self.device_checked(device_id, headers)
            csr, _ = self.pki.check_csr(a["certificateRequest"], device_id,
                                        dev.get("serial_no") or None)
            cert = self._issue(device_id, csr, "IssueCertificate")
        return {"certificate": pkimod.pem(cert)}

    # ------------------------------------------------------------ receipts
    def _answer(self, rec):
        return {"receiptID": rec["receiptID"], "serverDate": rec["serverDate"],
                "receiptServerSignature": rec["serverSignature"],
                "validationErrors": _errors_json(rec["errors"])}

    def submit_receipt(self, device_id, headers, body, body_text):
        if not isinstance(body, dict) or not isinstance(ci(body, "receipt"), dict):
            raise BadRequest({"receipt": ["The receipt field is required."]})
        r = rules.bind_receipt(ci(body, "receipt"))
        with self.tx():
            dev = self.device_checked(device_id, headers)
            self.require_online(dev)
            same = self.store.receipt_by_hash(device_id, r["receiptGlobalNo"],
                                              r["receiptDeviceSignature"]["hash"])
            if same is not None:
                return self._answer(same)
            day = self.store.current_day(device_id)
            if day is None or day["status"] not in (OPENED, FAILED):
                raise Unprocessable("RCPT01", "Submit receipt is not allowed: fiscal day "
                                    "status is %s" % (day["status"] if day else CLOSED))
            rec = self._store_receipt(dev, day, r, body_text, None)
            return self._answer(rec)

    def _store_receipt(self, dev, day, r, request_text, file_id, now=None):
        device_id = dev["device_id"]
        config = self.config_for(dev)
        now = now or now_local()
        env = ReceiptEnv(self, device_id, day, config, now=now)
        errors, ref = rules.validate(r, env)
        server_date = fmt_dt(now)
        rid = self.store.insert_receipt(device_id, day["day_no"], env.taxpayer, r, request_text,
                                        errors, server_date, ref, file_id)
        text = signing.server_receipt_string(r["receiptDeviceSignature"]["signature"], rid,
                                             server_date)
        ssig = {"hash": signing.b64(signing.sha256(text)),
                "signature": signing.b64(signing.sign(self.pki.signing_key, text)),
                "certificateThumbprint": self.pki.signing_thumbprint}
        self.store.set_receipt(rid, server_signature=wire.dumps(ssig))
        self._reevaluate_after(dev, day, r["receiptCounter"])
        return self.store.receipt(rid)

    def _reevaluate_after(self, dev, day, counter):
        """A receipt arrived: successors that were Grey for lack of it are
        evaluated again (and theirs, in turn)."""
        config = self.config_for(dev)
        c = counter + 1
        while True:
            rec = self.store.receipt_by_counter(dev["device_id"], day["day_no"], c)
            if rec is None or not _has(rec["errors"], "Grey"):
                return
            env = ReceiptEnv(self, dev["device_id"], day, config, own_id=rec["receiptID"],
                             now=parse_dt(rec["serverDate"]))
            errors, ref = rules.validate(rec["receipt"], env)
            self.store.set_receipt(rec["receiptID"], errors=wire.dumps(errors),
                                   ref_receipt_id=ref)
            if _has(errors, "Grey"):
                return
            c += 1

    # ------------------------------------------------------------ close day
    @staticmethod
    def bind_counters(b, lst, path):
        out = []
        for i, c in enumerate(lst or []):
            p = "%s[%d]." % (path, i)
            if not isinstance(c, dict):
                b.err(p[:-1], "The JSON value could not be converted to FiscalDayCounter.")
                continue
            out.append({
                "fiscalCounterType": b.enum(c, "fiscalCounterType", p, signing.COUNTER_TYPES),
                "fiscalCounterCurrency": b.string(c, "fiscalCounterCurrency", p, True, 3),
                "fiscalCounterTaxID": b.integer(c, "fiscalCounterTaxID", p, False),
                "fiscalCounterTaxPercent": b.number(c, "fiscalCounterTaxPercent", p, False, 5, 2),
                "fiscalCounterMoneyType": b.enum(c, "fiscalCounterMoneyType", p,
                                                 signing.MONEY_TYPES, False),
                "fiscalCounterValue": b.number(c, "fiscalCounterValue", p)})
        return out

    def bind_close(self, body, with_day_no=True):
        if not isinstance(body, dict):
            raise BadRequest({"$": ["A JSON object is required."]})
        b = rules.Binder()
        out = {}
        if with_day_no:
            out["fiscalDayNo"] = b.integer(body, "fiscalDayNo", "")
        out["fiscalDayCounters"] = self.bind_counters(
            b, b.lst(body, "fiscalDayCounters", "", required=False), "fiscalDayCounters")
        sig = b.obj(body, "fiscalDayDeviceSignature", "")
        if sig is not None:
            out["fiscalDayDeviceSignature"] = {
                "hash": b.b64(sig, "hash", "fiscalDayDeviceSignature.", 32),
                "signature": b.b64(sig, "signature", "fiscalDayDeviceSignature.", 256)}
        out["receiptCounter"] = b.integer(body, "receiptCounter", "")
        for msg in b.lengths:
            b.err(msg.split(" ")[0], msg)
        if b.errors:
            raise BadRequest(b.errors)
        return out

    def close_day(self, device_id, headers, body):
        req = self.bind_close(body)
        delay = self.settings.close_delay_s
        with self.tx():
            dev = self.device_checked(device_id, headers)
            self.require_online(dev)
            day = self.store.current_day(device_id)
            if day is None or day["status"] == CLOSED:
                raise Unprocessable("FISC04", "Close day is not allowed: fiscal day is not opened")
            if day["status"] == INITIATED:
                raise Unprocessable("FISC03", "Close day is not allowed: fiscal day close is "
                                    "in progress")
            if req["fiscalDayNo"] != day["day_no"]:
                raise Unprocessable("FISC04", "Close day is not allowed: fiscal day %d is not "
                                    "opened (open day is %d)" % (req["fiscalDayNo"], day["day_no"]))
            self.store.update_day(device_id, day["day_no"], status=INITIATED,
                                  close_request=wire.dumps_typed(req), close_due=time.time() + delay,
                                  error_code=None)
        if delay <= 0:
            self.process_close(device_id, day["day_no"])
        else:
            self.scheduler.add(time.time() + delay, self.process_close, device_id, day["day_no"])
        return {}

    def _close_checks(self, device_id, day, req):
        """FDMS's order: BadCertificateSignature, MissingReceipts,
        ReceiptsWithValidationErrors, CountersMismatch. Returns (code, own counters)."""
        sent = ctr.canonical(req["fiscalDayCounters"])
        text = signing.day_string(device_id, day["day_no"], day["opened"][:10], sent)
        sig = req.get("fiscalDayDeviceSignature") or {}
        receipts = self.store.receipts_of_day(device_id, day["day_no"])
        own = ctr.compute(r["receipt"] for r in receipts)
        if not self.verify_device(device_id, text, sig.get("hash"), sig.get("signature")):
            return "BadCertificateSignature", own
        have = {r["receiptCounter"] for r in receipts}
        rc = req["receiptCounter"]
        if (any(_has(r["errors"], "Grey") for r in receipts)
                or any(i not in have for i in range(1, rc + 1))):
            return "MissingReceipts", own
        if any(_has(r["errors"], "Red") for r in receipts):
            return "ReceiptsWithValidationErrors", own
        sent_map = {}
        for c in sent:
            k = ctr.key(c)
            if k in sent_map:
                return "CountersMismatch", own
            sent_map[k] = c["fiscalCounterValue"]
        own_map = {ctr.key(c): c["fiscalCounterValue"] for c in own}
        if sent_map != own_map or (have and max(have) != rc):
            return "CountersMismatch", own
        return None, own

    def process_close(self, device_id, day_no):
        with self.tx():
            day = self.store.day(device_id, day_no)
            if day is None or day["status"] != INITIATED:
                return
            req = wire.loads(day["close_request"])
            self._finish_close(device_id, day, req)

    def _finish_close(self, device_id, day, req):
        code, own = self._close_checks(device_id, day, req)
        if code:
            self.store.update_day(device_id, day["day_no"], status=FAILED, error_code=code,
                                  close_due=None)
            return code
        closed = fmt_dt(now_local())
        dsig = (req.get("fiscalDayDeviceSignature") or {}).get("signature") or ""
        self._closed(device_id, day, closed, "Auto", own, dsig, wire.dumps({"counters": ctr.to_json(own)}))
        return None

    def _closed(self, device_id, day, closed, mode, own, dsig, saved):
        text = signing.server_day_string(device_id, day["day_no"], day["opened"][:10], closed,
                                         mode, own, dsig)
        ssig = {"hash": signing.b64(signing.sha256(text)),
                "signature": signing.b64(signing.sign(self.pki.signing_key, text)),
                "certificateThumbprint": self.pki.signing_thumbprint}
        self.store.update_day(device_id, day["day_no"], status=CLOSED, error_code=None,
                              closed_at=closed, reconciliation=mode, close_due=None,
                              server_signature=wire.dumps(ssig), counters=saved)

    def manual_close(self, device_id):
        """What the taxpayer portal / a ZIMRA officer does for a stuck day."""
        with self.tx():
            self.device(device_id)
            day = self.store.current_day(device_id)
            if day is None or day["status"] == CLOSED:
                raise Unprocessable("FISC04", "No fiscal day to close")
            receipts = self.store.receipts_of_day(device_id, day["day_no"])
            own = ctr.compute(r["receipt"] for r in receipts)
            qty = {}
            for r in receipts:
                k = (r["receiptType"], r["receiptCurrency"].upper())
                n, total = qty.get(k, (0, D(0)))
                qty[k] = (n + 1, total + r["receipt"]["receiptTotal"])
            quantities = [{"receiptType": t, "receiptCurrency": c, "receiptQuantity": n,
                           "receiptTotalAmount": tot}
                          for (t, c), (n, tot) in sorted(
                              qty.items(), key=lambda kv: (rules.RECEIPT_TYPES.index(kv[0][0]),
                                                           kv[0][1]))]
            closed = fmt_dt(now_local())
            self._closed(device_id, day, closed, "Manual", own, None,
                         wire.dumps({"counters": ctr.to_json(own), "quantities": quantities}))
            return self._status(device_id)

    # ------------------------------------------------------------ files
    def submit_file(self, device_id, headers, raw, ip, operation_id):
        with self.tx():
            dev = self.device_checked(device_id, headers)
            if self.mode(dev) != OFFLINE:
                raise Unprocessable("FILE03", "Device is not in Offline mode")
            if len(raw) > MAX_FILE:
                raise Unprocessable("FILE01", "File is larger than 3 MB")
            doc, text = self._decode_file(raw)
            header = ci(doc, "header")
            b = rules.Binder()
            if not isinstance(header, dict):
                raise Unprocessable("FILE02", "File structure is invalid: header is missing")
            h = {"deviceID": b.integer(header, "deviceID", "header."),
                 "fiscalDayNo": b.integer(header, "fiscalDayNo", "header."),
                 "fiscalDayOpened": b.datetime(header, "fiscalDayOpened", "header."),
                 "fileSequence": b.integer(header, "fileSequence", "header.")}
            content, footer = ci(doc, "content"), ci(doc, "footer")
            if b.errors or (content is not None and not isinstance(content, dict)) or (
                    footer is not None and not isinstance(footer, dict)):
                raise Unprocessable("FILE02", "File structure is invalid: %s"
                                    % "; ".join(sorted(b.errors)) or "content/footer")
            if h["deviceID"] != device_id:
                raise Unprocessable("FILE05", "Device ID in the file header (%d) is not %d"
                                    % (h["deviceID"], device_id))
            day = self.store.day(device_id, h["fiscalDayNo"])
            if day is not None and day["status"] in (CLOSED, INITIATED):
                raise Unprocessable("FILE04", "Fiscal day %d is closed or being closed"
                                    % h["fiscalDayNo"])
            now = now_local()
            fid = self.store.insert_file(
                device_id=device_id, operation_id=operation_id,
                file_name="%d_%d_%d_%s.json" % (device_id, h["fiscalDayNo"], h["fileSequence"],
                                                now.strftime("%Y%m%d%H%M%S")),
                uploaded_at=fmt_dt(now), day_no=h["fiscalDayNo"],
                day_opened=h["fiscalDayOpened"], seq=h["fileSequence"], status="InProgress",
                has_footer=1 if footer is not None else 0, ip=ip, body=text)
        delay = max(0.0, self.settings.close_delay_s)
        self.scheduler.add(time.time() + delay, self.process_file, fid)
        return {}

    @staticmethod
    def _decode_file(raw):
        try:
            text = raw.decode("utf-8-sig").strip()
            if not text.startswith("{"):
                text = base64.b64decode("".join(text.split()), validate=True).decode(
                    "utf-8-sig").strip()
            doc = wire.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise Unprocessable("FILE02", "File structure is invalid: neither JSON nor "
                                "base64-encoded JSON") from None
        if not isinstance(doc, dict):
            raise Unprocessable("FILE02", "File structure is invalid: not a JSON object")
        return doc, text

    def process_file(self, file_id):
        follow = None
        with self.tx():
            f = self.store.file(file_id)
            if f is None or f["status"] not in ("InProgress", "WaitingForPreviousFile"):
                return
            if f["seq"] > 1:
                prev = [x for x in self.store.files_of(f["device_id"])
                        if x["day_no"] == f["day_no"] and x["seq"] == f["seq"] - 1
                        and x["status"] in ("CompleteSuccessful", "FailedWithErrors")]
                if not prev:
                    self.store.update_file(file_id, status="WaitingForPreviousFile")
                    return
            status, error, invalid = self._process_file(f)
            self.store.update_file(file_id, status=status, error=error,
                                   invalid=wire.dumps(invalid),
                                   processed_at=fmt_dt(now_local()))
            for x in self.store.files_of(f["device_id"]):
                if (x["day_no"] == f["day_no"] and x["seq"] == f["seq"] + 1
                        and x["status"] == "WaitingForPreviousFile"):
                    follow = x["file_id"]
        if follow is not None:
            self.process_file(follow)

    def _process_file(self, f):
        device_id = f["device_id"]
        dev = self.store.device(device_id)
        doc = wire.loads(f["body"])
        day = self.store.day(device_id, f["day_no"])
        if day is not None and day["status"] in (CLOSED, INITIATED):
            return "FailedWithErrors", "FileSentForClosedDay", []
        if day is None:
            self.store.insert_day(device_id, f["day_no"], f["day_opened"])
            day = self.store.day(device_id, f["day_no"])
        invalid = []
        content = ci(doc, "content") or {}
        receipts = ci(content, "receipts") or []
        if not isinstance(receipts, list):
            return "FailedWithErrors", "IncorrectFileFormat", []
        bad = False
        for i, rc in enumerate(receipts):
            if not isinstance(rc, dict):
                return "FailedWithErrors", "IncorrectFileFormat", invalid
            try:
                r = rules.bind_receipt(rc, "content.receipts[%d]." % i)
            except wire.ApiError:
                return "FailedWithErrors", "IncorrectFileFormat", invalid
            same = self.store.receipt_by_hash(device_id, r["receiptGlobalNo"],
                                              r["receiptDeviceSignature"]["hash"])
            if same is not None and same["fiscalDayNo"] == f["day_no"]:
                rec = same
            else:
                rec = self._store_receipt(dev, day, r, wire.dumps(rc), f["file_id"])
            if rec["errors"]:
                invalid.append({"receiptCounter": rec["receiptCounter"],
                                "receiptGlobalNo": rec["receiptGlobalNo"],
                                "validationErrors": _errors_json(rec["errors"])})
                if _has(rec["errors"], "Red") or _has(rec["errors"], "Grey"):
                    bad = True
        error = None
        footer = ci(doc, "footer")
        if footer is not None:
            try:
                req = self.bind_close(footer, with_day_no=False)
            except wire.ApiError:
                return "FailedWithErrors", "IncorrectFileFormat", invalid
            req["fiscalDayNo"] = f["day_no"]
            day = self.store.day(device_id, f["day_no"])
            error = self._finish_close(device_id, day, req)
        return ("FailedWithErrors" if error or bad else "CompleteSuccessful"), error, invalid

    def submitted_file_list(self, device_id, headers, query):
        def qp(name):
            for k, v in query.items():
                if k.lower() == name.lower():
                    return v
            return None

        errors = {}
        lo = parse_dt_lenient(qp("FileUploadedFrom") or "")
        hi = parse_dt_lenient(qp("FileUploadedTill") or "")
        if lo is None:
            errors["FileUploadedFrom"] = ["The FileUploadedFrom field is required."]
        if hi is None:
            errors["FileUploadedTill"] = ["The FileUploadedTill field is required."]
        nums = {}
        for name in ("Offset", "Limit"):
            v = qp(name)
            if v is None or not v.isdigit():
                errors[name] = ["The %s field is required." % name]
            else:
                nums[name] = int(v)
        if errors:
            raise BadRequest(errors)
        with self.lock:
            dev = self.device_checked(device_id, headers)
            if self.mode(dev) != OFFLINE:
                raise Unprocessable("FILE03", "Device is not in Offline mode")
            rows = []
            for f in self.store.files_of(device_id):
                up = parse_dt(f["uploaded_at"])
                if not (lo <= up <= hi):
                    continue
                if qp("OperationID") and f["operation_id"] != qp("OperationID"):
                    continue
                rows.append({
                    "fileName": f["file_name"], "fileUploadDate": f["uploaded_at"],
                    "deviceId": device_id, "dayNo": f["day_no"],
                    "fiscalDayOpenedAt": f["day_opened"], "fileSequence": f["seq"],
                    "fileProcessingDate": f["processed_at"],
                    "fileProcessingStatus": f["status"],
                    "fileProcessingError": f["error"], "hasFooter": bool(f["has_footer"]),
                    "operationId": f["operation_id"], "ipAddress": f["ip"],
                    "invoiceWithValidationErrors": wire.loads(f["invalid"]) if f["invalid"] else []})
            sort = {"deviceid": "deviceId", "filename": "fileName",
                    "fileuploaddate": "fileUploadDate", "fileprocessingdate": "fileProcessingDate",
                    "fileprocessingstatus": "fileProcessingStatus",
                    "fileprocessingerror": "fileProcessingError"}.get(
                (qp("Sort") or "FileUploadDate").lower(), "fileUploadDate")
            rows.sort(key=lambda x: (x[sort] is None, str(x[sort]) if sort != "deviceId" else x[sort]),
                      reverse=(qp("Order") or "asc").lower() == "desc")
            return {"total": len(rows),
                    "rows": rows[nums["Offset"]:nums["Offset"] + nums["Limit"]]}

    # ------------------------------------------------------------ /_sim
    def ledger(self, device_id):
        with self.lock:
            out = []
            for rec in self.store.ledger(device_id):
                try:
                    body = wire.loads(rec["request"])
                    as_received = ci(body, "receipt") if rec["fileID"] is None else body
                except ValueError:
                    as_received = None
                out.append({"receiptID": rec["receiptID"],
                            "receiptGlobalNo": rec["receiptGlobalNo"],
                            "receiptCounter": rec["receiptCounter"],
                            "fiscalDayNo": rec["fiscalDayNo"],
                            "receiptType": rec["receiptType"],
                            "receiptDate": rec["receiptDate"], "hash": rec["hash"],
                            "serverDate": rec["serverDate"],
                            "receiptServerSignature": rec["serverSignature"],
                            "validationErrors": _errors_json(rec["errors"]),
                            "source": "SubmitFile" if rec["fileID"] else "SubmitReceipt",
                            "receipt": as_received, "requestBody": rec["request"]})
            return {"deviceID": device_id, "receipts": out}

    def state(self, device_id):
        with self.lock:
            dev = self.device(device_id)
            day = self.store.current_day(device_id)
            out = {"deviceID": device_id, "serialNo": dev["serial_no"],
                   "modelName": dev["model_name"], "modelVersion": dev["model_version"],
                   "operatingMode": self.mode(dev), "status": dev["status"],
                   "registered": bool(dev["registered"]), "lastPing": dev["last_ping"],
                   "fiscalDayStatus": day["status"] if day else CLOSED,
                   "fiscalDayNo": day["day_no"] if day else None,
                   "fiscalDayOpened": day["opened"] if day else None,
                   "fiscalDayClosingErrorCode": day["error_code"] if day else None,
                   "lastReceiptGlobalNo": self.store.max_global(device_id),
                   "lastReceiptGlobalNoByDate": self.store.last_global_by_date(device_id)}
            if day:
                receipts = self.store.receipts_of_day(device_id, day["day_no"])
                out["receiptCount"] = len(receipts)
                out["lastReceiptCounter"] = max((r["receiptCounter"] for r in receipts),
                                                default=0)
                out["counters"] = ctr.to_json(ctr.compute(r["receipt"] for r in receipts))
            out["certificates"] = [
                {"serial": c["serial"], "thumbprint": c["thumbprint"],
                 "notBefore": c["not_before"], "notAfter": c["not_after"],
                 "issuedBy": c["kind"], "revoked": bool(c["revoked"])}
                for c in self.store.certs_of(device_id)]
            return out

    def set_device_config(self, device_id, obj):
        if not isinstance(obj, dict):
            raise BadRequest({"$": ["A JSON object is required."]})
        with self.tx():
            self.device(device_id)
            self.store.set_device(device_id, config_json=wire.dumps(obj) if obj else None)
        return {"deviceID": device_id, "config": obj}

    def update_settings(self, obj):
        s = self.settings
        if not isinstance(obj, dict):
            raise BadRequest({"$": ["A JSON object is required."]})
        for k, v in obj.items():
            if k == "closeDelayS":
                s.close_delay_s = float(D(str(v)))
            elif k == "certValiditySeconds":
                s.cert_validity_s = int(v)
            elif k == "reportingFrequency":
                s.reporting_frequency = int(v)
            elif k == "futureSkewSeconds":
                s.future_skew_s = int(v)
            elif k == "latencyMs":
                s.latency_ms = int(v)
            elif k == "activationKey":
                s.activation_key = str(v)
            elif k == "autoCreate":
                s.auto_create = bool(v)
            else:
                raise BadRequest({k: ["unknown setting"]})
        return s.to_json()


class _Tx:
    """with sim.tx(): lock + BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error)."""

    def __init__(self, sim):
        self.sim = sim

    def __enter__(self):
        self.sim.lock.acquire()
        try:
            if self.sim.store.db.in_transaction:
                self.nested = True
            else:
                self.nested = False
                self.sim.store.begin()
        except BaseException:
            self.sim.lock.release()
            raise
        return self

    def __exit__(self, et, ev, tb):
        try:
            if not self.nested:
                if et is None:
                    self.sim.store.commit()
                else:
                    self.sim.store.rollback()
        finally:
            self.sim.lock.release()
        return False

