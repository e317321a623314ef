#!/bin/sh
# tls.sh - TLS and transport security against FDMS (issue 6, scenario 9):
# nothing is submitted, and each case gives a clear error.
#
# The device is registered against a good simulator; then, one case at a
# time, a new receipt is dropped and `spoold --once` runs against:
#  - a redirect (SubmitReceipt answered 307, Ping 301, to another host):
#    never followed, the receipt is not submitted anywhere;
#  - the simulator serving an expired, a not-yet-valid, a wrong-host and
#    an untrusted-CA server certificate (fdms-sim --server-cert-mode,
#    restarted on the same port with the same state);
#  - spoold trusting another CA (fdms_ca_file = an unrelated CA);
# each time spoold exits 75 (the receipt is signed and journaled, not
# submitted), its log names the TLS problem, the simulator's ledger stays
# empty and `spoolctl ping` exits 1 with the reason.  Then: /Device/v1
# without a client certificate is refused (401) and stores nothing; a
# plain http:// FDMS URL is refused by the configuration in staging and
# production.  Finally the simulator is fixed, spoold submits everything
# and fault_verify closes.
. tests/fault/faultlib
export SPOOLD_FDMS_TIMEOUT_MS=3000
SIMOPTS="--close-delay-s 0 --future-skew-s 86400"
fault_setup 503 || { fail "set-up"; finish; exit 1; }
fault_gen 7 71 T
t0=$(date +%s)

# next_receipt: the next generated file into the inbox.
next_receipt() {
	f=$(ls "$TRASH/src" | head -n 1)
	mv "$TRASH/src/$f" "$S/inbox/"
}
# sim_k GET PATH: a /_sim request whatever certificate the simulator
# serves (the test's control channel, not spoold's).
sim_k() { curl -skf -X "$1" "$SIM_URL$2"; }
ledger_empty() {
	[ "$(sim_k GET "/_sim/state/$DEV" | python3 -c \
	    'import json,sys; print(json.load(sys.stdin)["lastReceiptGlobalNo"])')" = None ]
}
signed_count() {
	python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT count(*) FROM receipts WHERE state IN "
                 "(\"signed\", \"submitting\")").fetchone()[0])' "$DB"
}

# tls_case NAME CONF PATTERN: one receipt, spoold --once, spoolctl ping.
tls_case() {
	name=$1 conf=$2 pat=$3
	next_receipt
	before=$(signed_count)
	logl=$(cat "$TRASH/logs/fdms.log" 2>/dev/null | wc -l)
	"$D" -c "$conf" --once >"$TRASH/once.out" 2>&1
	expect_eq "$name: spoold --once exits 75" "$?" 75
	# this run's log lines
	tail -n +$((logl + 1)) "$TRASH/logs/fdms.log" >"$TRASH/once.err"
	expect_eq "$name: the receipt is signed and journaled, not submitted" \
	    "$(signed_count)" $((before + 1))
	if grep -Eqi -- "$pat" "$TRASH/once.err"; then ok; else
		fail "$name: spoold's log does not say \"$pat\""
		tail -n 5 "$TRASH/once.err" >&2
	fi
	check "$name: the simulator's ledger is empty" ledger_empty
	"$CTL" -c "$conf" ping >"$TRASH/ping.out" 2>&1
	expect_eq "$name: spoolctl ping exits 1" "$?" 1
	if grep -Eqi -- "$pat" "$TRASH/ping.out"; then ok; else
		fail "$name: spoolctl ping does not say \"$pat\""
		cat "$TRASH/ping.out" >&2
	fi
}

