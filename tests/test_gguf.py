"""GGUF loading: the header reader against an independent whole-file reader, BOS/EOS and
control tokens as llama.cpp has them, the on-disk cache, and crafted broken files."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import CORPUS, GGUF_FILES, GGUF_NAMES
from tokenprism.tokenization import SPECIAL, Reason, SpecialTokens, TokenizerLoadError, load_tokenizer
from tokenprism.tokenization.gguf import load_gguf, read_header
from tokenprism.tokenization.huggingface import HuggingFaceTokenizer

# -- an independent reader (whole file in memory, struct offsets) and a writer for crafted files --

_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
STRING, ARRAY = 8, 9
CONTROL = 3


@lru_cache(maxsize=None)
def reference_metadata(path: Path) -> tuple[dict, int]:
    """All metadata and the offset where it ends, read the simple way."""
    buf = path.read_bytes()
    assert buf[:4] == b"GGUF"
    _, _, n_kv = struct.unpack_from("<IQQ", buf, 4)
    pos = 24

    def string(p):
        n = struct.unpack_from("<Q", buf, p)[0]
        return buf[p + 8 : p + 8 + n].decode("utf-8"), p + 8 + n

    def value(kind, p):
        if kind == STRING:
            return string(p)
        if kind == ARRAY:
            element, n = struct.unpack_from("<IQ", buf, p)
            p += 12
            out = []
            for _ in range(n):
                item, p = value(element, p)
                out.append(item)
            return out, p
        fmt = "<" + _SCALAR[kind]
        return struct.unpack_from(fmt, buf, p)[0], p + struct.calcsize(fmt)

    metadata = {}
    for _ in range(n_kv):
        key, pos = string(pos)
        kind = struct.unpack_from("<I", buf, pos)[0]
        metadata[key], pos = value(kind, pos + 4)
    return metadata, pos


def gguf_bytes(kvs: list[tuple[str, int, object]], version: int = 3, endian: str = "<") -> bytes:
    """A GGUF header with the given ``(key, type, value)`` entries; arrays are ``(element_type, values)``."""

    def string(s: str) -> bytes:
        data = s.encode("utf-8")
        return struct.pack(endian + "Q", len(data)) + data

    def value(kind, v) -> bytes:
        if kind == STRING:
            return string(v)
        if kind == ARRAY:
            element, items = v
            return (struct.pack(endian + "IQ", element, len(items))
                    + b"".join(value(element, i) for i in items))
        return struct.pack(endian + _SCALAR[kind], v)

    out = [b"GGUF", struct.pack(endian + "IQQ", version, 0, len(kvs))]
    for key, kind, v in kvs:
        out += [string(key), struct.pack(endian + "I", kind), value(kind, v)]
    return b"".join(out)


def tiny_tokenizer_kvs(model: str = "gpt2", pre: str | None = "gpt-2") -> list:
    kvs = [("general.architecture", STRING, "gpt2"), ("tokenizer.ggml.model", STRING, model)]
    if pre is not None:
        kvs.append(("tokenizer.ggml.pre", STRING, pre))
    kvs += [
        ("tokenizer.ggml.tokens", ARRAY, (STRING, ["a", "b", "ab"])),
        ("tokenizer.ggml.token_type", ARRAY, (5, [1, 1, 1])),
        ("tokenizer.ggml.merges", ARRAY, (STRING, ["a b"])),
    ]
    return kvs


def gguf_path(models: Path, alias: str) -> Path:
    return models / GGUF_FILES[alias]


# -- the header reader --------------------------------------------------------------------------


@pytest.mark.parametrize("alias", GGUF_NAMES)
def test_header_matches_an_independent_reader(alias, testdata_models):
    path = gguf_path(testdata_models, alias)
    expected, end = reference_metadata(path)
    header = read_header(path, alias)
    wanted = {
        k: v for k, v in expected.items()
        if k.startswith("tokenizer.ggml.")
        or k in ("tokenizer.chat_template", "general.architecture", "general.name")
        or k.endswith(".context_length")
    }
    assert header.metadata.keys() == wanted.keys()
    for key, value in wanted.items():
        assert header.metadata[key] == value, key
    assert header.length == end
    assert header.sha256 == hashlib.sha256(path.read_bytes()[:end]).hexdigest()


def _bytes_read_by_process() -> int:
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs /proc/self/io to count bytes read")
def test_reads_only_the_header_of_a_huge_file(testdata_models, tmp_path):
    """A 'model' with 8 GiB of (sparse) tensor data after the header: only the header is read."""
    source = gguf_path(testdata_models, "gpt2")
    big = tmp_path / "gpt2-8g.gguf"
    big.write_bytes(source.read_bytes())
    header_length = big.stat().st_size
    os.truncate(big, header_length + (8 << 30))
    before = _bytes_read_by_process()
    header = read_header(big, "big")
    read = _bytes_read_by_process() - before
    assert header.length == header_length
    assert read < header_length + (2 << 20), f"read {read} bytes for a {header_length}-byte header"
    tok = load_gguf(big, "big")
    assert (tok.encode("Hello world").ids.tolist()
            == load_gguf(source, "gpt2").encode("Hello world").ids.tolist())


# -- the loaded tokenizer -----------------------------------------------------------------------


@pytest.mark.parametrize("alias", GGUF_NAMES)
def test_load_gguf_describes_the_file(alias, testdata_models):
    path = gguf_path(testdata_models, alias)
    tok = load_gguf(path, str(path))
    assert isinstance(tok, HuggingFaceTokenizer)
    assert (tok.info.kind, tok.info.source, tok.info.name) == ("gguf", str(path), path.stem)
    metadata, _ = reference_metadata(path)
    assert tok.info.vocab_size == len(metadata["tokenizer.ggml.tokens"])
    assert tok.chat_template == metadata.get("tokenizer.chat_template")
    via_spec = load_tokenizer(str(path))
    assert (via_spec.info.kind == "gguf"
            and via_spec.encode(CORPUS["prose"]).equals(tok.encode(CORPUS["prose"])))


# What llama.cpp puts in front of a text (llama_vocab::get_add_bos): Llama 3 and SentencePiece
# vocabularies add BOS, the others nothing; none adds EOS.
EXPECTED_BOS = {"llama3": "<|begin_of_text|>", "phi3": "<s>", "qwen2": None, "starcoder2": None, "gpt2": None}


@pytest.mark.parametrize("alias", GGUF_NAMES)
def test_added_tokens_are_what_llama_cpp_adds(alias, tokenizer, testdata_models):
    tok = tokenizer(alias)
    metadata, _ = reference_metadata(gguf_path(testdata_models, alias))
    added = tok.added_tokens
    assert added.suffix == ()
    if EXPECTED_BOS[alias] is None:
        assert added.prefix == ()
    else:
        assert added.prefix == (metadata["tokenizer.ggml.bos_token_id"],)
        assert tok.token_text(added.prefix[0]) == EXPECTED_BOS[alias]
    # the backend's own post-processor agrees, so transformers' view of the tokenizer does too
    full = tok.backend.encode("hello", add_special_tokens=True).ids
    plain = tok.encode("hello").ids.tolist()
    assert full == list(added.prefix) + plain + list(added.suffix)
    assert tok.encode("hello").ids[0] not in added.prefix  # counts never include BOS


@pytest.mark.parametrize("alias", GGUF_NAMES)
def test_control_tokens_are_special_and_whole(alias, tokenizer, testdata_models):
    tok = tokenizer(alias)
    metadata, _ = reference_metadata(gguf_path(testdata_models, alias))
    tokens, types = metadata["tokenizer.ggml.tokens"], metadata["tokenizer.ggml.token_type"]
    control = [(i, t) for i, (t, kind) in enumerate(zip(tokens, types)) if kind == CONTROL]
    assert control
    for token_id, text in control:
        assert tok.is_special(token_id), text
        assert text in tok.special_tokens
        enc = tok.encode(f"a{text}b")
        inner = [i for i in range(len(enc)) if enc.ids[i] == token_id]
        assert len(inner) == 1 and enc.flags[inner[0]] & SPECIAL, text
        as_text = tok.encode(f"a{text}b", SpecialTokens.TEXT)
        assert token_id not in as_text.ids.tolist() and not (as_text.flags & SPECIAL).any(), text


# -- the cache ----------------------------------------------------------------------------------

_LOAD_SCRIPT = """
import json, sys, time
from pathlib import Path
start = time.perf_counter()
from tokenprism.tokenization.gguf import load_gguf
tok = load_gguf(Path(sys.argv[1]), "cache-test")
print(json.dumps({"seconds": time.perf_counter() - start, "transformers": "transformers" in sys.modules,
                  "ids": tok.encode(sys.argv[2]).ids.tolist()}))
