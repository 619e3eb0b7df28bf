#!/usr/bin/env python3
"""hymt-cert-expiry: the end dates of Caddy's certificates, for the node exporter's textfile collector.

Run by a systemd timer (roles/stack, with the monitoring profile). Caddy keeps each certificate as
<certificates>/<issuer>/<domain>/<domain>.crt in its data volume; for every domain this writes
    hymt_tls_certificate_expiry_seconds{domain="<domain>"} <Unix time of the certificate's notAfter>
into <textfile dir>/hymt_tls.prom, which the alert rules read (compose/monitoring/prometheus/rules/hymt.yml). A
domain with certificates from several issuers gets the latest end date: Caddy serves the one still valid longest.

The file is replaced whole (a temporary file renamed over it), so the exporter never reads half of one. Without any
certificate (plain HTTP: no domain, no certificates directory) the file holds no sample: the expiry alert stays quiet
while the file's age still tells that this job runs. A certificate that cannot be read is left out and named on
stderr; the others are written all the same, and the exit status is 1 so that systemd shows the run as failed.

Standard library only (it runs with the host's python3); the dates come from `openssl x509 -enddate`.
Exit status: 0 written, 1 written without some certificates, 2 nothing written (the textfile directory is not usable).
"""

from __future__ import annotations

import argparse
import calendar
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

METRIC = "hymt_tls_certificate_expiry_seconds"
FILE_NAME = "hymt_tls.prom"
# Caddy stores a wildcard's certificate under a name without the '*' (certmagic's safe storage keys).
WILDCARD_PREFIX = "wildcard_"


class CertificateError(Exception):
    """A certificate file that cannot be read: the message says which and why."""


@dataclass(frozen=True)
class Certificate:
    domain: str
    not_after: int  # Unix time
    path: Path


def openssl_not_after(path: Path) -> int:
    """The certificate's notAfter as Unix time, as `openssl x509 -enddate` reads it."""
    try:
        done = subprocess.run(
            ["openssl", "x509", "-noout", "-enddate", "-in", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        raise CertificateError("openssl is not installed (apt-get install openssl)") from None
    except subprocess.TimeoutExpired:
        raise CertificateError(f"{path}: openssl took longer than 30 s") from None
    line = done.stdout.strip()
    if done.returncode != 0 or not line.startswith("notAfter="):
        reason = done.stderr.strip().splitlines()[0] if done.stderr.strip() else "no notAfter in openssl's output"
        raise CertificateError(f"{path}: not a readable PEM certificate ({reason})")
    try:
        return parse_enddate(line)
    except ValueError:
        raise CertificateError(f"{path}: unexpected end date {line!r} from openssl") from None


def parse_enddate(line: str) -> int:
    """Unix time of openssl's "notAfter=Mar  5 12:00:00 2027 GMT" (1.1 and 3.x print it alike; %b is C's)."""
    return calendar.timegm(time.strptime(" ".join(line.removeprefix("notAfter=").split()), "%b %d %H:%M:%S %Y GMT"))


def domain_of(path: Path) -> str:
    name = path.parent.name
    return "*" + name.removeprefix(WILDCARD_PREFIX) if name.startswith(WILDCARD_PREFIX) else name


def find_certificates(
    certificates_dir: Path, read: Callable[[Path], int] = openssl_not_after
) -> tuple[list[Certificate], list[str]]:
    """Every <issuer>/<domain>/<domain>.crt under `certificates_dir`, and the errors of those that cannot be read."""
    found: list[Certificate] = []
    errors: list[str] = []
    for path in sorted(certificates_dir.glob("*/*/*.crt")):
        if path.name != path.parent.name + ".crt":
            continue  # not a certificate Caddy manages under this layout
        try:
            found.append(Certificate(domain_of(path), read(path), path))
        except CertificateError as error:
            errors.append(str(error))
        except OSError as error:
            errors.append(f"{path}: cannot be read ({error.strerror or error})")
    return found, errors


def label_value(text: str) -> str:
    """A label value escaped as the text exposition format wants it."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(certificates: list[Certificate]) -> str:
    latest: dict[str, int] = {}
    for certificate in certificates:
        latest[certificate.domain] = max(certificate.not_after, latest.get(certificate.domain, certificate.not_after))
    lines = [
        f"# HELP {METRIC} Unix time at which the domain's TLS certificate (Caddy's, latest of its issuers) expires.",
        f"# TYPE {METRIC} gauge",
    ]
    lines += [f'{METRIC}{{domain="{label_value(domain)}"}} {latest[domain]}' for domain in sorted(latest)]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename; readable by everyone (the node exporter runs as nobody)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="hymt-cert-expiry",
        description=f"Write the end dates of Caddy's certificates as {METRIC} into <textfile-dir>/{FILE_NAME}.",
    )
    parser.add_argument(
        "--certificates",
        type=Path,
        required=True,
        help="Caddy's certificates directory (<caddy_data volume>/caddy/certificates); missing means none",
    )
    parser.add_argument(
        "--textfile-dir", type=Path, required=True, help="the node exporter's textfile collector directory"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = parse_args(argv)
    if not args.textfile_dir.is_dir():
        print(
            f"hymt-cert-expiry: {args.textfile_dir} is not a directory: make it (the stack role does, with "
            "stack_monitoring) or give --textfile-dir the node exporter's textfile directory",
            file=err,
        )
        return 2
    certificates, errors = find_certificates(args.certificates)
    for error in errors:
        print(f"hymt-cert-expiry: skipped {error}", file=err)
    target = args.textfile_dir / FILE_NAME
    try:
        write_atomically(target, render(certificates))
    except OSError as error:
        print(f"hymt-cert-expiry: cannot write {target}: {error.strerror or error}", file=err)
        return 2
    domains = sorted({certificate.domain for certificate in certificates})
    where = f"in {args.certificates}" if args.certificates.is_dir() else f"({args.certificates} does not exist)"
    print(f"wrote {target}: {', '.join(domains) if domains else 'no certificate'} {where}", file=out)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
