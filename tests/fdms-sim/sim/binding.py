"""Receipt binding: JSON object -> normalized receipt, the way ASP.NET model
binding would do it for FDMS.

Property names and enum values match case-insensitively; unknown properties
are ignored. Wrong JSON types, missing required fields, malformed
date-times (only YYYY-MM-DDTHH:mm:ss), bad base64 and numbers beyond their
decimal(p,s) give a 400 ValidationProblemDetails (wire.BadRequest); strings
longer than their limit give a 422 RCPT02. Neither stores anything.
Binder is also used for the other endpoints' bodies.
"""
import decimal

from . import signing
from .wire import BadRequest, Unprocessable, ci, ci_has, parse_dt

D = decimal.Decimal
RECEIPT_TYPES = signing.RECEIPT_TYPES
LINE_TYPES = ["Sale", "Discount"]
MONEY_TYPES = signing.MONEY_TYPES
PRINT_FORMS = ["Receipt48", "InvoiceA4"]
INT32 = (-2**31, 2**31 - 1)
INT64 = (-2**63, 2**63 - 1)


class Binder:
    """Collects 400 errors (path -> messages) and RCPT02 length errors."""

    def __init__(self):
        self.errors = {}
        self.lengths = []

    def err(self, path, msg):
        self.errors.setdefault(path, []).append(msg)

    def _get(self, obj, name, path, required):
        if not ci_has(obj, name) or ci(obj, name) is None:
            if required:
                self.err(path + name, "The %s field is required." % name)
            return None
        return ci(obj, name)

    def obj(self, obj, name, path, required=True):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        if not isinstance(v, dict):
            self.err(path + name, "The JSON value could not be converted to an object.")
            return None
        return v

    def lst(self, obj, name, path, required=True):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        if not isinstance(v, list):
            self.err(path + name, "The JSON value could not be converted to an array.")
            return None
        return v

    def integer(self, obj, name, path, required=True, rng=INT32):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not rng[0] <= v <= rng[1]:
            self.err(path + name, "The JSON value could not be converted to System.Int%d."
                     % (32 if rng == INT32 else 64))
            return None
        return v

    def boolean(self, obj, name, path, required=True):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        if not isinstance(v, bool):
            self.err(path + name, "The JSON value could not be converted to System.Boolean.")
            return None
        return v

    def string(self, obj, name, path, required=True, maxlen=None, exact=None):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        if not isinstance(v, str):
            self.err(path + name, "The JSON value could not be converted to System.String.")
            return None
        if maxlen is not None and len(v) > maxlen:
            self.lengths.append("%s%s is longer than %d characters" % (path, name, maxlen))
        if exact is not None and len(v) != exact:
            self.lengths.append("%s%s must be exactly %d characters" % (path, name, exact))
        return v

    def number(self, obj, name, path, required=True, digits=21, scale=2):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, D)):
            self.err(path + name, "The JSON value could not be converted to System.Decimal.")
            return None
        d = D(v)
        if (not d.is_finite() or abs(d) >= D(10) ** (digits - scale)
                or d.normalize().as_tuple().exponent < -scale):
            pascal = name[:1].upper() + name[1:]
            self.err(path + pascal, "provided value %s do not satisfy decimal(%d,%d)."
                     % (pascal, digits, scale))
            return None
        return d

    def enum(self, obj, name, path, values, required=True):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        if isinstance(v, str):
            for e in values:
                if e.lower() == v.lower():
                    return e
        self.err(path + name, "The JSON value could not be converted to enum %s." % name)
        return None

    def datetime(self, obj, name, path, required=True):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        if parse_dt(v) is None:
            self.err(path + name, "The JSON value could not be converted to System.DateTime "
                     "(expected YYYY-MM-DDTHH:mm:ss).")
            return None
        return v

    def b64(self, obj, name, path, maxbytes, required=True):
        v = self._get(obj, name, path, required)
        if v is None:
            return None
        raw = signing.b64decode_strict(v) if isinstance(v, str) else None
        if raw is None:
            self.err(path + name, "The JSON value could not be converted to System.Byte[].")
            return None
        if len(raw) > maxbytes:
            self.lengths.append("%s%s is longer than %d bytes" % (path, name, maxbytes))
        return v

    def raise_if_any(self):
        if self.errors:
            raise BadRequest(self.errors)
        if self.lengths:
            raise Unprocessable("RCPT02", "Receipt structure is invalid: "
                                + "; ".join(self.lengths))


def _bind_signature(b, obj, name, path, required=True):
    s = b.obj(obj, name, path, required)
    if s is None:
        return None
    p = path + name + "."
    return {"hash": b.b64(s, "hash", p, 32), "signature": b.b64(s, "signature", p, 256)}


def bind_receipt(body, path="receipt."):
    """Normalized receipt from the JSON object, or BadRequest / RCPT02."""
    b = Binder()
    r = bind_receipt_into(b, body, path)
    b.raise_if_any()
    return r


