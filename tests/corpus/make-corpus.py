#!/usr/bin/env python3
"""Generate tests/corpus: good receipts and the bad-input corpus.

Each bad case is written as a file under bad/ and listed in expect.txt with
the finding code the reader or the rules must report and the stage
(parse, schema, validate). Re-run after changing a case; the files are
committed so the build does not need Python.
"""
import copy, json, os

HERE = os.path.dirname(os.path.abspath(__file__))

BASE = {
    "receiptType": "FiscalInvoice", "receiptCurrency": "USD",
    "invoiceNo": "INV-000101", "receiptDate": "2026-03-02T10:15:00",
    "receiptLinesTaxInclusive": True,
    "receiptLines": [
        {"receiptLineType": "Sale", "receiptLineNo": 1,
         "receiptLineHSCode": "12345678", "receiptLineName": "Bread",
         "receiptLinePrice": "5.00", "receiptLineQuantity": 1,
         "receiptLineTotal": "5.00", "taxID": 1},
        {"receiptLineType": "Sale", "receiptLineNo": 2,
         "receiptLineHSCode": "87654321", "receiptLineName": "Soap",
         "receiptLinePrice": "11.55", "receiptLineQuantity": 1,
         "receiptLineTotal": "11.55", "taxPercent": "15.5", "taxID": 517}],
    "receiptPayments": [{"moneyTypeCode": "Cash", "paymentAmount": "16.55"}],
    "receiptTotal": "16.55",
}

def dump(obj):
    return json.dumps(obj, indent=1).encode()

def raw_amounts(text):
    # Turn the decimal strings of BASE into JSON numbers, keeping the text.
    for k in ("receiptLinePrice", "receiptLineTotal", "taxPercent",
              "paymentAmount", "receiptTotal"):
        text = text.replace(b'"%s": "' % k.encode(), b'"%s": ' % k.encode())
    out, i = bytearray(), 0
    # strip the closing quote that followed each converted number
    import re
    return re.sub(rb'(": -?[0-9.]+)"', rb'\1', text)

def mutate(fn):
    d = copy.deepcopy(BASE)
    fn(d)
    return d

good = {
    "basic-strings.json": dump(BASE),
    "basic-numbers.json": raw_amounts(dump(BASE)),
    "credit-note.json": dump(mutate(lambda d: d.update({
        "receiptType": "CreditNote", "receiptNotes": "returned soap",
        "creditDebitNote": {"invoiceNo": "INV-000100"},
        "receiptLines": [dict(BASE["receiptLines"][1], receiptLineNo=1,
                              receiptLinePrice="-11.55",
                              receiptLineTotal="-11.55")],
        "receiptPayments": [{"moneyTypeCode": "Cash",
                             "paymentAmount": "-11.55"}],
        "receiptTotal": "-11.55"}))),
    "wrapper.json": dump({"receipt": BASE}),
}

bad = []   # (name, bytes, code, stage)
def add(name, data, code, stage):
    bad.append((name, data if isinstance(data, bytes) else dump(data),
                code, stage))

add("empty.json", b"", "PARSE", "parse")
add("truncated.json", dump(BASE)[:-20], "PARSE", "parse")
add("not-json.json", b"hello, world\n", "PARSE", "parse")
add("trailing-garbage.json", dump(BASE) + b" {}", "PARSE", "parse")
add("duplicate-key.json",
    dump(BASE).replace(b'"receiptTotal"', b'"receiptTotal": "1.00", "receiptTotal"'),
    "PARSE", "parse")
add("deep-nesting.json", b"[" * 100000 + b"]" * 100000, "PARSE", "parse")
add("deep-object.json", b'{"a":' * 40 + b"1" + b"}" * 40, "PARSE", "parse")
add("exponent-1e400.json",
    raw_amounts(dump(BASE)).replace(b'"receiptTotal": 16.55', b'"receiptTotal": 1e400'),
    "SCHEMA", "schema")
add("nan.json", raw_amounts(dump(BASE)).replace(b": 16.55\n}", b": NaN\n}"),
    "PARSE", "parse")
