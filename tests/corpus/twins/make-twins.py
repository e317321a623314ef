#!/usr/bin/env python3
"""Generate tests/corpus/twins: pairs NAME.json + NAME.xml, one document each.

Both files of a pair are written from the same Python value, so they are the
same document by construction; tests/unit/test_schema_twins.c checks that
receipt.schema.json and receipt.xsd give each pair the verdict its name
starts with (valid- or invalid-) and, for valid pairs, that the XML reader
builds the same tree as the JSON reader.

A name ending in -json-only has no XML twin: the wrapper form, null, and a
number or boolean written as a JSON string have no XML spelling.

Numbers are N("literal") so their exact text reaches both files. Re-run after
changing a case; the files are committed so the build needs no Python.
"""
import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))


class N(str):
    """A number literal, written verbatim in JSON and as text in XML."""


class Raw:
    """Text spliced verbatim into one format only (e.g. XML blanks)."""

    def __init__(self, json, xml):
        self.json, self.xml = json, xml


class Dup:
    """The same member twice (JSON) / element twice (XML)."""

    def __init__(self, a, b):
        self.a, self.b = a, b


LIST_ITEMS = {"receiptLines": "receiptLine", "receiptTaxes": "receiptTax",
              "receiptPayments": "receiptPayment"}


def jdump(v, ind=0):
    sp = "  " * ind
    if isinstance(v, Raw):
        return v.json
    if isinstance(v, N):
        return str(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, str):
        out = '"'
        for ch in v:
            if ch in '"\\':
                out += "\\" + ch
            elif ch == "\n":
                out += "\\n"
            elif ord(ch) < 0x20:
                out += "\\u%04x" % ord(ch)
            else:
                out += ch
        return out + '"'
    if isinstance(v, list):
        if not v:
            return "[]"
        return "[\n" + ",\n".join(sp + "  " + jdump(x, ind + 1) for x in v) \
            + "\n" + sp + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = []
        for k, x in v.items():
            if isinstance(x, Dup):
                items.append(sp + "  " + jdump(k) + ": " + jdump(x.a, ind + 1))
                items.append(sp + "  " + jdump(k) + ": " + jdump(x.b, ind + 1))
            else:
                items.append(sp + "  " + jdump(k) + ": " + jdump(x, ind + 1))
        return "{\n" + ",\n".join(items) + "\n" + sp + "}"
    raise TypeError(v)


def xesc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xdump(name, v, ind):
    sp = "  " * ind
    if isinstance(v, Dup):
        return xdump(name, v.a, ind) + xdump(name, v.b, ind)
    if isinstance(v, Raw):
        return "%s<%s>%s</%s>\n" % (sp, name, v.xml, name)
    if isinstance(v, N):
        return "%s<%s>%s</%s>\n" % (sp, name, v, name)
    if v is True or v is False:
        return "%s<%s>%s</%s>\n" % (sp, name, "true" if v else "false", name)
    if isinstance(v, str):
        return "%s<%s>%s</%s>\n" % (sp, name, xesc(v), name)
    if isinstance(v, list):
        item = LIST_ITEMS.get(name, "item")
        if not v:
            return "%s<%s/>\n" % (sp, name)
        return "%s<%s>\n%s%s</%s>\n" % (
            sp, name, "".join(xdump(item, x, ind + 1) for x in v), sp, name)
    if isinstance(v, dict):
        if not v:
            return "%s<%s/>\n" % (sp, name)
        return "%s<%s>\n%s%s</%s>\n" % (
            sp, name, "".join(xdump(k, x, ind + 1) for k, x in v.items()),
            sp, name)
    raise TypeError(v)


def line(name="Bread", price="5.00", qty="1", total="5.00", tax_id="1",
         pct=None, **extra):
    d = {"receiptLineType": "Sale", "receiptLineName": name}
    if price is not None:
        d["receiptLinePrice"] = N(price)
    d["receiptLineQuantity"] = N(qty)
    d["receiptLineTotal"] = N(total)
    if pct is not None:
        d["taxPercent"] = N(pct)
    d["taxID"] = N(tax_id)
    d.update(extra)
    return d


