#!/usr/bin/env python3
"""gen-receipts.py - the fault suite's receipts (tests/fault/faultlib).

usage: gen-receipts.py OUTDIR N SEED [PREFIX]

Writes N distinct receipt files into OUTDIR (created) and prints the
manifest on stdout, one line per file: "NAME SHA256 good|bad".  Every
10th is XML, every 50th breaks a rule (receiptTotal one cent off:
RCPT019) and belongs in error/.  Invoice numbers carry PREFIX so that
several batches for one device never clash.  Deterministic for a seed.
"""
import hashlib, json, os, random, sys

out, n, rnd = sys.argv[1], int(sys.argv[2]), random.Random(int(sys.argv[3]))
prefix = sys.argv[4] if len(sys.argv) > 4 else "K"
os.makedirs(out, exist_ok=True)


def money(c):
    return "%d.%02d" % (c // 100, c % 100)


for i in range(1, n + 1):
    bad, inv = i % 50 == 7, "INV-%s%06d" % (prefix, i)
    p1, q, p2 = rnd.randint(100, 99999), rnd.randint(1, 5), rnd.randint(1, 5000)
    if i % 10 == 3:
        name = "%s-sale-%06d.xml" % (prefix, i)
        doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<receipt>'
               '<receiptType>FiscalInvoice</receiptType>'
               '<receiptCurrency>USD</receiptCurrency><invoiceNo>%s</invoiceNo>'
               '<receiptLinesTaxInclusive>true</receiptLinesTaxInclusive>'
               '<receiptLines><receiptLine><receiptLineType>Sale</receiptLineType>'
               '<receiptLineHSCode>12345678</receiptLineHSCode>'
               '<receiptLineName>Item %d</receiptLineName>'
               '<receiptLinePrice>%s</receiptLinePrice>'
               '<receiptLineQuantity>1</receiptLineQuantity>'
               '<receiptLineTotal>%s</receiptLineTotal><taxID>1</taxID>'
               '</receiptLine></receiptLines><receiptPayments><receiptPayment>'
               '<moneyTypeCode>Cash</moneyTypeCode>'
               '<paymentAmount>%s</paymentAmount>'
               '</receiptPayment></receiptPayments><receiptTotal>%s</receiptTotal>'
               '</receipt>\n' % (inv, i, money(p1), money(p1), money(p1),
                                 money(p1 + (1 if bad else 0))))
    else:
        name = "%s-sale-%06d.json" % (prefix, i)
        total = p1 * q + p2
        r = {"receiptType": "FiscalInvoice", "receiptCurrency": "USD",
             "invoiceNo": inv, "receiptLinesTaxInclusive": True,
             "receiptLines": [
                 {"receiptLineType": "Sale", "receiptLineHSCode": "12345678",
                  "receiptLineName": "Item %d" % i,
                  "receiptLinePrice": money(p1), "receiptLineQuantity": q,
                  "receiptLineTotal": money(p1 * q), "taxID": 1},
                 {"receiptLineType": "Sale", "receiptLineHSCode": "87654321",
                  "receiptLineName": "Soap", "receiptLinePrice": money(p2),
                  "receiptLineQuantity": 1, "receiptLineTotal": money(p2),
                  "taxPercent": "15.5", "taxID": 517}],
             "receiptPayments": [{"moneyTypeCode": "Cash",
                                  "paymentAmount": money(total)}],
             "receiptTotal": money(total + (1 if bad else 0))}
        doc = json.dumps(r, indent=1) + "\n"
    data = doc.encode()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print(name, hashlib.sha256(data).hexdigest(), "bad" if bad else "good")
