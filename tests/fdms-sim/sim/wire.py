"""Wire formats: JSON with exact decimals, FDMS date-times, API error bodies.

* JSON is parsed with parse_float=Decimal so that no amount ever passes
  through binary floating point; NaN/Infinity are refused.
* dumps() is a small serializer that writes Decimal values as JSON numbers
  exactly as they are (Python's json module cannot).
* FDMS date-times are local Zimbabwe time (CAT, UTC+2, no DST), written
  YYYY-MM-DDTHH:mm:ss with no zone and no fraction (fdms-reference 2).
* ApiError and its subclasses carry the HTTP status and the ASP.NET-style
  ProblemDetails / ValidationProblemDetails body (fdms-reference 6.7, 6.8).
"""
import datetime
import decimal
import json
import re

CAT = datetime.timezone(datetime.timedelta(hours=2), "CAT")
DT_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$")
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# Enough precision for decimal(25,6) products and p/(100+p) quotients.
# Decimal contexts are per thread; new threads copy DefaultContext.
decimal.DefaultContext.prec = 60
decimal.getcontext().prec = 60


def _refuse_constant(name):
    raise ValueError("JSON constant %s is not allowed" % name)


def loads(text):
    """Parse JSON text; numbers with a fraction or exponent become Decimal."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    return json.loads(text, parse_float=decimal.Decimal,
                      parse_constant=_refuse_constant)


def _dec_text(d):
    if not d.is_finite():
        raise ValueError("non-finite decimal")
    s = format(d, "f")
    if s.startswith("-") and d == 0:
        s = s[1:]
    return s


def _dump(o, out, exact=False):
    if o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, str):
        out.append(json.dumps(o, ensure_ascii=False))
    elif isinstance(o, int):
        out.append(str(o))
    elif isinstance(o, decimal.Decimal):
        t = _dec_text(o)
        if exact and "." not in t:
            t += ".0"
        out.append(t)
    elif isinstance(o, dict):
        out.append("{")
        first = True
        for k, v in o.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _dump(v, out, exact)
        out.append("}")
    elif isinstance(o, (list, tuple)):
        out.append("[")
        for i, v in enumerate(o):
            if i:
                out.append(",")
            _dump(v, out, exact)
        out.append("]")
    elif isinstance(o, float):
        raise TypeError("float in JSON output: use Decimal")
    else:
        raise TypeError("cannot serialize %r" % type(o))


def dumps(o):
    """Serialize to compact JSON text; Decimal written exactly, float refused."""
    out = []
    _dump(o, out)
    return "".join(out)


def dumps_typed(o):
    """As dumps(), but every Decimal keeps a decimal point so that loads()
    gives back Decimal (not int) for it: for values stored and re-read."""
    out = []
    _dump(o, out, True)
    return "".join(out)


def money(cents):
    """Integer cents -> Decimal with exactly two places."""
    return (decimal.Decimal(cents) / 100).quantize(decimal.Decimal("0.01"))


# ---------------------------------------------------------------- time

def now_local():
    """Current local time in CAT, naive, whole seconds."""
    return datetime.datetime.now(CAT).replace(tzinfo=None, microsecond=0)


def fmt_dt(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def parse_dt(s):
    """Strict FDMS date-time -> naive datetime, or None if malformed."""
    if not isinstance(s, str):
        return None
    m = DT_RE.match(s)
    if not m:
        return None
    try:
        return datetime.datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None


def parse_dt_lenient(s):
    """Date-time for configuration values: YYYY-MM-DD[THH:mm:ss[...]]."""
    if not isinstance(s, str):
        return None
    m = DATE_RE.match(s)
    if m:
        return datetime.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return parse_dt(s[:19])


# ---------------------------------------------------------------- errors

TITLES = {
    400: "One or more validation errors occurred.",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """An FDMS error answer: HTTP status plus ProblemDetails fields."""

    def __init__(self, status, detail, error_code=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error_code = error_code
        self.headers = headers or {}

    def body(self, operation_id):
        b = {"type": "https://httpstatuses.io/%d" % self.status,
             "title": TITLES.get(self.status, "Error"),
             "status": self.status,
             "detail": self.detail}
        if self.error_code:
            b["errorCode"] = self.error_code
        b["operationID"] = operation_id
        return b


class Unprocessable(ApiError):
    """422 with an FDMS errorCode (DEV01.., RCPT01/02, FISC01/03/04, FILE01..)."""

    def __init__(self, error_code, detail):
        super().__init__(422, detail, error_code)


class Unauthorized(ApiError):
    def __init__(self, detail):
        super().__init__(401, detail)


class NotFound(ApiError):
    def __init__(self, detail="Not Found"):
        super().__init__(404, detail)


class BadRequest(ApiError):
    """400 ValidationProblemDetails: errors maps a field path to messages."""

    def __init__(self, errors):
        super().__init__(400, "One or more validation errors occurred.")
        self.errors = errors

    def body(self, operation_id):
        return {"type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
                "title": TITLES[400], "status": 400,
                "errors": self.errors, "operationID": operation_id}


# ------------------------------------------------------ case-insensitive JSON

def ci(obj, name, default=None):
    """Property lookup ignoring case, as ASP.NET's JSON binding does."""
    if not isinstance(obj, dict):
        return default
    if name in obj:
        return obj[name]
    low = name.lower()
    found = default
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == low:
            found = v
    return found


def ci_has(obj, name):
    if not isinstance(obj, dict):
        return False
    low = name.lower()
    return any(isinstance(k, str) and k.lower() == low for k in obj)
