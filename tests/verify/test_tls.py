"""TLS of a deployment with a domain, against a local HTTPS site with a certificate from a test CA made here: trusted,
not expiring within 14 days, HTTP redirected, HSTS sent — and each of them broken on purpose."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hymt.verify.result import Status
from hymt.verify.tls import TlsTarget, tls_checks
from tests.support.net import serve_http, stop_http

DOMAIN = "mt.hymt.test"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Pki:
    ca_file: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate

    def issue(self, directory: Path, name: str, days: float) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        cert_file, key_file = directory / f"{name}-{days}.crt", directory / f"{name}-{days}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_file, key_file


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("hymt test CA"))
        .issuer_name(_name("hymt test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Pki(ca_file, key, cert)


@contextmanager
def site(cert: tuple[Path, Path], hsts: str | None = "max-age=31536000", redirect: bool = True) -> Iterator[tuple]:
    class Https(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            if hsts:
                self.send_header("Strict-Transport-Security", hsts)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    class Http(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(308 if redirect else 200)
            if redirect:
                self.send_header("Location", f"https://{self.headers['Host']}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    https, plain = serve_http(Https, "tls-site", context), serve_http(Http, "plain-site")
    try:
        yield https.server_address[1], plain.server_address[1]
    finally:
        for server in (https, plain):
            stop_http(server)


def run(ports: tuple[int, int], cafile: Path | None, domain: str = DOMAIN) -> dict:
    target = TlsTarget(domain, "127.0.0.1", ports[0], ports[1], str(cafile) if cafile else None, timeout=5)
    return {r.name: r for r in tls_checks(target)}


def test_a_proper_site_passes_all_four(pki, tmp_path):
    with site(pki.issue(tmp_path, DOMAIN, 90)) as ports:
        checks = run(ports, pki.ca_file)
    assert {r.status for r in checks.values()} == {Status.PASS}, checks
    assert checks["certificate valid for over 14 days"].reason in ("expires in 90 days", "expires in 89 days")
    assert checks["HTTP redirects to HTTPS"].reason == f"308 -> https://{DOMAIN}/"


def test_a_certificate_expiring_within_14_days_fails(pki, tmp_path):
    with site(pki.issue(tmp_path, DOMAIN, 5)) as ports:
        checks = run(ports, pki.ca_file)
    assert checks["certificate trusted"].status is Status.PASS
    assert checks["certificate valid for over 14 days"].status is Status.FAIL
    assert "renewal is failing" in checks["certificate valid for over 14 days"].reason


def test_an_untrusted_or_misnamed_certificate_fails(pki, tmp_path):
    with site(pki.issue(tmp_path, DOMAIN, 90)) as ports:
        untrusted = run(ports, None)  # the system's CAs do not know the test CA
    with site(pki.issue(tmp_path, "other.hymt.test", 90)) as ports:
        misnamed = run(ports, pki.ca_file)
    assert (
        untrusted["certificate trusted"].status is Status.FAIL
        and "not trusted" in untrusted["certificate trusted"].reason
    )
    assert misnamed["certificate trusted"].status is Status.FAIL


def test_no_redirect_and_no_hsts_fail(pki, tmp_path):
    with site(pki.issue(tmp_path, DOMAIN, 90), hsts=None, redirect=False) as ports:
        checks = run(ports, pki.ca_file)
    assert (
        checks["HTTP redirects to HTTPS"].status is Status.FAIL
        and "answered 200" in checks["HTTP redirects to HTTPS"].reason
    )
    assert checks["HSTS"].status is Status.FAIL and "Strict-Transport-Security" in checks["HSTS"].reason
    with site(pki.issue(tmp_path, DOMAIN, 90), hsts="max-age=0") as ports:
        assert run(ports, pki.ca_file)["HSTS"].status is Status.FAIL


def test_a_domain_that_does_not_resolve_fails():
    checks = {r.name: r for r in tls_checks(TlsTarget("no-such-host.invalid", timeout=3))}
    assert (
        checks["certificate trusted"].status is Status.FAIL
        and "does not resolve" in checks["certificate trusted"].reason
    )
