#!/usr/bin/env python3
"""invariants.py - the invariant check after a daemon test (anchors B.12).

usage: invariants.py TOP DEVICE_SPOOL DB MANIFEST SIM_URL SIM_CA DEVICE_ID

MANIFEST lines: "NAME SHA256 good|bad". Checks, one report line per
broken invariant (exit 1 when any):
  I1 every input file is exactly once in done/ or error/ (by SHA-256), in
     the right one, with its result or error file; bad files carry RCPT019
     or RCPT039 at the validate stage; no stray reply files;
  I3 journal rows and done/ files match one to one (name and SHA-256) and
     every result says submitted with the row's number and hash;
  I4 global numbers 1..n, counters 1..k per day, previous-hash links; every
     hash recomputed from the journaled wire JSON with the simulator's
     independent string builder (testkit), every signature verified with
     the journaled certificate;
  I5 the simulator's ledger equals the journal, in order, byte for byte;
  I6 PRAGMA integrity_check is ok.
"""
import base64, decimal, hashlib, json, os, re, sqlite3, ssl, sys
import urllib.request
top, spool, dbpath, manifest, url, ca = sys.argv[1:7]
DEV = int(sys.argv[7])
sys.path.insert(0, os.path.join(top, "tests", "fdms-sim"))
import testkit
from cryptography import x509

D = decimal.Decimal
bad = []
# For the fault suite's summary table (tests/fault/faultlib).
count = {"lost": 0, "duplicated": 0, "order": 0}
def problem(fmt, *a):
    bad.append(fmt % a)

man = [l.split() for l in open(manifest)]
def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
REPLY = (".result.json", ".result.xml", ".error.json")
where = {}			# sha -> [(dir, name)]
names = {}
for d in ("done", "error"):
    names[d] = set(os.listdir(os.path.join(spool, d)))
    for n in names[d]:
        if n.endswith(REPLY):
            continue
        where.setdefault(sha(os.path.join(spool, d, n)), []).append((d, n))
        if d == "done" and n + ".result.json" not in names[d] and \
                n + ".result.xml" not in names[d]:
            problem("I1: done/%s has no result file", n)
        if d == "error" and n + ".error.json" not in names[d]:
            problem("I1: error/%s has no error file", n)
known = set()
for name, h, kind in man:
    known.add(h)
    got = where.get(h, [])
    want = "error" if kind == "bad" else "done"
    if len(got) != 1:
        count["lost" if not got else "duplicated"] += 1
        problem("I1: %s is %d times in done/ and error/: %s", name,
                len(got), got)
    elif got[0][0] != want:
        problem("I1: %s is in %s/ (%s), not in %s/", name, got[0][0],
                got[0][1], want)
for h, got in where.items():
    if h not in known:
        problem("I1: %s is no input file", got)
for d in ("done", "error"):
    for n in names[d]:
        if not n.endswith(REPLY):
            continue
        if n[:n.rindex(".", 0, n.rindex("."))] not in names[d]:
            problem("I1: %s/%s without its file", d, n)
for name, h, kind in man:
    if kind == "bad" and len(where.get(h, [])) == 1:
        e = json.load(open(os.path.join(spool, "error",
                                        where[h][0][1] + ".error.json")))
        codes = [x["code"] for x in e["errors"]]
        if e["stage"] != "validate" or not set(codes) & {"RCPT019", "RCPT039"}:
            problem("%s: error file says %s %s", name, e["stage"], codes)

# I6.
db = sqlite3.connect(dbpath)
ic = db.execute("PRAGMA integrity_check").fetchall()
if ic != [("ok",)]:
    problem("I6: integrity_check: %s", ic)

# I3, I4.
rows = db.execute("""SELECT global_no, day_no, counter, hash, signature,
    prev_hash, wire_json, source_name, source_sha256, state,
    fdms_receipt_id, cert_id FROM receipts WHERE device_id = ?
    ORDER BY global_no""", (DEV,)).fetchall()
certs = {cid: x509.load_pem_x509_certificate(pem.encode()).public_key()
         for cid, pem in db.execute("SELECT cert_id, pem FROM certificates")}
ngood = sum(1 for _, _, k in man if k == "good")
if len(rows) != ngood:
    problem("I3: %d receipts journaled for %d good files", len(rows), ngood)
