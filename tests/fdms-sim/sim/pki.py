"""The simulator's PKI (fdms-reference section 7).

Files in the state directory, created on first start and reused after:
  ca.pem / ca-key.pem            the simulator's CA (ECDSA P-256), 10 years
  server.pem / server-key.pem    TLS server certificate for 127.0.0.1 and
                                 localhost (SAN IP and DNS), signed by the CA
  signing.pem / signing-key.pem  the "FDMS" signing certificate (RSA-2048)
                                 used for receiptServerSignature and
                                 fiscalDayServerSignature, signed by the CA

check_csr() applies FDMS's CSR rules (PKCS#10 PEM, ECDSA P-256 or RSA-2048,
SHA-256 signature, CN ZIMRA-<serial>-<10-digit deviceID>, other subject
attributes only C=ZW, O=Zimbabwe Revenue Authority, ST=Zimbabwe) and
raises DEV03 otherwise; issue() makes an X.509 v3 client certificate
(EKU clientAuth) from an accepted CSR.
"""
import datetime
import hashlib
import ipaddress
import os
import re
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .wire import Unprocessable

CN_RE = re.compile(r"^ZIMRA-(.+)-(\d{10})$", re.S)
ALLOWED_ATTRS = {
    NameOID.COUNTRY_NAME: "ZW",
    NameOID.ORGANIZATION_NAME: "Zimbabwe Revenue Authority",
    NameOID.STATE_OR_PROVINCE_NAME: "Zimbabwe",
}


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def not_before(cert):
    v = getattr(cert, "not_valid_before_utc", None)
    return v.replace(tzinfo=None) if v is not None else cert.not_valid_before


def not_after(cert):
    v = getattr(cert, "not_valid_after_utc", None)
    return v.replace(tzinfo=None) if v is not None else cert.not_valid_after


def thumbprint(cert):
    """SHA-1 of the DER certificate, upper-case hex (as .NET prints it)."""
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def serial_hex(cert):
    return "%X" % cert.serial_number


def common_name(name):
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return cns[0].value if len(cns) == 1 else None


