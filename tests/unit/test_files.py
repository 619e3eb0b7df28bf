"""Reading a user's text file: each failure has its plain reason."""

from __future__ import annotations

import pytest

from hymt.core.files import TextFileError, read_text_file


def test_a_utf8_file_is_read(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("héllo 世界\n", encoding="utf-8")
    assert read_text_file(path) == "héllo 世界\n"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b"caf\xe9"), "is not UTF-8 text"),
        (lambda p: p.mkdir(), "cannot be read (Is a directory)"),
    ],
)
def test_each_failure_says_why(tmp_path, make, reason):
    path = tmp_path / "t.txt"
    make(path)
    with pytest.raises(TextFileError) as caught:
        read_text_file(path)
    assert caught.value.reason == reason
    assert str(caught.value) == f"{path} {reason}"