def base():
    """fdms-reference §8 as a POS drops it: no counters, no signature."""
    return {
        "receiptType": "FiscalInvoice",
        "receiptCurrency": "USD",
        "invoiceNo": "INV-000101",
        "receiptDate": "2026-03-02T10:15:00",
        "receiptLinesTaxInclusive": True,
        "receiptLines": [
            line(receiptLineNo=N("1"), receiptLineHSCode="12345678"),
            line("Soap", "11.55", "1", "11.55", "517", "15.5",
                 receiptLineNo=N("2"), receiptLineHSCode="87654321"),
        ],
        "receiptTaxes": [
            {"taxID": N("1"), "taxAmount": N("0.00"),
             "salesAmountWithTax": N("5.00")},
            {"taxID": N("517"), "taxPercent": N("15.5"),
             "taxAmount": N("1.55"), "salesAmountWithTax": N("11.55")},
        ],
        "receiptPayments": [{"moneyTypeCode": "Cash",
                             "paymentAmount": N("16.55")}],
        "receiptTotal": N("16.55"),
        "receiptPrintForm": "Receipt48",
    }


def minimal():
    return {
        "receiptType": "FiscalInvoice",
        "receiptCurrency": "USD",
        "invoiceNo": "M-1",
        "receiptLinesTaxInclusive": True,
        "receiptLines": [line()],
        "receiptPayments": [{"moneyTypeCode": "Cash",
                             "paymentAmount": N("5.00")}],
        "receiptTotal": N("5.00"),
    }


CASES = {}


def case(name, doc, json_only=False):
    assert name not in CASES, name
    CASES[name + ("-json-only" if json_only else "")] = (doc, json_only)


def edit(doc, fn):
    fn(doc)
    return doc


# ------------------------------------------------------------------ valid

case("valid-spec-example", base())
case("valid-minimal", minimal())


def credit_note(d):
    d["receiptType"] = "CreditNote"
    d["invoiceNo"] = "CN-000007"
    d["receiptNotes"] = "Returned: damaged packaging"
    d["creditDebitNote"] = {"receiptID": N("991")}
    d["receiptLines"] = [
        line(price="-5.00", total="-5.00", receiptLineHSCode="12345678"),
        line("Soap", "-11.55", "1", "-11.55", "517", "15.5",
             receiptLineHSCode="87654321")]
    d["receiptTaxes"] = [
        {"taxID": N("1"), "taxAmount": N("0"),
         "salesAmountWithTax": N("-5.00")},
        {"taxID": N("517"), "taxPercent": N("15.5"),
         "taxAmount": N("-1.55"), "salesAmountWithTax": N("-11.55")}]
    d["receiptPayments"] = [{"moneyTypeCode": "Cash",
                             "paymentAmount": N("-16.55")}]
    d["receiptTotal"] = N("-16.55")


case("valid-credit-note", edit(base(), credit_note))
case("valid-debit-note-device-ref", edit(base(), lambda d: d.update(
    receiptType="DebitNote", receiptNotes="Price correction",
    creditDebitNote={"deviceID": N("12345"), "receiptGlobalNo": N("101"),
                     "fiscalDayNo": N("7")})))
case("valid-credit-note-by-invoice-no", edit(base(), lambda d: (
    credit_note(d), d.update(creditDebitNote={"invoiceNo": "INV-000101"}))))


def exempt_zero(d):
    d["receiptLines"] = [
        line("Maize meal", "10.00", "2", "20.00", "1",
             receiptLineHSCode="11022000"),
        line("Bread", "1.00", "3", "3.00", "2", "0",
             receiptLineHSCode="19059000", taxCode="B")]
    d["receiptTaxes"] = [
        {"taxID": N("1"), "taxAmount": N("0"),
         "salesAmountWithTax": N("20.00")},
        {"taxCode": "B", "taxPercent": N("0"), "taxID": N("2"),
         "taxAmount": N("0.00"), "salesAmountWithTax": N("3.00")}]
    d["receiptPayments"] = [{"moneyTypeCode": "Card",
                             "paymentAmount": N("23.00")}]
    d["receiptTotal"] = N("23.00")


