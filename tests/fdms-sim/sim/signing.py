"""Signature strings, hashes and signatures (fdms-reference section 4).

* receipt_string: the device's receipt signature string (4.2).
* day_string: the device's fiscal day signature string (4.3).
* server_receipt_string / server_day_string: what FDMS hashes and signs (4.5).
* sign / verify: RSA-2048 PKCS#1 v1.5 SHA-256 or ECDSA P-256 SHA-256 with
  DER (r,s); a raw 64-byte r||s ECDSA signature does not verify (4.1).

All amounts are Decimal values with at most two places, rendered as signed
integer cents ("-945000", never "-0").
"""
import base64
import binascii
import decimal
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

COUNTER_TYPES = ["SaleByTax", "SaleTaxByTax", "CreditNoteByTax",
                 "CreditNoteTaxByTax", "DebitNoteByTax", "DebitNoteTaxByTax",
                 "BalanceByMoneyType"]
MONEY_TYPES = ["Cash", "Card", "MobileWallet", "Coupon", "Credit",
               "BankTransfer", "Other"]
RECEIPT_TYPES = ["FiscalInvoice", "CreditNote", "DebitNote"]

HUNDRED = decimal.Decimal(100)
CENT = decimal.Decimal("0.01")


def cents(d):
    """Decimal amount (two places at most) -> int cents, exact."""
    v = d * HUNDRED
    if v != v.to_integral_value():
        raise ValueError("amount %s has more than two decimals" % d)
    return int(v)


def cents_text(d):
    return str(cents(d))


def percent_text(p):
    """Tax percent: empty for exempt (None), else two decimals ("15.50")."""
    if p is None:
        return ""
    return format(p.quantize(CENT, rounding=decimal.ROUND_HALF_EVEN), "f")


def tax_sort_key(t):
    return (t["taxID"], t.get("taxCode") or "")


def receipt_taxes_string(taxes):
    parts = []
    for t in sorted(taxes, key=tax_sort_key):
        parts.append((t.get("taxCode") or "") + percent_text(t.get("taxPercent"))
                     + cents_text(t["taxAmount"])
                     + cents_text(t["salesAmountWithTax"]))
    return "".join(parts)


def receipt_string(device_id, r, previous_hash):
    """deviceID RECEIPTTYPE CURRENCY globalNo date totalCents taxes [prevHash].

    previous_hash is the previous receipt's device hash (base64 text) or None
    for the first receipt of the day."""
    return (str(device_id) + r["receiptType"].upper()
            + r["receiptCurrency"].upper() + str(r["receiptGlobalNo"])
            + r["receiptDate"] + cents_text(r["receiptTotal"])
            + receipt_taxes_string(r["receiptTaxes"])
            + (previous_hash or ""))


def counter_line(c):
    """One counter: TYPE CURRENCY (percent | MONEYTYPE) valueCents, upper-case."""
    if c["fiscalCounterType"] == "BalanceByMoneyType":
        x = c["fiscalCounterMoneyType"].upper()
    else:
        x = percent_text(c.get("fiscalCounterTaxPercent"))
    return (c["fiscalCounterType"].upper() + c["fiscalCounterCurrency"].upper()
            + x + cents_text(c["fiscalCounterValue"]))


def counters_string(counters):
    return "".join(counter_line(c) for c in counters)


def day_string(device_id, day_no, opened_date, counters):
    """deviceID fiscalDayNo YYYY-MM-DD(opening) counters (already ordered)."""
    return (str(device_id) + str(day_no) + opened_date
            + counters_string(counters)).upper()


def server_receipt_string(device_signature_b64, receipt_id, server_date):
    return device_signature_b64 + str(receipt_id) + server_date


def server_day_string(device_id, day_no, opened_date, closed_dt, mode,
                      counters, device_signature_b64):
    s = (str(device_id) + str(day_no) + opened_date + closed_dt + mode.upper()
         + counters_string(counters).upper())
    if mode.upper() == "AUTO":
        s += device_signature_b64 or ""
    return s


def sha256(s):
    return hashlib.sha256(s.encode("utf-8")).digest()


def b64(b):
    return base64.b64encode(b).decode("ascii")


def b64decode_strict(s):
    """Standard base64 with padding; None if the text is not that."""
    if not isinstance(s, str):
        return None
    try:
        return base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def sign(private_key, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return private_key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify(public_key, signature, data):
    """True when signature (raw bytes) is valid for data under public_key."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
        return True
    except (InvalidSignature, ValueError):
        return False