add("invalid-utf8.json",
    dump(BASE).replace(b"Bread", b"Br\xc3\x28ad"), "PARSE", "parse")
add("overlong-utf8.json",
    dump(BASE).replace(b"Bread", b"Br\xc0\xafad"), "PARSE", "parse")
add("nul-escape.json", dump(BASE).replace(b"Bread", b"Bre\\u0000ad"),
    "PARSE", "parse")
add("three-decimals.json", mutate(lambda d: d.update(receiptTotal="16.555")),
    "SCHEMA", "schema")
add("three-decimals-number.json",
    raw_amounts(dump(BASE)).replace(b'"receiptTotal": 16.55', b'"receiptTotal": 1.005'),
    "SCHEMA", "schema")
add("seven-decimal-quantity.json", mutate(
    lambda d: d["receiptLines"][0].update(receiptLineQuantity="1.0000001")),
    "SCHEMA", "schema")
add("past-2-53.json",
    raw_amounts(dump(BASE)).replace(b'"receiptTotal": 16.55',
                                    b'"receiptTotal": 9007199254740993'),
    "SCHEMA", "schema")
add("missing-total.json", mutate(lambda d: d.pop("receiptTotal")),
    "SCHEMA", "schema")
add("missing-lines.json", mutate(lambda d: d.pop("receiptLines")),
    "SCHEMA", "schema")
add("missing-currency.json", mutate(lambda d: d.pop("receiptCurrency")),
    "SCHEMA", "schema")
add("unknown-field.json", mutate(lambda d: d.update(receiptTotl="1")),
    "SCHEMA", "schema")
add("bad-enum.json", mutate(lambda d: d.update(receiptType="Invoice")),
    "SCHEMA", "schema")
add("not-an-object.json", b"[1,2,3]", "SCHEMA", "schema")
add("string-for-bool.json",
    mutate(lambda d: d.update(receiptLinesTaxInclusive="yes")), "SCHEMA", "schema")
add("wrong-total.json", mutate(lambda d: d.update(receiptTotal="17.00")),
    "RCPT019", "validate")
add("wrong-payment.json", mutate(
    lambda d: d["receiptPayments"][0].update(paymentAmount="10.00")),
    "RCPT039", "validate")
add("wrong-line-total.json", mutate(
    lambda d: d["receiptLines"][0].update(receiptLineQuantity="3")),
    "RCPT024", "validate")
add("negative-sale-price.json", mutate(lambda d: (
    d["receiptLines"][0].update(receiptLinePrice="-5.00",
                                receiptLineTotal="-5.00"),
    d.update(receiptTotal="6.55"),
    d["receiptPayments"][0].update(paymentAmount="6.55"))),
    "RCPT022", "validate")
add("credit-note-positive.json", mutate(lambda d: d.update(
    receiptType="CreditNote", receiptNotes="x",
    creditDebitNote={"invoiceNo": "INV-1"})), "RCPT040", "validate")
add("credit-note-no-notes.json", mutate(lambda d: d.update(
    receiptType="CreditNote", creditDebitNote={"invoiceNo": "INV-1"},
    receiptLines=[dict(BASE["receiptLines"][1], receiptLinePrice="-11.55",
                       receiptLineTotal="-11.55")],
    receiptPayments=[{"moneyTypeCode": "Cash", "paymentAmount": "-11.55"}],
    receiptTotal="-11.55")), "RCPT034", "validate")
add("zero-quantity.json", mutate(
    lambda d: d["receiptLines"][0].update(receiptLineQuantity="0")),
    "RCPT023", "validate")
add("wrong-tax.json", mutate(lambda d: d.update(receiptTaxes=[
    {"taxID": 1, "taxAmount": "0.00", "salesAmountWithTax": "5.00"},
    {"taxID": 517, "taxPercent": "15.5", "taxAmount": "1.50",
     "salesAmountWithTax": "11.55"}])), "RCPT026", "validate")
add("invoice-with-reference.json",
    mutate(lambda d: d.update(creditDebitNote={"receiptID": 5})),
    "RCPT029", "validate")
