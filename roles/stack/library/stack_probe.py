#!/usr/bin/python
"""Everything the stack role reads on a host before it installs a release, in one module call.

Each read used to be a task of its own (the stack's directories, the API key and whether it is there, the active
release, the list of releases, the certificate expiry job's files), and every file of a release was compared by a copy
or template task of its own: each task costs the host a fresh Python that loads Ansible's module code (about 0.2 s).
This module looks at all the paths at once, read-only: what each one is, its mode and owner, a regular file's SHA-1
(the checksum the copy and template modules compare) and a link's target. The role then runs a writing task only for
what differs (hymt.provision.stack_release.differs, the stack_differs filter), so a release edited by hand on the host
is still repaired, and a run that finds everything in place touches nothing.
"""

from __future__ import annotations

import hashlib
import os
import stat

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: stack_probe
short_description: Look at the stack role's paths on a host, in one call
description:
  - For each path of I(paths), what it is (absent, directory, file, link, other; links are not followed), its mode,
    owner and group, a regular file's SHA-1 and a link's target.
  - The text of each file of I(read) (the secrets the release's .env carries), null when it cannot be read.
  - The subdirectories of each directory of I(list), with their modification times, as the find module with
    file_type=directory lists them (hidden ones and links aside).
  - Changes nothing; runs in check mode.
options:
  paths:
    description: Absolute paths to look at.
    type: list
    elements: str
    default: []
  read:
    description: Files whose text to return.
    type: list
    elements: str
    default: []
  list:
    description: Directories whose subdirectories to list.
    type: list
    elements: str
    default: []
"""

RETURN = r"""
paths:
  description: >-
    Path -> {type, mode ("0755"), uid, gid}, with checksum for a file and target for a link; {type: absent} for a
    path that is not there.
  type: dict
  returned: always
present:
  description: The paths of I(paths) that are there (of any type), in the order given.
  type: list
  returned: always
contents:
  description: Path -> the file's text, or null when it is absent or cannot be read.
  type: dict
  returned: always
listings:
  description: Directory -> [{path, mtime}] of its subdirectories; [] when the directory is absent.
  type: dict
  returned: always
"""

CHUNK = 1 << 16


def sha1_of(path: str) -> str | None:
    # SHA-1: the checksum the copy and template modules compare (not a security measure).
    digest = hashlib.sha1()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def look(path: str) -> dict:
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return {"type": "absent"}
    except NotADirectoryError:
        # A part of the path is a file: the path cannot be there.
        return {"type": "absent"}
    found = {"mode": format(stat.S_IMODE(status.st_mode), "04o"), "uid": status.st_uid, "gid": status.st_gid}
    if stat.S_ISDIR(status.st_mode):
        return {"type": "directory", **found}
    if stat.S_ISLNK(status.st_mode):
        return {"type": "link", "target": os.readlink(path), **found}
    if stat.S_ISREG(status.st_mode):
        return {"type": "file", "checksum": sha1_of(path), **found}
    return {"type": "other", **found}


def read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def subdirectories(directory: str) -> list[dict]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    listed = []
    for name in names:
        if name.startswith("."):
            continue
        path = os.path.join(directory, name)
        try:
            status = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(status.st_mode):
            listed.append({"path": path, "mtime": status.st_mtime})
    return listed


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "str", "default": []},
            "read": {"type": "list", "elements": "str", "default": []},
            "list": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    relative = [path for key in ("paths", "read", "list") for path in module.params[key] if not os.path.isabs(path)]
    if relative:
        module.fail_json(msg=f"stack_probe wants absolute paths, not {', '.join(relative)}")
    paths = {path: look(path) for path in module.params["paths"]}
    module.exit_json(
        changed=False,
        paths=paths,
        present=[path for path in module.params["paths"] if paths[path]["type"] != "absent"],
        contents={path: read_text(path) for path in module.params["read"]},
        listings={directory: subdirectories(directory) for directory in module.params["list"]},
    )


if __name__ == "__main__":
    main()
