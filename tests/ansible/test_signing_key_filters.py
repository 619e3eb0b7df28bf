"""Signing keys against pinned fingerprints (hymt.provision.signing_keys), on keys gpg makes for the test: the roles'
check reads `gpg --with-colons --show-keys` exactly like this."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from hymt.provision import signing_keys
from tests.conftest import require

URL = "https://mirror.example/docker-ce/linux/debian/gpg"


@pytest.fixture(scope="module")
def gpg(tmp_path_factory):
    require(shutil.which("gpg") is not None, "gpg is not installed (apt-get install gnupg)")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)

    def run(*arguments: str, stdin: str | None = None) -> str:
        return subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", *arguments],
            input=stdin, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    yield run
    # gpg started an agent for the keys it made; it goes with them.
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True)


@pytest.fixture(scope="module")
def keys(gpg) -> dict[str, tuple[str, str]]:
    """Two keys with signing subkeys, by name: (fingerprint, ASCII-armored export)."""
    made = {}
    for name in ("vendor", "mirror"):
        user = f"{name} hymt test key <{name}@hymt.invalid>"
        gpg("--passphrase", "", "--quick-gen-key", user, "ed25519", "cert", "never")
        colons = gpg("--with-colons", "--list-keys", user)
        fingerprint = signing_keys.primary_fingerprints(colons)[0]
        gpg("--passphrase", "", "--quick-add-key", fingerprint, "ed25519", "sign", "never")
        made[name] = (fingerprint, gpg("--armor", "--export", fingerprint))
    return made


def show(gpg, armored: str) -> str:
    return gpg("--with-colons", "--show-keys", stdin=armored)


def test_the_pinned_key_passes_whatever_its_subkeys(gpg, keys):
    fingerprint, armored = keys["vendor"]
    colons = show(gpg, armored)
    assert signing_keys.primary_fingerprints(colons) == [fingerprint]
    assert colons.count("\nfpr:") == 2  # the subkey's fingerprint is there, and is not taken for the key's
    spaced = " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4)).lower()
    assert signing_keys.key_problem(colons, [spaced], "Docker CE", URL) == ""


def test_a_mirror_s_own_key_fails_naming_both_fingerprints(gpg, keys):
    problem = signing_keys.key_problem(show(gpg, keys["mirror"][1]), [keys["vendor"][0]], "Docker CE", URL)
    assert problem.startswith(f"The signing key at {URL} has fingerprint {keys['mirror'][0]}, not Docker CE's pinned")
    assert keys["vendor"][0] in problem and "hymt_signing_key_fingerprints" in problem


def test_the_right_key_bundled_with_another_fails(gpg, keys):
    bundle = keys["vendor"][1] + keys["mirror"][1]
    problem = signing_keys.key_problem(show(gpg, bundle), [keys["vendor"][0]], "Docker CE", URL)
    assert f"has fingerprint {keys['mirror'][0]}," in problem


def test_no_key_at_all_fails(gpg):
    assert signing_keys.key_problem("", ["9DC858229FC7DD38854AE2D88D81803C0EBFCD88"], "Docker CE", URL).startswith(
        f"{URL} holds no OpenPGP key"
    )


@pytest.mark.parametrize("pinned", [[], ["0EBFCD88"], ["not a fingerprint at all, forty characters!"]])
def test_a_malformed_pin_fails(pinned):
    assert "are not 40 hexadecimal digits each" in signing_keys.key_problem("", pinned, "Docker CE", URL)


def test_the_pins_are_well_formed():
    from tests.support.repo import PINS

    for name, pinned in PINS["hymt_signing_key_fingerprints"].items():
        assert pinned and all(signing_keys.FINGERPRINT.match(fingerprint) for fingerprint in pinned), name
