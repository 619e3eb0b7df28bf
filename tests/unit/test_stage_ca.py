"""tools/scripts/stage-ca decides which extra CA image builds trust: the bundle it is given, or none."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.support.certs import self_signed
from tests.support.repo import ROOT

STAGE_CA = ROOT / "tools/scripts/stage-ca"


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    return tmp_path / "build" / "ca"


def stage(ca_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(STAGE_CA), *args],
        env={"PATH": "/usr/bin:/bin", "HYMT_CA_DIR": str(ca_dir)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_bundle_is_staged_as_extra_ca_crt(tmp_path, ca_dir):
    bundle = tmp_path / "corporate.pem"
    bundle.write_bytes(self_signed("Proxy CA one")[0] + self_signed("Proxy CA two")[0])
    result = stage(ca_dir, str(bundle))
    assert result.returncode == 0, result.stderr
    assert [p.name for p in ca_dir.iterdir()] == ["extra-ca.crt"]
    assert (ca_dir / "extra-ca.crt").read_bytes() == bundle.read_bytes()
    assert "2 certificates" in result.stderr


def test_staging_replaces_whatever_was_staged_before(tmp_path, ca_dir):
    ca_dir.mkdir(parents=True)
    (ca_dir / "old-proxy.crt").write_bytes(self_signed("Old proxy")[0])
    bundle = tmp_path / "new.pem"
    bundle.write_bytes(self_signed("New proxy")[0])
    assert stage(ca_dir, str(bundle)).returncode == 0
    assert [p.name for p in ca_dir.iterdir()] == ["extra-ca.crt"]
    assert (ca_dir / "extra-ca.crt").read_bytes() == bundle.read_bytes()


def test_builds_started_together_all_stage_the_bundle(tmp_path, ca_dir):
    # make test runs `make rehearse` on two workers at once, and each image build stages the CA first: one run must
    # never remove what another is about to move into place.
    bundle = tmp_path / "corporate.pem"
    bundle.write_bytes(self_signed("Proxy CA")[0])
    for _ in range(10):
        runs = [
            subprocess.Popen([str(STAGE_CA), str(bundle)], env={"PATH": "/usr/bin:/bin", "HYMT_CA_DIR": str(ca_dir)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(6)
        ]  # fmt: skip
        failures = [err for run in runs if (err := run.communicate(timeout=30)[1]) and run.returncode != 0]
        assert not failures, failures[0]
        assert [p.name for p in ca_dir.iterdir()] == ["extra-ca.crt"]
        assert (ca_dir / "extra-ca.crt").read_bytes() == bundle.read_bytes()
        (ca_dir / "extra-ca.crt").unlink()


@pytest.mark.parametrize("args", [(), ("",)], ids=["no argument", "empty argument"])
def test_without_a_bundle_the_directory_exists_and_is_empty(tmp_path, ca_dir, args):
    # The Makefile passes "" when HYMT_EXTRA_CA is empty; a CA staged by an earlier build must not linger.
    bundle = tmp_path / "earlier.pem"
    bundle.write_bytes(self_signed("Earlier proxy")[0])
    assert stage(ca_dir, str(bundle)).returncode == 0
    result = stage(ca_dir, *args)
    assert result.returncode == 0, result.stderr
    assert ca_dir.is_dir()
    assert list(ca_dir.iterdir()) == []
    assert "HYMT_EXTRA_CA" in result.stderr


def test_a_missing_bundle_is_an_error_that_keeps_the_staged_one(tmp_path, ca_dir):
    bundle = tmp_path / "good.pem"
    bundle.write_bytes(self_signed("Good proxy")[0])
    assert stage(ca_dir, str(bundle)).returncode == 0
    result = stage(ca_dir, str(tmp_path / "typo.pem"))
    assert result.returncode == 1
    assert "typo.pem" in result.stderr and "HYMT_EXTRA_CA" in result.stderr
    assert (ca_dir / "extra-ca.crt").read_bytes() == bundle.read_bytes()


def test_a_file_without_pem_certificates_is_refused(tmp_path, ca_dir):
    der = tmp_path / "proxy.der"
    certificate = x509.load_pem_x509_certificate(self_signed("DER proxy")[0])
    der.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
    result = stage(ca_dir, str(der))
    assert result.returncode == 1
    assert "no PEM certificate" in result.stderr and "openssl x509 -inform der" in result.stderr
    assert not (ca_dir / "extra-ca.crt").exists()


def test_a_bundle_with_a_private_key_is_refused(tmp_path, ca_dir):
    certificate, key = self_signed("Careless proxy")
    bundle = tmp_path / "with-key.pem"
    bundle.write_bytes(certificate + key)
    result = stage(ca_dir, str(bundle))
    assert result.returncode == 1
    assert "private key" in result.stderr
    assert not (ca_dir / "extra-ca.crt").exists()
