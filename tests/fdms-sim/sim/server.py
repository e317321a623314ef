"""The HTTPS server: TLS with optional client certificates, HTTP/1.1
keep-alive, routing, the mTLS rule, fault injection and the /_sim endpoints.

* One thread per connection (socketserver.ThreadingMixIn); the TLS handshake
  runs in that thread. The server requests a client certificate but does not
  require one (ssl.CERT_OPTIONAL): /Public/v1 works without it, /Device/v1
  answers 401 unless the certificate was issued by this simulator to the
  deviceID in the path, is not revoked and not expired. Certificate expiry
  is deliberately not checked by OpenSSL (X509_V_FLAG_NO_CHECK_TIME) so that
  an expired certificate gets FDMS's 401 rather than a TLS alert; a
  certificate from a foreign CA still fails the handshake (Python's ssl has
  no verify callback).
* Routing is case-insensitive like ASP.NET's. Unknown path 404, wrong
  method 405 (with Allow).
* Every answer carries an operationId header and (JSON bodies) an
  operationID field, Kestrel-style: 13-character connection ID, ':', the
  connection's request number as 8 hex digits.
* Faults (see faults.py) and --latency-ms apply to FDMS endpoints only.
"""
import email.utils
import http.server
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

from . import faults as faultsmod
from . import pki as pkimod
from . import wire
from .wire import ApiError, BadRequest, NotFound

X509_V_FLAG_NO_CHECK_TIME = 0x200000
MAX_BODY = 10 * 1024 * 1024
_B32 = "0123456789ABCDEFGHIJKLMNOPQRSTUV"

PUBLIC = {"verifytaxpayerinformation": ("VerifyTaxpayerInformation", "POST"),
          "registerdevice": ("RegisterDevice", "POST")}
DEVICE = {"getconfig": ("GetConfig", "GET"), "getstatus": ("GetStatus", "GET"),
          "openday": ("OpenDay", "POST"), "submitreceipt": ("SubmitReceipt", "POST"),
          "closeday": ("CloseDay", "POST"), "issuecertificate": ("IssueCertificate", "POST"),
          "ping": ("Ping", "POST"), "submitfile": ("SubmitFile", "POST"),
          "submittedfilelist": ("SubmittedFileList", "GET")}


class OperationIds:
    """Kestrel-like connection IDs: a tick-seeded counter in base32."""

    def __init__(self):
        ticks = int((time.time() + 62135596800) * 10 ** 7)
        self.next = ticks
        self.lock = threading.Lock()

    def connection(self):
        with self.lock:
            self.next += 1
            n = self.next
        return "".join(_B32[(n >> s) & 31] for s in range(60, -1, -5))


class Route:
    def __init__(self, endpoint=None, device=None, method=None, sim=None, error=None):
        self.endpoint, self.device, self.method = endpoint, device, method
        self.sim, self.error = sim, error


def route(method, path):
    parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
    low = [p.lower() for p in parts]
    if low and low[0] == "_sim":
        return Route(sim=parts[1:])
    if len(low) == 3 and low[:2] == ["public", "v1"] and low[2] == "getservercertificate":
        if method != "GET":
            return Route(error=("405", "GET"))
        return Route("GetServerCertificate", None, "GET")
    if len(low) == 4 and low[1] == "v1" and low[0] in ("public", "device"):
        table = PUBLIC if low[0] == "public" else DEVICE
        if low[3] in table:
            name, m = table[low[3]]
            if method != m:
                return Route(error=("405", m))
            try:
                dev = int(parts[2])
                if not -2 ** 31 <= dev < 2 ** 31:
                    raise ValueError
            except ValueError:
                return Route(name, None, m, error=("400", parts[2]))
            return Route(name, dev, m)
    return Route(error=("404", None))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, addr, sim, faults, verbose=False, server_cert_mode="good"):
        self.sim = sim
        self.faults = faults
        self.verbose = verbose
        self.opids = OperationIds()
        self.peer_cache = {}
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*sim.pki.server_cert_variant(server_cert_mode))
        ctx.load_verify_locations(sim.pki.ca_path)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.verify_flags = ctx.verify_flags | X509_V_FLAG_NO_CHECK_TIME
        self.ssl_context = ctx
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.ssl_context.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, ConnectionError)):
            return
        super().handle_error(request, client_address)

    def peer_info(self, der):
        info = self.peer_cache.get(der)
        if info is None:
            cert = pkimod.load_cert_der(der)
            info = (pkimod.serial_hex(cert), pkimod.common_name(cert.subject),
                    pkimod.not_before(cert), pkimod.not_after(cert))
            if len(self.peer_cache) > 20000:
                self.peer_cache.clear()
            self.peer_cache[der] = info
        return info