case("valid-exempt-and-zero-rated", edit(base(), exempt_zero))
case("valid-buyer-full", edit(base(), lambda d: d.update(buyerData={
    "buyerRegisterName": "Acme Trading (Private) Limited",
    "buyerTradeName": "Acme",
    "buyerTIN": "2000123456",
    "vatNumber": "220012345",
    "buyerContacts": {"phoneNo": "+263 77 123 4567",
                      "email": "accounts@acme.co.zw"},
    "buyerAddress": {"province": "Harare", "city": "Harare",
                     "street": "Samora Machel Ave", "houseNo": "12",
                     "district": "CBD"}})))


def exclusive(d):
    d["receiptLinesTaxInclusive"] = False
    d["receiptLines"] = [line("Soap", "10.00", "1", "10.00", "517", "15.5")]
    d["receiptTaxes"] = [{"taxID": N("517"), "taxPercent": N("15.5"),
                          "taxAmount": N("1.55"),
                          "salesAmountWithTax": N("11.55")}]
    d["receiptPayments"] = [{"moneyTypeCode": "Cash",
                             "paymentAmount": N("11.55")}]
    d["receiptTotal"] = N("11.55")


case("valid-tax-exclusive", edit(base(), exclusive))
case("valid-taxes-omitted", edit(base(), lambda d: d.pop("receiptTaxes")))


def as_strings(d):
    """Decimal fields as JSON strings; XML text is the same."""
    for ln in d["receiptLines"]:
        for k in ("receiptLinePrice", "receiptLineQuantity",
                  "receiptLineTotal", "taxPercent"):
            if k in ln:
                ln[k] = Raw('"%s"' % ln[k], str(ln[k]))
    d["receiptTotal"] = Raw('"16.55"', "16.55")
    d["receiptPayments"][0]["paymentAmount"] = Raw('"16.55"', "16.55")


case("valid-decimal-strings", edit(base(), as_strings))
case("valid-trailing-zeros", edit(minimal(), lambda d: d.update(
    receiptLines=[line(price="5.00000000", qty="1.000000000000",
                       total="5.000", tax_id="517.0", pct="15.500000")],
    receiptPayments=[{"moneyTypeCode": "Cash",
                      "paymentAmount": N("5.00000000")}],
    receiptTotal=N("5.0"))))


def full_fdms(d):
    d["receiptCounter"] = N("1")
    d["receiptGlobalNo"] = N("101")
    d["receiptPrintForm"] = "InvoiceA4"
    d["receiptDeviceSignature"] = {
        "hash": "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=",
        "signature": base64.b64encode(bytes(range(1, 72))).decode()}


case("valid-full-fdms-receipt", edit(base(), full_fdms))
def any_order(d):
    """Members (elements) reversed, at the top and inside each line."""
    items = list(d.items())[::-1]
    d.clear()
    d.update(items)
    d["receiptLines"] = [dict(list(x.items())[::-1])
                         for x in d["receiptLines"]]


case("valid-any-order", edit(base(), any_order))
case("valid-six-decimal-quantity", edit(minimal(), lambda d: d.update(
    receiptLines=[line("Nails", "0.29", "1.005", "0.29"),
                  line("Wire", "1.234567", "0.123456", "0.15")],
    receiptPayments=[{"moneyTypeCode": "Cash", "paymentAmount": N("0.44")}],
    receiptTotal=N("0.44"))))
case("valid-limits", edit(minimal(), lambda d: d.update(
    receiptCounter=N("2147483647"), receiptGlobalNo=N("2147483647"),
    creditDebitNote={"receiptID": N("999999999999999999"),
                     "deviceID": N("1"), "fiscalDayNo": N("2147483647")},
    receiptLines=[line("Big", "999999999999.999999", "999999999999.999999",
                       "9999999999999.99", "2147483647", "999.99"),
                  line("Small", "-999999999999.999999", "0.000001",
                       "-9999999999999.99", "0", "0.01")],
    receiptPayments=[{"moneyTypeCode": "Other",
                      "paymentAmount": N("0.00")}],
    receiptTotal=N("0.00"))))
case("valid-discount-line", edit(base(), lambda d: d["receiptLines"].append(
    {"receiptLineType": "Discount", "receiptLineName": "Promo",
     "receiptLinePrice": N("-1.00"), "receiptLineQuantity": N("1"),
     "receiptLineTotal": N("-1.00"), "taxID": N("1")})))
