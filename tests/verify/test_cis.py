"""The CIS Docker Benchmark items of `hymt verify` (hymt.verify.cis): a container shaped like the stack's passes, each
deliberate break fails its item, exceptions apply only where listed, the docker role's default daemon.json passes the
daemon items, and docs/security.md lists the same exceptions as the code. The same checks against the real rehearsal
stack and a broken override of it: tests/stack/test_hardening.py."""

from __future__ import annotations

import copy
import re

import pytest

from hymt.verify import cis
from hymt.verify.result import Status
from tests.support.repo import ROOT
from tests.verify import hosts

WEB = hosts.hardened("web")


def proxy() -> dict:
    return hosts.hardened("proxy")


def statuses(*containers: dict) -> dict[tuple[str, str], str]:
    return {(f.item, f.subject): f.status for f in cis.container_findings(containers)}


def test_a_container_like_the_stack_s_web_app_passes_all_but_the_excepted_items():
    found = statuses(WEB)
    assert {key for key, status in found.items() if status == "fail"} == set()
    assert {key for key, status in found.items() if status == "excepted"} == {("5.11", "web"), ("5.14", "web")}


def test_the_proxy_s_exceptions_are_its_own():
    found = statuses(proxy())
    assert found[("5.3", "proxy")] == "pass"  # NET_BIND_SERVICE is its allowed capability
    assert found[("4.1", "proxy")] == found[("5.7", "proxy")] == found[("5.13", "proxy")] == "excepted"
    assert found[("5.8", "proxy")] == "pass"


BREAKS = [
    ("5.4", lambda c: c["host"].update(Privileged=True), "privileged"),
    ("5.31", lambda c: c["mounts"].append({"Type": "bind", "Source": "/var/run/docker.sock",
                                           "Destination": "/var/run/docker.sock"}), "/var/run/docker.sock"),
    ("5.3", lambda c: c["host"].update(CapAdd=["SYS_ADMIN"]), "adds SYS_ADMIN"),
    ("5.3", lambda c: c["host"].update(CapDrop=None), "cap_drop: [ALL]"),
    ("5.25", lambda c: c["host"].update(SecurityOpt=None), "may gain privileges"),
    ("5.12", lambda c: c["host"].update(ReadonlyRootfs=False), "read_only"),
    ("5.10", lambda c: c["host"].update(Memory=0), "mem_limit"),
    ("5.28", lambda c: c["host"].update(PidsLimit=None), "pids_limit"),
    ("5.9", lambda c: c["host"].update(NetworkMode="host"), "NetworkMode is host"),
    ("5.15", lambda c: c["host"].update(PidMode="host"), "PidMode is host"),
    ("5.16", lambda c: c["host"].update(IpcMode="host"), "IpcMode is host"),
    ("5.20", lambda c: c["host"].update(UTSMode="host"), "UTSMode is host"),
    ("5.30", lambda c: c["host"].update(UsernsMode="host"), "UsernsMode is host"),
    ("5.29", lambda c: c["host"].update(NetworkMode="bridge"), "default bridge"),
    ("5.8", lambda c: c["host"].update(PortBindings={"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]}),
     "publishes 127.0.0.1:8000->8000/tcp"),
    ("5.5", lambda c: c["mounts"].append({"Type": "bind", "Source": "/etc", "Destination": "/host-etc"}), "/etc"),
    ("5.17", lambda c: c["host"].update(Devices=[{"PathOnHost": "/dev/mem"}]), "/dev/mem"),
    ("5.19", lambda c: c["mounts"].append({"Type": "bind", "Source": "/srv", "Destination": "/srv",
                                           "Propagation": "rshared"}), "shared mount propagation"),
    ("5.21", lambda c: c["host"].update(SecurityOpt=["no-new-privileges:true", "seccomp=unconfined"]), "seccomp"),
    ("5.1", lambda c: c.update(apparmor="unconfined"), "AppArmor unconfined"),
    ("5.24", lambda c: c["host"].update(CgroupParent="/elsewhere"), "cgroup parent"),
    ("5.26", lambda c: c.update(healthcheck={"Test": ["NONE"]}), "no health check"),
    ("4.1", lambda c: c.update(user="root"), "runs as root"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "breaking", "said"), BREAKS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BREAKS)])
def test_each_break_fails_its_item(item, breaking, said):
    broken = copy.deepcopy(WEB)
    breaking(broken)
    failed = [f for f in cis.container_findings([broken]) if f.status == "fail"]
    assert [f.item for f in failed] == [item], failed
    assert said in failed[0].detail


