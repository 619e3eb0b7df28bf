"""The images role's decisions on what `docker image inspect` says: which images are stand-ins and what to do about
each, which images the host lacks (by id, not by tag), what a bundle records."""

from __future__ import annotations

from hymt.provision import images


def inspected(tag: str, image_id: str, labels: dict | None = None) -> dict:
    return {"Id": image_id, "RepoTags": [tag], "Config": {"Labels": labels}}


STANDIN = {"org.hymt.standin": "true", "org.hymt.standin.for": "caddy:2.10.2"}
BUILT_ON_STANDIN = {"org.hymt.standin": "true", "org.hymt.standin.for": "python:3.11.14-slim-bookworm"}


def test_stand_ins_are_found_by_their_label_and_each_gets_its_own_advice():
    found = [
        inspected("caddy:2.10.2", "sha256:c1", STANDIN),
        inspected("hymt/web:0.1.0", "sha256:w1", BUILT_ON_STANDIN),
        inspected("vllm/vllm-openai:v0.32.0", "sha256:v1", None),
    ]
    assert images.standins(found) == ["caddy:2.10.2", "hymt/web:0.1.0"]
    advice = images.standin_advice(found)
    assert "caddy:2.10.2 is a stand-in of caddy:2.10.2: remove it (docker image rm caddy:2.10.2)" in advice
    assert "hymt/web:0.1.0 was built on a stand-in of python:3.11.14-slim-bookworm" in advice
    assert "docker pull python:3.11.14-slim-bookworm" in advice and "make web-image" in advice
    assert images.standin_advice([inspected("caddy:2.10.2", "sha256:c2", {"org.hymt.standin": "false"})]) == ""


def test_an_image_is_shipped_when_the_host_lacks_that_exact_id():
    control = images.ids_by_reference(
        [inspected("hymt/web:0.1.0", "sha256:new"), inspected("hymt/vllm-cpu:0.32.0", "sha256:same")],
        ["hymt/web:0.1.0", "hymt/vllm-cpu:0.32.0", "caddy:2.10.2"],
    )
    host = {"hymt/web:0.1.0": "sha256:old", "hymt/vllm-cpu:0.32.0": "sha256:same"}
    plan = images.to_ship(control, host)
    assert plan == [{"reference": "hymt/web:0.1.0", "id": "sha256:new", "file": "new.tar"}]
    assert images.to_ship(control, {**host, "hymt/web:0.1.0": "sha256:new"}) == []


def test_the_control_machine_is_told_which_target_builds_what_it_lacks():
    missing = ["hymt/web:0.1.0", "hymt/vllm-cpu:0.32.0", "caddy:2.10.2", "python:3.11.14-slim-bookworm"]
    assert images.build_advice(missing) == "make web-image, make vllm-cpu-image, make standins"


def test_a_bundle_records_each_image_with_its_archive_and_whether_it_is_a_stand_in():
    entries = images.bundle_entries(
        [inspected("caddy:2.10.2", "sha256:" + "c" * 64, STANDIN), inspected("hymt/web:0.1.0", "sha256:" + "w" * 64)],
        ["caddy:2.10.2", "hymt/web:0.1.0", "hymt/vllm-cpu:0.32.0"],
    )
    assert entries == {
        "caddy:2.10.2": {"id": "sha256:" + "c" * 64, "file": "images/" + "c" * 32 + ".tar", "standin": True},
        "hymt/web:0.1.0": {"id": "sha256:" + "w" * 64, "file": "images/" + "w" * 32 + ".tar", "standin": False},
    }
