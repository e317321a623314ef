"""Fiscal day counters (fdms-reference 6.3, 4.3).

compute() derives the day's counters from the stored receipts' receiptTaxes
and receiptPayments (never from lines): FiscalInvoice feeds SaleByTax /
SaleTaxByTax, CreditNote CreditNoteByTax / CreditNoteTaxByTax (values are
already negative on the receipt and are added as they are), DebitNote
DebitNoteByTax / DebitNoteTaxByTax; every payment feeds BalanceByMoneyType.
Zero counters are omitted. canonical() orders counters the way this
simulator expects them: counter type in enum order, then currency A-Z, then
taxID ascending (tax percent, exempt first, as a tie-break) for the *ByTax
types or money type in enum order for BalanceByMoneyType.
"""
import decimal

from .signing import COUNTER_TYPES, MONEY_TYPES

ZERO = decimal.Decimal(0)
BY_TYPE = {
    "FiscalInvoice": ("SaleByTax", "SaleTaxByTax"),
    "CreditNote": ("CreditNoteByTax", "CreditNoteTaxByTax"),
    "DebitNote": ("DebitNoteByTax", "DebitNoteTaxByTax"),
}


def key(c):
    """Identity of a counter (everything but its value)."""
    t = c["fiscalCounterType"]
    if t == "BalanceByMoneyType":
        return (t, c["fiscalCounterCurrency"].upper(), c.get("fiscalCounterMoneyType"))
    p = c.get("fiscalCounterTaxPercent")
    return (t, c["fiscalCounterCurrency"].upper(), c.get("fiscalCounterTaxID"),
            None if p is None else p.normalize())


def sort_key(c):
    t = c["fiscalCounterType"]
    ti = COUNTER_TYPES.index(t)
    cur = c["fiscalCounterCurrency"].upper()
    if t == "BalanceByMoneyType":
        mt = c.get("fiscalCounterMoneyType")
        return (ti, cur, MONEY_TYPES.index(mt) if mt in MONEY_TYPES else 99,
                decimal.Decimal(-1))
    p = c.get("fiscalCounterTaxPercent")
    tid = c.get("fiscalCounterTaxID")
    return (ti, cur, tid if tid is not None else -1,
            decimal.Decimal(-1) if p is None else p)


def canonical(counters):
    """Drop zero counters and sort into the canonical order."""
    return sorted((c for c in counters if c["fiscalCounterValue"] != 0), key=sort_key)


def compute(receipts):
    """Counters of a set of normalized receipts, canonical order, no zeros."""
    acc = {}
    order = {}

    def add(k, proto, value):
        if k not in acc:
            acc[k] = ZERO
            order[k] = proto
        acc[k] += value

    for r in receipts:
        cur = r["receiptCurrency"].upper()
        by, taxby = BY_TYPE[r["receiptType"]]
        for t in r["receiptTaxes"]:
            p = t.get("taxPercent")
            pn = None if p is None else p.normalize()
            for ctype, value in ((by, t["salesAmountWithTax"]), (taxby, t["taxAmount"])):
                proto = {"fiscalCounterType": ctype, "fiscalCounterCurrency": cur,
                         "fiscalCounterTaxID": t["taxID"]}
                if p is not None:
                    proto["fiscalCounterTaxPercent"] = p
                add((ctype, cur, t["taxID"], pn), proto, value)
        for pay in r["receiptPayments"]:
            proto = {"fiscalCounterType": "BalanceByMoneyType",
                     "fiscalCounterCurrency": cur,
                     "fiscalCounterMoneyType": pay["moneyTypeCode"]}
            add(("BalanceByMoneyType", cur, pay["moneyTypeCode"]), proto,
                pay["paymentAmount"])
    out = []
    for k, v in acc.items():
        c = dict(order[k])
        c["fiscalCounterValue"] = v
        out.append(c)
    return canonical(out)


def to_json(counters):
    """Counters for an answer body: percent and value with two decimals."""
    out = []
    cent = decimal.Decimal("0.01")
    for c in counters:
        d = {"fiscalCounterType": c["fiscalCounterType"],
             "fiscalCounterCurrency": c["fiscalCounterCurrency"]}
        if c["fiscalCounterType"] == "BalanceByMoneyType":
            d["fiscalCounterMoneyType"] = c["fiscalCounterMoneyType"]
        else:
            d["fiscalCounterTaxID"] = c.get("fiscalCounterTaxID")
            if c.get("fiscalCounterTaxPercent") is not None:
                d["fiscalCounterTaxPercent"] = c["fiscalCounterTaxPercent"].quantize(cent)
        d["fiscalCounterValue"] = c["fiscalCounterValue"].quantize(cent)
        out.append(d)
    return out
