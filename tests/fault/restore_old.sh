#!/bin/sh
# restore_old.sh - restore of an old backup while FDMS holds newer
# receipts (issue 6, scenario 13), with the suite's closing check.
#
# tests/integration/spoolctl_restore.sh covers the command in detail
# (every refusal, the messages, the names kept aside) on a handful of
# receipts.  This scenario runs it over a stream and ends with the shared
# invariants (fault_verify: files, chain, ledger = journal, audit):
#   batch 1 submitted, backup B1; batch 2 submitted (FDMS now holds
#   receipts the backup does not); restore --force B1: resync finds the
#   discrepancy and blocks signing (exit 1); batch 3 dropped: spoold
#   --once defers it (75), nothing is signed or sent with a number FDMS
#   already has; the documented repair (restore the journal kept aside)
#   unblocks; batch 3 is signed with the next numbers and submitted.
. tests/fault/faultlib
N=$(fault_size 15 300)
fault_setup 504 || { fail "set-up"; finish; exit 1; }
t0=$(date +%s)

# top: the journal's highest global number.
top() {
	python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT coalesce(max(global_no), 0) FROM receipts").fetchone()[0])
' "$DB"
}

fault_gen "$N" 81 R
fault_drop_all
check "batch 1 submitted" fault_drain 3
"$CTL" -c "$CONF" backup --output-dir "$TRASH/b1" >"$TRASH/backup.out" 2>&1
expect_eq "backup B1" "$?" 0
B1=$TRASH/b1/$(ls "$TRASH/b1" | grep '^db_' | head -n 1)
top1=$(top)

fault_gen "$N" 82 S
fault_drop_all
check "batch 2 submitted" fault_drain 3
top2=$(top)
check "FDMS holds newer receipts than the backup ($top1 < $top2)" \
    test "$top1" -lt "$top2"
expect_eq "FDMS holds batch 2" "$(fault_sim_last)" "$top2"

"$CTL" -c "$CONF" restore --force "$B1" >"$TRASH/restore.out" 2>&1
expect_eq "restore --force of the old backup: resync needs an admin" "$?" 1
check "resync names the discrepancy" grep -q "DISCREPANCY: FDMS holds receipt $top2, the journal ends at $top1" "$TRASH/restore.out"
expect_eq "journal back at the backup" "$(top)" "$top1"
ASIDE=$(ls "$TRASH" | grep '^db\.sqlite3\.pre-restore-' | head -n 1)
check "the newer journal kept aside" test -n "$ASIDE"

fault_gen "$N" 83 U
fault_drop_all
"$D" -c "$CONF" --once >>"$TRASH/drain.out" 2>>"$TRASH/drain.err"
expect_eq "spoold defers the blocked device's files" "$?" 75
expect_eq "nothing signed with a number FDMS has" "$(top)" "$top1"
expect_eq "nothing sent: FDMS unchanged" "$(fault_sim_last)" "$top2"

# The repair (docs/operations.md): restore the journal kept aside.
"$CTL" -c "$CONF" restore "$TRASH/$ASIDE" >"$TRASH/repair.out" 2>&1
expect_eq "repair: restore the journal kept aside" "$?" 0
rm -f "$TRASH/$ASIDE"
check "batch 3 signed after the repair and submitted" fault_drain 3
good=$(grep -c ' good$' "$TRASH/manifest")
expect_eq "numbers continue after batch 2, none reused" "$(top)" "$good"
fault_verify restore_old 1 "3 batches of $N, old backup restored at $top1 while FDMS held $top2; $(( $(date +%s) - t0 )) s"
finish
