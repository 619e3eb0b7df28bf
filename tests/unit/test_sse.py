"""Server-sent events as vLLM, the web gateway and proxies send them, however the bytes are cut into chunks."""

from __future__ import annotations

import pytest

from hymt.core.sse import DONE, Event, iter_events, iter_lines, iter_named_events

VLLM_STREAM = (
    'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
    ": keep-alive\n\n"
    'data: {"choices":[{"delta":{"content":"你好"}}]}\n\n'
    "event: message\nid: 7\nretry: 100\n"
    'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
    "data: [DONE]\n\n"
)
EXPECTED = [
    '{"choices":[{"delta":{"role":"assistant","content":""}}]}',
    None,  # the comment
    '{"choices":[{"delta":{"content":"你好"}}]}',
    '{"choices":[{"delta":{},"finish_reason":"stop"}]}',
    DONE,
]


def events(raw: bytes, size: int) -> list[str | None]:
    chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
    return list(iter_events(iter_lines(chunks)))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_events_survive_any_chunking_even_inside_utf8_characters(size):
    assert events(VLLM_STREAM.encode(), size) == EXPECTED


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
@pytest.mark.parametrize("size", [1, 5, 1000])
def test_every_line_ending_of_the_sse_rules(newline, size):
    assert events(VLLM_STREAM.replace("\n", newline).encode(), size) == EXPECTED


def test_multi_line_data_is_joined_with_newlines_and_one_leading_space_is_dropped():
    raw = b"data:first\ndata:  second\ndata\n\n"
    assert events(raw, 4) == ["first\n second\n"]


def test_an_event_cut_before_its_blank_line_is_dropped():
    assert events(b'data: {"a": 1}\n\ndata: {"b"', 3) == ['{"a": 1}']


def test_unknown_fields_and_lone_blank_lines_are_ignored():
    assert events(b"\n\nfoo: bar\n\nevent: x\n\n", 2) == []


GATEWAY_STREAM = (
    'event: delta\ndata: {"text": "Bon"}\n\n'
    ": keep-alive\n\n"
    'event:delta\r\ndata: {"text": "jour"}\r\n\r\n'
    "event: ignored\n\n"  # an event name without data: no event, and the name does not carry over
    'data: {"text": "unnamed"}\n\n'
    'event: done\ndata: {"translation": "Bonjour"}\n\n'
)


@pytest.mark.parametrize("size", [1, 4, 10_000])
def test_named_events_keep_their_names_and_unnamed_ones_are_messages(size):
    raw = GATEWAY_STREAM.encode()
    chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
    assert list(iter_named_events(iter_lines(chunks))) == [
        Event("delta", '{"text": "Bon"}'),
        None,
        Event("delta", '{"text": "jour"}'),
        Event("message", '{"text": "unnamed"}'),
        Event("done", '{"translation": "Bonjour"}'),
    ]
