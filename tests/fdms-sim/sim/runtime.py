"""Runtime plumbing shared by the endpoint modules: day-status and mode
constants, Settings (command line and POST /_sim/settings), the Scheduler
thread that runs delayed work (CloseDay and SubmitFile processing), the
transaction context (Tx: the global lock plus BEGIN IMMEDIATE/COMMIT) and
the validationErrors helpers.
"""
import heapq
import threading
import time

ONLINE, OFFLINE = "Online", "Offline"
OPENED, CLOSED = "FiscalDayOpened", "FiscalDayClosed"
INITIATED, FAILED = "FiscalDayCloseInitiated", "FiscalDayCloseFailed"
MAX_FILE = 3 * 1024 * 1024


class Settings:
    """Runtime knobs (command line, POST /_sim/settings)."""

    def __init__(self):
        self.activation_key = "TESTKEY1"
        self.auto_create = True
        self.close_delay_s = 2.0
        self.cert_validity_s = 365 * 86400
        self.reporting_frequency = 5
        self.future_skew_s = 300
        self.latency_ms = 0

    def to_json(self):
        return {"closeDelayS": str(self.close_delay_s), "certValiditySeconds": self.cert_validity_s,
                "reportingFrequency": self.reporting_frequency,
                "futureSkewSeconds": self.future_skew_s, "latencyMs": self.latency_ms,
                "activationKey": self.activation_key, "autoCreate": self.auto_create}


class Scheduler(threading.Thread):
    """Runs fn(*args) at a wall-clock time, one job at a time."""

    def __init__(self):
        super().__init__(daemon=True, name="scheduler")
        self.cv = threading.Condition()
        self.heap = []
        self.seq = 0
        self.stopped = False

    def add(self, due, fn, *args):
        with self.cv:
            self.seq += 1
            heapq.heappush(self.heap, (due, self.seq, fn, args))
            self.cv.notify()

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify()

    def run(self):
        while True:
            with self.cv:
                while not self.stopped and (not self.heap or self.heap[0][0] > time.time()):
                    self.cv.wait(None if not self.heap else max(0.0, self.heap[0][0] - time.time()))
                if self.stopped:
                    return
                _, _, fn, args = heapq.heappop(self.heap)
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - keep the scheduler alive
                import traceback
                traceback.print_exc()



def errors_json(errors):
    return [{"validationErrorCode": c, "validationErrorColor": col,
             "validationErrorDescription": d} for c, col, d in errors]


def has_colour(errors, colour):
    return any(e[1] == colour for e in errors)


class Tx:
    """with sim.tx(): lock + BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error)."""

    def __init__(self, sim):
        self.sim = sim

    def __enter__(self):
        self.sim.lock.acquire()
        try:
            if self.sim.store.db.in_transaction:
                self.nested = True
            else:
                self.nested = False
                self.sim.store.begin()
        except BaseException:
            self.sim.lock.release()
            raise
        return self

    def __exit__(self, et, ev, tb):
        try:
            if not self.nested:
                if et is None:
                    self.sim.store.commit()
                else:
                    self.sim.store.rollback()
        finally:
            self.sim.lock.release()
        return False


