"""FDMS receipt validation (RCPT0xx) of a receipt normalized by binding.py.

validate() applies every rule of fdms-reference 6.6 that a server can check
and returns [(code, colour, description)]; the caller supplies an Env that
answers questions about stored receipts (previous receipt, uniqueness,
original of a credit/debit note) and verifies signatures.

Colours: Red and Yellow as in the table; Grey for RCPT011 when the previous
receipt of the day (receiptCounter - 1) has not arrived yet. While a receipt
is Grey the checks that need its predecessor (RCPT012, RCPT030 and the
signature, whose string includes the previous hash) are left pending and
the receipt is evaluated again when the predecessor arrives.

Money is Decimal throughout; taxes are computed per receiptTaxes group and
rounded half-even to cents (fdms-reference 3.2).
"""
import datetime
import decimal

from . import signing
from .wire import parse_dt

D = decimal.Decimal
CENT = D("0.01")
ZERO = D(0)
HUNDRED = D(100)

ISO4217 = set("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE
CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV
MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT
TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF
XCD XCG XDR XOF XPF YER ZAR ZMW ZWG ZWL
""".split())

DESCRIPTIONS = {
    "RCPT010": "Wrong currency code is used",
    "RCPT011": "Receipt counter is not sequential",
    "RCPT012": "Receipt global number is not sequential",
    "RCPT013": "Invoice number is not unique",
    "RCPT014": "Receipt date is earlier than fiscal day opening date",
    "RCPT015": "Credited/debited invoice data is not provided",
    "RCPT016": "No receipt lines provided",
    "RCPT017": "Taxes information is not provided",
    "RCPT018": "Payment information is not provided",
    "RCPT019": "Invoice total amount is not equal to sum of all invoice lines",
    "RCPT020": "Invoice signature is not valid",
    "RCPT021": "VAT tax is used in invoice while taxpayer is not VAT taxpayer",
    "RCPT022": "Invoice sales line price must be greater than 0 (less than 0 for Credit note), discount line price must be less than 0 for both invoice and credit note",
    "RCPT023": "Invoice line quantity must be positive",
    "RCPT024": "Invoice line total is not equal to unit price * quantity",
    "RCPT025": "Invalid tax is used",
    "RCPT026": "Incorrectly calculated tax amount",
    "RCPT027": "Incorrectly calculated total sales amount (including tax)",
    "RCPT028": "Payment amount must be greater than or equal 0 (less than or equal to 0 for Credit note)",
    "RCPT029": "Credited/debited invoice information provided for regular invoice",
    "RCPT030": "Invoice date is earlier than previously submitted receipt date",
    "RCPT031": "Invoice is submitted with the future date",
    "RCPT032": "Credit / debit note refers to non-existing invoice",
    "RCPT033": "Credited/debited invoice is issued more than 12 months ago",
    "RCPT034": "Note for credit/debit note is not provided",
    "RCPT035": "Total credit note amount exceeds original invoice amount",
    "RCPT036": "Credit/debit note uses other taxes than are used in the original invoice",
    "RCPT037": "Invoice total amount is not equal to sum of all invoice lines and taxes applied",
    "RCPT038": "Invoice total amount is not equal to sum of sales amount including tax in tax table",
    "RCPT039": "Invoice total amount is not equal to sum of all payment amounts",
    "RCPT040": "Invoice total amount must be greater than or equal to 0 (less than or equal to 0 for Credit note)",
    "RCPT041": "Invoice is issued after fiscal day end",
    "RCPT042": "Credit/debit note uses other currency than is used in the original invoice",
    "RCPT043": "Mandatory buyer data fields are not provided",
    "RCPT047": "HS code must be sent if taxpayer is a VAT payer",
    "RCPT048": "HS code length is wrong",
}
YELLOW = {"RCPT014", "RCPT031", "RCPT041"}


# ------------------------------------------------------------------ helpers

def q2(d):
    return d.quantize(CENT, rounding=decimal.ROUND_HALF_EVEN)


def pct_eq(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == b


def minus_months(dt, months):
    y, m = divmod(dt.month - 1 - months, 12)
    year, month = dt.year + y, m + 1
    day = dt.day
    while True:
        try:
            return dt.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def is_vat_tax(tax):
    """A configured tax counts as VAT when its percent is > 0 and its name
    does not say withholding (514 "Non-VAT Withholding Tax" is for non-VAT
    taxpayers)."""
    p = tax.get("taxPercent")
    return p is not None and p > 0 and "withholding" not in (tax.get("taxName") or "").lower()


def expected_tax(total, percent, inclusive):
    """(taxAmount, salesAmountWithTax) for a group whose line totals sum to total."""
    p = percent if percent is not None else ZERO
    if inclusive:
        return q2(total * p / (HUNDRED + p)), total
    t = q2(total * p / HUNDRED)
    return t, total + t


# ------------------------------------------------------------------ rules

class Env:
    """What validate() needs to know beyond the receipt; see api.ReceiptEnv."""

    device_id = 0
    vat_payer = True
    taxes = ()            # configured taxes: taxID, taxPercent, taxName, validFrom/Till (datetime)
    day_opened = None     # datetime
    day_max_hrs = 24
    now = None            # datetime used for RCPT031
    future_skew_s = 300

    def previous(self, r):
        """('first', last receipt of earlier days or None) for counter 1,
        ('found', record) or ('missing', None) for counter > 1.
        A record has hash, receiptGlobalNo, receiptDate (text)."""
        raise NotImplementedError

    def counter_taken(self, r):
        raise NotImplementedError

    def global_taken(self, r):
        raise NotImplementedError

    def invoice_taken(self, r):
        raise NotImplementedError

    def original(self, ref):
        """The referenced receipt record (with 'receipt', 'receiptID',
        'receiptType') or None."""
        raise NotImplementedError

    def noted_amounts(self, original_id):
        """(sum of credit note totals, sum of debit note totals) already
        stored against the original."""
        raise NotImplementedError

    def verify(self, text, hash_b64, signature_b64):
        raise NotImplementedError


def validate(r, env):
    """Every checkable rule; returns (errors, resolved original receiptID)."""
    found = {}

    def flag(code, detail=None, colour=None):
        if code in found:
            return
        c = colour or ("Yellow" if code in YELLOW else "Red")
        desc = DESCRIPTIONS[code] + (" (" + detail + ")" if detail else "")
        found[code] = (code, c, desc)

    rtype = r["receiptType"]
    is_cn = rtype == "CreditNote"
    date = parse_dt(r["receiptDate"])
    cur = r["receiptCurrency"]
    lines, taxes, pays = r["receiptLines"], r["receiptTaxes"], r["receiptPayments"]
    total = r["receiptTotal"]

    # RCPT010 currency
    if not (len(cur) == 3 and cur.upper() in ISO4217):
        flag("RCPT010", "'%s' is not an ISO 4217 currency code" % cur)

    # chain: RCPT011 / RCPT012 / RCPT030 (+ previous hash for RCPT020)
    grey = False
    prev_hash = None
    counter = r["receiptCounter"]
    if counter < 1:
        flag("RCPT011", "receiptCounter %d is less than 1" % counter)
    kind, prev = env.previous(r)
    if kind == "missing":
        grey = True
        flag("RCPT011", "previous receipt (receiptCounter %d) is missing" % (counter - 1),
             "Grey")
    else:
        if env.counter_taken(r):
            flag("RCPT011", "receiptCounter %d is already used this fiscal day" % counter)
        if prev is not None:
            if kind == "found":
                prev_hash = prev["hash"]
                if r["receiptGlobalNo"] != prev["receiptGlobalNo"] + 1:
                    flag("RCPT012", "expected %d after the previous receipt"
                         % (prev["receiptGlobalNo"] + 1))
            elif r["receiptGlobalNo"] not in (1, prev["receiptGlobalNo"] + 1):
                flag("RCPT012", "first receipt of the day must be 1 or %d"
                     % (prev["receiptGlobalNo"] + 1))
            if date <= parse_dt(prev["receiptDate"]):
                flag("RCPT030", "previous receipt is dated %s" % prev["receiptDate"])
        taken = env.global_taken(r)
        if taken:
            flag("RCPT012", "receiptGlobalNo %d is already used by receipt %s with a "
                 "different hash" % (r["receiptGlobalNo"], taken))

    # RCPT013 invoice number
    if env.invoice_taken(r):
        flag("RCPT013", "invoiceNo '%s' is already used" % r["invoiceNo"])

    # dates
    if env.day_opened is not None:
        if date < env.day_opened:
            flag("RCPT014")
        if date > env.day_opened + datetime.timedelta(hours=env.day_max_hrs):
            flag("RCPT041", "day opened %s, %s hours allowed"
                 % (env.day_opened.isoformat(), env.day_max_hrs))
    if env.now is not None and date > env.now + datetime.timedelta(seconds=env.future_skew_s):
        flag("RCPT031", "server time is %s" % env.now.isoformat())

    # credit / debit note reference
    original_id = None
    cdn = r["creditDebitNote"]
    if rtype == "FiscalInvoice":
        if cdn is not None:
            flag("RCPT029")
    else:
        if not (r.get("receiptNotes") or "").strip():
            flag("RCPT034")
        if cdn is None:
            flag("RCPT015")
        else:
            orig = env.original(cdn)
            if orig is None:
                flag("RCPT032")
            else:
                original_id = orig["receiptID"]
                o = orig["receipt"]
                odate = parse_dt(o["receiptDate"])
                if odate < minus_months(date, 12):
                    flag("RCPT033", "original dated %s" % o["receiptDate"])
                if o["receiptCurrency"].upper() != cur.upper():
                    flag("RCPT042", "original is in %s" % o["receiptCurrency"])
                opairs = [(t["taxID"], t.get("taxPercent")) for t in o["receiptTaxes"]]
                for t in taxes:
                    if not any(tid == t["taxID"] and pct_eq(p, t.get("taxPercent"))
                               for tid, p in opairs):
                        flag("RCPT036", "taxID %d is not on the original" % t["taxID"])
                if is_cn:
                    credited, debited = env.noted_amounts(original_id)
                    if abs(credited) + abs(total) > o["receiptTotal"] + debited:
                        flag("RCPT035", "credited %s + %s > original %s + debits %s"
                             % (abs(credited), abs(total), o["receiptTotal"], debited))

    # buyer
    bd = r["buyerData"]
    if bd is not None and not ((bd.get("buyerRegisterName") or "").strip()
                               and (bd.get("buyerTIN") or "").strip()):
        flag("RCPT043")

    # structure presence
    if not lines:
        flag("RCPT016")
    if not taxes:
        flag("RCPT017")
    if not pays:
        flag("RCPT018")

    # taxes against configuration
    def config_tax(tid, pct):
        for t in env.taxes:
            if t["taxID"] == tid and pct_eq(t.get("taxPercent"), pct):
                vf, vt = t.get("validFrom"), t.get("validTill")
                if (vf is None or vf <= date) and (vt is None or date <= vt):
                    return t
                return None
        return None

    for where, items in (("line", lines), ("tax", taxes)):
        for it in items:
            ct = config_tax(it["taxID"], it.get("taxPercent"))
            if ct is None:
                flag("RCPT025", "%s taxID %d percent %s is not an applicable tax on %s"
                     % (where, it["taxID"], it.get("taxPercent"), r["receiptDate"]))
            elif not env.vat_payer and is_vat_tax(ct):
                flag("RCPT021", "taxID %d" % it["taxID"])

    # lines
    for ln in lines:
        price, qty, lt = ln["receiptLinePrice"], ln["receiptLineQuantity"], ln["receiptLineTotal"]
        sale = ln["receiptLineType"] == "Sale"
        if price is not None:
            if is_cn:
                ok = price < 0 if sale else price > 0
            else:
                ok = price > 0 if sale else price < 0
            if not ok:
                flag("RCPT022", "line %s price %s" % (ln["receiptLineNo"], price))
            if q2(price * qty) != lt:
                flag("RCPT024", "line %s: %s x %s is not %s"
                     % (ln["receiptLineNo"], price, qty, lt))
        if qty <= 0:
            flag("RCPT023", "line %s" % ln["receiptLineNo"])
        hs = ln.get("receiptLineHSCode")
        if not hs:
            if env.vat_payer:
                flag("RCPT047", "line %s" % ln["receiptLineNo"])
        else:
            pct = ln.get("taxPercent")
            if env.vat_payer and (pct is None or pct == 0):
                allowed = (8,)
            else:
                allowed = (4, 8)
            if not hs.isdigit() or len(hs) not in allowed:
                flag("RCPT048", "line %s HS code '%s' (allowed lengths %s)"
                     % (ln["receiptLineNo"], hs, "/".join(map(str, allowed))))

    # tax groups
    inclusive = r["receiptLinesTaxInclusive"]
    used = set()
    for t in taxes:
        members = [i for i, ln in enumerate(lines)
                   if ln["taxID"] == t["taxID"] and pct_eq(ln.get("taxPercent"), t.get("taxPercent"))
                   and (ln.get("taxCode") is None or t.get("taxCode") is None
                        or ln["taxCode"] == t["taxCode"])]
        used.update(members)
        s = sum((lines[i]["receiptLineTotal"] for i in members), ZERO)
        et, es = expected_tax(s, t.get("taxPercent"), inclusive)
        if t["taxAmount"] != et:
            flag("RCPT026", "taxID %d: %s, expected %s" % (t["taxID"], t["taxAmount"], et))
        want_sales = es if inclusive else s + t["taxAmount"]
        if t["salesAmountWithTax"] != want_sales:
            flag("RCPT027", "taxID %d: %s, expected %s"
                 % (t["taxID"], t["salesAmountWithTax"], want_sales))
    if taxes and len(used) != len(lines):
        flag("RCPT027", "lines without a matching receiptTaxes entry")

    # totals
    sum_lines = sum((ln["receiptLineTotal"] for ln in lines), ZERO)
    sum_tax = sum((t["taxAmount"] for t in taxes), ZERO)
    sum_sales = sum((t["salesAmountWithTax"] for t in taxes), ZERO)
    sum_pay = sum((p["paymentAmount"] for p in pays), ZERO)
    if inclusive and lines and total != sum_lines:
        flag("RCPT019", "total %s, lines %s" % (total, sum_lines))
    if not inclusive and lines and total != sum_lines + sum_tax:
        flag("RCPT037", "total %s, lines + taxes %s" % (total, sum_lines + sum_tax))
    if taxes and total != sum_sales:
        flag("RCPT038", "total %s, taxes %s" % (total, sum_sales))
    if pays and total != sum_pay:
        flag("RCPT039", "total %s, payments %s" % (total, sum_pay))
    if (total > 0) if is_cn else (total < 0):
        flag("RCPT040", "total %s" % total)
    for p in pays:
        if (p["paymentAmount"] > 0) if is_cn else (p["paymentAmount"] < 0):
            flag("RCPT028", "payment %s %s" % (p["moneyTypeCode"], p["paymentAmount"]))

    # signature (needs the previous hash unless first of the day)
    if not grey:
        sig = r["receiptDeviceSignature"]
        text = signing.receipt_string(env.device_id, r, prev_hash if counter > 1 else None)
        if not env.verify(text, sig["hash"], sig["signature"]):
            flag("RCPT020")

    return [found[k] for k in sorted(found)], original_id
