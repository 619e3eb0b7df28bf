"""daemon.json: merged from the documented parts, and checked for what would stop an engine that cannot check it."""

from __future__ import annotations

import pytest

from hymt import hostfacts
from hymt.provision import docker_daemon as docker

DEFAULT_OPTIONS = {"log-driver": "json-file", "log-opts": {"max-size": "50m", "max-file": "5"}, "live-restore": True}
NVIDIA = {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}


def test_the_defaults_alone_are_the_base_dictionary():
    assert docker.daemon_config(DEFAULT_OPTIONS, [], "", {}, {}, {}) == DEFAULT_OPTIONS


def test_the_parts_merge_in_order():
    config = docker.daemon_config(
        DEFAULT_OPTIONS,
        ["https://mirror.example.com"],
        "/data/docker",
        {"crun": {"path": "/usr/bin/crun"}},
        NVIDIA,
        {"log-opts": {"max-size": "10m"}, "default-runtime": "nvidia"},
    )
    assert config == {
        "log-driver": "json-file",
        # Dictionaries merge key by key: changing max-size keeps max-file.
        "log-opts": {"max-size": "10m", "max-file": "5"},
        "live-restore": True,
        "registry-mirrors": ["https://mirror.example.com"],
        "data-root": "/data/docker",
        "runtimes": {"crun": {"path": "/usr/bin/crun"}, **NVIDIA},
        "default-runtime": "nvidia",
    }
    assert docker.daemon_config_problems(config) == []


def test_merging_leaves_the_inputs_alone():
    options = {"log-opts": {"max-size": "50m"}}
    docker.daemon_config(options, extra_options={"log-opts": {"max-size": "1m"}})
    assert options == {"log-opts": {"max-size": "50m"}}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"live-restor": True}, '"live-restor" is not a daemon.json option'),
        ({"log-opts": {"max-file": 5}}, 'log option "max-file" must be a string (quote it: "5")'),
        ({"live-restore": "yes"}, '"live-restore" must be true or false'),
        ({"registry-mirrors": "https://mirror.example.com"}, '"registry-mirrors" must be a list of strings'),
        ({"registry-mirrors": ["mirror.example.com"]}, 'registry mirror "mirror.example.com" must be a URL'),
        ({"data-root": "data/docker"}, '"data-root" must be an absolute path'),
        ({"runtimes": {"nvidia": {"args": []}}}, 'runtime "nvidia" needs a "path"'),
        ({"default-runtime": "nvidia"}, '"default-runtime" is "nvidia", which is neither runc nor one of "runtimes"'),
        ({"hosts": ["tcp://0.0.0.0:2375"]}, '"hosts" conflicts with the -H flag'),
        ({"max-concurrent-downloads": "3"}, '"max-concurrent-downloads" must be a whole number'),
        ({"log-level": "verbose"}, '"log-level" must be one of debug, info, warn, error, fatal'),
        ({"features": {"cdi": "true"}}, '"features" must be an object of name -> true/false'),
        (["not", "an", "object"], "daemon.json must be a JSON object"),
    ],
)
def test_what_would_stop_the_engine_is_named(config, problem):
    problems = docker.daemon_config_problems(config)
    assert any(problem in found for found in problems), problems


def test_what_nvidia_ctk_writes_is_accepted():
    # nvidia-ctk runtime configure writes "args" (which Docker ignores) rather than "runtimeArgs".
    config = {"runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}, "features": {"cdi": True}}
    assert docker.daemon_config_problems(config) == []


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ("Docker version 20.10.24+dfsg1, build 5d6db84", 20),
        ("Docker version 29.7.2, build 1a2b3c4", 29),
        ("", 0),
        ("bash: dockerd: command not found", 0),
    ],
)
def test_the_engine_version_decides_whether_dockerd_can_validate(output, major):
    assert hostfacts.engine_major_version(output) == major
