"""hymt_files_differing and hymt_units_not_running: what a role finds on a host against what it wants there. The roles
skip their template, copy and systemd_service tasks for whatever these do not name, so a wrong "as wanted" would
leave a file unwritten or a timer stopped: every doubt must count as differing."""

from __future__ import annotations

import hashlib

import pytest

from hymt.provision.host_state import files_differing, found_entry, units_not_running

CONTENT = b"[Timer]\nOnUnitActiveSec=10s\n"
SHA1 = hashlib.sha1(CONTENT).hexdigest()  # find's default checksum


def found_file(path: str, checksum: str = SHA1, mode: str = "0644", **more) -> dict:
    # The fields of one entry of find's `files` (file_type: any, get_checksum: true), abridged.
    return {
        "path": path,
        "isreg": True,
        "isdir": False,
        "islnk": False,
        "mode": mode,
        "uid": 0,
        "gid": 0,
        "pw_name": "root",
        "gr_name": "root",
        "size": len(CONTENT),
        "checksum": checksum,
        **more,
    }


def found_dir(path: str, mode: str = "0755") -> dict:
    return {"path": path, "isreg": False, "isdir": True, "islnk": False, "mode": mode, "uid": 0, "gid": 0,
            "pw_name": "root", "gr_name": "root"}  # fmt: skip


TIMER = "/etc/systemd/system/hymt-watchdog.timer"
WANTED_TIMER = {"path": TIMER, "checksum": SHA1, "mode": "0644", "owner": "root", "group": "root"}


def test_a_file_as_wanted_and_a_directory_as_wanted_differ_in_nothing():
    wanted = [{"path": "/usr/local/lib/hymt", "mode": "0755", "owner": "root", "group": "root"}, WANTED_TIMER]
    assert files_differing(wanted, [found_dir("/usr/local/lib/hymt"), found_file(TIMER)]) == []


@pytest.mark.parametrize(
    ("found", "why"),
    [
        ([], "not there"),
        ([found_file(TIMER, checksum="0" * 40)], "other content"),
        ([found_file(TIMER, mode="0664")], "other mode"),
        ([found_file(TIMER, pw_name="debian", uid=1000)], "other owner"),
        ([found_file(TIMER, gr_name="adm", gid=4)], "other group"),
        # A symlink: find reports no checksum for it; the template module decides what to do with it.
        ([found_file(TIMER, isreg=False, islnk=True, checksum="")], "a symlink"),
        ([found_dir(TIMER, mode="0644")], "a directory where the file should be"),
        ([found_file("/etc/systemd/system/other.timer")], "another file"),
    ],
)
def test_a_file_differs_when_find_shows_it_otherwise(found, why):
    assert files_differing([WANTED_TIMER], found) == [TIMER], why


def test_a_directory_differs_when_it_is_a_file_or_has_another_mode():
    wanted = [{"path": "/usr/local/lib/hymt", "mode": "0755"}]
    assert files_differing(wanted, [found_file("/usr/local/lib/hymt", mode="0755")]) == ["/usr/local/lib/hymt"]
    assert files_differing(wanted, [found_dir("/usr/local/lib/hymt", mode="0700")]) == ["/usr/local/lib/hymt"]


def test_only_what_is_given_is_compared_and_the_order_is_wanted_s():
    other = "/etc/systemd/system/hymt-watchdog.service"
    wanted = [{"path": other, "checksum": SHA1}, {"path": TIMER, "checksum": SHA1.upper()}]
    found = [found_file(TIMER, mode="0600", pw_name="debian", uid=1000)]
    assert files_differing(wanted, found) == [other]


@pytest.mark.parametrize("mode", ["0644", "644", 0o644])
def test_modes_compare_as_octal_strings_or_the_number_yaml_makes_of_them(mode):
    assert files_differing([{**WANTED_TIMER, "mode": mode}], [found_file(TIMER)]) == []


def test_a_mode_that_cannot_be_compared_differs():
    assert files_differing([{**WANTED_TIMER, "mode": "u=rw,go=r"}], [found_file(TIMER)]) == [TIMER]


def test_numeric_owners_match_the_ids():
    assert files_differing([{**WANTED_TIMER, "owner": 0, "group": "0"}], [found_file(TIMER)]) == []


def test_an_unknown_find_result_makes_every_path_differ():
    assert files_differing([WANTED_TIMER], None) == [TIMER]


# `systemctl show --property=Id,UnitFileState,ActiveState apt-daily.timer apt-daily-upgrade.timer hymt-watchdog.timer
# nosuch.timer` on the rehearsal host (Debian 12), with apt-daily-upgrade.timer disabled and stopped.
SHOW = """\
Id=apt-daily.timer
ActiveState=active
UnitFileState=enabled

Id=apt-daily-upgrade.timer
ActiveState=inactive
UnitFileState=disabled

Id=hymt-watchdog.timer
ActiveState=active
UnitFileState=enabled

Id=nosuch.timer
ActiveState=inactive
UnitFileState="""


def test_units_enabled_and_active_are_left_alone_the_others_named():
    wanted = ["apt-daily.timer", "apt-daily-upgrade.timer", "hymt-watchdog.timer", "nosuch.timer"]
    assert units_not_running(SHOW, wanted) == ["apt-daily-upgrade.timer", "nosuch.timer"]


@pytest.mark.parametrize(
    ("unit_file_state", "active_state"),
    [("enabled", "activating"), ("enabled", "inactive"), ("disabled", "active"), ("masked", "inactive"),
     ("static", "active"), ("enabled-runtime", "active")],
)  # fmt: skip
def test_any_other_state_counts_as_not_running(unit_file_state, active_state):
    show = f"Id=x.timer\nActiveState={active_state}\nUnitFileState={unit_file_state}\n"
    assert units_not_running(show, ["x.timer"]) == ["x.timer"]


def test_a_unit_missing_from_the_output_counts_as_not_running():
    assert units_not_running("", ["apt-daily.timer"]) == ["apt-daily.timer"]
    assert units_not_running(None, ["apt-daily.timer"]) == ["apt-daily.timer"]
    assert units_not_running(SHOW, ["hymt-watchdog.service"]) == ["hymt-watchdog.service"]


def test_paths_compare_normalized_as_find_reports_them():
    # passwd may give a home directory with a trailing slash; find normalizes the paths it lists.
    keys = found_file("/home/debian/.ssh/authorized_keys")
    assert files_differing([{"path": "/home/debian//.ssh/authorized_keys", "checksum": SHA1}], [keys]) == []
    assert found_entry([found_dir("/home/debian/.ssh"), keys], "/home/debian//.ssh/authorized_keys") == keys


def test_a_path_find_did_not_list_has_no_entry():
    assert found_entry([found_file(TIMER)], "/home/debian/.ssh/authorized_keys") == {}
    assert found_entry(None, TIMER) == {}
