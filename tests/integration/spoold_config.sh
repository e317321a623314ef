#!/bin/sh
# spoold_config.sh - `spoold -n` against good and bad configurations, and
# spoold's exit codes for usage errors (interface.md §1, §2).
#
# Run from the repository top by tests/run-tests; SPOOLD_BIN is the
# directory holding spoold (default: bin/).  Works in a mktemp -d trash
# directory, removed at the end.  Prints "# passed N failed M".

top=$(pwd)
bin=${SPOOLD_BIN:-$top/bin}
spoold=$bin/spoold
pass=0
fail=0

trash=$(mktemp -d "${TMPDIR:-/tmp}/spoold_config.XXXXXX") || exit 1
trap 'rm -rf "$trash"' EXIT
cd "$trash" || exit 1

# Only what each case sets may configure spoold.
for v in FDMS_ENV SPOOL_DIR DATABASE_URL FDMS_BASE_URL FDMS_CA_FILE LOGS_DIR \
    FDMS_ENCRYPTION_KEY FDMS_TZ BACKUP_DIR BACKUP_RETAIN_DAYS FDMS_DEVICE_ID \
    FDMS_DEVICE_SERIAL_NO FDMS_ACTIVATION_KEY FDMS_DEVICE_MODEL_NAME \
    FDMS_DEVICE_MODEL_VERSION SECRET_KEY SPOOLD_CONF; do
	unset "$v"
done

ok() {	# name, then a command that must succeed
	name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
		echo "  status $rc; stdout:"; sed 's/^/    /' out
		echo "  stderr:"; sed 's/^/    /' err
	fi
}

run() {	# spoold ARGS; sets rc, out, err
	"$spoold" "$@" >out 2>err
	rc=$?
}

if [ ! -x "$spoold" ]; then
	echo "FAIL: no $spoold (make first)"
	echo "# passed 0 failed 1"
	exit 1
fi

cat >good.conf <<'EOF'
# two tills against the simulator
[global]
env = development
fdms_base_url = http://127.0.0.1:8443
spool_dir = ./spool

[device till1]
device_id = 101
serial_no = SN-101

[device till2]
device_id = 102
serial_no = SN-102
EOF

run -n -c good.conf
ok "good file: exit 0" [ "$rc" = 0 ]
ok "good file: configuration OK" [ "$(cat out)" = "configuration OK" ]
ok "good file: nothing on stderr" [ ! -s err ]

SPOOLD_CONF=$trash/good.conf run -n
ok "SPOOLD_CONF: exit 0" [ "$rc" = 0 ]

cp good.conf spoold.conf
run -n -v
ok "./spoold.conf by default: exit 0" [ "$rc" = 0 ]
ok "-v names the file" grep -q '^spoold: ./spoold.conf: env development, 2 devices$' err
rm spoold.conf

# Environment only: the file has no device section.
printf '[global]\nenv = staging\n' >env.conf
FDMS_DEVICE_ID=7 FDMS_DEVICE_SERIAL_NO=SN-7 run -n -c env.conf
ok "device from the environment: exit 0" [ "$rc" = 0 ]

cat >bad.conf <<'EOF'
[global]
env = testing
colour = blue
rescan_interval = often
fdms_base_url = ftp://fdms.example
encryption_key = not-a-key
timezone = Mars/Olympus_Mons
[device a]
device_id = 7
serial_no = A
inbox = /srv/in
[device b]
device_id = 7
inbox = /srv/in/
[device a]
EOF

run -n -c bad.conf
ok "bad file: exit 1" [ "$rc" = 1 ]
ok "bad file: no OK" [ ! -s out ]
for want in \
    "bad.conf:2: env: \"testing\" is not one of" \
    "bad.conf:3: colour: unknown key" \
    "bad.conf:4: rescan_interval: \"often\" is not an integer" \
    "bad.conf:5: fdms_base_url: \"ftp://fdms.example\" must be an https://" \
    "bad.conf:6: encryption_key: not a Fernet key" \
    "bad.conf:7: timezone: unknown time zone" \
    "bad.conf:12: serial_no: device b has no serial_no" \
    "bad.conf:13: device_id: device b: device_id 7 is already device a's" \
    "bad.conf:14: inbox: device b shares its inbox" \
    "bad.conf:15: [device a]: duplicate device section (first at line 8)"; do
	ok "bad file lists: $want" grep -qF "spoold: $want" err
done
ok "bad file: exactly 10 problems" [ "$(wc -l <err)" -eq 10 ]

# The environment wins over the file, and is named when it is wrong.
FDMS_ENV=production run -n -c good.conf
ok "production: exit 1" [ "$rc" = 1 ]
ok "production: http refused" \
    grep -qF "good.conf:4: fdms_base_url: \"http://127.0.0.1:8443\" must be https://" err
ok "production: key required" \
    grep -qF "encryption_key: required in production" err
BACKUP_RETAIN_DAYS=0 run -n -c good.conf
ok "env range: exit 1" [ "$rc" = 1 ]
ok "env range: named" \
    grep -qF "spoold: environment BACKUP_RETAIN_DAYS: backup_retain_days: 0 is out of range" err

run -n -c missing.conf
ok "missing file: exit 1" [ "$rc" = 1 ]
ok "missing file: said" grep -qF "spoold: missing.conf: cannot open: " err

# Usage errors exit 2.
run -x
ok "-x: exit 2" [ "$rc" = 2 ]
ok "-x: usage" grep -q '^usage: spoold' err
run --bogus
ok "--bogus: exit 2" [ "$rc" = 2 ]
run -n -c
ok "-c without FILE: exit 2" [ "$rc" = 2 ]
run -n extra
ok "extra argument: exit 2" [ "$rc" = 2 ]
run -h
ok "-h: exit 0" [ "$rc" = 0 ]
ok "-h: usage on stdout" grep -q '^usage: spoold' out

# A configuration that checks out but a device never registered: the daemon
# refuses to start (exit 2) and says what to do.
SPOOLD_SCHEMA_DIR=$top/schemas run --once -f -c good.conf
ok "unregistered device: exit 2" [ "$rc" = 2 ]
ok "unregistered device: says register" grep -q 'spoolctl register' err
SPOOLD_SCHEMA_DIR=$top/schemas run -c good.conf
ok "unregistered device, detached: exit 2" [ "$rc" = 2 ]

echo "# passed $pass failed $fail"
[ "$fail" = 0 ]