case("valid-every-money-type", edit(minimal(), lambda d: d.update(
    receiptPayments=[{"moneyTypeCode": m, "paymentAmount": N(a)}
                     for m, a in (("Cash", "1.00"), ("Card", "1.00"),
                                  ("MobileWallet", "1.00"),
                                  ("Coupon", "0.50"), ("Credit", "0.50"),
                                  ("BankTransfer", "0.50"),
                                  ("Other", "0.50"))])))
case("valid-minus-zero", edit(minimal(), lambda d: d.update(
    receiptLines=[line(price="0", total="-0.00", pct="-0")],
    receiptPayments=[{"moneyTypeCode": "Cash", "paymentAmount": N("-0")}],
    receiptTotal=N("0"))))
case("valid-xml-blanks-and-1", edit(minimal(), lambda d: d.update(
    receiptLinesTaxInclusive=Raw("true", "1"),
    receiptTotal=Raw("5.00", "\n    5.00\n  "),
    receiptLines=[line(tax_id="1", receiptLineNo=Raw("1", " 1 "))])))
case("valid-unicode-200-chars", edit(minimal(), lambda d: d.update(
    receiptLines=[line("\u00e9" * 199 + "\U0001F35E")],
    invoiceNo="\u20ac" * 50)))
case("valid-notes-500", edit(minimal(), lambda d: d.update(
    receiptNotes="n" * 499 + "\u00e9")))
case("valid-100-payments", edit(minimal(), lambda d: d.update(
    receiptPayments=[{"moneyTypeCode": "Cash", "paymentAmount": N("0.05")}]
    * 100)))
case("valid-hscode-and-taxcode", edit(minimal(), lambda d: d.update(
    receiptLines=[line(receiptLineHSCode="0101", taxCode="ABC"),
                  line(receiptLineHSCode="1", taxCode="")])))
case("valid-wrapper", {"deviceID": N("12345"),
                       "previousReceiptHash":
                       "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=",
                       "receipt": base()}, json_only=True)
case("valid-wrapper-bare", {"receipt": minimal()}, json_only=True)

# ---------------------------------------------------------------- invalid

case("invalid-missing-receiptTotal", edit(base(),
                                          lambda d: d.pop("receiptTotal")))
case("invalid-missing-lines", edit(base(), lambda d: d.pop("receiptLines")))
case("invalid-line-missing-total", edit(base(), lambda d:
                                        d["receiptLines"][1].pop(
                                            "receiptLineTotal")))
case("invalid-line-missing-taxID", edit(base(), lambda d:
                                        d["receiptLines"][0].pop("taxID")))
case("invalid-amount-3-decimals", edit(base(), lambda d:
                                       d["receiptLines"][1].update(
                                           receiptLineTotal=N("11.555"))))
case("invalid-quantity-7-decimals", edit(base(), lambda d:
                                         d["receiptLines"][0].update(
                                             receiptLineQuantity=N(
                                                 "1.0000001"))))
case("invalid-unknown-line-field", edit(base(), lambda d:
                                        d["receiptLines"][0].update(
                                            receiptLineColour="red")))
case("invalid-unknown-field", edit(base(), lambda d: d.update(
    receiptTotl=N("16.55"))))
case("invalid-unknown-buyer-field", edit(base(), lambda d: d.update(
    buyerData={"buyerRegisterName": "Acme", "buyerTIN": "2000123456",
               "buyerPhone": "123"})))
case("invalid-unknown-cdn-field", edit(base(), lambda d: d.update(
    creditDebitNote={"receiptID": N("1"), "reason": "x"})))
case("invalid-bad-receiptType", edit(base(), lambda d: d.update(
    receiptType="Invoice")))
case("invalid-receiptType-case", edit(base(), lambda d: d.update(
    receiptType="fiscalinvoice")))
case("invalid-bad-moneyType", edit(base(), lambda d:
                                   d["receiptPayments"][0].update(
                                       moneyTypeCode="Cheque")))
case("invalid-bad-line-type", edit(base(), lambda d:
                                   d["receiptLines"][0].update(
                                       receiptLineType="Refund")))
