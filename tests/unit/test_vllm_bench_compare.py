"""hymt_dev.vllm_bench_compare refuses options that leave nothing to run or would be ignored, before it starts any
container, with one line that says what to change (exit code 2)."""

from __future__ import annotations

import pytest

from hymt_dev import vllm_bench_compare as compare


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--paths-only", "--no-paths"], "--paths-only and --no-paths leave nothing to run"),
        (["--no-stream", "--no-paths"], "--no-stream changes part two, which --no-paths leaves out"),
        (["--levels", "1,x"], "--levels takes whole numbers of 1 or more"),
        (["--levels", "0"], "--levels takes whole numbers of 1 or more"),
        (["--requests", "0"], "--requests and --max-tokens must be 1 or more"),
    ],
)
def test_options_that_cannot_run_are_refused_before_any_container_starts(options, says, capsys, monkeypatch, tmp_path):
    def no_docker(*args, **kwargs):
        raise AssertionError("Docker was called for options that cannot run")

    monkeypatch.setattr(compare, "_docker", no_docker)
    assert compare.main([*options, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vllm_bench_compare: error: ") and says in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