def test_an_exception_holds_for_its_service_only():
    root_web = copy.deepcopy(WEB)
    root_web["user"] = "0"
    root_proxy = proxy()
    root_proxy["user"] = "root"
    found = statuses(root_web, root_proxy)
    assert found[("4.1", "web")] == "fail" and found[("4.1", "proxy")] == "excepted"
    writable_vllm = copy.deepcopy(WEB) | {"service": "vllm"}
    writable_vllm["host"] = WEB["host"] | {"ReadonlyRootfs": False}
    assert statuses(writable_vllm)[("5.12", "vllm")] == "excepted"


def test_the_inspect_format_leaves_the_environment_out():
    assert ".Config.Env" not in cis.INSPECT_FORMAT and "{{json .Config}}" not in cis.INSPECT_FORMAT


# -- section 2 ---------------------------------------------------------------------------------------------------------
role_daemon_json = hosts.role_daemon_json


def test_the_docker_role_s_default_daemon_json_meets_every_daemon_item_but_the_excepted():
    found = {f.item: f.status for f in cis.daemon_findings(role_daemon_json())}
    assert {item for item, status in found.items() if status == "fail"} == set()
    assert {item for item, status in found.items() if status == "excepted"} == {"2.7", "2.8", "2.11", "2.12"}


@pytest.mark.parametrize(
    ("extra", "item"),
    [
        ({"no-new-privileges": False}, "2.17"),
        ({"userland-proxy": True}, "2.14"),
        ({"icc": True}, "2.1"),
        ({"live-restore": False}, "2.13"),
        ({"insecure-registries": ["registry.example.com:5000"]}, "2.4"),
        ({"experimental": True}, "2.16"),
        ({"log-level": "debug"}, "2.2"),
        ({"iptables": False}, "2.3"),
    ],
)
def test_a_weakened_daemon_json_fails_its_item(extra, item):
    failed = [f.item for f in cis.daemon_findings(role_daemon_json(**extra)) if f.status == "fail"]
    assert failed == [item]


# -- in hymt verify ----------------------------------------------------------------------------------------------------
def cis_host(containers: list[dict], daemon_json: dict | None):
    return hosts.cis_answers(hosts.gpu_server(), containers, daemon_json)


def test_verify_reports_both_sections_on_a_hardened_host():
    host = cis_host([WEB, proxy()], role_daemon_json())
    checks = hosts.check_host(host, "gpu")[1]
    containers, engine = checks["containers hardened (CIS Docker 5)"], checks["engine settings (CIS Docker 2)"]
    assert containers.status is Status.PASS and "excepted: 4.1 proxy" in containers.reason, containers
    assert engine.status is Status.PASS and "excepted: 2.11 daemon, 2.12 daemon" in engine.reason, engine


def test_verify_fails_a_privileged_container_and_an_old_daemon_json():
    broken = copy.deepcopy(WEB)
    broken["host"]["Privileged"] = True
    old = {"log-driver": "json-file", "live-restore": True}
    checks = hosts.check_host(cis_host([broken, proxy()], old), "gpu")[1]
    containers, engine = checks["containers hardened (CIS Docker 5)"], checks["engine settings (CIS Docker 2)"]
    assert containers.status is Status.FAIL and "CIS 5.4 web: privileged" in containers.reason
    assert engine.status is Status.FAIL and "CIS 2.17 daemon: no-new-privileges not true" in engine.reason
    assert "make provision" in engine.reason
    missing = hosts.check_host(cis_host([WEB], None), "gpu")[1]["engine settings (CIS Docker 2)"]
    assert missing.status is Status.FAIL and "cannot read /etc/docker/daemon.json" in missing.reason


# -- the documentation -------------------------------------------------------------------------------------------------
def test_docs_list_the_same_exceptions_as_the_code():
    text = (ROOT / "docs/security.md").read_text()
    section = text.split("## Containers and daemon", 1)[1].split("\n## ", 1)[0]
    table = section.split("### Exceptions", 1)[1]
    rows = re.findall(r"^\| (\d\.\d+) \| ([\w*-]+) \|", table, flags=re.M)
    assert sorted(rows) == sorted(EXCEPTION_KEYS)


EXCEPTION_KEYS = [(item, subject) for item, subject in cis.EXCEPTIONS]
