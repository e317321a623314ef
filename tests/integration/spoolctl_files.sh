#!/bin/sh
# spoolctl_files.sh - spoolctl backup (interface.md §6) and reprocess
# (§1, §3) on a fresh development journal; no FDMS needed.
. tests/integration/testlib
spoold_env
cd "$TRASH" || exit 1

cat >spoold.conf <<CONF
[global]
env = development
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool
backup_dir = $TRASH/backups
CONF
C="$CTL -c spoold.conf"

$C migrate >out 2>err; rc=$?
expect_eq "migrate creates the journal" "$rc" 0

# -- backup ---------------------------------------------------------------
$C backup >out 2>err; rc=$?
expect_eq "backup" "$rc" 0
B=$(ls backups 2>/dev/null | head -n 1)
check "backup name db_YYYYMMDD_HHMMSS.sqlite3" \
    sh -c "echo '$B' | grep -Eq '^db_[0-9]{8}_[0-9]{6}\.sqlite3$'"
expect_eq "backup mode 0600" "$(stat -c %a "backups/$B" 2>/dev/null)" 600
check "backup opens, integrity ok, same rows as the journal" python3 - \
    "$TRASH/db.sqlite3" "$TRASH/backups/$B" <<'PY'
import sqlite3, sys
live = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
copy = sqlite3.connect("file:%s?mode=ro" % sys.argv[2], uri=True)
assert copy.execute("pragma integrity_check").fetchone()[0] == "ok"
tabs = [r[0] for r in live.execute(
    "select name from sqlite_master where type='table'")]
assert "receipts" in tabs, tabs
for t in tabs:
    a = live.execute('select count(*) from "%s"' % t).fetchone()[0]
    b = copy.execute('select count(*) from "%s"' % t).fetchone()[0]
    assert a == b, (t, a, b)
PY
check "backup logged" grep -q "backup: written .*$B" logs/fdms.log
check "backup is one file (no -wal)" sh -c '! ls backups | grep -q -- -wal'

# Two backups in the same second never overwrite: both exist afterwards.
$C backup >out1 2>err1 & p1=$!
$C backup >out2 2>err2; rc2=$?
wait $p1; rc1=$?
expect_eq "concurrent backups both succeed" "$rc1$rc2" 00
expect_eq "concurrent backups: two new files" "$(ls backups | wc -l | tr -d ' ')" 3

# --output-dir, and retention: old ones pruned, newest and others kept.
mkdir od
touch -d '20 days ago' od/db_20200101_000000.sqlite3
touch -d '10 days ago' od/db_20200102_000000.sqlite3
touch -d '1 day ago' od/db_20200103_000000.sqlite3
touch -d '30 days ago' od/db_20200101_000000.sqlite3.keep od/other.txt \
    od/db_2020_bad.sqlite3
$C backup --output-dir od --retain 5 >out 2>err; rc=$?
expect_eq "backup --output-dir --retain" "$rc" 0
expect_eq "--output-dir used, backup_dir not" "$(ls backups | wc -l | tr -d ' ')" 3
check "old backups pruned" sh -c '[ ! -e od/db_20200101_000000.sqlite3 ] &&
    [ ! -e od/db_20200102_000000.sqlite3 ]'
check "young backup kept" test -e od/db_20200103_000000.sqlite3
check "non-matching names never pruned" sh -c '[ -e od/other.txt ] &&
    [ -e od/db_20200101_000000.sqlite3.keep ] && [ -e od/db_2020_bad.sqlite3 ]'
check "pruning reported" grep -q 'pruned .*db_20200101_000000' out
check "pruning logged" grep -q 'backup-prune: removed' logs/fdms.log

# The newest is always kept, even when every backup is old.
mkdir old
touch -d '40 days ago' old/db_20200101_000000.sqlite3
touch -d '30 days ago' old/db_20200201_000000.sqlite3
chmod 500 old
if [ "$(id -u)" != 0 ]; then
	$C backup --output-dir old --retain 1 >out 2>err; rc=$?
	expect_eq "backup into a read-only dir fails" "$rc" 1
	check "failure logged" grep -q 'backup: failed' logs/fdms.log
