"""What a role finds on a host against what it wants there, so that a re-run calls a module only where they differ.

Every task that touches a host costs it a fresh Python that loads Ansible's module code (about 0.2 s). A template or
copy task that finds its file as it should be still costs two of them (stat, then file for the attributes), a
systemd_service task one per unit. The roles read once instead (find with checksums for their files, one
`systemctl show` for their units) and run the module only for what these functions name. Every doubt counts as
differing: then the module runs and decides, as it would without the reading.

Unit-tested in tests/ansible/test_host_state_filters.py.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping


def octal_mode(value) -> int | None:
    """A mode as the roles write it and the modules report it ("0644", "644", or the number YAML makes of an unquoted
    0644), as a number; None for anything else (a symbolic mode such as u=rw cannot be compared here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 8)
    except ValueError:
        return None


def _mode_matches(wanted, found) -> bool:
    wanted_bits = octal_mode(wanted)
    return wanted_bits is not None and wanted_bits == octal_mode(str(found))


def _owner_matches(wanted, name, number) -> bool:
    return str(wanted) in (str(name), str(number))


def _by_path(found: Iterable[Mapping] | None) -> dict[str, Mapping]:
    # find joins each name to the directory it was given and normalizes the result (a home directory of "/home/x/" in
    # passwd makes "/home/x//.ssh/authorized_keys" on the role's side): compare normalized paths.
    return {posixpath.normpath(str(entry.get("path"))): entry for entry in found or [] if isinstance(entry, Mapping)}


def found_entry(found: Iterable[Mapping] | None, path: str) -> dict:
    """find's entry (one of its `files`) for `path`, or {} when find did not list it."""
    return dict(_by_path(found).get(posixpath.normpath(str(path)), {}))


def files_differing(wanted: Iterable[Mapping], found: Iterable[Mapping] | None) -> list[str]:
    """The paths of `wanted` that `found` does not show as wanted, in `wanted`'s order.

    `wanted`: [{path, checksum, mode, owner, group}]; checksum is the SHA-1 of the content a file should have, and an
    entry without one is a directory; mode, owner and group are compared when given. `found`: find's `files`, run with
    file_type any and get_checksum (path, isreg, isdir, mode as "0644", pw_name, uid, gr_name, gid, checksum). A path
    find did not list, a file that is no regular file (a symlink: the module decides what to do with it), other
    content, mode, owner or group all differ."""
    by_path = _by_path(found)
    differing = []
    for want in wanted:
        path = str(want["path"])
        have = by_path.get(posixpath.normpath(path))
        if have is None:
            differing.append(path)
            continue
        checksum = want.get("checksum")
        same = (
            have.get("isreg") is True and str(have.get("checksum", "")).lower() == str(checksum).lower()
            if checksum
            else have.get("isdir") is True
        )
        if "mode" in want:
            same = same and _mode_matches(want["mode"], have.get("mode", ""))
        if "owner" in want:
            same = same and _owner_matches(want["owner"], have.get("pw_name"), have.get("uid"))
        if "group" in want:
            same = same and _owner_matches(want["group"], have.get("gr_name"), have.get("gid"))
        if not same:
            differing.append(path)
    return differing


def systemd_units(show_output: str) -> dict[str, dict[str, str]]:
    """`systemctl show --property=Id,... UNIT...`'s blocks (one per unit, separated by blank lines) by the unit's Id.
    A block without an Id is left out."""
    units = {}
    for block in (show_output or "").split("\n\n"):
        properties = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if properties.get("Id"):
            units[properties["Id"]] = properties
    return units


def units_not_running(show_output: str, wanted: Iterable[str]) -> list[str]:
    """The units of `wanted` that are not both enabled and active by `systemctl show
    --property=Id,UnitFileState,ActiveState` (read for all of them at once), in `wanted`'s order: those a
    systemd_service task with enabled: true and state: started would change. A unit that is missing from the output,
    not found, masked, static, activating or in any other state counts too: the module decides."""
    units = systemd_units(show_output)
    return [
        unit
        for unit in wanted
        if units.get(unit, {}).get("UnitFileState") != "enabled" or units.get(unit, {}).get("ActiveState") != "active"
    ]
