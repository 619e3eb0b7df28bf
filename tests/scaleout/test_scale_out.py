"""Two GPU hosts behind an edge, rehearsed for real (`make rehearse GPU_HOSTS=2`): both serve, each web app is open
to the edge alone, a host whose vLLM stops leaves the edge's rotation and comes back when healthy, and a rolling
setting change under a steady load fails no request, and a release that never serves stops the roll at its host,
which is rolled back; a host taken out of gpu_hosts leaves the edge's list with one `make deploy`, which also sets a
login at the edge (asked for there, changing no GPU host, and used by hymt verify), and joins again with the next,
which empties the accounts. The figures printed here are in docs/scale-out.md."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter

import requests
import yaml

from tests.scaleout.conftest import Fleet, translate

TEXTS = ["Good morning", "The weather is fine today.", "Where is the train station?", "Thank you very much."]


def connects_from(fleet: Fleet, source: str, address: str, port: int) -> bool:
    """Whether a TCP connection from `source` (a host of the fleet) to address:port gets through within 3 s."""
    script = f"import socket; socket.create_connection(('{address}', {port}), timeout=3).close()"
    return fleet.host(source).run(f'python3 -c "{script}"').rc == 0


def test_the_edge_balances_across_both_gpu_hosts(fleet: Fleet):
    before = {name: fleet.translation_requests(name) for name in fleet.gpu_hosts}
    answers = [translate(fleet.url, TEXTS[i % len(TEXTS)]) for i in range(16)]
    assert [a.status_code for a in answers] == [200] * 16, [a.text[:200] for a in answers if a.status_code != 200]
    assert all(a.json()["translation"] for a in answers)
    sent = {name: fleet.translation_requests(name) - before[name] for name in fleet.gpu_hosts}
    print(f"\n16 translations through the edge went to: {sent}")
    assert sum(sent.values()) == 16
    assert all(count > 0 for count in sent.values()), f"a GPU host got no translation: {sent}"


def test_each_web_app_is_open_to_the_edge_only(fleet: Fleet):
    first, second = fleet.gpu_hosts
    address = fleet.private_address(first)
    assert connects_from(fleet, fleet.edge, address, 8000), "the edge cannot reach the GPU host's web app"
    # Another host of the same private network is not an edge: the firewall drops it.
    assert not connects_from(fleet, second, address, 8000), "a non-edge host reaches the GPU host's web app"
    # vLLM publishes nothing, on any address.
    assert not connects_from(fleet, fleet.edge, address, 8001)
    published = fleet.host(first).check_output("docker ps --format '{{.Names}} {{.Ports}}'")
    assert "vllm" not in " ".join(line for line in published.splitlines() if "->" in line), published


def test_a_host_whose_vllm_stops_leaves_the_rotation_and_comes_back(fleet: Fleet):
    stopped, serving = fleet.gpu_hosts
    fleet.host(stopped).check_output("docker stop hymt-vllm-1")
    started = time.monotonic()
    try:
        # Until the edge's health checks have taken the host out: ten translations in a row answered.
        failed, streak = 0, 0
        while streak < 10 and time.monotonic() - started < 180:
            if translate(fleet.url).status_code == 200:
                streak += 1
            else:
                failed, streak = failed + 1, 0
        left_after = time.monotonic() - started
        assert streak == 10, f"translations kept failing {left_after:.0f} s after vLLM stopped on {stopped}"
        before = fleet.translation_requests(stopped)
        answers = [translate(fleet.url, text).status_code for text in TEXTS * 3]
        assert answers == [200] * len(answers)
        assert fleet.translation_requests(stopped) == before, f"the edge still sends translations to {stopped}"
        print(
            f"\nvLLM stopped on {stopped}: out of the edge's rotation within {left_after:.1f} s, {failed} "
            f"translation(s) refused meanwhile; then {len(answers)} of {len(answers)} answered by {serving}"
        )
    finally:
        fleet.host(stopped).check_output("docker start hymt-vllm-1")
    restarted = time.monotonic()
    before = fleet.translation_requests(stopped)
    back_after = None
    while time.monotonic() - restarted < 600:
        assert translate(fleet.url).status_code == 200
        if fleet.translation_requests(stopped) > before:
            back_after = time.monotonic() - restarted
            break
        time.sleep(1)
    assert back_after is not None, f"{stopped} did not come back into the edge's rotation after vLLM restarted"
    print(f"vLLM started again on {stopped}: back in the rotation {back_after:.0f} s later (its start included)")


class SteadyLoad:
    """Clients sending translations through the edge one after another until stopped, counting every outcome. Two
    clients pausing a second between translations keep one in flight about half the time (in CI: 498 translations in
    359 s), so a rolling change meets requests throughout, without keeping both CPU vLLMs busy and slowing the packages
    that run beside this one."""

    def __init__(self, url: str, clients: int = 2, pause: float = 1.0):
        self.pause = pause
        self.url = url
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(clients)]

    def client(self, number: int) -> None:
        sent = 0
        while not self.stopping.is_set():
            text = TEXTS[(number + sent) % len(TEXTS)]
            try:
                answer = translate(self.url, text, timeout=120)
                outcome = str(answer.status_code)
                detail = answer.text[:200]
            except Exception as error:  # every way a request can fail counts as a failure here
                outcome, detail = type(error).__name__, str(error)[:200]
            with self.lock:
                self.outcomes[outcome] += 1
                if outcome != "200":
                    self.failures.append(f"{outcome}: {detail}")
            sent += 1
            # A steady load, not a flood: each client waits a little between translations.
            self.stopping.wait(self.pause)

    def __enter__(self) -> SteadyLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=180)


def test_a_rolling_setting_change_under_load_fails_no_request(fleet: Fleet):
    # The rehearsal's own settings, and one more that changes vLLM's command: every GPU host gets a new release.
    settings = fleet.settings
    started = time.monotonic()
    with SteadyLoad(fleet.url) as load:
        time.sleep(5)
        deployed = fleet.make(
            "deploy", f"INVENTORY={fleet.inventory}", f"ANSIBLE_ARGS={settings} -e stack_vllm_max_num_seqs=6"
        )
        time.sleep(5)
    seconds = time.monotonic() - started
    output = deployed.stdout + deployed.stderr
    assert deployed.returncode == 0, output[-6000:]
    # One host at a time, each taken out of the edge's rotation while its vLLM is recreated.
    assert output.count("PLAY [Start the stack on one GPU host at a time]") == len(fleet.gpu_hosts), output[-4000:]
    assert output.count("Leave the edges' rotation]") == len(fleet.gpu_hosts), output[-4000:]
    for name in fleet.gpu_hosts:
        env = fleet.host(name).file("/opt/hymt/stack/current/.env").content_string
        assert "HYMT_VLLM_MAX_NUM_SEQS=6" in env.splitlines()
        assert "--max-num-seqs 6" in " ".join(
            fleet.host(name).check_output("docker inspect hymt-vllm-1 --format '{{join .Args \" \"}}'").split()
        )
    total = sum(load.outcomes.values())
    print(
        f"\nrolling change of max_num_seqs on {len(fleet.gpu_hosts)} GPU hosts in {seconds:.0f} s under "
        f"{len(load.threads)} steady clients: {total} translations, outcomes {dict(load.outcomes)}"
    )
    assert total > 0 and load.outcomes["200"] > 0
    assert not load.failures, f"{len(load.failures)} of {total} requests failed: {load.failures[:5]}"
    # The fleet runs with this setting now: the tests after this one deploy with it, or each would roll both hosts.
    fleet.settings = f"{settings} -e stack_vllm_max_num_seqs=6"


def release(fleet: Fleet, name: str) -> str:
    return fleet.host(name).check_output("readlink /opt/hymt/stack/current").rsplit("/", 1)[-1]


def test_a_host_that_does_not_become_ready_stops_the_roll_and_is_rolled_back(fleet: Fleet, tmp_path):
    first = fleet.gpu_hosts[0]
    before = {name: release(fleet, name) for name in fleet.gpu_hosts}
    settings = fleet.settings
    # The rehearsal's own settings and a vLLM dtype that does not exist: the first host's new release never serves.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        yaml.safe_dump(
            {"stack_env": {"HYMT_CLIENT_RATE": 6000, "HYMT_CLIENT_BURST": 1000, "HYMT_VLLM_DTYPE": "no-such-dtype"}}
        )
    )
    with SteadyLoad(fleet.url) as load:
        deployed = fleet.make("deploy", f"INVENTORY={fleet.inventory}", f"ANSIBLE_ARGS={settings} -e @{broken}")
    output = deployed.stdout + deployed.stderr
    assert deployed.returncode != 0, output[-4000:]
    assert f"Rolled back to release {before[first]}, which serves again." in output, output[-4000:]
    # The roll stopped at the first host: the second kept its release and was never taken out of the rotation.
    assert output.count("PLAY [Start the stack on one GPU host at a time]") == 1, output[-4000:]
    assert {name: release(fleet, name) for name in fleet.gpu_hosts} == before
    # The first host serves its previous release and is back in the edge's rotation.
    served = fleet.translation_requests(first)
    answers = [translate(fleet.url, TEXTS[i % len(TEXTS)]).status_code for i in range(16)]
    assert answers == [200] * 16
    assert fleet.translation_requests(first) > served, f"{first} is not back in the edge's rotation"
    total = sum(load.outcomes.values())
    print(
        f"\na broken release on {first}, rolled back under {len(load.threads)} steady clients: {total} translations, "
        f"{load.outcomes}"
    )
    assert not load.failures, f"{len(load.failures)} of {total} requests failed: {load.failures[:5]}"


def test_a_gpu_host_leaves_while_the_edge_asks_for_a_login_and_joins_when_the_site_is_open(fleet: Fleet, tmp_path):
    """Two deploys that each change two of the edge's settings (the suite's time goes in deploys): the first takes a
    host out of gpu_hosts and adds a login, hymt verify logs in, the second puts the host back and removes the login.
    Neither gives a GPU host a new release."""
    first, second = fleet.gpu_hosts
    settings = fleet.settings
    upstreams = "/opt/hymt/edge/balance/upstreams.caddy"
    accounts = "/opt/hymt/edge/access/proxy/basic_auth.caddy"
    # The same inventory without the second host in gpu_hosts (it stays a known host), next to the same group_vars.
    smaller = yaml.safe_load(fleet.inventory.read_text())
    del smaller["all"]["children"]["gpu_hosts"]["hosts"][second]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(smaller, sort_keys=False))
    (tmp_path / "group_vars").symlink_to(fleet.inventory.parent / "group_vars")
    password = secrets.token_urlsafe(12)
    # The hash made as docs/reliability.md says, by the Caddy the edge runs.
    password_hash = fleet.host(fleet.edge).check_output(
        f"docker exec hymt-proxy-1 caddy hash-password --plaintext {password}"
    )
    login = tmp_path / "login.yml"
    login.write_text(
        yaml.safe_dump(
            {
                "hymt_basic_auth_users": [{"user": "ann", "password_hash": password_hash.strip()}],
                "hymt_verify_login": {"user": "ann", "password": password},
            }
        )
    )
    releases = {name: release(fleet, name) for name in fleet.gpu_hosts}

    left = fleet.make("deploy", f"INVENTORY={inventory}", f"ANSIBLE_ARGS={settings} -e @{login}")
    assert left.returncode == 0, (left.stdout + left.stderr)[-4000:]
    listed = fleet.host(fleet.edge).file(upstreams).content_string
    assert fleet.private_address(second) not in listed and fleet.private_address(first) in listed, listed
    # The login and the smaller list are the edge's: the GPU hosts kept their releases (nothing to roll).
    assert {name: release(fleet, name) for name in fleet.gpu_hosts} == releases
    body = {"text": "Good morning", "target": "zh"}
    answers = {
        "page": requests.get(fleet.url, timeout=30),
        "translation": requests.post(f"{fleet.url}/api/translate", json=body, timeout=60),
        "wrong password": requests.get(fleet.url, auth=("ann", "wrong"), timeout=30),
        "readyz": requests.get(f"{fleet.url}/readyz", timeout=30),
        "page logged in": requests.get(fleet.url, auth=("ann", password), timeout=30),
        "translation logged in": requests.post(
            f"{fleet.url}/api/translate", json=body, auth=("ann", password), timeout=60
        ),
    }
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "page": 401,
        "translation": 401,
        "wrong password": 401,
        "readyz": 200,
        "page logged in": 200,
        "translation logged in": 200,
    }
    assert answers["translation logged in"].json()["translation"]
    before = fleet.translation_requests(second)
    logged_in = [translate(fleet.url, TEXTS[i % len(TEXTS)], auth=("ann", password)) for i in range(12)]
    assert [answer.status_code for answer in logged_in] == [200] * 12
    assert fleet.translation_requests(second) == before, f"the edge still sends translations to {second}"

    # hymt verify logs in with the inventory's hymt_verify_login, and its report never shows the password.
    verified = fleet.make("verify", f"INVENTORY={inventory}", f"ANSIBLE_ARGS={settings} -e @{login}")
    output = verified.stdout + verified.stderr
    assert verified.returncode == 0, output[-6000:]
    assert password not in output

    joined = fleet.make("deploy", f"INVENTORY={fleet.inventory}", f"ANSIBLE_ARGS={settings}")
    assert joined.returncode == 0, (joined.stdout + joined.stderr)[-4000:]
    assert fleet.private_address(second) in fleet.host(fleet.edge).file(upstreams).content_string
    assert not fleet.host(fleet.edge).file(accounts).exists
    assert requests.get(fleet.url, timeout=30).status_code == 200
    assert {name: release(fleet, name) for name in fleet.gpu_hosts} == releases
    before = fleet.translation_requests(second)
    assert [translate(fleet.url, TEXTS[i % len(TEXTS)]).status_code for i in range(16)] == [200] * 16
    assert fleet.translation_requests(second) > before, f"{second} did not rejoin the edge's rotation"
