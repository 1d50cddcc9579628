"""Tokenizer files made to hurt (issue 15): FIFOs and devices as models, sparse GGUF files with
absurd arrays and strings, tokenizer.json files with absurd ids. Each load runs in a subprocess
with an address-space limit and a timeout, so a regression fails fast instead of hanging or
eating the machine; the subprocess reports its time and peak RSS."""

from __future__ import annotations

import json
import os
import random
import resource
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from test_gguf import ARRAY, STRING, gguf_bytes, tiny_tokenizer_kvs
from tokenprism.tokenization import LoadOptions, Reason, TokenizerLoadError, gguf, load_tokenizer, resolve
from tokenprism.tokenization.gguf import load_gguf, read_header

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")

TIMEOUT = 30  # seconds per subprocess; every case here takes well under 2 s when fixed
ADDRESS_SPACE = 3 << 30  # the interpreter with numpy and tokenizers maps ~1.2 GB of it at rest
PEAK_MB = 300  # a refused or tiny file costs the interpreter's own memory, nothing more

_LOAD = """
import json, sys, time
from tokenprism.tokenization import TokenizerLoadError, load_tokenizer
start = time.perf_counter()
try:
    tok = load_tokenizer(sys.argv[1])
    out = {"loaded": True, "vocab_size": tok.info.vocab_size}
except TokenizerLoadError as error:
    out = {"loaded": False, "reason": error.reason.value, "message": str(error)}
out["seconds"] = time.perf_counter() - start
with open("/proc/self/status") as status:  # VmHWM: ru_maxrss would include the forking parent's
    out["peak_mb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
if sys.argv[1].endswith(".gguf"):  # what reading the header alone costs, apart from imports
    from pathlib import Path
    from tokenprism.tokenization.gguf import read_header

    def bytes_read():
        with open("/proc/self/io") as io:
            return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))

    before = bytes_read()
    try:
        read_header(Path(sys.argv[1]), "header")
    except TokenizerLoadError:
        pass
    out["header_bytes_read"] = bytes_read() - before
print(json.dumps(out))
"""


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_bounded(script: str, *args: str, env: dict | None = None) -> dict:
    """Run ``script`` in a fresh interpreter under the limits; its last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=TIMEOUT,
        preexec_fn=_limits, env=dict(os.environ, **(env or {})),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.splitlines()[-1])


def load_bounded(spec: str | Path) -> dict:
    result = run_bounded(_LOAD, str(spec))
    assert result["peak_mb"] < PEAK_MB, result
    if not result["loaded"]:
        message = result["message"]
        assert "\n" not in message and message.startswith(f"cannot load tokenizer '{spec}'"), message
    return result


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _sparse_gguf(path: Path, key: str, value_head: bytes, size: int) -> Path:
    """A GGUF file of ``size`` bytes (sparse: it costs no disk) whose last key's value starts with
    ``value_head`` and runs on over zero bytes (``size`` 0: the value is left to the caller)."""
    head = gguf_bytes([("general.architecture", STRING, "gpt2"), ("tokenizer.ggml.model", STRING, "gpt2")])
    head = head[:16] + struct.pack("<Q", 3) + head[24:]  # one more key: ours
    path.write_bytes(head + _string(key) + value_head)
    if size:
        os.truncate(path, size)
    return path


# -- FIFOs and devices (item 3) -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["model-fifo", "model.gguf", "tokenizer.json"])
def test_a_fifo_as_the_model_is_refused_at_once(name, tmp_path):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    result = load_bounded(fifo)
    assert result["reason"] == Reason.INVALID.value and "FIFO" in result["message"], result
    assert result["seconds"] < 5


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_as_the_model_is_called_a_device(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    result = load_bounded(device)
    assert result["reason"] == Reason.INVALID.value and "character device" in result["message"], result


_CATALOG = """
import json, sys
from tokenprism.tokenization.local_models import gguf_models
from tokenprism.tokenization import LoadOptions
found = gguf_models((sys.argv[1],), LoadOptions())
print(json.dumps([entry["spec"] for entry in found]))
"""


def test_a_fifo_in_a_search_folder_blocks_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("TOKENPRISM_GGUF_PATH", raising=False)
    folder = tmp_path / "models"
    folder.mkdir()
    os.mkfifo(folder / "my-llama3-8b.gguf")
    real = folder / "tiny.gguf"
    real.write_bytes(gguf_bytes(tiny_tokenizer_kvs()))
    # listing the folder (the model picker) skips the FIFO instead of waiting on it
    assert run_bounded(_CATALOG, str(folder)) == [str(real)]
    # an alias never resolves to it: it falls back to the hub as if the folder were empty
    resolved = resolve("llama3", LoadOptions(gguf_search_paths=(str(folder),)))
    assert resolved.kind == "hub", resolved


# -- GGUF headers: every value bounded by what a tokenizer needs (item 6) -------------------------


def test_a_huge_wanted_byte_array_is_refused_before_it_is_read(tmp_path):
    size = 200 << 20
    path = _sparse_gguf(tmp_path / "charsmap.gguf", "tokenizer.ggml.precompiled_charsmap",
                        struct.pack("<IIQ", ARRAY, 0, size - 200), size)
    result = load_bounded(path)
    assert result["reason"] == Reason.UNSUPPORTED.value, result
    expected = "tokenizer.ggml.precompiled_charsmap: an array of 209,715,000 elements"
    assert expected in result["message"], result
    assert result["header_bytes_read"] < 2 << 20 and result["seconds"] < 5, result


def test_an_8_gib_string_array_is_refused_before_it_is_read(tmp_path):
    size = 8 << 30
    array = struct.pack("<IIQ", ARRAY, STRING, size // 8)  # a billion empty strings
    result = load_bounded(_sparse_gguf(tmp_path / "tokens.gguf", "tokenizer.ggml.tokens", array, size))
    assert result["reason"] == Reason.UNSUPPORTED.value, result
    assert "tokenizer.ggml.tokens: an array of 1,073,741,824 elements" in result["message"], result
    assert result["header_bytes_read"] < 2 << 20 and result["seconds"] < 5, result


def test_a_gigabyte_chat_template_is_refused(tmp_path):
    size = 1 << 30
    string = struct.pack("<IQ", STRING, size - 200)
    result = load_bounded(_sparse_gguf(tmp_path / "template.gguf", "tokenizer.chat_template", string, size))
    assert result["reason"] == Reason.UNSUPPORTED.value, result
    assert "tokenizer.chat_template: a string of 1,073,741,624 bytes" in result["message"], result


def test_long_tokens_are_refused_naming_the_key(tmp_path):
    path = tmp_path / "long-token.gguf"
    kvs = tiny_tokenizer_kvs()
    kvs[3] = ("tokenizer.ggml.tokens", ARRAY, (STRING, ["a", "b", "x" * (1 << 17)]))
    path.write_bytes(gguf_bytes(kvs))
    with pytest.raises(TokenizerLoadError) as caught:
        load_tokenizer(str(path))
    assert caught.value.reason is Reason.UNSUPPORTED and "tokenizer.ggml.tokens" in str(caught.value)


def test_a_vocabulary_of_too_much_text_is_refused(tmp_path):
    count, length = 1100, 65_000  # each string allowed, together 71.5 MB
    array = struct.pack("<IIQ", ARRAY, STRING, count)
    path = _sparse_gguf(tmp_path / "text.gguf", "tokenizer.ggml.tokens", array, 0)
    with open(path, "r+b") as file:
        file.seek(0, os.SEEK_END)
        for _ in range(count):
            file.write(struct.pack("<Q", length))
            file.seek(length, os.SEEK_CUR)
        file.truncate()
    result = load_bounded(path)
    assert result["reason"] == Reason.UNSUPPORTED.value, result
    assert "tokenizer.ggml.tokens: its text is over 67,108,864 bytes" in result["message"], result


def _with_a_skipped_blob(path: Path, blob: int) -> tuple[Path, int]:
    """A small real tokenizer behind a ``blob``-byte value the tokenizer does not use (sparse);
    returns the path and the offset of the last token's type."""
    head = gguf_bytes(tiny_tokenizer_kvs())
    n_kv = struct.unpack_from("<Q", head, 16)[0]
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, n_kv + 1)
    blob_kv = _string("general.blob") + struct.pack("<IIQ", ARRAY, 0, blob)
    rest = head[24:]
    with open(path, "wb") as file:
        file.write(header + blob_kv)
        file.seek(blob, os.SEEK_CUR)
        start = file.tell()
        file.write(rest)
    return path, start + rest.index(struct.pack("<3i", 1, 1, 1)) + 8


