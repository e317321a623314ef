"""Persistent state of the simulator: one SQLite file, DIR/fdms-sim.sqlite3.

Tables: devices, certs (every issued device certificate, revocation flag),
days (one row per device and fiscal day: opening, status, pending close
request, closing result), receipts (every stored receipt with the normalized
receipt, the request body as received, validation errors and the server
signature), files (SubmitFile uploads) and meta.

WAL journal, synchronous=NORMAL: every committed transaction survives the
simulator being killed (not necessarily a power cut, which a test stand-in
does not need). The Store is not thread-safe by itself: the api layer calls
it under one lock.
"""
import os
import sqlite3

from . import wire

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE IF NOT EXISTS devices(
  device_id INTEGER PRIMARY KEY, serial_no TEXT, activation_key TEXT,
  model_name TEXT, model_version TEXT, operating_mode TEXT,
  status TEXT NOT NULL DEFAULT 'Active', config_json TEXT,
  registered INTEGER NOT NULL DEFAULT 0, created TEXT, last_ping TEXT);
CREATE TABLE IF NOT EXISTS certs(
  serial TEXT PRIMARY KEY, device_id INTEGER NOT NULL, pem TEXT NOT NULL,
  thumbprint TEXT, not_before TEXT, not_after TEXT, issued_at TEXT, kind TEXT,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS certs_dev ON certs(device_id);
CREATE TABLE IF NOT EXISTS days(
  device_id INTEGER NOT NULL, day_no INTEGER NOT NULL, opened TEXT NOT NULL,
  status TEXT NOT NULL, close_request TEXT, close_due REAL, closed_at TEXT,
  error_code TEXT, reconciliation TEXT, server_signature TEXT, counters TEXT,
  PRIMARY KEY(device_id, day_no));
CREATE TABLE IF NOT EXISTS receipts(
  receipt_id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL,
  day_no INTEGER NOT NULL, counter INTEGER, global_no INTEGER, invoice_no TEXT,
  taxpayer TEXT, receipt_type TEXT, currency TEXT, receipt_date TEXT,
  total TEXT, hash TEXT, signature TEXT, normalized TEXT, request TEXT,
  errors TEXT, server_date TEXT, server_signature TEXT, ref_receipt_id INTEGER,
  file_id INTEGER);
CREATE INDEX IF NOT EXISTS r_hash ON receipts(device_id, global_no, hash);
CREATE INDEX IF NOT EXISTS r_counter ON receipts(device_id, day_no, counter);
CREATE INDEX IF NOT EXISTS r_invoice ON receipts(taxpayer, invoice_no);
CREATE INDEX IF NOT EXISTS r_ref ON receipts(ref_receipt_id);
-- global_taken (every SubmitReceipt): without it SQLite picks r_counter by
-- (device_id, day_no) and scans the whole day: quadratic in a long day
CREATE INDEX IF NOT EXISTS r_day_global ON receipts(device_id, day_no, global_no);
CREATE TABLE IF NOT EXISTS files(
  file_id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL, operation_id TEXT,
  file_name TEXT, uploaded_at TEXT, day_no INTEGER, day_opened TEXT,
  seq INTEGER, status TEXT, error TEXT, processed_at TEXT, has_footer INTEGER,
  ip TEXT, body TEXT, invalid TEXT);
CREATE INDEX IF NOT EXISTS f_dev ON files(device_id, day_no, seq);
"""

FIRST_RECEIPT_ID = 100001


class Store:
    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, "fdms-sim.sqlite3")
        self.db = sqlite3.connect(self.path, check_same_thread=False,
                                  isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self):
        self.db.close()

    # ------------------------------------------------------ transactions
    def begin(self):
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self):
        self.db.execute("COMMIT")

    def rollback(self):
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def q(self, sql, args=()):
        return self.db.execute(sql, args).fetchall()

    def q1(self, sql, args=()):
        return self.db.execute(sql, args).fetchone()

    def x(self, sql, args=()):
        return self.db.execute(sql, args)

    # ------------------------------------------------------ devices
    def device(self, device_id):
        row = self.q1("SELECT * FROM devices WHERE device_id=?", (device_id,))
        return dict(row) if row else None

    def upsert_device(self, d):
        cur = self.device(d["device_id"])
        if cur is None:
            self.x("INSERT INTO devices(device_id, serial_no, activation_key, model_name,"
                   " model_version, operating_mode, status, config_json, created)"
                   " VALUES(?,?,?,?,?,?,?,?,?)",
                   (d["device_id"], d.get("serial_no"), d.get("activation_key"),
                    d.get("model_name") or "Server", d.get("model_version") or "v1",
                    d.get("operating_mode"), d.get("status") or "Active",
                    d.get("config_json"), wire.fmt_dt(wire.now_local())))
        else:
            for col in ("serial_no", "activation_key", "model_name", "model_version",
                        "operating_mode", "status", "config_json"):
                if col in d:
                    self.x("UPDATE devices SET %s=? WHERE device_id=?" % col,
                           (d[col], d["device_id"]))

    def set_device(self, device_id, **cols):
        for k, v in cols.items():
            self.x("UPDATE devices SET %s=? WHERE device_id=?" % k, (v, device_id))

    # ------------------------------------------------------ certificates
    def add_cert(self, serial, device_id, pem, thumb, nb, na, kind):
        self.x("INSERT INTO certs(serial, device_id, pem, thumbprint, not_before, not_after,"
               " issued_at, kind) VALUES(?,?,?,?,?,?,?,?)",
               (serial, device_id, pem, thumb, nb, na,
                wire.fmt_dt(wire.now_local()), kind))

    def cert(self, serial):
        row = self.q1("SELECT * FROM certs WHERE serial=?", (serial,))
        return dict(row) if row else None

    def certs_of(self, device_id):
        return [dict(r) for r in self.q(
            "SELECT * FROM certs WHERE device_id=? ORDER BY rowid", (device_id,))]

    def revoke(self, device_id, serial=None):
        if serial:
            self.x("UPDATE certs SET revoked=1 WHERE device_id=? AND serial=?",
                   (device_id, serial))
        else:
            self.x("UPDATE certs SET revoked=1 WHERE device_id=?", (device_id,))

    # ------------------------------------------------------ days
    def current_day(self, device_id):
        row = self.q1("SELECT * FROM days WHERE device_id=? ORDER BY day_no DESC LIMIT 1",
                      (device_id,))
        return dict(row) if row else None

    def day(self, device_id, day_no):
        row = self.q1("SELECT * FROM days WHERE device_id=? AND day_no=?",
                      (device_id, day_no))
        return dict(row) if row else None

    def last_closed_day_no(self, device_id):
        row = self.q1("SELECT MAX(day_no) FROM days WHERE device_id=? AND status="
                      "'FiscalDayClosed'", (device_id,))
        return row[0] if row and row[0] is not None else 0

    def insert_day(self, device_id, day_no, opened):
        self.x("INSERT INTO days(device_id, day_no, opened, status) VALUES(?,?,?,"
               "'FiscalDayOpened')", (device_id, day_no, opened))

    def update_day(self, device_id, day_no, **cols):
        sets = ", ".join("%s=?" % k for k in cols)
        self.x("UPDATE days SET %s WHERE device_id=? AND day_no=?" % sets,
               tuple(cols.values()) + (device_id, day_no))

    def pending_closes(self):
        return [dict(r) for r in self.q(
            "SELECT * FROM days WHERE status='FiscalDayCloseInitiated'")]

    # ------------------------------------------------------ receipts
    @staticmethod
    def _rec(row):
        if row is None:
            return None
        d = dict(row)
        n = wire.loads(d["normalized"])
        return {"receiptID": d["receipt_id"], "deviceID": d["device_id"],
                "fiscalDayNo": d["day_no"], "receiptCounter": d["counter"],
                "receiptGlobalNo": d["global_no"], "invoiceNo": d["invoice_no"],
                "receiptType": d["receipt_type"], "receiptCurrency": d["currency"],
                "receiptDate": d["receipt_date"], "hash": d["hash"],
                "signature": d["signature"], "receipt": n,
                "errors": wire.loads(d["errors"]), "serverDate": d["server_date"],
                "serverSignature": wire.loads(d["server_signature"]),
                "refReceiptID": d["ref_receipt_id"], "request": d["request"],
                "taxpayer": d["taxpayer"],
                "fileID": d["file_id"]}

    def insert_receipt(self, device_id, day_no, taxpayer, r, request_text,
                       errors, server_date, ref_id, file_id=None):
        row = self.q1("SELECT MAX(receipt_id) FROM receipts")
        rid = max(row[0] or 0, FIRST_RECEIPT_ID - 1) + 1
        sig = r["receiptDeviceSignature"]
        self.x("INSERT INTO receipts(receipt_id, device_id, day_no, counter, global_no,"
               " invoice_no, taxpayer, receipt_type, currency, receipt_date, total, hash,"
               " signature, normalized, request, errors, server_date, ref_receipt_id,"
               " file_id) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (rid, device_id, day_no, r["receiptCounter"], r["receiptGlobalNo"],
                r["invoiceNo"], taxpayer, r["receiptType"], r["receiptCurrency"],
                r["receiptDate"], str(r["receiptTotal"]), sig["hash"], sig["signature"],
                wire.dumps_typed(r), request_text, wire.dumps(errors), server_date, ref_id,
                file_id))
        return rid

    def set_receipt(self, receipt_id, **cols):
        for k, v in cols.items():
            self.x("UPDATE receipts SET %s=? WHERE receipt_id=?" % k, (v, receipt_id))

    def receipt(self, receipt_id):
        return self._rec(self.q1("SELECT * FROM receipts WHERE receipt_id=?", (receipt_id,)))

    def receipt_by_hash(self, device_id, global_no, h):
        return self._rec(self.q1(
            "SELECT * FROM receipts WHERE device_id=? AND global_no=? AND hash=?"
            " ORDER BY receipt_id LIMIT 1", (device_id, global_no, h)))

    def receipt_by_counter(self, device_id, day_no, counter, exclude=None):
        """Most recently stored receipt with that counter in the day."""
        return self._rec(self.q1(
            "SELECT * FROM receipts WHERE device_id=? AND day_no=? AND counter=?"
            " AND receipt_id<>? ORDER BY receipt_id DESC LIMIT 1",
            (device_id, day_no, counter, exclude or -1)))

    def counter_taken(self, device_id, day_no, counter, before_id):
        return self.q1("SELECT receipt_id FROM receipts WHERE device_id=? AND day_no=?"
                       " AND counter=? AND receipt_id<? LIMIT 1",
                       (device_id, day_no, counter, before_id)) is not None

    def global_taken(self, device_id, day_no, global_no, h, before_id):
        """Another receipt of the same day with this global number (the
        number may legitimately repeat on another day after a reset to 1)."""
        row = self.q1("SELECT receipt_id FROM receipts WHERE device_id=? AND day_no=?"
                      " AND global_no=? AND hash<>? AND receipt_id<? ORDER BY receipt_id LIMIT 1",
                      (device_id, day_no, global_no, h, before_id))
        return row[0] if row else None

    def last_before_day(self, device_id, day_no):
        return self._rec(self.q1(
            "SELECT * FROM receipts WHERE device_id=? AND day_no<? ORDER BY day_no DESC,"
            " counter DESC, receipt_id DESC LIMIT 1", (device_id, day_no)))

    def invoice_taken(self, taxpayer, invoice_no, before_id):
        return self.q1("SELECT receipt_id FROM receipts WHERE taxpayer=? AND invoice_no=?"
                       " AND receipt_id<? LIMIT 1",
                       (taxpayer, invoice_no, before_id)) is not None

    def receipt_by_triple(self, device_id, global_no, day_no):
        return self._rec(self.q1(
            "SELECT * FROM receipts WHERE device_id=? AND global_no=? AND day_no=?"
            " ORDER BY receipt_id LIMIT 1", (device_id, global_no, day_no)))

    def noted(self, original_id, before_id):
        rows = self.q("SELECT receipt_type, total FROM receipts WHERE ref_receipt_id=?"
                      " AND receipt_id<?", (original_id, before_id))
        return rows

    def receipts_of_day(self, device_id, day_no):
        return [self._rec(r) for r in self.q(
            "SELECT * FROM receipts WHERE device_id=? AND day_no=? ORDER BY receipt_id",
            (device_id, day_no))]

    def ledger(self, device_id):
        return [self._rec(r) for r in self.q(
            "SELECT * FROM receipts WHERE device_id=? ORDER BY receipt_id", (device_id,))]

    def last_global_by_date(self, device_id):
        """GetStatus quirk: global number of the latest-dated receipt."""
        row = self.q1("SELECT global_no FROM receipts WHERE device_id=?"
                      " ORDER BY receipt_date DESC, receipt_id DESC LIMIT 1", (device_id,))
        return row[0] if row else None

    def max_global(self, device_id):
        row = self.q1("SELECT MAX(global_no) FROM receipts WHERE device_id=?", (device_id,))
        return row[0] if row else None

    def count_receipts(self, device_id, day_no):
        return self.q1("SELECT COUNT(*) FROM receipts WHERE device_id=? AND day_no=?",
                       (device_id, day_no))[0]

    # ------------------------------------------------------ files
    def insert_file(self, **cols):
        keys = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        cur = self.x("INSERT INTO files(%s) VALUES(%s)" % (keys, marks), tuple(cols.values()))
        return cur.lastrowid

    def update_file(self, file_id, **cols):
        sets = ", ".join("%s=?" % k for k in cols)
        self.x("UPDATE files SET %s WHERE file_id=?" % sets, tuple(cols.values()) + (file_id,))

    def file(self, file_id):
        row = self.q1("SELECT * FROM files WHERE file_id=?", (file_id,))
        return dict(row) if row else None

    def files_of(self, device_id):
        return [dict(r) for r in self.q(
            "SELECT * FROM files WHERE device_id=? ORDER BY file_id", (device_id,))]

    def files_pending(self):
        return [dict(r) for r in self.q(
            "SELECT * FROM files WHERE status IN ('InProgress', 'WaitingForPreviousFile')"
            " ORDER BY file_id")]