class DropConnection(Exception):
    def __init__(self, reset=False):
        super().__init__()
        self.reset = reset


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Kestrel"
    sys_version = ""
    timeout = 300

    def setup(self):
        self.dead = False
        self.peer = None
        self.conn_id = self.server.opids.connection()
        self.req_no = 0
        try:
            self.request.settimeout(30)
            self.request.do_handshake()
            self.request.settimeout(self.timeout)
            der = self.request.getpeercert(binary_form=True)
            self.peer = self.server.peer_info(der) if der else None
        except (OSError, ssl.SSLError, ValueError):
            self.dead = True
        super().setup()

    def handle(self):
        if not self.dead:
            super().handle()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fdms-sim: %s %s\n" % (self.address_string(), fmt % args))

    # every method goes through dispatch (unknown methods: 405 on known paths)
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # ------------------------------------------------------------ I/O
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise DropConnection()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    raise ApiError(413, "Request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        n = self.headers.get("Content-Length")
        if not n:
            return b""
        try:
            n = int(n)
        except ValueError:
            raise BadRequest({"Content-Length": ["invalid"]}) from None
        if n > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "Request body too large")
        return self.rfile.read(n)

    def send(self, status, body, op_id, extra=None, content_type="application/json; charset=utf-8"):
        if isinstance(body, (dict, list)):
            data = wire.dumps(body).encode("utf-8")
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = body or b""
        reason = http.server.BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
        head = ["HTTP/1.1 %d %s" % (status, reason),
                "Date: " + email.utils.formatdate(usegmt=True),
                "Server: Kestrel",
                "Content-Type: " + content_type,
                "Content-Length: %d" % len(data)]
        if op_id:
            head.append("operationId: " + op_id)
        for k, v in (extra or {}).items():
            head.append("%s: %s" % (k, v))
        if self.close_connection:
            head.append("Connection: close")
        out = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD":
            out += data
        self.wfile.write(out)
        if self.server.verbose:
            sys.stderr.write("fdms-sim: %s %s -> %d %s\n" % (self.command, self.path, status, op_id))

    def send_error_obj(self, err, op_id):
        ctype = "application/problem+json; charset=utf-8"
        self.send(err.status, err.body(op_id), op_id, err.headers, ctype)

    def drop(self, reset=False):
        self.close_connection = True
        try:
            if reset:
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------ dispatch
    def dispatch(self):
        self.req_no += 1
        op_id = "%s:%08X" % (self.conn_id, self.req_no)
        url = urllib.parse.urlsplit(self.path)
        r = route(self.command, url.path)
        try:
            body = self.read_body()
        except DropConnection:
            self.drop()
            return
        except ApiError as e:
            self.send_error_obj(e, op_id)
            return
        if r.sim is not None:
            try:
                status, out = self.sim_endpoint(r.sim, body, url.query)
                if isinstance(out, dict):
                    out = dict({"operationID": op_id}, **out)
                self.send(status, out, op_id)
            except ApiError as e:
                self.send_error_obj(e, op_id)
            return
        fault = None
        if r.endpoint:
            fault = self.server.faults.check(r.endpoint, r.device)
        if fault is not None:
            if fault.action == "status":
                extra = {}
                if fault.arg is not None:
                    extra["Retry-After"] = str(fault.arg)
                self.latency()
                self.send_error_obj(ApiError(fault.status, "Injected fault " + fault.text,
                                             headers=extra), op_id)
                return
            if fault.action == "redirect":
                # Not processed: the client must not follow it (the
                # Location is another host that must never see the body).
                self.latency()
                self.send(fault.status, {"title": "Moved", "status": fault.status},
                          op_id, {"Location": "https://fdms-redirect.invalid" + self.path})
                return
            if fault.action in ("drop", "reset"):
                self.drop(fault.action == "reset")
                return
            if fault.action == "hang":
                time.sleep(fault.arg / 1000.0)
                self.drop()
                return
        try:
            if r.error:
                kind, arg = r.error
                if kind == "404":
                    raise NotFound("No endpoint %s %s" % (self.command, url.path))
                if kind == "405":
                    raise ApiError(405, "Method %s is not allowed here" % self.command,
                                   headers={"Allow": arg})
                raise BadRequest({"deviceID": ["The value '%s' is not valid." % arg]})
            forced = fault.arg if fault is not None and fault.action == "close-fail" else None
            status, out = 200, self.fdms(r, body, url.query, op_id, forced)
        except ApiError as e:
            status, out = e.status, e
        except Exception as e:  # noqa: BLE001 - an FDMS 500, and say why on stderr
            import traceback
            traceback.print_exc()
            status, out = 500, ApiError(500, "Internal error: %s" % e)
        if fault is not None and fault.action == "commit-drop":
            self.drop()
            return
        if fault is not None and fault.action == "delay":
            time.sleep(fault.arg / 1000.0)
        self.latency()
        if isinstance(out, ApiError):
            self.send_error_obj(out, op_id)
        else:
            b = {"operationID": op_id}
            b.update(out)
            self.send(status, b, op_id)

    def latency(self):
        ms = self.server.sim.settings.latency_ms
        if ms > 0:
            time.sleep(ms / 1000.0)

    def json_body(self, body, allow_empty=False):
        if not body.strip():
            if allow_empty:
                return {}
            raise BadRequest({"$": ["A non-empty request body is required."]})
        try:
            return wire.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise BadRequest({"$": ["The JSON value is invalid: %s" % e]}) from None

    def model_headers(self):
        h = {"DeviceModelName": self.headers.get("DeviceModelName"),
             "DeviceModelVersion": self.headers.get("DeviceModelVersion")}
        missing = {k: ["The %s field is required." % k] for k, v in h.items() if v is None}
        if missing:
            raise BadRequest(missing)
        return h

    def fdms(self, r, body, query, op_id, forced_close=None):
        sim = self.server.sim
        ep, dev = r.endpoint, r.device
        if ep == "GetServerCertificate":
            qs = urllib.parse.parse_qs(query)
            thumb = next((v[0] for k, v in qs.items() if k.lower() == "thumbprint"), None)
            return sim.get_server_certificate(thumb)
        if ep == "VerifyTaxpayerInformation":
            return sim.verify_taxpayer(dev, self.json_body(body))
        if ep == "RegisterDevice":
            h = self.model_headers()
            return sim.register_device(dev, self.json_body(body), h)
        # /Device/v1: mutual TLS first, then headers
        sim.authorize(dev, self.peer)
        h = self.model_headers()
        if ep == "GetConfig":
            return sim.get_config(dev, h)
        if ep == "GetStatus":
            return sim.get_status(dev, h)
        if ep == "OpenDay":
            return sim.open_day(dev, h, self.json_body(body))
        if ep == "SubmitReceipt":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest({"$": ["The request body is not UTF-8."]}) from None
            return sim.submit_receipt(dev, h, self.json_body(body), text)
        if ep == "CloseDay":
            return sim.close_day(dev, h, self.json_body(body), forced_close)
        if ep == "IssueCertificate":
            return sim.issue_certificate(dev, h, self.json_body(body))
        if ep == "Ping":
            return sim.ping(dev, h)
        if ep == "SubmitFile":
            return sim.submit_file(dev, h, body, self.client_address[0], op_id)
        if ep == "SubmittedFileList":
            qs = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
            return sim.submitted_file_list(dev, h, qs)
        raise NotFound()

    # ------------------------------------------------------------ /_sim
    def sim_endpoint(self, parts, body, query):
        sim = self.server.sim
        m = self.command
        low = [p.lower() for p in parts]

        def dev_id(i):
            try:
                return int(parts[i])
            except (IndexError, ValueError):
                raise BadRequest({"deviceID": ["a device ID is required"]}) from None

        if low == ["fault"] or low == ["faults"]:
            if m == "POST":
                try:
                    added = self.server.faults.add(body.decode("utf-8"))
                except (faultsmod.FaultError, UnicodeDecodeError) as e:
                    raise BadRequest({"spec": [str(e)]}) from None
                return 200, {"added": [a.text for a in added],
                             "rules": self.server.faults.describe()}
            if m == "DELETE":
                self.server.faults.clear()
                return 200, {"rules": []}
            if m == "GET":
                return 200, {"rules": self.server.faults.describe()}
        elif low[:1] == ["ledger"] and m == "GET":
            return 200, sim.ledger(dev_id(1))
        elif low[:1] == ["files"] and m == "GET":
            return 200, sim.files(dev_id(1))
        elif low[:1] == ["state"] and m == "GET":
            return 200, sim.state(dev_id(1))
        elif low[:1] == ["config"] and m in ("PUT", "POST"):
            return 200, sim.set_device_config(dev_id(1), self.json_body(body))
        elif low == ["devices"] and m in ("PUT", "POST"):
            doc = self.json_body(body)
            try:
                sim.load_devices(doc if isinstance(doc, list) else [doc])
            except ValueError as e:
                raise BadRequest({"devices": [str(e)]}) from None
            return 200, {"ok": True}
        elif low[:1] == ["revoke"] and m == "POST":
            qs = urllib.parse.parse_qs(query)
            serial = qs.get("serial", [None])[0]
            sim.revoke(dev_id(1), serial)
            return 200, {"revoked": True}
        elif low[:1] == ["manual-close"] and m == "POST":
            return 200, sim.manual_close(dev_id(1))
        elif low == ["settings"]:
            if m == "GET":
                return 200, sim.settings.to_json()
            if m in ("POST", "PUT"):
                return 200, sim.update_settings(self.json_body(body))
        elif low == ["health"] and m == "GET":
            return 200, {"ok": True, "time": wire.fmt_dt(wire.now_local()),
                         "utc": pkimod.utcnow().isoformat(timespec="seconds")}
        raise NotFound("No simulator endpoint %s /_sim/%s" % (m, "/".join(parts)))


def make_server(host, port, sim, faults, verbose=False, server_cert_mode="good"):
    return Server((host, port), sim, faults, verbose, server_cert_mode)
