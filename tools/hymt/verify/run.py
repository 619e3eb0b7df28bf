"""Put a verification together and run it: the HTTP half through the public URL, the host half over SSH on every
gpu_hosts and edge host, TLS when a domain is set, and the Testinfra suite — concurrently, into one report.

Entry points: `plan(settings)` resolves what to check (targets, profile, URL, pins) and `execute(plan)` runs it;
`verify(settings)` does both. The session, the runner of each host and the port connector are injectable.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

from hymt.verify import edge, exposure, gpu, ports, stack, testinfra
from hymt.verify.commands import HostUnreachable, Runner
from hymt.verify.host import HostCheck, HostContext, HostSettings, run_host_check
from hymt.verify.http import CheckFunction, Probe, SiteShut, check_login, http_checks
from hymt.verify.pins import ImagePins, literal
from hymt.verify.result import PROFILES, CheckFailed, CheckResult, failed, passed, run_check, skipped
from hymt.verify.settings import ENV_VERIFY_PASSWORD, Login, VerifySettings
from hymt.verify.shape import EDGE_FILES, Shape, services_of, shape_of, web_app_of
from hymt.verify.ssh import InventoryError, SshRunner, Target, parse_host, read_inventory, targets_from_inventory
from hymt.verify.tls import TlsTarget, tls_checks


class CouldNotRun(Exception):
    """The verification cannot start (bad usage, nothing reachable, an unreadable inventory); the message says why."""


@dataclass
class Plan:
    settings: VerifySettings
    profile: str
    url: str | None
    targets: list[Target]
    pins: ImagePins
    domain: str | None
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    profile: str
    strict: bool
    url: str | None
    results: list[CheckResult]
    info: dict = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- planning ----------------------------------------------------------------------------------------------------------
def _pins(settings: VerifySettings, targets: Sequence[Target]) -> ImagePins:
    for target in targets:
        if target.variables.get("hymt_vllm_image"):
            return ImagePins.from_vars(target.variables)
    if settings.pins_file.is_file():
        import yaml

        return ImagePins.from_vars(yaml.safe_load(settings.pins_file.read_text(encoding="utf-8")) or {})
    return ImagePins(vllm_image="")


def _declared_profile(settings: VerifySettings, targets: Sequence[Target]) -> str:
    said = {str(t.variables["hymt_profile"]) for t in targets if t.variables.get("hymt_profile")}
    if settings.profile is not None:
        if settings.profile not in PROFILES:
            raise CouldNotRun(f"--profile {settings.profile!r}: use {' or '.join(PROFILES)}")
        if said and said != {settings.profile}:
            raise CouldNotRun(
                f"--profile {settings.profile} contradicts the inventory, whose hymt_profile is "
                f"{', '.join(sorted(said))}: give the profile the deployment was made with, or none."
            )
        return settings.profile
    if len(said) > 1:
        raise CouldNotRun(f"the hosts differ in hymt_profile ({', '.join(sorted(said))}): verify each apart")
    profile = said.pop() if said else "gpu"
    if profile not in PROFILES:
        raise CouldNotRun(f"the inventory's hymt_profile is {profile!r}: use {' or '.join(PROFILES)}")
    return profile


def _url_from_inventory(targets: Sequence[Target], domain: str | None) -> str | None:
    edge = [t for t in targets if "edge" in t.groups] or list(targets)
    if not edge:
        return None
    first = edge[0]
    if url := literal(first.variables.get("hymt_public_url")):  # the rehearsal host's inventory writes it
        return url
    if domain:
        return f"https://{domain}"
    port = first.variables.get("rehearsal_host_http_port")
    if port:  # the rehearsal host: its port 80 is forwarded to the control machine's loopback
        return f"http://127.0.0.1:{port}"
    address = literal(first.variables.get("hymt_public_address")) or first.address
    return f"http://[{address}]" if ":" in address else f"http://{address}"


def _without_login(url: str) -> str:
    """`url` for messages: whatever stands before an "@" of its address part (a user and password) left out."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    address, slash, path = rest.partition("/")
    if "@" in address:
        address = "***@" + address.rpartition("@")[2]
    return f"{scheme}{sep}{address}{slash}{path}"