def bind_receipt_into(b, rc, path):
    r = {}
    r["receiptType"] = b.enum(rc, "receiptType", path, RECEIPT_TYPES)
    r["receiptCurrency"] = b.string(rc, "receiptCurrency", path, maxlen=3)
    r["receiptCounter"] = b.integer(rc, "receiptCounter", path)
    r["receiptGlobalNo"] = b.integer(rc, "receiptGlobalNo", path)
    r["invoiceNo"] = b.string(rc, "invoiceNo", path, maxlen=50)
    r["receiptNotes"] = b.string(rc, "receiptNotes", path, required=False, maxlen=500)
    r["receiptDate"] = b.datetime(rc, "receiptDate", path)
    r["receiptLinesTaxInclusive"] = b.boolean(rc, "receiptLinesTaxInclusive", path)
    r["receiptTotal"] = b.number(rc, "receiptTotal", path)
    r["receiptPrintForm"] = b.enum(rc, "receiptPrintForm", path, PRINT_FORMS, required=False)
    r["receiptDeviceSignature"] = _bind_signature(b, rc, "receiptDeviceSignature", path)

    buyer = b.obj(rc, "buyerData", path, required=False)
    if buyer is not None:
        p = path + "buyerData."
        bd = {"buyerRegisterName": b.string(buyer, "buyerRegisterName", p, False, 250),
              "buyerTradeName": b.string(buyer, "buyerTradeName", p, False, 250),
              "buyerTIN": b.string(buyer, "buyerTIN", p, False, exact=10),
              "vatNumber": b.string(buyer, "vatNumber", p, False, exact=9)}
        contacts = b.obj(buyer, "buyerContacts", p, False)
        if contacts is not None:
            b.string(contacts, "phoneNo", p + "buyerContacts.", False, 20)
            b.string(contacts, "email", p + "buyerContacts.", False, 100)
        addr = b.obj(buyer, "buyerAddress", p, False)
        if addr is not None:
            for f in ("province", "city", "street", "houseNo", "district"):
                b.string(addr, f, p + "buyerAddress.", False, 250)
        r["buyerData"] = bd
    else:
        r["buyerData"] = None

    cdn = b.obj(rc, "creditDebitNote", path, required=False)
    if cdn is not None:
        p = path + "creditDebitNote."
        r["creditDebitNote"] = {
            "receiptID": b.integer(cdn, "receiptID", p, False, INT64),
            "deviceID": b.integer(cdn, "deviceID", p, False),
            "receiptGlobalNo": b.integer(cdn, "receiptGlobalNo", p, False),
            "fiscalDayNo": b.integer(cdn, "fiscalDayNo", p, False)}
    else:
        r["creditDebitNote"] = None

    lines = []
    for i, ln in enumerate(b.lst(rc, "receiptLines", path, required=False) or []):
        p = "%sreceiptLines[%d]." % (path, i)
        if not isinstance(ln, dict):
            b.err(p[:-1], "The JSON value could not be converted to ReceiptLine.")
            continue
        lines.append({
            "receiptLineType": b.enum(ln, "receiptLineType", p, LINE_TYPES),
            "receiptLineNo": b.integer(ln, "receiptLineNo", p),
            "receiptLineHSCode": b.string(ln, "receiptLineHSCode", p, False, 8),
            "receiptLineName": b.string(ln, "receiptLineName", p, True, 200),
            "receiptLinePrice": b.number(ln, "receiptLinePrice", p, False, 25, 6),
            "receiptLineQuantity": b.number(ln, "receiptLineQuantity", p, True, 25, 6),
            "receiptLineTotal": b.number(ln, "receiptLineTotal", p),
            "taxCode": b.string(ln, "taxCode", p, False, 3),
            "taxPercent": b.number(ln, "taxPercent", p, False, 5, 2),
            "taxID": b.integer(ln, "taxID", p)})
    r["receiptLines"] = lines

    taxes = []
    for i, t in enumerate(b.lst(rc, "receiptTaxes", path, required=False) or []):
        p = "%sreceiptTaxes[%d]." % (path, i)
        if not isinstance(t, dict):
            b.err(p[:-1], "The JSON value could not be converted to ReceiptTax.")
            continue
        taxes.append({
            "taxCode": b.string(t, "taxCode", p, False, 3),
            "taxPercent": b.number(t, "taxPercent", p, False, 5, 2),
            "taxID": b.integer(t, "taxID", p),
            "taxAmount": b.number(t, "taxAmount", p),
            "salesAmountWithTax": b.number(t, "salesAmountWithTax", p)})
    r["receiptTaxes"] = taxes

    pays = []
    for i, pm in enumerate(b.lst(rc, "receiptPayments", path, required=False) or []):
        p = "%sreceiptPayments[%d]." % (path, i)
        if not isinstance(pm, dict):
            b.err(p[:-1], "The JSON value could not be converted to Payment.")
            continue
        pays.append({"moneyTypeCode": b.enum(pm, "moneyTypeCode", p, MONEY_TYPES),
                     "paymentAmount": b.number(pm, "paymentAmount", p)})
    r["receiptPayments"] = pays
    return r
