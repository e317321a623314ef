"""CloseDay: request binding, the asynchronous close with FDMS's check order
(BadCertificateSignature, MissingReceipts, ReceiptsWithValidationErrors,
CountersMismatch), the fiscal day server signature, and the portal-style
manual close.
"""
import decimal
import time

from . import counters as ctr
from . import binding, signing, wire
from .runtime import CLOSED, FAILED, INITIATED, has_colour
from .wire import BadRequest, Unprocessable, fmt_dt, now_local

D = decimal.Decimal


class ClosingMixin:
    """Mixed into api.Sim; uses its store, lock, settings and helpers."""

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
        b = binding.Binder()
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

    def close_day(self, device_id, headers, body, forced=None):
        """forced: a fiscalDayClosingErrorCode the close must end with (the
        'close-fail' fault), None: the checks decide."""
        req = self.bind_close(body)
        if forced:
            req["_forcedError"] = forced
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
        if req.get("_forcedError"):
            return req["_forcedError"], own
        if not self.verify_device(device_id, text, sig.get("hash"), sig.get("signature")):
            return "BadCertificateSignature", own
        have = {r["receiptCounter"] for r in receipts}
        rc = req["receiptCounter"]
        if (any(has_colour(r["errors"], "Grey") for r in receipts)
                or any(i not in have for i in range(1, rc + 1))):
            return "MissingReceipts", own
        if any(has_colour(r["errors"], "Red") for r in receipts):
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
                              qty.items(), key=lambda kv: (binding.RECEIPT_TYPES.index(kv[0][0]),
                                                           kv[0][1]))]
            closed = fmt_dt(now_local())
            self._closed(device_id, day, closed, "Manual", own, None,
                         wire.dumps({"counters": ctr.to_json(own), "quantities": quantities}))
            return self._status(device_id)

