"""Repository signing keys against pinned fingerprints (the docker, nvidia_container_toolkit and nvidia_driver
roles): a mirror that serves both the packages and the key could otherwise sign its own packages.

apt trusts every key in a `Signed-By` file, so each primary key the file holds must be one of the pinned ones; a file
with no key at all, or with one more key than expected, is refused as well. Input: the output of
`gpg --batch --with-colons --show-keys <file>`. Unit-tested in tests/ansible/test_signing_key_filters.py.
"""

from __future__ import annotations

import re

FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")


def normalise(fingerprint: str) -> str:
    """'9DC8 5822 ... CD88' or lower case -> 40 upper-case hex digits."""
    return re.sub(r"\s+", "", str(fingerprint)).upper()


def primary_fingerprints(colons: str) -> list[str]:
    """The fingerprints of the primary keys (each `pub` record's first `fpr`), in order; subkeys are left out."""
    found: list[str] = []
    after_primary = False
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            after_primary = True
        elif fields[0] in ("sub", "sec", "ssb"):
            after_primary = False
        elif fields[0] == "fpr" and after_primary and len(fields) > 9:
            found.append(fields[9].upper())
            after_primary = False
    return found


def key_problem(colons: str, pinned: list[str], name: str, url: str) -> str:
    """'' when every primary key of the file is pinned (and there is one); else a message saying what to do."""
    wanted = [normalise(fingerprint) for fingerprint in pinned or []]
    malformed = [fingerprint for fingerprint in wanted if not FINGERPRINT.match(fingerprint)]
    if malformed or not wanted:
        return (
            f"The pinned fingerprints of {name}'s signing key ({', '.join(pinned or []) or 'none'}) are not 40 "
            "hexadecimal digits each: fix hymt_signing_key_fingerprints (inventory/group_vars/all/versions.yml)."
        )
    found = primary_fingerprints(colons)
    if not found:
        return (
            f"{url} holds no OpenPGP key, so {name}'s repository cannot be trusted. Check the URL (a mirror may not "
            "carry the key: point the key's variable at the vendor's own site)."
        )
    unexpected = [fingerprint for fingerprint in found if fingerprint not in wanted]
    if unexpected:
        return (
            f"The signing key at {url} has fingerprint {', '.join(unexpected)}, not {name}'s pinned "
            f"{' or '.join(wanted)}: a mirror or proxy may be serving its own key, and apt would then trust "
            "whatever it signs. Take the key from the vendor's own site (the key's URL variable), or, if the vendor "
            "has really changed its key, update hymt_signing_key_fingerprints after checking the new one against the "
            "vendor's documentation."
        )
    return ""
