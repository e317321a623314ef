"""SubmitReceipt: binding, identical-resubmission lookup, RCPT01, validation
through rules.validate() with a ReceiptEnv over the store, storage, the
server signature (fdms-reference 4.5) and re-evaluation of Grey successors.
"""
import decimal

from . import binding, rules, signing, wire
from .runtime import CLOSED, FAILED, OPENED, errors_json, has_colour
from .wire import BadRequest, Unprocessable, ci, fmt_dt, now_local, parse_dt

D = decimal.Decimal


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



class ReceiptsMixin:
    """Mixed into api.Sim; uses its store, lock, settings and helpers."""

    # ------------------------------------------------------------ receipts
    def _answer(self, rec):
        return {"receiptID": rec["receiptID"], "serverDate": rec["serverDate"],
                "receiptServerSignature": rec["serverSignature"],
                "validationErrors": errors_json(rec["errors"])}

    def submit_receipt(self, device_id, headers, body, body_text):
        if not isinstance(body, dict) or not isinstance(ci(body, "receipt"), dict):
            raise BadRequest({"receipt": ["The receipt field is required."]})
        r = binding.bind_receipt(ci(body, "receipt"))
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
            if rec is None or not has_colour(rec["errors"], "Grey"):
                return
            env = ReceiptEnv(self, dev["device_id"], day, config, own_id=rec["receiptID"],
                             now=parse_dt(rec["serverDate"]))
            errors, ref = rules.validate(rec["receipt"], env)
            self.store.set_receipt(rec["receiptID"], errors=wire.dumps(errors),
                                   ref_receipt_id=ref)
            if has_colour(errors, "Grey"):
                return
            c += 1

