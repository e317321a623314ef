"""The simulated FDMS (fdms-reference section 2) as plain functions, no HTTP.

Sim holds the PKI, the Store, the effective configuration and one lock: every
endpoint runs its reads and writes under that lock, so each request is one
serializable transaction. Endpoints return the answer body without
operationID (the server adds it) or raise a wire.ApiError.

Asynchronous work (CloseDay processing after --close-delay-s, SubmitFile
processing) is queued on a Scheduler thread; what is pending is also in the
store (days in FiscalDayCloseInitiated, files InProgress), so a restart
resumes it (start() requeues everything pending).

This module holds the default configuration, devices, certificates and the
simple endpoints; SubmitReceipt is in receipts.py, CloseDay in closing.py,
SubmitFile in files.py, the /_sim functions in control.py (mixins of Sim).
"""
import copy
import datetime
import decimal
import threading

from . import pki as pkimod
from . import binding, signing, wire
from .closing import ClosingMixin
from .control import ControlMixin
from .files import FilesMixin
from .receipts import ReceiptsMixin
from .runtime import CLOSED, FAILED, OFFLINE, ONLINE, Scheduler, Settings, Tx
from .store import Store
from .wire import (BadRequest, NotFound, Unauthorized, Unprocessable, ci, fmt_dt,
                   now_local, parse_dt_lenient)

D = decimal.Decimal

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


class Sim(ReceiptsMixin, ClosingMixin, FilesMixin, ControlMixin):
    """The simulated FDMS: state, configuration, certificates and endpoints."""

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
        return Tx(self)

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
        b = binding.Binder()
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


__all__ = ["Sim", "Settings", "DEFAULT_CONFIG"]
