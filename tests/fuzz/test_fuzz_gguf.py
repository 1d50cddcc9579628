"""Fuzz the GGUF header reader (``tokenization/gguf.py``): any file either gives a header or
one ``TokenizerLoadError``, in bounded time and memory. The files are made of real GGUF
structure (magic, version, typed key/value pairs, nested arrays) with random values, counts
and lengths, then truncated or corrupted at random."""

from __future__ import annotations

import struct

import pytest
from budget import bounded_memory, fuzz_for, only_under_make_fuzz, share, time_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenprism.tokenization import TokenizerLoadError
from tokenprism.tokenization.gguf import read_header

only_under_make_fuzz()

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
           12: "<d"}
KEYS = ["tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.merges",
        "tokenizer.ggml.token_type", "tokenizer.chat_template", "general.architecture", "general.name",
        "llama.context_length", "x"]
# counts and lengths around the edges: 0, small, "a bit more than the file", huge
sizes = st.one_of(st.integers(0, 40),
                  st.sampled_from([255, 256, 65535, 1 << 31, (1 << 63) + 5, (1 << 64) - 1]))


def u32(n: int) -> bytes:
    return struct.pack("<I", n & 0xFFFFFFFF)


def u64(n: int) -> bytes:
    return struct.pack("<Q", n & 0xFFFFFFFFFFFFFFFF)


def gguf_string(data: bytes, declared: int | None = None) -> bytes:
    return u64(len(data) if declared is None else declared) + data


@st.composite
def values(draw, depth: int = 0) -> tuple[int, bytes]:
    """(type, encoded value) of any GGUF type, arrays nested up to a few levels."""
    kind = draw(st.sampled_from([*SCALARS, 8, 9, 9, draw(st.integers(0, 40))]))
    if kind in SCALARS:
        return kind, draw(st.binary(min_size=struct.calcsize(SCALARS[kind]),
                                    max_size=struct.calcsize(SCALARS[kind])))
    if kind == 8:
        text = draw(st.binary(max_size=30))
        return 8, gguf_string(text, draw(st.one_of(st.none(), sizes)))
    if kind == 9 and depth < 4:
        element = draw(st.sampled_from([*SCALARS, 8, 9]))
        items = [draw(values(depth + 1)) for _ in range(draw(st.integers(0, 6)))]
        body = b"".join(v for t, v in items if t == element)
        count = len([1 for t, _ in items if t == element])
        return 9, u32(element) + u64(draw(st.one_of(st.just(count), sizes))) + body
    return kind, draw(st.binary(max_size=16))  # an unknown type: anything may follow


@st.composite
def gguf_files(draw) -> bytes:
    pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), values()), max_size=8))
    body = b"".join(gguf_string(k.encode()) + u32(t) + v for k, (t, v) in pairs)
    head = (
        draw(st.sampled_from([b"GGUF", b"GGUF", b"GGUF", b"FUGG", b"GGU"]))
        + u32(draw(st.sampled_from([3, 2, 1, 0, 3 << 24, 0xFFFFFFFF])))
        + u64(draw(sizes))
        + u64(draw(st.one_of(st.just(len(pairs)), sizes)))
    )
    data = head + body
    cut = draw(st.integers(0, len(data)))
    if draw(st.booleans()):
        data = data[:cut]  # a file that ends early
    elif draw(st.booleans()) and data:
        flip = draw(st.integers(0, len(data) - 1))  # one corrupted byte
        data = data[:flip] + bytes([draw(st.integers(0, 255))]) + data[flip + 1 :]
    return data + draw(st.binary(max_size=8))


def check(tmp_path, data: bytes) -> None:
    path = tmp_path / "fuzz.gguf"
    path.write_bytes(data)
    with time_limit(), bounded_memory(64 * len(data) + (8 << 20)):
        try:
            header = read_header(path, "fuzz.gguf")
        except TokenizerLoadError as exc:
            assert "\n" not in str(exc)
            return
    assert header.length <= len(data)


@pytest.mark.parametrize("strategy", ["structured", "raw"])
def test_gguf_header_reader(tmp_path_factory, strategy):
    tmp_path = tmp_path_factory.mktemp("gguf")
    files = gguf_files() if strategy == "structured" else st.binary(max_size=200).map(lambda b: b"GGUF" + b)

    @settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=files)
    def run(data):
        check(tmp_path, data)

    fuzz_for(share(parts=2), run)


def test_deeply_nested_arrays(tmp_path):
    levels = 100_000  # 12 bytes each: a 1.2 MB header
    data = b"GGUF" + u32(3) + u64(0) + u64(1) + gguf_string(b"tokenizer.ggml.tokens") + u32(9)
    data += (u32(9) + u64(1)) * levels + u32(4) + u64(0)
    check(tmp_path, data)
