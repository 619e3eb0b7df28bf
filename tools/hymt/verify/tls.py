"""TLS of a deployment with a domain: a certificate the system trusts for that name, not expiring within 14 days,
plain HTTP redirected to HTTPS, and HSTS on the HTTPS answers.

The connection goes to the domain's address (DNS) unless an address is given (tests, or checking one host of several
behind one name); the name is always sent as SNI and Host, as a browser would.
"""

from __future__ import annotations

import datetime
import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from hymt.verify.result import CheckFailed, CheckResult, failed, passed, skipped

MIN_DAYS = 14


@dataclass(frozen=True)
class TlsTarget:
    domain: str
    address: str = ""  # "" resolves the domain
    https_port: int = 443
    http_port: int = 80
    cafile: str | None = None  # None: the system's trusted CAs
    timeout: float = 15.0

    @property
    def host(self) -> str:
        return self.address or self.domain

    def context(self, verify: bool = True) -> ssl.SSLContext:
        if not verify:
            unverified = ssl.create_default_context()
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE
            return unverified
        return ssl.create_default_context(cafile=self.cafile)


def _tls_socket(target: TlsTarget, verify: bool) -> ssl.SSLSocket:
    raw = socket.create_connection((target.host, target.https_port), timeout=target.timeout)
    try:
        return target.context(verify).wrap_socket(raw, server_hostname=target.domain)
    except BaseException:
        raw.close()
        raise


class _HTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to an address that sends the domain as SNI (and Host)."""

    def __init__(self, target: TlsTarget):
        super().__init__(target.host, target.https_port, timeout=target.timeout, context=target.context())
        self._target = target

    def connect(self) -> None:
        self.sock = _tls_socket(self._target, verify=True)


def check_certificate(target: TlsTarget) -> str:
    try:
        with _tls_socket(target, verify=True) as sock:
            certificate = sock.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        raise CheckFailed(
            f"the certificate of {target.domain} is not trusted: {exc.verify_message or exc}. Caddy obtains one "
            "automatically when the domain's DNS points to this host and ports 80 and 443 are open; its log says why "
            "it could not (docker logs of the proxy container)."
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raise CheckFailed(f"no TLS at {target.host}:{target.https_port} for {target.domain}: {exc}") from None
    issuer = dict(item[0] for item in certificate.get("issuer", ()))
    return f"trusted, issued by {issuer.get('organizationName') or issuer.get('commonName') or '?'}"


def certificate_days_left(target: TlsTarget, now: datetime.datetime | None = None) -> float:
    """Days until the served certificate expires (read without trusting it, so an expired one is measured too)."""
    from cryptography import x509

    with _tls_socket(target, verify=False) as sock:
        der = sock.getpeercert(binary_form=True)
    if not der:
        raise CheckFailed(f"{target.domain} served no certificate")
    expires = x509.load_der_x509_certificate(der).not_valid_after_utc
    now = now or datetime.datetime.now(datetime.UTC)
    return (expires - now).total_seconds() / 86400


def check_expiry(target: TlsTarget) -> str:
    try:
        days = certificate_days_left(target)
    except (OSError, ssl.SSLError) as exc:
        raise CheckFailed(f"no certificate to read at {target.host}:{target.https_port}: {exc}") from None
    if days < MIN_DAYS:
        raise CheckFailed(
            f"the certificate of {target.domain} expires in {days:.1f} days (< {MIN_DAYS}): Caddy renews 30 days "
            "ahead, so renewal is failing; its log says why (DNS, port 80 blocked, rate limits)."
        )
    return f"expires in {days:.0f} days"


def check_redirect(target: TlsTarget) -> str:
    connection = http.client.HTTPConnection(target.host, target.http_port, timeout=target.timeout)
    try:
        connection.request("GET", "/", headers={"Host": target.domain})
        response = connection.getresponse()
        location = response.getheader("Location") or ""
    except OSError as exc:
        raise CheckFailed(f"plain HTTP at {target.host}:{target.http_port} does not answer: {exc}") from None
    finally:
        connection.close()
    if response.status not in (301, 302, 307, 308) or not location.startswith(f"https://{target.domain}"):
        raise CheckFailed(
            f"http://{target.domain}/ answered {response.status}"
            + (f" to {location}" if location else "")
            + f", not a redirect to https://{target.domain}/ (Caddy redirects by itself when the site address is "
            "the domain: HYMT_DOMAIN)."
        )
    return f"{response.status} -> {location}"


def check_hsts(target: TlsTarget) -> str:
    connection = _HTTPSConnection(target)
    try:
        connection.request("GET", "/", headers={"Host": target.domain})
        response = connection.getresponse()
        hsts = response.getheader("Strict-Transport-Security") or ""
    except (OSError, ssl.SSLError) as exc:
        raise CheckFailed(f"no HTTPS answer to judge: {exc}") from None
    finally:
        connection.close()
    max_age = next(
        (int(part.split("=", 1)[1]) for part in hsts.split(";") if part.strip().lower().startswith("max-age=")
         and part.split("=", 1)[1].strip().isdigit()),
        0,
    )  # fmt: skip
    if max_age <= 0:
        raise CheckFailed(
            f"https://{target.domain}/ sends no HSTS header (Strict-Transport-Security with a max-age): add "
            '`Strict-Transport-Security "max-age=31536000"` to the header block of the Caddyfile.'
        )
    return hsts


TLS_CHECKS: tuple[tuple[str, Callable[[TlsTarget], str]], ...] = (
    ("certificate trusted", check_certificate),
    (f"certificate valid for over {MIN_DAYS} days", check_expiry),
    ("HTTP redirects to HTTPS", check_redirect),
    ("HSTS", check_hsts),
)


def tls_checks(target: TlsTarget) -> list[CheckResult]:
    results = []
    label = f"tls {target.domain}"
    try:
        socket.getaddrinfo(target.host, target.https_port)
    except OSError as exc:
        return [
            failed(TLS_CHECKS[0][0], f"{target.host} does not resolve ({exc}): point its DNS at the host", 0, label),
            *(skipped(name, "the domain does not resolve", target=label) for name, _ in TLS_CHECKS[1:]),
        ]
    for name, check in TLS_CHECKS:
        started = time.monotonic()
        try:
            results.append(passed(name, check(target), time.monotonic() - started, label))
        except CheckFailed as exc:
            results.append(failed(name, str(exc), time.monotonic() - started, label))
    return results