fi
chmod 700 old
# Retention from the environment: every old one goes, the new one (the
# newest) stays.  The "newest is kept" rule itself: tests/unit/test_admin_files.
BACKUP_DIR=$TRASH/old BACKUP_RETAIN_DAYS=1 $C backup >out 2>err; rc=$?
expect_eq "backup via BACKUP_DIR/BACKUP_RETAIN_DAYS" "$rc" 0
check "old backups pruned" sh -c '[ ! -e old/db_20200101_000000.sqlite3 ] &&
    [ ! -e old/db_20200201_000000.sqlite3 ]'
expect_eq "only the new backup is left" "$(ls old | wc -l | tr -d ' ')" 1
check "the lock file is a dotfile" test -f old/.backup.lock

$C backup --retain 0 >out 2>err; rc=$?
expect_eq "--retain 0 is a usage error" "$rc" 2
$C backup --bogus >out 2>err; rc=$?
expect_eq "unknown option is a usage error" "$rc" 2
DATABASE_URL=postgresql://u@localhost/db $C backup >out 2>err; rc=$?
expect_eq "postgresql refused" "$rc" 1
check "postgresql message" grep -q 'PostgreSQL backups (pg_dump) arrive with PostgreSQL support' err

# -- reprocess -------------------------------------------------------------
mkdir -p spool/inbox spool/error spool/done spool/work
for n in a b c d; do
	echo "{\"n\":\"$n\"}" >spool/error/$n.json
	echo '{"stage":"parse"}' >spool/error/$n.json.error.json
done
$C reprocess a.json >out 2>err; rc=$?
expect_eq "reprocess one" "$rc" 0
check "moved to inbox" test -f spool/inbox/a.json
check "gone from error/ with its .error.json" sh -c \
    '[ ! -e spool/error/a.json ] && [ ! -e spool/error/a.json.error.json ]'
check "reprocess logged with who" grep -q "reprocess: by $(id -un)" logs/fdms.log

# inbox has the name: refused, left in error/, others still done.
echo other >spool/inbox/b.json
$C reprocess b.json c.json >out 2>err; rc=$?
expect_eq "refused when inbox has the name" "$rc" 1
check "message names the clash" grep -q 'inbox/b.json exists' err
expect_eq "inbox file untouched" "$(cat spool/inbox/b.json)" other
check "b stays in error/ with its .error.json" sh -c \
    '[ -e spool/error/b.json ] && [ -e spool/error/b.json.error.json ]'
check "c still moved" test -f spool/inbox/c.json
rm spool/inbox/b.json

$C reprocess ../db.sqlite3 >out 2>err; rc=$?
expect_eq "'..' refused" "$rc" 1
check "journal untouched by '..'" test -f db.sqlite3
$C reprocess x/y.json >out 2>err; rc=$?
expect_eq "'/' refused" "$rc" 1
$C reprocess nosuch.json d.json >out 2>err; rc=$?
expect_eq "missing name fails" "$rc" 1
check "missing name reported" grep -q 'nosuch.json: not in error/' err
check "d moved despite the missing one" test -f spool/inbox/d.json
$C reprocess d.json.error.json >out 2>err; rc=$?
expect_eq ".error.json name refused" "$rc" 1
$C reprocess >out 2>err; rc=$?
expect_eq "no names is a usage error" "$rc" 2

echo '{"n":"e"}' >spool/error/e.json
echo '{}' >spool/error/e.json.error.json
echo '{}' >spool/error/orphan.json.error.json
$C reprocess --all >out 2>err; rc=$?
expect_eq "--all" "$rc" 0
check "--all moved b and e" sh -c '[ -f spool/inbox/b.json ] &&
    [ -f spool/inbox/e.json ]'
check "--all left no rejected file" sh -c \
    '[ -z "$(ls spool/error | grep -v "\.error\.json$")" ]'
check "--all never moves .error.json files" sh -c \
    '[ ! -e spool/inbox/orphan.json.error.json ]'
$C reprocess --all >out 2>err; rc=$?
expect_eq "--all on an empty error/" "$rc" 0

finish
