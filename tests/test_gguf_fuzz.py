"""The GGUF header reader on damaged headers (hypothesis): byte flips, truncations and huge
counts or lengths written anywhere either read or fail with one TokenizerLoadError line — never
another exception, never a long read, never a large allocation."""

from __future__ import annotations

import struct
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_gguf import ARRAY, STRING, gguf_bytes, tiny_tokenizer_kvs
from tokenprism.tokenization import TokenizerLoadError
from tokenprism.tokenization.gguf import GgufHeader, read_header

BASE = gguf_bytes(
    [
        ("general.name", STRING, "fuzz"),
        ("general.layers", ARRAY, (4, [1, 2, 3])),
        ("general.nested", ARRAY, (ARRAY, [])),
        *tiny_tokenizer_kvs(),
        ("tokenizer.ggml.scores", ARRAY, (6, [0.0, -1.0, -2.0])),
        ("tokenizer.chat_template", STRING, "{{ messages }}"),
    ]
)

_BIG = st.sampled_from([1 << 16, 1 << 21, (1 << 21) + 1, 1 << 31, 1 << 32, 1 << 40, (1 << 64) - 1])


@st.composite
def damaged(draw) -> bytes:
    data = bytearray(BASE)
    for _ in range(draw(st.integers(0, 4))):  # single bytes changed
        data[draw(st.integers(4, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):  # a count or a length made huge
        at = draw(st.integers(4, len(data) - 8))
        data[at : at + 8] = struct.pack("<Q", draw(_BIG))
    if draw(st.booleans()):
        del data[draw(st.integers(4, len(data))) :]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_a_damaged_header_reads_or_fails_with_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.gguf"
        path.write_bytes(data)
        start = time.perf_counter()
        try:
            header = read_header(path, "fuzz")
        except TokenizerLoadError as error:
            assert "\n" not in str(error)
        else:
            assert isinstance(header, GgufHeader) and header.length <= len(data)
        assert time.perf_counter() - start < 2
