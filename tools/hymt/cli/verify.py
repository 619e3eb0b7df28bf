"""`hymt verify`: check a deployment from outside (its public URL) and on its hosts (over SSH); exit 0 only when
every check passed or was skipped for a reason the declared profile expects, 1 otherwise, 2 when it cannot run."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from hymt.cli.output import add_command
from hymt.core.exit import ExitStatus
from hymt.sdk.settings import ENV_ACCESS_KEY
from hymt.verify.host import DEFAULT_COMPOSE_PROJECT, DEFAULT_STACK_DIR
from hymt.verify.result import PROFILES, exit_code
from hymt.verify.run import CouldNotRun, verify
from hymt.verify.settings import ENV_VERIFY_PASSWORD, Login, VerifySettings

DESCRIPTION = """\
Check a deployment, concurrently, with a pass/fail/skip line per check:
  from outside   the site's login (basic auth at the proxy), the page, health, the declared profile, translations
                 (not a copy of the source; on gpu also the language of 7 pairs), streaming, the error contract,
                 that none of vLLM's routes answers, and TLS when a domain is set
  on each host   (--inventory or --host, over SSH) nvidia-smi and the driver against the vLLM image, the GPU test
                 in the vLLM image and in the running vllm container, the stack's services, restarts, vLLM from
                 inside, the model directory, free disk, the ports open from outside, and a Testinfra suite

A skip is never a pass: exit 0 means every check passed or was skipped for a reason the declared profile expects
(rehearsal: no GPU, and the rehearsal model's answers are not language); --strict fails on any skip.
"""
EPILOG = """\
exit codes:
  0  verified   1  a check failed (or an unexpected skip)   2  the checks could not run

examples:
  hymt verify --url http://203.0.113.7                       the public half of a gpu deployment
  hymt verify --inventory inventory/cloud.yml                both halves; URL, profile and pins from the inventory
  hymt verify --url http://127.0.0.1:8088 --profile rehearsal
  HYMT_ACCESS_KEY=... hymt verify --url https://mt.example.com   a private deployment (HYMT_ACCESS_KEYS_FILE)
  read -rs HYMT_VERIFY_PASSWORD && export HYMT_VERIFY_PASSWORD
  hymt verify --url https://mt.example.com --login alice       a site behind basic auth (hymt_basic_auth_users)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "verify",
        help="check a deployment: page, translations, exposure, TLS; GPU, stack and ports on its hosts",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    what = parser.add_argument_group("what to check")
    what.add_argument(
        "--url",
        default=os.environ.get("HYMT_VERIFY_URL"),
        help="the public base URL, e.g. http://203.0.113.7 (default: $HYMT_VERIFY_URL, else from the inventory)",
    )
    what.add_argument(
        "--access-key",
        default=os.environ.get(ENV_ACCESS_KEY) or None,
        help=f"a private deployment's access key (default: ${ENV_ACCESS_KEY}; prefer it: arguments show in 'ps'); "
        "verify then also checks that a translation without it is refused",
    )
    what.add_argument(
        "--login",
        dest="login_user",
        metavar="USER",
        help=f"a user of the site's basic auth (hymt_basic_auth_users); its password from ${ENV_VERIFY_PASSWORD}, or "
        "from standard input with --password-stdin, never an argument. Verify then also checks that the site "
        "refuses a request without the login and one with a wrong password",
    )
    what.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password of --login from standard input (its first line), e.g. from a secret store",
    )
    what.add_argument(
        "--profile",
        choices=PROFILES,
        default=os.environ.get("HYMT_PROFILE") or None,
        help="the profile the deployment was made with (default: the inventory's hymt_profile, else gpu)",
    )
    what.add_argument("--inventory", type=Path, metavar="FILE", help="an Ansible inventory (its gpu_hosts, edge)")
    what.add_argument(
        "--host",
        dest="hosts",
        action="append",
        default=[],
        metavar="USER@ADDRESS[:PORT]",
        help="a host to check over SSH (repeat)",
    )
    what.add_argument("--domain", help="the site's domain: turns on the TLS checks (default: hymt_domain)")
    what.add_argument("--public-address", help="where to probe the hosts' ports from outside (default: their address)")
    ssh = parser.add_argument_group("SSH (for --host; an inventory carries its own)")
    ssh.add_argument("--ssh-key", metavar="FILE", help="the private key to log in with")
    ssh.add_argument("--known-hosts", metavar="FILE", help="a known_hosts file to check host keys against as well")
    where = parser.add_argument_group("where the stack lives on the hosts")
    where.add_argument("--stack-dir", default=DEFAULT_STACK_DIR, help=f"default {DEFAULT_STACK_DIR}")
    where.add_argument("--compose-project", default=DEFAULT_COMPOSE_PROJECT, help=f"default {DEFAULT_COMPOSE_PROJECT}")
    where.add_argument(
        "--min-free-gb",
        type=float,
        default=VerifySettings.min_free_gb,
        help=f"free space each disk must keep (default {VerifySettings.min_free_gb:g})",
    )
    how = parser.add_argument_group("how")
    how.add_argument("--strict", action="store_true", help="fail on any skip, even those the profile expects")
    how.add_argument("--json", action="store_true", help="print the report as JSON")
    how.add_argument(
        "--timeout",
        type=float,
        default=VerifySettings.timeout,
        help=f"seconds to wait for each answer (default {VerifySettings.timeout:g})",
    )
    how.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="first wait for /readyz to turn 200")
    how.add_argument("--no-http", dest="http", action="store_false", help="skip the public half (only the hosts)")
    how.add_argument("--no-testinfra", dest="testinfra", action="store_false", help="do not run the Testinfra suite")
    parser.set_defaults(handler=run)


def login_from(args: argparse.Namespace, env: Mapping[str, str], stdin: TextIO) -> Login | None:
    """The login of --login, its password from standard input (--password-stdin) or the environment; CouldNotRun
    when the password is missing. A password is never taken from an argument: arguments show in 'ps'."""
    if args.login_user is None:
        if args.password_stdin:
            raise CouldNotRun("--password-stdin reads the password of --login USER: give --login too")
        return None
    if args.password_stdin:
        password = stdin.readline().rstrip("\r\n")
        where = "standard input (--password-stdin) gave an empty line"
    else:
        password = env.get(ENV_VERIFY_PASSWORD, "")
        where = f"{ENV_VERIFY_PASSWORD} is not set"
    if not password:
        raise CouldNotRun(
            f"--login {args.login_user} needs its password, but {where}: export {ENV_VERIFY_PASSWORD} (e.g. "
            f"read -rs {ENV_VERIFY_PASSWORD} && export {ENV_VERIFY_PASSWORD}) or pipe it in with --password-stdin; "
            "never put it on the command line"
        )
    return Login(args.login_user, password)


def settings_from(
    args: argparse.Namespace, env: Mapping[str, str] | None = None, stdin: TextIO | None = None
) -> VerifySettings:
    """The settings the options give: each option's destination is the name of its VerifySettings field (the login's
    password comes from `env` or `stdin`, by default the process's own)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(VerifySettings) if hasattr(args, f.name)}
    login = login_from(args, os.environ if env is None else env, sys.stdin if stdin is None else stdin)
    return VerifySettings(**given | {"hosts": tuple(args.hosts), "login": login})


def run(args: argparse.Namespace) -> int:
    from hymt.verify.report import render_json, render_text

    try:
        report = verify(settings_from(args))
    except CouldNotRun as exc:
        print(f"hymt verify: error: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    print(render_json(report) if args.json else render_text(report, color=sys.stdout.isatty()))
    return exit_code(report.results, report.profile, report.strict)