add("buyer-without-tin.json",
    mutate(lambda d: d.update(buyerData={"buyerRegisterName": "ACME"})),
    "RCPT043", "validate")

XML_OK = (b'<?xml version="1.0" encoding="UTF-8"?>\n<receipt>'
          b'<receiptType>FiscalInvoice</receiptType>'
          b'<receiptCurrency>USD</receiptCurrency>'
          b'<invoiceNo>INV-X1</invoiceNo>'
          b'<receiptLinesTaxInclusive>true</receiptLinesTaxInclusive>'
          b'<receiptLines><receiptLine><receiptLineType>Sale</receiptLineType>'
          b'<receiptLineHSCode>12345678</receiptLineHSCode>'
          b'<receiptLineName>Bread</receiptLineName>'
          b'<receiptLinePrice>5.00</receiptLinePrice>'
          b'<receiptLineQuantity>1</receiptLineQuantity>'
          b'<receiptLineTotal>5.00</receiptLineTotal><taxID>1</taxID>'
          b'</receiptLine></receiptLines>'
          b'<receiptPayments><receiptPayment><moneyTypeCode>Cash</moneyTypeCode>'
          b'<paymentAmount>5.00</paymentAmount></receiptPayment></receiptPayments>'
          b'<receiptTotal>5.00</receiptTotal></receipt>\n')
good["basic.xml"] = XML_OK
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n' +
          b''.join(b'<!ENTITY lol%d "%s">\n' % (i, (b'&lol%d;' % (i - 1) if i > 1 else b'&lol;') * 10)
                   for i in range(1, 10)) +
          b']>\n<receipt><invoiceNo>&lol9;</invoiceNo></receipt>\n')
add("billion-laughs.xml", LAUGHS, "PARSE", "parse")
add("xxe-file.xml", b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM '
    b'"file:///etc/passwd">]>\n<receipt><invoiceNo>&x;</invoiceNo></receipt>\n',
    "PARSE", "parse")
add("xxe-http.xml", b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM '
    b'"http://127.0.0.1:9/x">]>\n<receipt><invoiceNo>&x;</invoiceNo></receipt>\n',
    "PARSE", "parse")
add("external-dtd.xml", b'<?xml version="1.0"?>\n<!DOCTYPE receipt SYSTEM '
    b'"file:///etc/passwd">\n<receipt/>\n', "PARSE", "parse")
add("doctype-only.xml", b'<?xml version="1.0"?>\n<!DOCTYPE receipt>\n'
    + XML_OK.split(b"\n", 1)[1], "PARSE", "parse")
add("malformed.xml", XML_OK[:-30], "PARSE", "parse")
add("deep.xml", b"<receipt>" + b"<a>" * 100000 + b"</a>" * 100000 +
    b"</receipt>", "PARSE", "parse")
add("three-decimals.xml", XML_OK.replace(b"<receiptTotal>5.00<",
                                         b"<receiptTotal>5.005<"),
    "SCHEMA", "schema")
add("unknown-element.xml", XML_OK.replace(b"<receiptTotal>",
                                          b"<receiptTotl>1</receiptTotl><receiptTotal>"),
    "SCHEMA", "schema")
add("invalid-utf8.xml", XML_OK.replace(b"Bread", b"Br\xff\xfead"),
    "PARSE", "parse")
add("wrong-total.xml", XML_OK.replace(b"<receiptTotal>5.00<",
                                      b"<receiptTotal>6.00<"),
    "RCPT019", "validate")

def main():
    for sub in ("good", "bad"):
        os.makedirs(os.path.join(HERE, sub), exist_ok=True)
    for name, data in good.items():
        with open(os.path.join(HERE, "good", name), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "expect.txt"), "w") as ex:
        ex.write("# file  code  stage   (generated by make-corpus.py)\n")
        for name, data, code, stage in bad:
            with open(os.path.join(HERE, "bad", name), "wb") as f:
                f.write(data)
            ex.write("%s %s %s\n" % (name, code, stage))

main()