case("invalid-bad-print-form", edit(base(), lambda d: d.update(
    receiptPrintForm="A4")))
case("invalid-empty-lines", edit(base(), lambda d: d.update(
    receiptLines=[])))
case("invalid-empty-payments", edit(base(), lambda d: d.update(
    receiptPayments=[])))
case("invalid-empty-taxes", edit(base(), lambda d: d.update(
    receiptTaxes=[])))
case("invalid-101-payments", edit(minimal(), lambda d: d.update(
    receiptPayments=[{"moneyTypeCode": "Cash", "paymentAmount": N("0.05")}]
    * 101)))
case("invalid-invoiceNo-51", edit(base(), lambda d: d.update(
    invoiceNo="I" * 51)))
case("invalid-invoiceNo-empty", edit(base(), lambda d: d.update(
    invoiceNo="")))
case("invalid-line-name-201-chars", edit(minimal(), lambda d: d.update(
    receiptLines=[line("\u00e9" * 200 + "\U0001F35E")])))
case("invalid-line-name-empty", edit(minimal(), lambda d: d.update(
    receiptLines=[line("")])))
case("invalid-notes-501", edit(base(), lambda d: d.update(
    receiptNotes="n" * 501)))
case("invalid-amount-out-of-range", edit(base(), lambda d: d.update(
    receiptTotal=N("10000000000000.00"))))
case("invalid-negative-amount-out-of-range", edit(base(), lambda d:
                                                  d["receiptPayments"][0]
                                                  .update(paymentAmount=N(
                                                      "-10000000000000"))))
case("invalid-quantity-out-of-range", edit(base(), lambda d:
                                           d["receiptLines"][0].update(
                                               receiptLineQuantity=N(
                                                   "1000000000000"))))
case("invalid-currency-lowercase", edit(base(), lambda d: d.update(
    receiptCurrency="usd")))
case("invalid-currency-4-letters", edit(base(), lambda d: d.update(
    receiptCurrency="USDT")))
case("invalid-date-space", edit(base(), lambda d: d.update(
    receiptDate="2026-03-02 10:15:00")))
case("invalid-date-zone", edit(base(), lambda d: d.update(
    receiptDate="2026-03-02T10:15:00Z")))
case("invalid-date-fraction", edit(base(), lambda d: d.update(
    receiptDate="2026-03-02T10:15:00.5")))
case("invalid-date-month-13", edit(base(), lambda d: d.update(
    receiptDate="2026-13-02T10:15:00")))
case("invalid-buyerTIN-9-digits", edit(base(), lambda d: d.update(
    buyerData={"buyerRegisterName": "Acme", "buyerTIN": "200012345"})))
case("invalid-vatNumber-letters", edit(base(), lambda d: d.update(
    buyerData={"buyerRegisterName": "Acme", "buyerTIN": "2000123456",
               "vatNumber": "VAT123456"})))
case("invalid-hscode-9-digits", edit(base(), lambda d:
                                     d["receiptLines"][0].update(
                                         receiptLineHSCode="123456789")))
case("invalid-hscode-letters", edit(base(), lambda d:
                                    d["receiptLines"][0].update(
                                        receiptLineHSCode="12AB")))
case("invalid-taxCode-4-chars", edit(base(), lambda d:
                                     d["receiptLines"][0].update(
                                         taxCode="ABCD")))
case("invalid-percent-negative", edit(base(), lambda d:
                                      d["receiptLines"][1].update(
                                          taxPercent=N("-15.5"))))
case("invalid-percent-3-decimals", edit(base(), lambda d:
                                        d["receiptTaxes"][1].update(
                                            taxPercent=N("15.555"))))
case("invalid-percent-1000", edit(base(), lambda d:
                                  d["receiptLines"][1].update(
                                      taxPercent=N("1000"))))
case("invalid-taxID-fraction", edit(base(), lambda d:
                                    d["receiptLines"][0].update(
                                        taxID=N("1.5"))))
case("invalid-taxID-negative", edit(base(), lambda d:
                                    d["receiptTaxes"][0].update(
                                        taxID=N("-1"))))