def _split_login(url: str) -> tuple[str, Login | None]:
    """(the URL without credentials, the login they make), so that the password is never shown with the URL."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    if parts.password is None:
        raise CouldNotRun(
            f"the URL names a user but no password: give --login {unquote(parts.username or '')} with the password in "
            f"{ENV_VERIFY_PASSWORD} instead, and the URL without the user"
        )
    netloc = parts.netloc.rpartition("@")[2]
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, Login(unquote(parts.username or ""), unquote(parts.password))


def _checked_login(login: Login | None) -> Login | None:
    if login is None:
        return None
    if not login.user or ":" in login.user:
        raise CouldNotRun(
            f"the login's user {login.user!r} cannot be sent with basic auth: give a user name without ':' "
            "(one of hymt_basic_auth_users)"
        )
    if not login.password:
        raise CouldNotRun(f"the login for {login.user!r} has an empty password: put it in {ENV_VERIFY_PASSWORD}")
    return login


def plan(settings: VerifySettings) -> Plan:
    """What to check, resolved from the settings and the inventory. CouldNotRun on anything unusable."""
    targets: list[Target] = []
    try:
        if settings.inventory is not None:
            targets = targets_from_inventory(settings.inventory, read_inventory(settings.inventory))
        for spec in settings.hosts:
            targets.append(parse_host(spec, key_file=settings.ssh_key, known_hosts=settings.known_hosts))
    except InventoryError as exc:
        raise CouldNotRun(str(exc)) from None
    profile = _declared_profile(settings, targets)
    domain = settings.domain
    if domain is None:
        domain = next((d for t in targets if (d := literal(t.variables.get("hymt_domain")))), None)
    url = settings.url or _url_from_inventory(targets, domain)
    if settings.http and not url:
        raise CouldNotRun("give the deployment's URL with --url (or HYMT_VERIFY_URL), or an --inventory to derive it")
    if url and not url.startswith(("http://", "https://")):
        raise CouldNotRun(f"--url must start with http:// or https://, got {_without_login(url)!r}")
    notes = []
    login = _checked_login(settings.login)
    if url:
        url, in_url = _split_login(url)
        if in_url and login:
            raise CouldNotRun(
                "the login is given twice, in the URL and with --login: keep --login USER with "
                f"{ENV_VERIFY_PASSWORD}, and give the URL without user and password"
            )
        if in_url:
            login = _checked_login(in_url)
            notes.append(
                f"the URL's login was taken out of it; prefer --login USER with {ENV_VERIFY_PASSWORD} (a URL on the "
                "command line shows in 'ps')"
            )
    settings = dataclasses.replace(settings, url=url, login=login)
    if not settings.host or not targets:
        notes.append("host checks not run: give --inventory FILE or --host user@address for GPU, stack and ports")
    if not domain:
        notes.append("no domain set: plain HTTP, no TLS checks (set hymt_domain or --domain for HTTPS)")
    return Plan(settings, profile, url, targets if settings.host else [], _pins(settings, targets), domain, notes)


# -- the HTTP half -----------------------------------------------------------------------------------------------------
def run_http_check(
    name: str, check: CheckFunction, probe: Probe, target: str, propagate: tuple[type[BaseException], ...] = ()
) -> list[CheckResult]:
    def explain(exc: Exception) -> str | None:
        if isinstance(exc, requests.Timeout):
            return f"no answer within {probe.timeout:g} s"
        if isinstance(exc, requests.RequestException):
            return f"request failed: {exc}"
        return f"unexpected answer: {type(exc).__name__}: {exc}"  # bad JSON ...: a failed check, not a crash

    return run_check(name, lambda: check(probe), target, explain=explain, propagate=propagate)


def pooled_session() -> requests.Session:
    """A session with room for every concurrent check's connection."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def connect(
    base_url: str,
    session: requests.Session,
    timeout: float,
    profile: str,
    access_key: str | None = None,
    login: Login | None = None,
) -> Probe:
    if login:  # UTF-8, as browsers send it (requests would encode a str as Latin-1)
        session.auth = (login.user.encode(), login.password.encode())
    probe = Probe(
        base_url=base_url, session=session, timeout=timeout, profile=profile, access_key=access_key, login=login
    )
    try:
        probe.get("/healthz")
    except requests.RequestException as exc:
        raise CouldNotRun(
            f"nothing answers at {base_url} ({type(exc).__name__}); is the stack up? Check 'docker compose ps' "
            "on the host and the URL and port you gave."
        ) from None
    return probe


