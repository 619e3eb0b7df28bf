"""Nothing of vLLM through the public URL: a proxy with the stack's allowlist passes; one that forwards vLLM's routes,
one that decodes and normalises paths after matching, and front doors answering 401, 403 or 405 all fail."""

from __future__ import annotations

import pytest
import requests

from hymt.verify.exposure import ENCODED_ROUTES, METHODS, VLLM_ROUTES, check_not_exposed, probe_routes
from hymt.verify.http import Probe
from hymt.verify.result import CheckFailed
from tests.support.fake_openai import running
from tests.support.web_deployment import deployment, front_door
from tests.verify import fakes


def probe(url: str) -> Probe:
    return Probe(base_url=url, session=requests.Session(), timeout=10)


def test_the_issue_s_routes_and_encoded_variants_are_all_probed_with_get_and_post():
    required = {"/v1/models", "/v1/chat/completions", "/invocations", "/pause", "/tokenize", "/collective_rpc",
                "/update_weights", "/metrics"}  # fmt: skip
    assert required <= set(VLLM_ROUTES)
    assert {"/api/..%2fmetrics", "//metrics"} <= set(ENCODED_ROUTES)
    assert METHODS == ("GET", "POST")


@pytest.fixture(scope="module")
def stack():
    """The gateway with a fake vLLM that wants an API key (so /v1 answers 401, as vLLM's does)."""
    with running(api_key="secret") as fake, deployment(fake, api_key="secret") as web:
        yield web, fake


def test_the_stack_s_allowlist_passes_and_the_paths_arrive_exactly_as_written(stack):
    web, fake = stack
    with fakes.proxy(web, vllm=fake.root) as door:
        reason = check_not_exposed(probe(door.url))
    assert "all answered 404" in reason
    # Encoded slashes arrive encoded (urllib3 writes the escapes in upper case, which means the same).
    assert {"/api/..%2fmetrics", "/v1%2fmodels", "/api/%2e%2e/metrics"} <= {path.lower() for path in door.seen}


def test_a_proxy_that_forwards_vllm_fails_even_where_vllm_answers_401(stack):
    web, fake = stack
    with fakes.proxy(web, vllm=fake.root, forward_rest=True) as door:
        exposed = probe_routes(probe(door.url))
        with pytest.raises(CheckFailed) as failure:
            check_not_exposed(probe(door.url))
    assert ("GET", "/v1/models", "401") in exposed
    assert ("POST", "/v1/chat/completions", "401") in exposed
    assert "GET /v1/models -> 401" in str(failure.value)


def test_a_proxy_that_normalises_after_matching_leaks_through_the_encoded_variants(stack):
    web, _ = stack
    # Behind it, a stand-in for vLLM that answers every route (the fake OpenAI server has no /metrics).
    with (
        front_door(200, "vllm:num_requests_running 0") as vllm,
        fakes.proxy(web, vllm=vllm.url, normalise=True) as door,
    ):
        exposed = probe_routes(probe(door.url))
    leaked = {path for _, path, _ in exposed}
    assert "/api/..%2fmetrics" in leaked or "/api/..%2f..%2fmetrics" in leaked
    assert not leaked & set(VLLM_ROUTES), "the plain routes are still refused: only the encoded ones leak"


def test_the_gateway_alone_fails_its_own_metrics_are_internal(stack):
    web, _ = stack
    exposed = probe_routes(probe(web))
    assert ("GET", "/metrics", "200") in exposed


@pytest.mark.parametrize("status", [401, 403, 405])
def test_any_answer_but_404_counts_as_exposed(status):
    with front_door(status, "no") as door, pytest.raises(CheckFailed) as failure:
        check_not_exposed(probe(door.url))
    assert f"GET /v1/models -> {status}" in str(failure.value) and "and 30 more" in str(failure.value)


def test_a_redirect_is_judged_by_where_it_leads():
    with front_door(404, "Not found") as target, front_door(308, "", headers={"Location": "PLACEHOLDER"}) as door:
        door.headers["Location"] = target.url + "/elsewhere"
        assert "all answered 404" in check_not_exposed(probe(door.url))
        target.status = 200
        with pytest.raises(CheckFailed, match="after a redirect"):
            check_not_exposed(probe(door.url))


class FlakySession(requests.Session):
    """Times out the first `failures` requests to each path, then answers 404 (a busy host, not an exposed route)."""

    def __init__(self, failures: int):
        super().__init__()
        self.failures, self.tries = failures, {}

    def send(self, request, **kwargs):
        key = (request.method, request.url)
        self.tries[key] = self.tries.get(key, 0) + 1
        if self.tries[key] <= self.failures:
            raise requests.ReadTimeout("timed out")
        response = requests.Response()
        response.status_code, response.url, response.request = 404, request.url, request
        return response


def test_one_timeout_on_a_busy_host_is_tried_again_and_not_called_exposed():
    session = FlakySession(failures=1)
    assert "all answered 404" in check_not_exposed(Probe(base_url="http://door.test", session=session, timeout=1))
    assert set(session.tries.values()) == {2}


def test_a_route_that_never_answers_cleanly_counts_as_exposed():
    session = FlakySession(failures=2)
    with pytest.raises(CheckFailed) as failure:
        check_not_exposed(Probe(base_url="http://door.test", session=session, timeout=1))
    assert "GET /v1/models -> no clean answer (ReadTimeout)" in str(failure.value)
