"""hymt-cert-expiry (roles/stack/files/hymt_cert_expiry.py), the script the stack role's timer runs with the
monitoring profile: against certificates made here with `openssl req -x509` in Caddy's layout
(<issuer>/<domain>/<domain>.crt), it writes each domain's end date in the unit the alert rules compare with time()
(Unix seconds), skips a damaged file and says so, writes no sample without certificates, and replaces the file whole.
The written file is read back with prometheus_client's parser of the text format, a stand-in for the node exporter's
(the exporter itself reads it in tests/monitoring only as far as that package runs it)."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import require
from tests.support.repo import ROOT

SCRIPT = ROOT / "roles/stack/files/hymt_cert_expiry.py"
_spec = importlib.util.spec_from_file_location("hymt_cert_expiry", SCRIPT)
cert_expiry = importlib.util.module_from_spec(_spec)
sys.modules["hymt_cert_expiry"] = cert_expiry
_spec.loader.exec_module(cert_expiry)

LETSENCRYPT = "acme-v02.api.letsencrypt.org-directory"
ZEROSSL = "acme.zerossl.com-v2-dv90"
DAY = 86400


def make_certificate(certificates: Path, issuer: str, directory: str, days: int) -> tuple[int, int]:
    """A self-signed certificate valid for `days` from now, where Caddy keeps it; its end lies between the bounds."""
    require(subprocess.run(["which", "openssl"], capture_output=True).returncode == 0, "openssl is not installed")
    folder = certificates / issuer / directory
    folder.mkdir(parents=True)
    before = int(time.time())
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-subj", f"/CN={directory}", "-days", str(days)),
            *("-keyout", str(folder / f"{directory}.key"), "-out", str(folder / f"{directory}.crt")),
        ],
        check=True,
        capture_output=True,
    )
    after = int(time.time()) + 1
    return before + days * DAY, after + days * DAY


def run(certificates: Path, textfile: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cert_expiry.main(["--certificates", str(certificates), "--textfile-dir", str(textfile)], out, err)
    return code, out.getvalue(), err.getvalue()


def samples(textfile: Path) -> dict[str, float]:
    """The file as an exposition-format parser reads it: expiry by domain."""
    text = (textfile / "hymt_tls.prom").read_text(encoding="utf-8")
    return {
        sample.labels["domain"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "hymt_tls_certificate_expiry_seconds"
    }


@pytest.fixture
def dirs(tmp_path) -> tuple[Path, Path]:
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    return tmp_path / "caddy_data/caddy/certificates", textfile


def test_each_domain_gets_its_certificates_end_as_unix_seconds(dirs):
    certificates, textfile = dirs
    soon = make_certificate(certificates, LETSENCRYPT, "soon.example", 10)
    later = make_certificate(certificates, LETSENCRYPT, "later.example", 60)
    code, out, err = run(certificates, textfile)
    assert (code, err) == (0, ""), err
    assert "later.example, soon.example" in out
    found = samples(textfile)
    assert set(found) == {"soon.example", "later.example"}
    assert soon[0] <= found["soon.example"] <= soon[1]
    assert later[0] <= found["later.example"] <= later[1]
    # The rule CertificateExpiringSoon fires under 14 days left: one of these is under, one is not.
    assert found["soon.example"] - time.time() < 14 * DAY < found["later.example"] - time.time()


def test_a_domain_with_two_issuers_gets_the_later_end_and_a_wildcard_its_name(dirs):
    certificates, textfile = dirs
    make_certificate(certificates, LETSENCRYPT, "site.example", 5)
    renewed = make_certificate(certificates, ZEROSSL, "site.example", 80)
    wildcard = make_certificate(certificates, LETSENCRYPT, "wildcard_.site.example", 30)
    assert run(certificates, textfile)[0] == 0
    found = samples(textfile)
    assert set(found) == {"site.example", "*.site.example"}
    assert renewed[0] <= found["site.example"] <= renewed[1]
    assert wildcard[0] <= found["*.site.example"] <= wildcard[1]


def test_a_damaged_certificate_is_skipped_and_named_and_the_others_are_written(dirs):
    certificates, textfile = dirs
    good = make_certificate(certificates, LETSENCRYPT, "good.example", 40)
    damaged = certificates / LETSENCRYPT / "broken.example"
    damaged.mkdir(parents=True)
    (damaged / "broken.example.crt").write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n")
    code, _, err = run(certificates, textfile)
    assert code == 1
    assert "skipped" in err and str(damaged / "broken.example.crt") in err and "not a readable PEM" in err
    assert "Traceback" not in err
    found = samples(textfile)
    assert list(found) == ["good.example"] and good[0] <= found["good.example"] <= good[1]


def test_the_script_as_systemd_runs_it_exits_1_on_a_damaged_file_and_0_when_it_is_gone(dirs):
    certificates, textfile = dirs
    make_certificate(certificates, LETSENCRYPT, "good.example", 40)
    damaged = certificates / LETSENCRYPT / "broken.example" / "broken.example.crt"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"\x00\x01")
    argv = [sys.executable, str(SCRIPT), "--certificates", str(certificates), "--textfile-dir", str(textfile)]
    first = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert first.returncode == 1 and "skipped" in first.stderr and "Traceback" not in first.stderr
    damaged.unlink()
    second = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert (second.returncode, second.stderr) == (0, "")
    assert list(samples(textfile)) == ["good.example"]


@pytest.mark.parametrize("layout", ["no certificates directory", "an empty one"])
def test_without_certificates_the_file_has_no_sample(dirs, layout):
    """Plain HTTP: the expiry alert has no series (quiet), and the file's age still shows that the job runs."""
    certificates, textfile = dirs
    if layout == "an empty one":
        certificates.mkdir(parents=True)
    (textfile / "hymt_tls.prom").write_text('hymt_tls_certificate_expiry_seconds{domain="old.example"} 1\n')
    code, out, err = run(certificates, textfile)
    assert (code, err) == (0, "")
    assert "no certificate" in out
    assert samples(textfile) == {}
    assert (textfile / "hymt_tls.prom").stat().st_mode & 0o777 == 0o644