def wait_until_ready(probe: Probe, seconds: float, poll: float = 2.0) -> bool:
    """Poll /readyz until it answers 200 or `seconds` pass; True when ready."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if probe.get("/readyz").status_code == 200:
                return True
        except requests.RequestException:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def verify_http(probe: Probe) -> list[CheckResult]:
    """The site's login first: when its basic auth lets verify in nowhere, the other checks would only meet the
    proxy's 401, so they are left unjudged (skips no profile expects) behind the one failure that says what to do."""
    checks = [*http_checks(), ("vLLM's routes not exposed", exposure.check_not_exposed)]
    label = f"web {probe.base_url}"
    started = time.monotonic()
    try:
        login = run_http_check("site login", check_login, probe, label, propagate=(SiteShut,))
    except SiteShut as exc:
        unjudged = "not judged: the site did not let verify in (see 'site login')"
        return [
            failed("site login", str(exc), time.monotonic() - started, label),
            *(skipped(name, unjudged, target=label) for name, _ in checks),
        ]
    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="verify-http") as pool:
        futures = [pool.submit(run_http_check, name, check, probe, label) for name, check in checks]
        return login + [result for future in futures for result in future.result()]


# -- the host half -----------------------------------------------------------------------------------------------------
def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def own_address(context: HostContext) -> str:
    """The host's source address towards the rest of the network (the rehearsal host's on the Docker network; not an
    inner bridge's such as its own docker0)."""
    # TEST-NET-1: `ip route get` only looks up the route to it, nothing is sent.
    route = context.run(["ip", "-4", "-o", "route", "get", "192.0.2.1"])
    words = route.stdout.split()
    return words[words.index("src") + 1] if route.ok and "src" in words[:-1] else ""


def port_plan(context: HostContext, target: Target, plan_: Plan) -> ports.PortPlan:
    """Where "outside" reaches the host: --public-address, hymt_public_address, else its SSH address; a rehearsal host
    reached through port forwards on 127.0.0.1 is probed at its own address on the Docker network."""
    address = plan_.settings.public_address or literal(target.variables.get("hymt_public_address")) or ""
    ssh_port = int(target.variables.get("firewall_ssh_port") or 22)
    if not address:
        if not _is_loopback(target.address):
            address, ssh_port = target.address, target.port
        elif plan_.profile == "rehearsal":
            address = own_address(context)
        if not address:
            raise CheckFailed(
                f"{target.name} is reached at {target.address}, a loopback address: give its public address "
                "(--public-address or hymt_public_address) to probe its ports from outside."
            )
    serves_web = shape_of(target.groups) is not Shape.BEHIND_EDGE
    return ports.PortPlan(address=address, ssh_port=ssh_port, https_required=bool(plan_.domain), serves_web=serves_web)


def _ports_check(target: Target, plan_: Plan, connector: ports.Connector) -> HostCheck:
    return lambda context: ports.check_ports(context, port_plan(context, target, plan_), connector)


def host_checks(
    target: Target, plan_: Plan, connector: ports.Connector = ports.tcp_accepts
) -> list[tuple[str, HostCheck]]:
    """The checks of a host, by its part in the deployment (hymt.verify.shape): the GPU, vLLM and model checks where
    vLLM runs, the edge's rotation on an edge host, the ports from outside wherever the public must (or must not) get
    in, the stack or edge files, services, CIS items and disk everywhere."""
    shape = shape_of(target.groups)
    checks: list[tuple[str, HostCheck]] = []
    if shape is not Shape.EDGE:
        checks += [
            ("nvidia-smi on the host", gpu.check_host_gpus),
            ("driver runs the vLLM image", gpu.check_driver_fits),
            ("gpu_test", gpu.check_gpu_test),
            ("vllm container sees its GPU", gpu.check_vllm_sees_gpu),
        ]
    checks += [
        ("edge installed" if shape is Shape.EDGE else "stack installed", stack.check_stack_installed),
        ("services running and healthy", stack.check_services),
        ("restart counts", stack.check_restarts),
        ("containers hardened (CIS Docker 5)", stack.check_containers_cis),
        ("engine settings (CIS Docker 2)", stack.check_daemon_cis),
    ]
    if shape is not Shape.EDGE:
        checks += [
            ("vLLM /health and /v1/models inside", stack.check_vllm_inside),
            ("model directory passes hymt model check", stack.check_model),
        ]
    else:
        checks.append(("every GPU host in the rotation and ready", edge.check_rotation))
    checks.append(("free disk", stack.check_disk))
    checks.append(("ports from outside", _ports_check(target, plan_, connector)))
    return checks


