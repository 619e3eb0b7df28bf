"""What provision.yml hardens on the VM-like rehearsal host, through Testinfra and from outside: sshd with keys only
(and a run that would lock Ansible out refused), security-only unattended upgrades without reboots, the pinned
Compose v2 package held."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.support.playbook import ROOT, run_playbook

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

DROPIN = "/etc/ssh/sshd_config.d/00-hymt-hardening.conf"


def sshd_settings(host) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in host.check_output("sshd -T").splitlines() if " " in line)


def offered_methods(rehearsal_host) -> str:
    """What sshd offers a client that has no key: ssh's 'Permission denied (...)' list."""
    command = rehearsal_host.ssh_command("true")
    # ssh keeps the first value of an option: these come before the host's own.
    command[1:1] = ["-o", "PubkeyAuthentication=no", "-o", "PasswordAuthentication=no"]
    command[1:1] = ["-o", "KbdInteractiveAuthentication=no"]
    # Just after a reload, sshd re-executes itself and may reset a connection: ask again until it answers.
    for _ in range(20):
        denied = subprocess.run(command, capture_output=True, text=True, timeout=30)
        assert denied.returncode != 0
        answer = denied.stderr.strip().splitlines()[-1]
        if "Permission denied" in answer:
            return answer
        time.sleep(0.5)
    return answer


def test_sshd_takes_keys_only(host, first_converge):
    settings = sshd_settings(host)
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["permitemptypasswords"] == "no"
    # Ansible logs in as debian and becomes root with sudo: root may not log in at all.
    assert settings["permitrootlogin"] == "no"
    dropin = host.file(DROPIN)
    assert dropin.user == "root" and dropin.mode == 0o644


def test_a_client_without_a_key_is_offered_nothing_else(host, rehearsal_host, first_converge):
    assert offered_methods(rehearsal_host).endswith("Permission denied (publickey).")
    # A cloud image's drop-in that turns passwords on (as cloud-init writes one) sorts after the role's: keys only.
    cloud = "/etc/ssh/sshd_config.d/50-cloud-init.conf"
    settings = "PasswordAuthentication yes\\nKbdInteractiveAuthentication yes\\n"
    host.check_output("sh -c %s", f"printf '{settings}' > {cloud}")
    try:
        host.check_output("systemctl reload ssh")
        assert offered_methods(rehearsal_host).endswith("Permission denied (publickey).")
        # The check can fail: without the role's drop-in, that file wins.
        host.check_output(f"mv {DROPIN} /root/hymt-hardening.conf && systemctl reload ssh")
        try:
            offered = offered_methods(rehearsal_host)
            assert "password" in offered and "keyboard-interactive" in offered, offered
        finally:
            host.check_output(f"mv /root/hymt-hardening.conf {DROPIN}")
    finally:
        host.check_output(f"rm -f {cloud} && systemctl reload ssh")
    assert offered_methods(rehearsal_host).endswith("Permission denied (publickey).")


def test_the_role_refuses_when_ansible_would_be_locked_out(host, rehearsal_host, first_converge):
    # sshd -T reads the files now; the running sshd keeps its settings until a reload, so the host stays reachable.
    probe = "/etc/ssh/sshd_config.d/000-hymt-test.conf"
    host.check_output(f"sh -c 'echo AuthorizedKeysFile .ssh/hymt-test-none > {probe}'")
    try:
        run = run_playbook(ROOT / "tests/infra/playbooks/ssh_hardening.yml", rehearsal_host.inventory, timeout=600)
    finally:
        host.check_output(f"rm -f {probe}")
    assert run.returncode != 0, run.explain()
    (message,) = run.failure_messages()
    assert message.startswith(f"Turning off SSH passwords on {rehearsal_host.name} could lock you out")
    assert "who has no authorized keys (/home/debian/.ssh/hymt-test-none)" in message
    assert "ssh-copy-id debian@" in message


def test_unattended_upgrades_take_security_updates_only_and_never_reboot(host, first_converge):
    assert host.package("unattended-upgrades").is_installed
    config = host.check_output("apt-config dump Unattended-Upgrade")
    pattern = "Unattended-Upgrade::Origins-Pattern:: "
    patterns = [line.removeprefix(pattern) for line in config.splitlines() if line.startswith(pattern)]
    assert patterns == ['"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";']
    assert not [line for line in config.splitlines() if line.startswith("Unattended-Upgrade::Allowed-Origins:: ")]
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in config.splitlines()
    periodic = host.check_output("apt-config dump APT::Periodic").splitlines()
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic
    assert 'APT::Periodic::Update-Package-Lists "1";' in periodic
    # unattended-upgrade itself reads the same: a dry run names the allowed origins.
    dry_run = host.run("unattended-upgrade --dry-run --debug 2>&1 | grep -m1 '^Allowed origins are:'")
    assert dry_run.stdout.strip() == (
        "Allowed origins are: origin=Debian,codename=bookworm-security,label=Debian-Security"
    ), dry_run.stdout
    assert host.service("apt-daily-upgrade.timer").is_enabled


def test_the_pinned_compose_package_is_held(host, first_converge):
    assert host.check_output("apt-mark showhold").split() == ["docker-compose"]
    # The distribution's engine is not pinned, so it is not held: its security updates come through.
    assert host.package("docker.io").is_installed