case("invalid-counter-zero", edit(base(), lambda d: d.update(
    receiptCounter=N("0"))))
case("invalid-global-no-over-int32", edit(base(), lambda d: d.update(
    receiptGlobalNo=N("2147483648"))))
case("invalid-receiptID-19-digits", edit(base(), lambda d: d.update(
    creditDebitNote={"receiptID": N("1000000000000000000")})))
case("invalid-amount-plus-sign", edit(base(), lambda d: d.update(
    receiptTotal=Raw('"+16.55"', "+16.55"))))
case("invalid-amount-leading-zero", edit(base(), lambda d: d.update(
    receiptTotal=Raw('"016.55"', "016.55"))))
case("invalid-amount-exponent-string", edit(base(), lambda d: d.update(
    receiptTotal=Raw('"1.655e1"', "1.655e1"))))
case("invalid-amount-bare-dot", edit(base(), lambda d: d.update(
    receiptTotal=Raw('"16."', "16."))))
case("invalid-amount-leading-dot", edit(base(), lambda d:
                                        d["receiptTaxes"][0].update(
                                            taxAmount=Raw('".5"', ".5"))))
case("invalid-amount-nine-decimals", edit(base(), lambda d: d.update(
    receiptTotal=Raw('"16.550000000"', "16.550000000"))))
case("invalid-amount-empty", edit(base(), lambda d: d.update(
    receiptTotal=Raw('""', ""))))
case("invalid-amount-comma", edit(base(), lambda d: d.update(
    receiptTotal=Raw('"16,55"', "16,55"))))
case("invalid-amount-true", edit(base(), lambda d: d.update(
    receiptTotal=True)))
case("invalid-boolean-yes", edit(base(), lambda d: d.update(
    receiptLinesTaxInclusive="yes")))
case("invalid-duplicate-field", edit(base(), lambda d: d.update(
    invoiceNo=Dup("INV-1", "INV-2"))))
case("invalid-signature-bad-hash", edit(base(), lambda d: d.update(
    receiptDeviceSignature={"hash": "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvq",
                            "signature": "MEUCIQDx"})))
case("invalid-signature-missing", edit(base(), lambda d: d.update(
    receiptDeviceSignature={"hash":
                            "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU="})))
case("invalid-deviceID-outside-wrapper", edit(base(), lambda d: d.update(
    deviceID=N("12345"))))
case("invalid-payments-not-a-list", edit(base(), lambda d: d.update(
    receiptPayments={"moneyTypeCode": "Cash",
                     "paymentAmount": N("16.55")})))
case("invalid-line-is-text", edit(base(), lambda d: d.update(
    receiptLines=["Bread"])))
case("invalid-null-notes", edit(base(), lambda d: d.update(
    receiptNotes=None)), json_only=True)
case("invalid-integer-as-string", edit(base(), lambda d:
                                       d["receiptLines"][0].update(
                                           taxID="1")), json_only=True)
case("invalid-boolean-as-string", edit(base(), lambda d: d.update(
    receiptLinesTaxInclusive="true")), json_only=True)
case("invalid-wrapper-extra-member", {"receipt": base(), "device": N("1")},
     json_only=True)
case("invalid-wrapper-bad-hash", {"receipt": base(),
                                  "previousReceiptHash": "abc"},
     json_only=True)
case("invalid-wrapper-device-zero", {"receipt": base(), "deviceID": N("0")},
     json_only=True)
case("invalid-wrapper-not-object", {"receipt": [base()]}, json_only=True)
case("invalid-top-level-array", Raw("[]", None), json_only=True)


def main():
    for old in os.listdir(HERE):
        if old.endswith((".json", ".xml")):
            os.unlink(os.path.join(HERE, old))
    for name, (doc, json_only) in sorted(CASES.items()):
        with open(os.path.join(HERE, name + ".json"), "w",
                  encoding="utf-8") as f:
            f.write(jdump(doc) + "\n")
        if json_only:
            continue
        with open(os.path.join(HERE, name + ".xml"), "w",
                  encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            f.write(xdump("receipt", doc, 0))
    print("%d cases, %d pairs" % (len(CASES),
                                  sum(1 for d, j in CASES.values() if not j)))


if __name__ == "__main__":
    main()