def host_settings(target: Target, plan_: Plan) -> HostSettings:
    settings = plan_.settings
    shape = shape_of(target.groups)
    services, absent = services_of(shape, settings.services)
    common = {"profile": plan_.profile, "pins": plan_.pins, "min_free_gb": settings.min_free_gb, "shape": shape,
              "services": services, "absent_services": absent, "starting_wait": settings.wait}  # fmt: skip
    if shape is Shape.EDGE:  # the edge role's settings, where the inventory gives them
        return HostSettings(
            **common,  # type: ignore[arg-type]
            stack_dir=literal(target.variables.get("edge_dir")) or settings.edge_dir,
            compose_project=literal(target.variables.get("edge_project")) or settings.compose_project,
            stack_files=EDGE_FILES,
            gpu_web_apps=tuple(
                web_app_of(t.name, t.variables) for t in plan_.targets if shape_of(t.groups) is Shape.BEHIND_EDGE
            ),
        )
    return HostSettings(
        **common,  # type: ignore[arg-type]
        stack_dir=settings.stack_dir,
        compose_project=settings.compose_project,
        model_dir=str(target.variables.get("hymt_model_dir") or ""),
        web_app=web_app_of(target.name, target.variables) if shape is Shape.BEHIND_EDGE else None,
    )


def verify_host(
    target: Target,
    plan_: Plan,
    runner: Runner,
    connector: ports.Connector = ports.tcp_accepts,
) -> list[CheckResult]:
    context = HostContext(name=target.name, runner=runner, settings=host_settings(target, plan_))
    started = time.monotonic()
    try:
        login = runner.run(["true"])
    except HostUnreachable as exc:
        return [failed("SSH login", str(exc), time.monotonic() - started, target.name)]
    if not login.ok:
        return [failed("SSH login", f"'true' failed on the host: {login.output()}", 0.0, target.name)]
    results = [passed("SSH login", f"{runner.description}", time.monotonic() - started, target.name)]
    lanes = check_lanes(host_checks(target, plan_, connector))

    def run_lane(lane: list[tuple[str, HostCheck]]) -> tuple[list[CheckResult], bool]:
        """The lane's results, and whether the SSH connection broke during it."""
        found: list[CheckResult] = []
        for name, check in lane:
            try:
                found += run_host_check(name, check, context)
            except HostUnreachable as exc:
                found.append(failed(name, f"the SSH connection broke: {exc}", 0.0, target.name))
                return found, True
        return found, False

    # The lanes share the one SSH connection (a channel each, fewer than the 10 sessions sshd lets a connection open).
    # The slowest start first, so that the host takes about its longest check; the results go into the report in the
    # checks' own order.
    with ThreadPoolExecutor(max_workers=HOST_LANES, thread_name_prefix=f"verify-{target.name}") as pool:
        futures = {index: pool.submit(run_lane, lanes[index]) for index in start_order(lanes)}
        for index in range(len(lanes)):
            lane_results, broke = futures[index].result()
            results += lane_results
            if broke:
                break  # the lanes after it lost the same connection: one failure says it
    return results


# Host checks run this many at once (each waits on its own command on the host: docker, nvidia-smi, a port probe).
HOST_LANES = 4
# Checks that read what an earlier one found (HostContext.gpus, set by the nvidia-smi check) run in its lane, in order.
# (The look inside the running vllm container reads nothing of theirs: it runs beside them.)
GPU_LANE = ("nvidia-smi on the host", "driver runs the vLLM image", "gpu_test")


# The checks that take longest, started before the others (measured on the rehearsal host: the port probe waits out
# the timeout of a port the firewall drops; gpu_test starts a container of the vLLM image and imports PyTorch; the
# model check starts a container and hashes the weights; the look inside vllm imports PyTorch there).
SLOW_CHECKS = (
    "ports from outside",
    *GPU_LANE,
    "model directory passes hymt model check",
    "vllm container sees its GPU",
)


