"""An edge host in front of GPU hosts of their own (hymt.verify.shape): every GPU host of the inventory must be in its
Caddy's rotation and ready.

In the rotation: Caddy's admin API (inside the proxy container, on localhost:2019 only) lists the upstreams of its
reverse_proxy; each GPU host's private address and port must be there. Ready: asked from the edge host itself, as
Caddy's active health checks ask (GET /readyz, 200 only while vLLM answers), each GPU host's web app must answer 200.
"""

from __future__ import annotations

import json

from hymt.verify.host import HostContext, docker_failure
from hymt.verify.result import CheckFailed
from hymt.verify.shape import PROXY, WebApp

UPSTREAMS_URL = "http://127.0.0.1:2019/reverse_proxy/upstreams"  # the address the image's own health check uses

# Run with the edge host's python3: GET /readyz of every host:port given, one JSON object of their statuses (0 with
# the error when there was no answer).
READY_SCRIPT = """
import json, sys, urllib.error, urllib.request
said = {}
for hostport in sys.argv[1:]:
    try:
        with urllib.request.urlopen("http://" + hostport + "/readyz", timeout=10) as answer:
            said[hostport] = [answer.status, ""]
    except urllib.error.HTTPError as error:
        said[hostport] = [error.code, ""]
    except Exception as error:
        said[hostport] = [0, type(error).__name__ + ": " + str(error)[:160]]
print(json.dumps(said))
"""


def caddy_upstreams(context: HostContext) -> list[dict]:
    """Caddy's upstreams ({address, num_requests, fails}), from its admin API inside the proxy container."""
    proxy = context.service(PROXY)
    if proxy is None:
        raise CheckFailed("no running proxy container to ask for its upstreams: the edge is not up ('make deploy').")
    listed = context.docker("exec", proxy.name, "wget", "-qO-", UPSTREAMS_URL, timeout=30)
    if not listed.ok:
        raise CheckFailed(f"Caddy's admin API did not list its upstreams: {docker_failure(listed)}")
    try:
        upstreams = json.loads(listed.stdout or "null")
    except ValueError:
        upstreams = None
    if not isinstance(upstreams, list):
        raise CheckFailed(f"Caddy's admin API answered something other than a list of upstreams: {listed.output(200)}")
    return [u for u in upstreams if isinstance(u, dict)]


def readiness(context: HostContext, apps: list[WebApp]) -> dict[str, tuple[int, str]]:
    """Each web app's /readyz status seen from the edge host (0 and why, when it did not answer)."""
    asked = context.run(["python3", "-c", READY_SCRIPT, *(app.hostport for app in apps)], timeout=60)
    try:
        said = json.loads(asked.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise CheckFailed(f"could not ask the GPU hosts from the edge host (python3): {asked.output(200)}") from None
    return {hostport: (int(status), str(why)) for hostport, (status, why) in said.items()}


def check_rotation(context: HostContext) -> str:
    apps = list(context.settings.gpu_web_apps)
    if not apps:
        raise CheckFailed("the inventory names no GPU host for this edge: put them in gpu_hosts (docs/scale-out.md).")
    unaddressed = [app.host for app in apps if not app.address]
    if unaddressed:
        raise CheckFailed(
            f"{', '.join(unaddressed)}: no hymt_private_address in the inventory, so the edge cannot reach "
            f"{'it' if len(unaddressed) == 1 else 'them'}: set it (the address the edge hosts reach the GPU host on) "
            "and run 'make deploy'."
        )
    upstreams = {str(u.get("address")): u for u in caddy_upstreams(context)}
    statuses = readiness(context, apps)
    problems = []
    for app in apps:
        if app.hostport not in upstreams:
            problems.append(
                f"{app.host} ({app.hostport}) is not in Caddy's rotation: rewrite the edge's "
                f"{context.settings.stack_dir}/balance/upstreams.caddy with 'make deploy' (a rolling update that "
                "stopped half-way leaves a host out)"
            )
        status, why = statuses.get(app.hostport, (0, "not asked"))
        if status != 200:
            answer = f"answered /readyz {status}" if status else f"did not answer ({why})"
            advice = (
                "its model is not loaded or its vLLM is down: the logs of its web and vllm containers say why"
                if status
                else "its web app must publish on hymt_private_address (make deploy) and its firewall let this edge "
                "host in (make provision)"
            )
            problems.append(f"{app.host}'s web app at {app.hostport} {answer} from here: {advice}")
    listed = ", ".join(
        f"{address} ({u.get('num_requests', 0)} open, {u.get('fails', 0)} fails)" for address, u in upstreams.items()
    )
    if problems:
        raise CheckFailed("; ".join(problems) + f". Caddy's upstreams: {listed or 'none'}")
    return f"every GPU host in the rotation and ready: {listed}"