def _write_atomic(path, data, mode=0o644):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class PKI:
    """Loads or creates the CA, server and signing material in state_dir."""

    def __init__(self, state_dir):
        self.dir = state_dir
        self.ca_path = os.path.join(state_dir, "ca.pem")
        self.server_cert_path = os.path.join(state_dir, "server.pem")
        self.server_key_path = os.path.join(state_dir, "server-key.pem")
        self._load_or_create()

    # -------------------------------------------------------- bootstrap
    def _load_pair(self, name):
        c = os.path.join(self.dir, name + ".pem")
        k = os.path.join(self.dir, name + "-key.pem")
        if not (os.path.exists(c) and os.path.exists(k)):
            return None, None
        with open(c, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(k, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        return cert, key

    def _save_pair(self, name, cert, key):
        _write_atomic(os.path.join(self.dir, name + "-key.pem"), _key_pem(key), 0o600)
        _write_atomic(os.path.join(self.dir, name + ".pem"), pem(cert).encode())

    def _load_or_create(self):
        now = utcnow()
        self.ca_cert, self.ca_key = self._load_pair("ca")
        if self.ca_cert is None:
            self.ca_key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([
                x509.NameAttribute(NameOID.COMMON_NAME, "FDMS Simulator CA"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fdms-sim (test only)")])
            pub = self.ca_key.public_key()
            self.ca_cert = (x509.CertificateBuilder()
                            .subject_name(name).issuer_name(name).public_key(pub)
                            .serial_number(x509.random_serial_number())
                            .not_valid_before(now - datetime.timedelta(days=1))
                            .not_valid_after(now + datetime.timedelta(days=3650))
                            .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
                            .add_extension(x509.KeyUsage(False, False, False, False, False,
                                                         True, True, False, False), True)
                            .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), False)
                            .sign(self.ca_key, hashes.SHA256()))
            self._save_pair("ca", self.ca_cert, self.ca_key)
        self.server_cert, self.server_key = self._load_pair("server")
        if self.server_cert is None or not_after(self.server_cert) < now:
            self.server_key = ec.generate_private_key(ec.SECP256R1())
            self.server_cert = self._make_cert(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
                self.server_key.public_key(), 1825,
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                [ExtendedKeyUsageOID.SERVER_AUTH],
                x509.SubjectAlternativeName([
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]))
            self._save_pair("server", self.server_cert, self.server_key)
        self.signing_cert, self.signing_key = self._load_pair("signing")
        if self.signing_cert is None or not_after(self.signing_cert) < now:
            self.signing_key = rsa.generate_private_key(65537, 2048)
            self.signing_cert = self._make_cert(
                x509.Name([
                    x509.NameAttribute(NameOID.COMMON_NAME, "FDMS Simulator Signing"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                       "Zimbabwe Revenue Authority (simulated)")]),
                self.signing_key.public_key(), 730,
                x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                None, None)
            self._save_pair("signing", self.signing_cert, self.signing_key)
        self.signing_thumbprint = thumbprint(self.signing_cert)
        self.ca_pem = pem(self.ca_cert)
        self.signing_pem = pem(self.signing_cert)

    def _make_cert(self, subject, pub, days, ku, eku, san, seconds=None):
        now = utcnow()
        end = (now + datetime.timedelta(seconds=seconds) if seconds is not None
               else now + datetime.timedelta(days=days))
        b = (x509.CertificateBuilder().subject_name(subject)
             .issuer_name(self.ca_cert.subject).public_key(pub)
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
             .add_extension(ku, True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 self.ca_key.public_key()), False))
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage(eku), False)
        if san:
            b = b.add_extension(san, False)
        return b.sign(self.ca_key, hashes.SHA256())

    # -------------------------------------------------------- bad TLS
    SERVER_CERT_MODES = ("good", "expired", "notyet", "wronghost", "otherca")

    def server_cert_variant(self, mode):
        """A deliberately bad TLS server certificate for client tests
        (--server-cert-mode), written as server-MODE.pem/-key.pem in the
        state directory and returned as (cert path, key path); "good" is
        the normal one.  Made fresh at every start and never used for
        anything else, so that server.pem and the CA stay valid:
          expired    valid from 10 days ago till yesterday, our CA;
          notyet     valid from tomorrow for 10 days, our CA;
          wronghost  right dates and CA, but only for fdms.invalid;
          otherca    right dates and names, issued by a throw-away CA
                     that nobody trusts (other-ca.pem)."""
        if mode == "good":
            return self.server_cert_path, self.server_key_path
        if mode not in self.SERVER_CERT_MODES:
            raise ValueError("unknown server certificate mode %r" % mode)
        now = utcnow()
        key = ec.generate_private_key(ec.SECP256R1())
        good_san = x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        host = "localhost"
        start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=30)
        issuer_name, issuer_key = self.ca_cert.subject, self.ca_key
        san = good_san
        if mode == "expired":
            start, end = now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)
        elif mode == "notyet":
            start, end = now + datetime.timedelta(days=1), now + datetime.timedelta(days=11)
        elif mode == "wronghost":
            host = "fdms.invalid"
            san = x509.SubjectAlternativeName([x509.DNSName(host)])
        elif mode == "otherca":
            issuer_key = ec.generate_private_key(ec.SECP256R1())
            issuer_name = x509.Name([
                x509.NameAttribute(NameOID.COMMON_NAME, "Untrusted Other CA"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fdms-sim (test only)")])
            other = (x509.CertificateBuilder()
                     .subject_name(issuer_name).issuer_name(issuer_name)
                     .public_key(issuer_key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
                     .sign(issuer_key, hashes.SHA256()))
            _write_atomic(os.path.join(self.dir, "other-ca.pem"), pem(other).encode())
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
             .issuer_name(issuer_name).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
             .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                          False, False), True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
             .add_extension(san, False))
        cert = b.sign(issuer_key, hashes.SHA256())
        self._save_pair("server-" + mode, cert, key)
        return (os.path.join(self.dir, "server-%s.pem" % mode),
                os.path.join(self.dir, "server-%s-key.pem" % mode))

    # -------------------------------------------------------- devices
    def check_csr(self, pem_text, device_id, expected_serial=None):
        """Validate a device CSR; returns (csr, serial from the CN) or DEV03."""
        def bad(why):
            raise Unprocessable("DEV03", "Certificate request is invalid: " + why)

        if not isinstance(pem_text, str) or "-----BEGIN CERTIFICATE REQUEST-----" not in pem_text:
            bad("not a PEM PKCS#10 certificate request")
        try:
            csr = x509.load_pem_x509_csr(pem_text.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            bad("not a PEM PKCS#10 certificate request")
        try:
            if not csr.is_signature_valid:
                bad("CSR signature does not verify")
        except Exception:  # noqa: BLE001 - unsupported algorithms land here
            bad("CSR signature cannot be verified")
        pub = csr.public_key()
        if isinstance(pub, ec.EllipticCurvePublicKey):
            if not isinstance(pub.curve, ec.SECP256R1):
                bad("ECC key must be on P-256 (secp256r1), got %s" % pub.curve.name)
        elif isinstance(pub, rsa.RSAPublicKey):
            if pub.key_size != 2048:
                bad("RSA key must be 2048 bits, got %d" % pub.key_size)
        else:
            bad("key must be ECDSA P-256 or RSA-2048")
        try:
            alg = csr.signature_hash_algorithm
        except Exception:  # noqa: BLE001
            alg = None
        if not isinstance(alg, hashes.SHA256):
            bad("CSR must be signed with SHA-256")
        cn = None
        for rdn in csr.subject.rdns:
            for attr in rdn:
                if attr.oid == NameOID.COMMON_NAME:
                    if cn is not None:
                        bad("more than one CN")
                    cn = attr.value
                elif attr.oid in ALLOWED_ATTRS:
                    if attr.value != ALLOWED_ATTRS[attr.oid]:
                        bad("subject %s must be '%s', got '%s'" % (
                            attr.oid._name, ALLOWED_ATTRS[attr.oid], attr.value))
                else:
                    bad("subject attribute %s is not allowed" % attr.oid._name)
        if cn is None:
            bad("subject has no CN")
        m = CN_RE.match(cn)
        if not m:
            bad("CN must be ZIMRA-<deviceSerialNo>-<deviceID as 10 digits>, got '%s'" % cn)
        serial, padded = m.group(1), m.group(2)
        if padded != "%010d" % device_id:
            bad("CN device ID %s is not %010d" % (padded, device_id))
        if len(serial) > 20:
            bad("serial number in CN is longer than 20")
        if expected_serial is not None and serial != expected_serial:
            bad("CN serial '%s' is not the device's serial number '%s'" % (serial, expected_serial))
        return csr, serial

    def issue(self, csr, validity_seconds):
        """Device client certificate from an accepted CSR."""
        return self._make_cert(
            csr.subject, csr.public_key(), 0,
            x509.KeyUsage(True, True, True, False, False, False, False, False, False),
            [ExtendedKeyUsageOID.CLIENT_AUTH], None, seconds=validity_seconds)


def load_cert_der(der):
    return x509.load_der_x509_certificate(der)


def load_cert_pem(text):
    return x509.load_pem_x509_certificate(text.encode("ascii"))