def test_the_file_is_replaced_whole_and_left_as_it_was_when_writing_fails(dirs, monkeypatch):
    certificates, textfile = dirs
    make_certificate(certificates, LETSENCRYPT, "a.example", 20)
    assert run(certificates, textfile)[0] == 0
    before = (textfile / "hymt_tls.prom").read_text()

    def full_disk(_descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cert_expiry.os, "fsync", full_disk)
    make_certificate(certificates, LETSENCRYPT, "b.example", 20)
    code, _, err = run(certificates, textfile)
    assert code == 2 and "cannot write" in err and "No space left on device" in err
    assert (textfile / "hymt_tls.prom").read_text() == before
    assert sorted(path.name for path in textfile.iterdir()) == ["hymt_tls.prom"]  # no temporary file left


def test_a_missing_textfile_directory_is_refused_with_what_to_do(tmp_path):
    code, _, err = run(tmp_path / "certificates", tmp_path / "absent")
    assert code == 2
    assert "is not a directory" in err and "stack_monitoring" in err


def test_openssls_end_date_is_read_to_the_second():
    assert cert_expiry.parse_enddate("notAfter=Mar  5 12:00:00 2027 GMT") == 1804248000
    assert cert_expiry.parse_enddate("notAfter=Dec 31 23:59:59 2026 GMT") == 1798761599
    with pytest.raises(ValueError):
        cert_expiry.parse_enddate("notAfter=2027-03-05 12:00:00Z")


def test_label_values_are_escaped_as_the_text_format_wants():
    text = cert_expiry.render([cert_expiry.Certificate('a"b\\c', 5, Path("x"))])
    assert [s.labels["domain"] for f in text_string_to_metric_families(text) for s in f.samples] == ['a"b\\c']
