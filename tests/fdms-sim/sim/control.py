"""The /_sim control functions: ledger, state, per-device configuration and
runtime settings (the HTTP side is in server.py).
"""
import decimal

from . import counters as ctr
from . import wire
from .runtime import CLOSED, errors_json
from .wire import BadRequest, ci

D = decimal.Decimal


class ControlMixin:
    """Mixed into api.Sim; uses its store, lock, settings and helpers."""

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
                            "validationErrors": errors_json(rec["errors"]),
                            "source": "SubmitFile" if rec["fileID"] else "SubmitReceipt",
                            "receipt": as_received, "requestBody": rec["request"]})
            return {"deviceID": device_id, "receipts": out}

    def files(self, device_id):
        """Every SubmitFile document of the device as received (the body text),
        with its processing state, in upload order."""
        with self.lock:
            self.device(device_id)
            return {"deviceID": device_id, "files": [
                {"fileID": f["file_id"], "operationID": f["operation_id"],
                 "fiscalDayNo": f["day_no"], "fileSequence": f["seq"],
                 "status": f["status"], "error": f["error"],
                 "hasFooter": bool(f["has_footer"]), "body": f["body"]}
                for f in self.store.files_of(device_id)]}

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