def start_order(lanes: Sequence[list[tuple[str, HostCheck]]]) -> list[int]:
    """The lanes' indexes, those holding a slow check first (in SLOW_CHECKS' order), the rest in their own order."""

    def rank(index: int) -> int:
        names = [name for name, _ in lanes[index]]
        return min((SLOW_CHECKS.index(name) for name in names if name in SLOW_CHECKS), default=len(SLOW_CHECKS))

    return sorted(range(len(lanes)), key=rank)


def check_lanes(checks: Sequence[tuple[str, HostCheck]]) -> list[list[tuple[str, HostCheck]]]:
    """The checks in lanes that can run at the same time, in the checks' order: the GPU checks one lane, in order
    (they build on the nvidia-smi check's findings), every other check a lane of its own."""
    lanes: list[list[tuple[str, HostCheck]]] = []
    gpu_lane: list[tuple[str, HostCheck]] = []
    for name, check in checks:
        if name in GPU_LANE:
            if not gpu_lane:
                lanes.append(gpu_lane)
            gpu_lane.append((name, check))
        else:
            lanes.append([(name, check)])
    return lanes


def testinfra_settings(plan_: Plan) -> dict[str, str]:
    settings = plan_.settings
    return {
        "HYMT_VERIFY_PROFILE": plan_.profile,
        "HYMT_VERIFY_STACK_DIR": settings.stack_dir,
        "HYMT_VERIFY_COMPOSE_PROJECT": settings.compose_project,
        "HYMT_VERIFY_SERVICES": ",".join(settings.services),
        "HYMT_VERIFY_EDGE_DIR": settings.edge_dir,
        # The edge hosts' private addresses: the only ones a GPU host behind them lets reach its web app.
        "HYMT_VERIFY_EDGE_ADDRESSES": ",".join(
            address
            for t in plan_.targets
            if shape_of(t.groups) is Shape.EDGE and (address := literal(t.variables.get("hymt_private_address")))
        ),
    }


# -- everything --------------------------------------------------------------------------------------------------------
def execute(
    plan_: Plan,
    *,
    session: requests.Session | None = None,
    runner_for: Callable[[Target], Runner] = SshRunner,
    connector: ports.Connector = ports.tcp_accepts,
    tls_target: Callable[[str], TlsTarget] = TlsTarget,
) -> Report:
    settings = plan_.settings
    report = Report(plan_.profile, settings.strict, plan_.url, [], targets=[t.name for t in plan_.targets])
    report.notes = list(plan_.notes)
    probe = None
    if settings.http and plan_.url:
        probe = connect(
            plan_.url, session or pooled_session(), settings.timeout, plan_.profile, settings.access_key, settings.login
        )
        if settings.wait > 0 and not wait_until_ready(probe, settings.wait):
            report.notes.append(f"/readyz did not turn 200 within {settings.wait:g} s")
    runners = {target.name: runner_for(target) for target in plan_.targets}
    with ThreadPoolExecutor(max_workers=3 + len(plan_.targets), thread_name_prefix="verify") as pool:
        http_future = pool.submit(verify_http, probe) if probe else None
        tls_future = pool.submit(tls_checks, tls_target(plan_.domain)) if plan_.domain else None
        host_futures = [
            pool.submit(verify_host, target, plan_, runners[target.name], connector) for target in plan_.targets
        ]
        suite_future = None
        if settings.testinfra and plan_.targets:
            suite_future = pool.submit(
                testinfra.run_suite, plan_.targets, settings.inventory, testinfra_settings(plan_)
            )
        for future in (http_future, tls_future, *host_futures, suite_future):
            if future is not None:
                report.results += future.result()
    for runner in runners.values():
        close = getattr(runner, "close", None)
        if close:
            close()
    if probe:
        report.info = probe.info
    return report


def verify(settings: VerifySettings, **injected: object) -> Report:
    """Plan and run a verification (CouldNotRun when it cannot start)."""
    return execute(plan(settings), **injected)  # type: ignore[arg-type]


__all__ = ["CouldNotRun", "Plan", "Report", "execute", "plan", "verify"]
