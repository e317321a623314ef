#!/bin/sh
# inspect.sh - spoolctl inspect end to end (interface.md §1), checked against
# fdms-reference §8 and against openssl(1) as an independent oracle.
. tests/integration/testlib
CTL="$BIN/spoolctl"
S8=tests/data/section8.json
KEY=tests/data/spec-example-rsa2048.pem
STR='12345FISCALINVOICEUSD1012026-03-02T10:15:001655050015.501551155'
HASH='rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU='

# No configuration, no database: run from an empty directory.
cd "$TRASH" || exit 1
export SPOOLD_SCHEMA_DIR="$TOP/schemas"
unset SPOOLD_CONF DATABASE_URL

out=$("$CTL" inspect "$TOP/$S8"); rc=$?
expect_eq "§8 exit status" "$rc" 0
expect_eq "§8 signature input" \
    "$(echo "$out" | sed -n 's/^signature input: *//p')" "$STR"
expect_eq "§8 hash" "$(echo "$out" | sed -n 's/^hash: *//p')" "$HASH"
check "the hash is SHA-256 of the string (openssl)" test \
    "$(printf %s "$STR" | openssl dgst -sha256 -binary | base64)" = "$HASH"

# With the spec's RSA key the signature is deterministic: compare with openssl.
out=$("$CTL" inspect "$TOP/$S8" --key "$TOP/$KEY" --qr-url https://fdmstest.zimra.co.zw/)
sig=$(echo "$out" | sed -n 's/^signature: *//p')
want=$(printf %s "$STR" | openssl dgst -sha256 -sign "$TOP/$KEY" | base64 -w0)
expect_eq "RSA signature equals openssl's" "$sig" "$want"
md5=$(printf %s "$want" | base64 -d | openssl dgst -md5 -binary | od -An -tx1 |
    tr -d ' \n' | cut -c1-16 | tr a-f A-F)
expect_eq "QR data" "$(echo "$out" | sed -n 's/^qr data: *//p')" \
    "https://fdmstest.zimra.co.zw/0000012345020320260000000101$md5"
vc=$(echo "$md5" | sed 's/^\(....\)\(....\)\(....\)\(....\)$/\1-\2-\3-\4/')
expect_eq "verification code" \
    "$(echo "$out" | sed -n 's/^verification code: *//p')" "$vc"

# --json: one document with the listed keys.
"$CTL" inspect "$TOP/$S8" --key "$TOP/$KEY" --json >j.json; rc=$?
expect_eq "--json exit" "$rc" 0
check "--json keys" python3 - j.json "$STR" "$HASH" "$want" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
keys = {"signatureInput", "hash", "signature", "qrData", "verificationCode",
        "qrUrl", "findings"}
assert keys <= set(d), set(d)
assert d["signatureInput"] == sys.argv[2] and d["hash"] == sys.argv[3]
assert d["signature"] == sys.argv[4] and d["findings"] == []
PY

# --device-id and --prev-hash override; a chained receipt's string ends in it.
"$CTL" inspect "$TOP/$S8" --device-id 7 --prev-hash "$HASH" --json >j2.json
check "--device-id/--prev-hash" python3 -c '
import json, sys
d = json.load(open("j2.json"))
s = d["signatureInput"]
assert s.startswith("7FISCALINVOICE") and s.endswith(sys.argv[1]), s
codes = [f["code"] for f in d["findings"]]
assert "PREV_HASH" in codes, codes  # counter 1 with a previous hash
' "$HASH"

# A receipt that claims a wrong hash: RCPT020 with the right hash named.
python3 - "$TOP/$S8" bad-hash.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["receipt"]["receiptDeviceSignature"] = {"hash": "AAAA", "signature": "AAAA"}
json.dump(d, open(sys.argv[2], "w"))
PY
out=$("$CTL" inspect bad-hash.json --json); rc=$?
expect_eq "wrong hash exits 1" "$rc" 1
check "RCPT020 reported with the path" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
f = [x for x in d["findings"] if x["code"] == "RCPT020"]
assert f and f[0]["colour"] == "Red", d["findings"]
assert f[0]["path"] == "receiptDeviceSignature.hash", f
assert sys.argv[2] in f[0]["message"], f
' "$out" "$HASH"

# Findings: a corpus file that breaks RCPT019; the path names the field.
"$CTL" inspect "$TOP/tests/corpus/bad/wrong-total.json" --device-id 1 >o.txt; rc=$?
expect_eq "findings exit 1" "$rc" 1
check "RCPT019 listed" grep -q 'RCPT019 *Red *receiptTotal' o.txt

# XML input and a parse error.
"$CTL" inspect "$TOP/tests/corpus/good/basic.xml" --device-id 1 >/dev/null; rc=$?
check "XML input read (exit 0 or 1, not 2)" test "$rc" -le 1
"$CTL" inspect "$TOP/tests/corpus/bad/billion-laughs.xml" >o.txt; rc=$?
expect_eq "billion laughs exit" "$rc" 1
check "billion laughs refused as PARSE" grep -q '^ *PARSE' o.txt

# Usage errors exit 2.
"$CTL" inspect >/dev/null 2>&1; expect_eq "no FILE" "$?" 2
"$CTL" inspect "$TOP/$S8" --bogus x >/dev/null 2>&1; expect_eq "bad option" "$?" 2
"$CTL" inspect "$TOP/$S8" --device-id abc >/dev/null 2>&1
expect_eq "bad device id" "$?" 2
"$CTL" inspect "$TOP/$S8" --key /nonexistent >/dev/null 2>&1
expect_eq "missing key" "$?" 2
"$CTL" frobnicate >/dev/null 2>&1; expect_eq "unknown command" "$?" 2
# A missing input file is a finding about that file, not a usage error.
"$CTL" inspect nothere.json >o.txt; expect_eq "missing file" "$?" 1
finish
