"""Fault injection rules (--fault SPEC, POST /_sim/fault).

Grammar (whitespace-free; several rules may be given separated by ';',
',' or newlines):

    RULE   := [TARGET ':'] WHEN '=' ACTION
    TARGET := ENDPOINT ['@' DEVICEID] | '@' DEVICEID | '*'
    WHEN   := N          the Nth matching request (1-based)
            | N '-' M    the Nth to the Mth matching requests
            | N '+'      the Nth and every later one
            | '*'        every matching request (same as 1+)
            | '%' K      every Kth matching request (K, 2K, 3K, ...)
    ACTION := STATUS ['/' S]  answer STATUS (400..599) with a ProblemDetails
                              body, without processing; S = Retry-After
                              seconds (default 1 for 429 and 503)
            | 'drop'          close the connection without answering,
                              without processing
            | 'reset'         as drop, but with a TCP reset (RST)
            | 'hang' ['/' MS] wait MS milliseconds (default 60000), then close
                              without answering, without processing
            | 'commit-drop'   process the request normally (state committed),
                              then close before sending any byte of the reply
            | 'delay/' MS     process normally, answer MS milliseconds late
            | 'redirect' ['/' CODE]
                              answer CODE (301, 302, 303, 307 or 308; default
                              307) with Location: https://fdms-redirect.invalid
                              + the request's path, without processing (a
                              client must not follow it)
            | 'close-fail/' CODE
                              CloseDay only: accept and process the close
                              normally, but let it end FiscalDayCloseFailed
                              with fiscalDayClosingErrorCode CODE (one of
                              CLOSE_CODES) whatever the checks say

Counting: each rule counts the requests that match its TARGET from the
moment it is added (the /_sim endpoints are never counted or faulted).
Without a TARGET a rule matches every FDMS request. When several rules fire
on one request the earliest added wins; all matching rules still count it.
"""
import re
import threading

ENDPOINTS = ["VerifyTaxpayerInformation", "RegisterDevice", "GetServerCertificate",
             "GetConfig", "GetStatus", "OpenDay", "SubmitReceipt", "CloseDay",
             "IssueCertificate", "Ping", "SubmitFile", "SubmittedFileList"]
_EP = {e.lower(): e for e in ENDPOINTS}

RULE_RE = re.compile(
    r"^(?:(?P<target>[A-Za-z*]*(?:@\d+)?):)?"
    r"(?P<when>\d+|\d+-\d+|\d+\+|\*|%\d+)="
    r"(?P<action>\d{3}(?:/\d+)?|drop|reset|hang(?:/\d+)?|commit-drop|delay/\d+"
    r"|redirect(?:/\d{3})?"
    r"|close-fail/[A-Za-z]+)$",
    re.I)


# fiscalDayClosingErrorCode values a 'close-fail' rule may force (ref §6.5).
CLOSE_CODES = ["BadCertificateSignature", "MissingReceipts",
               "ReceiptsWithValidationErrors", "CountersMismatch", "InternalError"]
_CC = {c.lower(): c for c in CLOSE_CODES}


class FaultError(ValueError):
    pass


class Rule:
    def __init__(self, text):
        m = RULE_RE.match(text)
        if not m:
            raise FaultError("bad fault spec %r (see README: [ENDPOINT[@ID]:]WHEN=ACTION)"
                             % text)
        self.text = text
        self.endpoint = None
        self.device = None
        target = m.group("target") or ""
        if "@" in target:
            target, dev = target.split("@", 1)
            self.device = int(dev)
        if target and target != "*":
            if target.lower() not in _EP:
                raise FaultError("unknown endpoint %r in fault spec %r" % (target, text))
            self.endpoint = _EP[target.lower()]
        when = m.group("when")
        self.lo, self.hi, self.every = 1, None, None
        if when == "*":
            pass
        elif when.startswith("%"):
            self.every = int(when[1:])
            if self.every < 1:
                raise FaultError("%%K needs K >= 1 in %r" % text)
        elif when.endswith("+"):
            self.lo = int(when[:-1])
        elif "-" in when:
            a, b = when.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(when)
        if self.lo < 1 or (self.hi is not None and self.hi < self.lo):
            raise FaultError("bad request range in %r" % text)
        action = m.group("action").lower()
        self.arg = None
        if action.startswith("close-fail/"):
            code = action.partition("/")[2]
            if code not in _CC:
                raise FaultError("close-fail needs one of %s in %r"
                                 % (", ".join(CLOSE_CODES), text))
            if self.endpoint not in (None, "CloseDay"):
                raise FaultError("close-fail applies to CloseDay only in %r" % text)
            self.endpoint = "CloseDay"
            self.action = "close-fail"
            self.arg = _CC[code]
            self.seen = 0
            self.fired = 0
            return
        if action.startswith("redirect"):
            _, _, code = action.partition("/")
            self.action = "redirect"
            self.status = int(code) if code else 307
            if self.status not in (301, 302, 303, 307, 308):
                raise FaultError("redirect needs 301, 302, 303, 307 or 308 in %r" % text)
            self.seen = 0
            self.fired = 0
            return
        if action[0].isdigit():
            status, _, arg = action.partition("/")
            self.action = "status"
            self.status = int(status)
            if not 400 <= self.status <= 599:
                raise FaultError("status must be 400..599 in %r" % text)
            if arg:
                self.arg = int(arg)
            elif self.status in (429, 503):
                self.arg = 1
        else:
            name, _, arg = action.partition("/")
            self.action = name
            if name == "hang":
                self.arg = int(arg) if arg else 60000
            elif arg:
                self.arg = int(arg)
        self.seen = 0
        self.fired = 0

    def matches(self, endpoint, device_id):
        if self.endpoint is not None and endpoint != self.endpoint:
            return False
        if self.device is not None and device_id != self.device:
            return False
        return True

    def hits(self, n):
        if self.every is not None:
            return n % self.every == 0
        return n >= self.lo and (self.hi is None or n <= self.hi)

    def describe(self):
        return {"spec": self.text, "seen": self.seen, "fired": self.fired}


def parse_specs(text):
    rules = []
    for part in re.split(r"[;,\s]+", text.strip()):
        if part:
            rules.append(Rule(part))
    return rules


class Faults:
    """The active rules; thread-safe."""

    def __init__(self):
        self.rules = []
        self.lock = threading.Lock()

    def add(self, text):
        new = parse_specs(text)
        with self.lock:
            self.rules.extend(new)
        return new

    def clear(self):
        with self.lock:
            self.rules = []

    def describe(self):
        with self.lock:
            return [r.describe() for r in self.rules]

    def check(self, endpoint, device_id):
        """Count the request; return the rule that fires, or None."""
        with self.lock:
            fired = None
            for r in self.rules:
                if r.matches(endpoint, device_id):
                    r.seen += 1
                    if fired is None and r.hits(r.seen):
                        fired = r
                        r.fired += 1
            return fired
