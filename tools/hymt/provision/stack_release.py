"""Whether a path of a stack release on a host differs from what the stack role would make it (stack_differs).

The stack role looks at all its paths on the host in one module call (roles/stack/library/stack_probe.py) and runs a
file, copy or template task only for a path this says differs: every such task is a module call on the host (about
0.2 s), and a re-run finds nearly everything in place. The comparison is the writing modules' own: a directory, file
or link of that mode, owned by root, a file with the SHA-1 of its source's bytes (the copy module's checksum) or of the
rendered text, a link to that target. Anything not looked at, or looked at in a shape not understood, differs: the
writing task then runs and decides itself, so a wrong answer here can cost time, never a repair.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from hymt.provision.host_state import octal_mode

STATES = ("directory", "file", "link")


def checksum_of_bytes(data: bytes) -> str:
    # SHA-1: the checksum the copy module compares (not a security measure).
    return hashlib.sha1(data).hexdigest()


def checksum_of_file(path: str) -> str:
    with open(path, "rb") as handle:
        return checksum_of_bytes(handle.read())


def differs(
    found,
    state: str,
    mode=None,
    src: str | None = None,
    content: str | None = None,
    target: str | None = None,
    uid: int = 0,
    gid: int = 0,
) -> bool:
    """Whether `found` (stack_probe's entry for one path) is not a `state` owned by uid:gid with `mode`, holding the
    bytes of the local file `src` or the text `content` (a file), pointing at `target` (a link).

    A file wants src or content and a link wants target: without them nothing could show it is right, so it differs.
    """
    if state not in STATES:
        raise ValueError(f"stack_differs: state must be one of {', '.join(STATES)}, not {state!r}")
    if not isinstance(found, Mapping) or found.get("type") != state:
        return True
    if found.get("uid") != uid or found.get("gid") != gid:
        return True
    if mode is not None:
        wanted = octal_mode(mode)
        if wanted is None or octal_mode(found.get("mode")) != wanted:
            return True
    if state == "file":
        if src is not None:
            expected = checksum_of_file(src)
        elif content is not None:
            expected = checksum_of_bytes(str(content).encode("utf-8"))
        else:
            return True
        return found.get("checksum") != expected
    if state == "link":
        return target is None or found.get("target") != target
    return False