def test_a_huge_unused_value_is_skipped_unread(tmp_path):
    path, _ = _with_a_skipped_blob(tmp_path / "skipped.gguf", 4 << 30)
    result = load_bounded(path)
    assert result["loaded"] and result["vocab_size"] == 3, result
    assert result["header_bytes_read"] < 2 << 20, result


def test_the_cache_still_sees_changes_around_a_skipped_value(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENPRISM_CACHE_DIR", str(tmp_path / "cache"))
    path, type_at = _with_a_skipped_blob(tmp_path / "skipped.gguf", 64 << 20)
    assert not load_gguf(path, "skipped").is_special(2)
    stamp = path.stat()
    with open(path, "r+b") as file:  # make the token "ab" a control token, keeping size and mtime
        file.seek(type_at)
        file.write(struct.pack("<i", 3))
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert load_gguf(path, "skipped").is_special(2)


def test_unused_string_values_are_skipped_and_the_cache_still_checks_the_rest(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENPRISM_CACHE_DIR", str(tmp_path / "cache"))
    notes = ("general.notes", ARRAY, (STRING, ["x" * (3 << 20), "y", "z" * (2 << 20)]))
    kvs = [("general.description", STRING, "d" * (5 << 20)), notes, *tiny_tokenizer_kvs()]
    path = tmp_path / "notes.gguf"
    path.write_bytes(gguf_bytes(kvs))
    header = read_header(path, "notes")
    assert len(header.skipped) == 3 and header.metadata["tokenizer.ggml.tokens"] == ["a", "b", "ab"]
    assert "general.notes" not in header.metadata
    first = load_gguf(path, "notes")

    def no_conversion(*args):
        raise AssertionError("the cached conversion should have been used")

    monkeypatch.setattr(gguf, "_convert", no_conversion)  # the cache's header check skips the same spans
    assert load_gguf(path, "notes").encode("ab a").ids.tolist() == first.encode("ab a").ids.tolist() == [2, 0]


# -- GGUF headers that are not what they claim (item 13) -----------------------------------------


def test_random_bytes_after_the_magic_are_not_called_big_endian(tmp_path):
    rng = random.Random(15)
    for attempt in range(20):
        path = tmp_path / f"random{attempt}.gguf"
        path.write_bytes(b"GGUF" + rng.randbytes(4096))
        with pytest.raises(TokenizerLoadError) as caught:
            load_tokenizer(str(path))
        message = str(caught.value)
        assert "big-endian" not in message and caught.value.reason is Reason.CORRUPT, message
        assert "version" in message or "implausible" in message, message


@pytest.mark.parametrize("key", ["tokenizer.ggml.token_type", "tokenizer.ggml.scores"])
@pytest.mark.parametrize("length", [2, 4])
def test_per_token_arrays_of_the_wrong_length_are_refused(key, length, tmp_path):
    kvs = [kv for kv in tiny_tokenizer_kvs() if kv[0] != key]
    element = 5 if key.endswith("token_type") else 6
    kvs.append((key, ARRAY, (element, [1] * length)))
    path = tmp_path / "mismatch.gguf"
    path.write_bytes(gguf_bytes(kvs))
    with pytest.raises(TokenizerLoadError) as caught:
        load_tokenizer(str(path))
    assert caught.value.reason is Reason.CORRUPT, str(caught.value)
    assert f"{key} has {length} entries but tokenizer.ggml.tokens has 3" in str(caught.value)


# -- tokenizer.json ids (item 7) ------------------------------------------------------------------


def _word_level(path: Path, vocab: dict[str, int]) -> Path:
    path.write_text(json.dumps({
        "version": "1.0", "added_tokens": [], "pre_tokenizer": {"type": "Whitespace"},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "a"},
    }))
    return path


@pytest.mark.parametrize("big_id", [30_000_000, 2_000_000_000])
def test_an_absurd_token_id_is_refused_cheaply(big_id, tmp_path):
    path = _word_level(tmp_path / "tokenizer.json", {"a": 0, "b": 1, "zz": big_id})
    result = load_bounded(path)
    assert result["reason"] == Reason.CORRUPT.value, result
    assert f"{big_id:,}" in result["message"] and "'zz'" in result["message"], result
    assert result["seconds"] < 5, result


def test_a_small_gap_in_the_ids_still_loads(tmp_path):
    path = _word_level(tmp_path / "tokenizer.json", {"a": 0, "b": 1, "c": 1000})
    tok = load_tokenizer(str(path))
    assert tok.token_text(1000) == "c" and tok.token_text(500) == ""
    assert tok.encode("b c").ids.tolist() == [1, 1000]