# ---- redirects: not followed ----
fault_sim POST /_sim/fault 'SubmitReceipt:*=redirect/307
Ping:*=redirect/301' >/dev/null || fail "redirect rules"
tls_case "redirect" "$CONF" "redirect, not followed"
fired=$(fault_sim GET /_sim/fault | python3 -c '
import json, sys
print(min(r["fired"] for r in json.load(sys.stdin)["rules"]))')
check "redirect: both redirects were answered ($fired)" test "${fired:-0}" -ge 1
fault_sim DELETE /_sim/fault >/dev/null

# ---- bad server certificates ----
for m in expired:"certificate has expired" \
    notyet:"certificate is not yet valid" \
    wronghost:"subject name matches target host name" \
    otherca:"unable to get local issuer certificate"; do
	mode=${m%%:*}
	check "$mode: simulator restarted with a bad certificate" \
	    fault_sim_restart $SIMOPTS --server-cert-mode "$mode"
	tls_case "$mode" "$CONF" "${m#*:}"
done
check "simulator restarted with its good certificate" \
    fault_sim_restart $SIMOPTS

# ---- spoold trusts another CA (the throw-away one of "otherca") ----
check "the other CA exists" test -s "$TRASH/sim/other-ca.pem"
sed "s|^fdms_ca_file = .*|fdms_ca_file = $TRASH/sim/other-ca.pem|" \
    "$CONF" >"$TRASH/otherca.conf"
tls_case "wrong CA" "$TRASH/otherca.conf" \
    "self-signed certificate in certificate chain|unable to get local issuer"

# ---- no client certificate: /Device/v1 refuses, nothing stored ----
code=$(curl -s -o "$TRASH/nocert.out" -w '%{http_code}' --cacert "$SIM_CA" \
    "$SIM_URL/Device/v1/$DEV/GetConfig" -H 'DeviceModelName: Server' \
    -H 'DeviceModelVersion: v1')
expect_eq "no client certificate: GetConfig refused" "$code" 401
body=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT wire_json FROM receipts ORDER BY global_no LIMIT 1").fetchone()[0])
' "$DB" 2>/dev/null)
code=$(printf '%s' "{\"receipt\": ${body:-{\}}}" | curl -s -o "$TRASH/nocert2.out" \
    -w '%{http_code}' --cacert "$SIM_CA" -H 'Content-Type: application/json' \
    -H 'DeviceModelName: Server' -H 'DeviceModelVersion: v1' \
    --data-binary @- "$SIM_URL/Device/v1/$DEV/SubmitReceipt")
expect_eq "no client certificate: SubmitReceipt refused" "$code" 401
check "no client certificate: the ledger is empty" ledger_empty

# ---- plain http:// outside development: the configuration refuses ----
for env in staging production; do
	sed -e "s|^env = .*|env = $env|" \
	    -e "s|^fdms_base_url = https://|fdms_base_url = http://|" \
	    "$CONF" >"$TRASH/http-$env.conf"
	"$D" -c "$TRASH/http-$env.conf" --once >"$TRASH/http.out" 2>&1
	rc=$?
	check "http:// in $env: spoold refuses to start (exit $rc)" \
	    test "$rc" != 0 -a "$rc" != 75
	check "http:// in $env: the reason names https" \
	    grep -q 'https://' "$TRASH/http.out"
	"$CTL" -c "$TRASH/http-$env.conf" ping >"$TRASH/http.out" 2>&1
	rc=$?
	check "http:// in $env: spoolctl ping refuses (exit $rc)" \
	    test "$rc" != 0
done
check "nothing reached FDMS in any case" ledger_empty

# ---- fixed: everything goes through once, in order ----
for f in "$TRASH"/src/*; do [ -f "$f" ] && mv "$f" "$S/inbox/"; done
check "fixed: spoold --once submits everything" fault_drain 3
"$CTL" -c "$CONF" ping >"$TRASH/ping.out" 2>&1
expect_eq "fixed: spoolctl ping exits 0" "$?" 0
fault_verify tls 1 "7 cases (redirect, expired, notyet, wronghost, otherca, wrong CA, no client cert) + http refused in 2 envs; $(( $(date +%s) - t0 )) s"
finish