"""


def _load_in_subprocess(path: Path, cache: Path, text: str) -> dict:
    env = dict(os.environ, TOKENPRISM_CACHE_DIR=str(cache), TRANSFORMERS_VERBOSITY="error")
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(path), text], env=env, capture_output=True, text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_second_load_comes_from_the_cache_without_transformers(testdata_models, tmp_path):
    path = gguf_path(testdata_models, "qwen2")
    text = CORPUS["mixed"]
    first = _load_in_subprocess(path, tmp_path, text)
    second = _load_in_subprocess(path, tmp_path, text)
    assert first["transformers"] and not second["transformers"]
    assert first["ids"] == second["ids"]
    entries = list((tmp_path / "gguf").iterdir())
    assert len(entries) == 1
    assert sorted(p.name for p in entries[0].iterdir()) == ["config.json", "tokenizer.json"]


def _only_entry(cache: Path) -> Path:
    entries = list((cache / "gguf").iterdir())
    assert len(entries) == 1, entries
    return entries[0]


def test_cache_follows_a_changed_header_even_with_the_same_size_and_mtime(testdata_models, tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("TOKENPRISM_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "copy.gguf"
    data = gguf_path(testdata_models, "gpt2").read_bytes()
    path.write_bytes(data)
    before = load_gguf(path, "copy")
    eot = before.special_tokens["<|endoftext|>"]
    stamp = path.stat()
    # respell the control token in place: same size, same mtime, different header
    spelled = struct.pack("<Q", len("<|endoftext|>")) + b"<|endoftext|>"
    assert data.count(spelled) == 1
    path.write_bytes(data.replace(spelled, spelled.replace(b"endoftext", b"endoftexq")))
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert path.stat().st_size == stamp.st_size and path.stat().st_mtime_ns == stamp.st_mtime_ns
    after = load_gguf(path, "copy")
    assert after.token_text(eot) == "<|endoftexq|>" and after.special_tokens == {"<|endoftexq|>": eot}


def test_cache_keeps_one_entry_per_file_and_survives_damage(testdata_models, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TOKENPRISM_CACHE_DIR", str(cache))
    path = tmp_path / "copy.gguf"
    path.write_bytes(gguf_path(testdata_models, "gpt2").read_bytes())
    expected = load_gguf(path, "copy").encode(CORPUS["python"])
    first_entry = _only_entry(cache)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert load_gguf(path, "copy").encode(CORPUS["python"]).equals(expected)
    entry = _only_entry(cache)  # the older entry was removed
    assert entry != first_entry
    (entry / "tokenizer.json").write_text("{ not json")
    assert load_gguf(path, "copy").encode(CORPUS["python"]).equals(expected)
    (entry / "config.json").write_text("[]")
    assert load_gguf(path, "copy").encode(CORPUS["python"]).equals(expected)
    json.loads((entry / "config.json").read_text())["header_sha256"]  # rewritten whole


# -- broken and unsupported files ---------------------------------------------------------------


def _expect_error(path: Path, reason: Reason) -> TokenizerLoadError:
    with pytest.raises(TokenizerLoadError) as caught:
        load_gguf(path, str(path))
    error = caught.value
    assert error.reason is reason, str(error)
    assert "\n" not in str(error) and str(path) in str(error)
    # the same through the registry, which callers use
    with pytest.raises(TokenizerLoadError) as again:
        load_tokenizer(str(path))
    assert again.value.reason is reason
    return error


def _truncations(models: Path):
    data = gguf_path(models, "gpt2").read_bytes()
    return {
        "magic only": data[:4],
        "inside the counts": data[:20],
        "inside the first key": data[:30],
        "inside the vocabulary": data[: len(data) // 3],
        "one byte short": data[:-1],
    }


@pytest.mark.parametrize(
    "case",
    ["magic only", "inside the counts", "inside the first key", "inside the vocabulary", "one byte short"],
)
def test_truncated_file_is_corrupt(case, testdata_models, tmp_path):
    path = tmp_path / "truncated.gguf"
    path.write_bytes(_truncations(testdata_models)[case])
    _expect_error(path, Reason.CORRUPT)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a gguf file at all, just text\n" * 10,
        bytes(range(256)) * 64,
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 60),  # absurd key length
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 40),  # absurd key count
        gguf_bytes([("general.architecture", 4, 0)])[:-8] + struct.pack("<II", 77, 0),  # unknown value type
        gguf_bytes([("tokenizer.ggml.tokens", ARRAY, (STRING, []))])[:-8] + struct.pack("<Q", 1 << 50),
    ],
    ids=["empty", "text", "binary", "key-length", "key-count", "value-type", "array-count"],
)
def test_garbage_is_corrupt(content, tmp_path):
    path = tmp_path / "garbage.gguf"
    path.write_bytes(content)
    _expect_error(path, Reason.CORRUPT)


@pytest.mark.parametrize(
    "content, words",
    [
        (gguf_bytes(tiny_tokenizer_kvs(model="bert")), "'bert'"),
        (gguf_bytes(tiny_tokenizer_kvs(model="rwkv")), "'rwkv'"),
        (gguf_bytes(tiny_tokenizer_kvs(pre="deepseek-llm")), "'deepseek-llm'"),
        (gguf_bytes([("general.architecture", STRING, "llama")]), "no tokenizer"),
        (gguf_bytes(tiny_tokenizer_kvs(), version=1), "version 1"),
        (gguf_bytes(tiny_tokenizer_kvs(), endian=">"), "big-endian"),
    ],
    ids=["bert", "rwkv", "unknown-pre-tokenizer", "no-tokenizer", "gguf-v1", "big-endian"],
)
def test_unsupported_files_say_why(content, words, tmp_path):
    path = tmp_path / "unsupported.gguf"
    path.write_bytes(content)
    error = _expect_error(path, Reason.UNSUPPORTED)
    assert words in str(error)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(TokenizerLoadError) as missing:
        load_tokenizer(str(tmp_path / "absent.gguf"))
    assert missing.value.reason is Reason.NOT_FOUND
    folder = tmp_path / "folder.gguf"
    folder.mkdir()
    with pytest.raises(TokenizerLoadError) as directory:
        load_gguf(folder, str(folder))
    assert "\n" not in str(directory.value)
