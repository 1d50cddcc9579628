"""Fuzz the JSON-RPC stdio framing (``lsp/transport.py``, ``MessageReader``): whatever bytes
arrive, in whatever chunks, no exception escapes the reader, it finishes at the end of the
input, and well-framed messages arrive whole and in order."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from budget import bounded_memory, fuzz_for, only_under_make_fuzz, share, time_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenprism.lsp.transport import MessageReader

only_under_make_fuzz()


class Recorder:
    """The protocol side: keeps what the reader hands over."""

    def __init__(self):
        self.messages = []
        self.errors = []

    def structure_message(self, data):
        return data

    def handle_message(self, data):
        self.messages.append(data)


def read_all(chunks: list[bytes]) -> Recorder:
    """Feed ``chunks`` to a MessageReader on a fresh loop, then the end of input."""
    recorder = Recorder()

    async def main():
        reader = MessageReader(recorder, threading.Event(), lambda exc, kind: recorder.errors.append(exc),
                               frozenset({"textDocument/didChange"}))
        for chunk in chunks:
            reader.feed(chunk)
            await asyncio.sleep(0)
        reader.feed_eof()
        await asyncio.wait_for(reader.done, 5)

    asyncio.run(main())
    return recorder


def frame(body: bytes, header: bytes | None = None) -> bytes:
    return (header if header is not None else b"Content-Length: %d\r\n\r\n" % len(body)) + body


# integers within 64 bits: wider ones are a known bug with its own case below
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 63), (1 << 64) - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
messages = st.builds(
    lambda i, method, params: {"jsonrpc": "2.0", "id": i, "method": method, "params": params},
    st.integers(0, 1 << 40), st.sampled_from(["initialize", "textDocument/didChange", "x/y", "é"]),
    json_values,
)
# header blocks a client may send: other fields, any case, blank lines first, a Content-Type
headers = st.sampled_from([
    None, b"content-length: %d\r\n\r\n",
    b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n",
    b"Content-Type: x\r\nContent-Length:   %d  \r\n\r\n", b"\r\nContent-Length: %d\r\n\r\n",
])


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)]) if b > a]


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(msgs=st.lists(messages, max_size=6), kinds=st.lists(headers, min_size=6, max_size=6),
       cuts=st.lists(st.integers(0, 1 << 16), max_size=12))
def run_framed(msgs, kinds, cuts):
    bodies = [json.dumps(m).encode() for m in msgs]
    data = b"".join(frame(b, k % len(b) if k else None) for b, k in zip(bodies, kinds))
    with time_limit(), bounded_memory(64 * len(data) + (8 << 20)):
        got = read_all(split(data, cuts))
    assert json.dumps(got.messages) == json.dumps(msgs) and got.errors == []  # types too: 1 is not 1.0


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(st.binary(max_size=40),
                       st.sampled_from([b"Content-Length: ", b"\r\n", b"\r\n\r\n", b"-1",
                                        b"99999999999999999999", b"{}", b"[]"])),
             max_size=20).map(b"".join),
), cuts=st.lists(st.integers(0, 1 << 16), max_size=12))
def run_garbage(data, cuts):
    with time_limit(), bounded_memory(64 * len(data) + (8 << 20)):
        read_all(split(data, cuts))  # the property: it returns (no exception, no hang)


def test_framed_messages_arrive_whole_and_in_order():
    fuzz_for(share(parts=2), run_framed)


def test_any_bytes_in_any_chunks():
    fuzz_for(share(parts=2), run_garbage)


@pytest.mark.parametrize("garbage", [
    b"Content-Length: abc\r\n\r\n",
    b"Content-Length: -5\r\n\r\n",
    pytest.param(b"Content-Length: 2\r\n\r\n", id="too-small"),
    pytest.param(b'{"no": "header"}', id="body-without-header"),
])
def test_a_valid_message_after_garbage_is_read(garbage):
    good = {"jsonrpc": "2.0", "id": 1, "method": "shutdown"}
    with time_limit():
        got = read_all([garbage + frame(json.dumps(good).encode())])
    assert got.messages == [good]


@pytest.mark.parametrize("number", [-(1 << 63) - 1, 1 << 64])
def test_integers_beyond_64_bits_arrive_exactly(number):
    message = {"jsonrpc": "2.0", "id": number, "method": "x/y", "params": [number]}
    with time_limit():
        got = read_all([frame(json.dumps(message).encode())])
    assert json.dumps(got.messages) == json.dumps([message])  # 2**64 == float(2**64): compare the JSON
