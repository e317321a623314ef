#!/bin/sh
# spoold_cron.sh - scripts/cron/spoold-cron, the wrapper the crontab and
# the systemd timers run (docs/operations.md): silent on success; on
# failure spoolctl's output on stdout (what cron mails) and one syslog
# line; close-day retried while spoolctl says 75 and not after 1; every
# device of SPOOLD_DEVICES closed, the worst status returned; settings
# and usage checked.  A stub spoolctl plays the exit codes; one run with
# the real spoolctl makes a backup.  Also: sh -n and (when installed)
# shellcheck on the script, and the units' syntax.
. tests/integration/testlib
spoold_env
CRON=$TOP/scripts/cron/spoold-cron
cd "$TRASH" || exit 1

check "sh -n" sh -n "$CRON"
if command -v shellcheck >/dev/null 2>&1; then
	check "shellcheck" shellcheck -s sh "$CRON"
fi

# The stub: logs its arguments, prints a line, exits with the next code
# of $TRASH/codes (one per line, consumed; 0 when none are left).
mkdir stub
cat >stub/spoolctl <<'STUB'
#!/bin/sh
echo "$*" >>"$STUB_DIR/calls"
echo "spoolctl $* said something"
code=$(head -n 1 "$STUB_DIR/codes" 2>/dev/null)
sed -i 1d "$STUB_DIR/codes" 2>/dev/null
exit "${code:-0}"
STUB
cat >stub/logger <<'STUB'
#!/bin/sh
echo "$*" >>"$STUB_DIR/syslog"
STUB
chmod 755 stub/spoolctl stub/logger
export STUB_DIR=$TRASH PATH="$TRASH/stub:$PATH" SPOOLCTL=spoolctl \
    CLOSE_RETRY_S=0
unset SPOOLD_DEVICES CLOSE_TRIES
# cronrun CODES... -- ARGS...: a fresh scenario, then spoold-cron ARGS.
cronrun() {
	: >calls; : >syslog; : >codes
	while [ "$1" != -- ]; do echo "$1" >>codes; shift; done
	shift
	"$CRON" "$@" >out 2>err
}
calls() { tr '\n' ';' <calls; }

cronrun 0 -- backup; rc=$?
expect_eq "backup ok: exit" "$rc" 0
check "backup ok: silent" test ! -s out -a ! -s err
expect_eq "backup ok: spoolctl backup ran" "$(calls)" "backup;"
check "backup ok: no syslog line" test ! -s syslog

cronrun 1 -- audit; rc=$?
expect_eq "audit fails: exit" "$rc" 1
check "audit fails: spoolctl's output shown" grep -q 'spoolctl audit said something' out
check "audit fails: says what and the status" grep -q 'spoold-cron: audit: exit 1' out
check "audit fails: syslog line" grep -q 'audit failed with exit 1' syslog

cronrun 75 75 0 -- close-day; rc=$?
expect_eq "close-day 75, 75, 0: exit" "$rc" 0
expect_eq "close-day retried while 75" "$(calls)" "close-day;close-day;close-day;"
check "close-day that ends well: silent" test ! -s out

CLOSE_TRIES=3 cronrun 75 75 75 75 -- close-day; rc=$?
expect_eq "close-day 75 every try: exit" "$rc" 75
expect_eq "close-day: CLOSE_TRIES tries" "$(calls)" "close-day;close-day;close-day;"
check "close-day 75: says so" grep -q 'still 75 after 3 tries' out

cronrun 1 0 -- close-day; rc=$?
expect_eq "close-day CloseFailed: exit" "$rc" 1
expect_eq "close-day 1 not retried" "$(calls)" "close-day;"
check "close-day CloseFailed: output shown" grep -q 'spoolctl close-day said something' out

SPOOLD_DEVICES="till1 till2" cronrun 1 0 -- close-day; rc=$?
expect_eq "two devices, the first fails: exit" "$rc" 1
expect_eq "two devices: both closed" "$(calls)" \
    "--device till1 close-day;--device till2 close-day;"
check "the failing device named" grep -q 'close-day --device till1 failed with exit 1' syslog

SPOOLD_DEVICES="till1 till2" CLOSE_TRIES=1 cronrun 75 0 -- close-day; rc=$?
expect_eq "two devices, 75 then 0: exit 75" "$rc" 75
SPOOLD_DEVICES="till1 till2" CLOSE_TRIES=1 cronrun 75 1 -- close-day; rc=$?
expect_eq "two devices, 75 then 1: exit 1" "$rc" 1
SPOOLD_DEVICES="till1 till2" CLOSE_TRIES=1 cronrun 2 75 -- close-day; rc=$?
expect_eq "two devices, 2 then 75: exit 2" "$rc" 2

CLOSE_TRIES=x cronrun -- close-day; rc=$?
expect_eq "CLOSE_TRIES not a number" "$rc" 2
expect_eq "nothing ran" "$(calls)" ""
cronrun -- ; rc=$?
expect_eq "no job: usage" "$rc" 2
cronrun -- restore; rc=$?
expect_eq "unknown job: usage" "$rc" 2

# The real spoolctl: a backup, silently.
cat >spoold.conf <<CONF
[global]
env = development
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool
backup_dir = $TRASH/backups
CONF
$CTL -c spoold.conf migrate >/dev/null 2>&1
SPOOLCTL=$CTL SPOOLD_CONF=$TRASH/spoold.conf "$CRON" backup >out 2>err; rc=$?
expect_eq "real backup through spoold-cron" "$rc" 0
check "real backup: silent" test ! -s out -a ! -s err
check "real backup written" sh -c 'ls backups | grep -q "^db_.*\.sqlite3$"'
SPOOLCTL=$CTL SPOOLD_CONF=$TRASH/nosuch.conf "$CRON" backup >out 2>err; rc=$?
expect_eq "real backup, missing configuration: exit" "$rc" 2
check "real backup failure: spoolctl's message shown" grep -q 'nosuch.conf' out

# The crontab: six fields and a user before each command.
check "crontab lines: m h dom mon dow user spoold-cron JOB" awk '
	/^#/ || /^$/ || /^[A-Z_]+=/ { next }
	NF != 8 || $6 != "spoold" || $7 != "spoold-cron" { bad = 1 }
	END { exit bad }' "$TOP/scripts/cron/spoold.cron"
if command -v systemd-analyze >/dev/null 2>&1; then
	for t in "$TOP"/scripts/cron/*.timer; do
		check "$(basename "$t") verifies" sh -c \
		    "systemd-analyze verify '$t' 2>&1 | grep -v 'No such file\|not executable' | grep -q . && exit 1 || exit 0"
	done
fi
finish