in_done = {n for n in names["done"] if not n.endswith(REPLY)}
journaled = set()
prev = None
for (g, day, ctr, hsh, sig, prev_hash, wire_json, src, src_sha, state,
        rid, cert_id) in rows:
    journaled.add(src)
    if prev is None:
        if g != 1:
            problem("I4: the first global number is %d", g)
    elif g != prev[0] + 1:
        count["order"] += 1
        problem("I4: global number %d follows %d", g, prev[0])
    if prev is None or day != prev[1]:
        if ctr != 1 or prev_hash is not None:
            problem("I4: receipt %d opens day %d with counter %d, "
                    "previous hash %r", g, day, ctr, prev_hash)
    else:
        if ctr != prev[2] + 1:
            count["order"] += 1
            problem("I4: receipt %d: counter %d after %d", g, ctr, prev[2])
        if prev_hash != prev[3]:
            count["order"] += 1
            problem("I4: receipt %d: previous hash %r, the previous "
                    "receipt's is %r", g, prev_hash, prev[3])
    w = json.loads(wire_json, parse_float=D)
    sd = w.get("receiptDeviceSignature", {})
    s = testkit.receipt_string(DEV, w["receiptType"], w["receiptCurrency"],
        w["receiptGlobalNo"], w["receiptDate"], D(w["receiptTotal"]),
        [dict(t, taxPercent=D(t["taxPercent"])) if "taxPercent" in t else t
         for t in w["receiptTaxes"]], prev_hash)
    if w["receiptGlobalNo"] != g or w["receiptCounter"] != ctr:
        problem("I4: receipt %d: the wire JSON says %d/%d", g,
                w["receiptGlobalNo"], w["receiptCounter"])
    if testkit.sha_b64(s) != hsh or sd.get("hash") != hsh:
        problem("I4: receipt %d: hash %s, recomputed %s, in the wire %s", g,
                hsh, testkit.sha_b64(s), sd.get("hash"))
    if sd.get("signature") != sig or cert_id not in certs or \
            not testkit.verify(certs[cert_id], base64.b64decode(sig), s):
        problem("I4: receipt %d: the signature does not verify", g)
    if src not in in_done:
        problem("I3: receipt %d: done/%s is missing", g, src)
    elif sha(os.path.join(spool, "done", src)) != src_sha:
        problem("I3: receipt %d: done/%s is not the journaled file", g, src)
    else:
        rn = os.path.join(spool, "done", src + ".result.json")
        rx = os.path.join(spool, "done", src + ".result.xml")
        if os.path.exists(rn):
            res = json.load(open(rn))
        elif os.path.exists(rx):
            r = open(rx).read()
            res = {k: re.search("<%s>([^<]*)</%s>" % (k, k), r).group(1)
                   for k in ("status", "receiptGlobalNo", "receiptHash")}
            res["receiptGlobalNo"] = int(res["receiptGlobalNo"])
        else:
            res = None
        if res is None:
            problem("I3: done/%s has no result", src)
        elif (res["status"], res["receiptGlobalNo"], res["receiptHash"]) != \
                ("submitted", g, hsh):
            problem("I3: done/%s result: %s %s %s (journal: %d %s)", src,
                    res["status"], res["receiptGlobalNo"],
                    res["receiptHash"], g, hsh)
    if state != "submitted":
        problem("I5: receipt %d is %s in the journal", g, state)
    prev = (g, day, ctr, hsh)
for n in sorted(in_done - journaled):
    problem("I3: done/%s is no journaled receipt", n)

# I5: the ledger.
ctx = ssl.create_default_context(cafile=ca)
led = json.load(urllib.request.urlopen("%s/_sim/ledger/%d" % (url, DEV),
    context=ctx))["receipts"]
if len(led) != len(rows):
    if len(led) > len(rows):
        count["duplicated"] += len(led) - len(rows)
    else:
        count["lost"] += len(rows) - len(led)
    problem("I5: FDMS holds %d receipts, the journal %d", len(led), len(rows))
for x, r in zip(led, rows):
    if (x["receiptGlobalNo"], x["hash"], x["receiptID"]) != (r[0], r[3], r[10]):
        count["order"] += 1
        problem("I5: FDMS has %s %s %s where the journal has %s %s %s",
                x["receiptGlobalNo"], x["hash"], x["receiptID"], r[0], r[3],
                r[10])
    elif x["requestBody"] != '{"receipt":' + r[6] + '}':
        problem("I5: receipt %d was not sent as journaled", r[0])
    if x["validationErrors"]:
        problem("I5: receipt %d: %s", r[0], x["validationErrors"])
print("%d receipts journaled, %d in the ledger, %d in error/" % (len(rows),
      len(led), len([n for n in names["error"] if not n.endswith(REPLY)])))
print("COUNTS lost=%d duplicated=%d order=%d" % (count["lost"],
      count["duplicated"], count["order"]))
for b in bad[:30]:
    print("BAD", b)
if len(bad) > 30:
    print("BAD ... and %d more" % (len(bad) - 30))
sys.exit(1 if bad else 0)
