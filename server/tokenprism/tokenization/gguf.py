"""GGUF tokenizers: read only the header metadata, convert once, cache the result on disk.

A GGUF model file carries its tokenizer as key/value metadata in front of the tensors
(vocabulary, merges, token types, BOS/EOS, chat template). Model files are many GB, so
the header is streamed with buffered reads and the tensor section is never touched. A header
is no more trusted than its size: each kept value is capped by what a tokenizer needs (see
``MAX_ELEMENTS`` and below) and refused, naming its key, before it is read; a large value the
tokenizer does not use is passed over with a seek.

The first load converts the metadata into a Rust ``tokenizers.Tokenizer`` with
transformers' GGUF converter (no torch; it also makes control tokens special), plus the
fixes that make it agree with llama.cpp, and stores it as ``tokenizer.json`` +
``config.json`` in the cache. Later loads check the file's identity and the header's
SHA-256, and read the cached JSON without importing transformers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path

import numpy as np

from .base import TokenizerInfo, sane_context_window
from .cache import cache_dir
from .errors import Reason, TokenizerLoadError
from .files import GGUF_MAGIC, MAX_TEMPLATE, has_gguf_magic, load_error
from .huggingface import HuggingFaceTokenizer
from .regular_files import open_regular

# Bump when the conversion below changes, so that old cache entries are rebuilt.
CONVERSION_VERSION = 3

_CHUNK = 1 << 20
_MAX_KV = 1 << 16  # metadata keys: real files have a few dozen; more means garbage
_MAX_DEPTH = 4  # arrays of arrays: the tokenizer uses none

# What one tokenizer can need (a real vocabulary has at most ~262k tokens and ~1M merges, tokens
# are short, chat templates are under 100 KB). Beyond these a wanted value is refused, naming its
# key, before anything is allocated: the file's size alone is no bound (a sparse file costs nothing).
MAX_ELEMENTS = 1 << 21  # elements of one array (tokens, scores, merges…)
MAX_STRING = 1 << 16  # one string: a token, a merge, a name (and a key: the GGUF limit)
# tokenizer.chat_template: at most MAX_TEMPLATE (files.py), as a chat_template.jinja file
MAX_STRINGS_BYTES = 64 << 20  # the text of one string array

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_TYPE_STRING = 8
_TYPE_ARRAY = 9
# GGUF value types -> numpy dtypes (little-endian); 8 (string) and 9 (array) are handled apart.
_DTYPES = {
    0: np.dtype("<u1"), 1: np.dtype("<i1"), 2: np.dtype("<u2"), 3: np.dtype("<i2"),
    4: np.dtype("<u4"), 5: np.dtype("<i4"), 6: np.dtype("<f4"), 7: np.dtype("?"),
    10: np.dtype("<u8"), 11: np.dtype("<i8"), 12: np.dtype("<f8"),
}
_KNOWN_VERSIONS = (2, 3)
_WANTED_KEYS = ("tokenizer.chat_template", "general.architecture", "general.name")  # and tokenizer.ggml.*
# Arrays indexed by token id: each must have one entry per token.
_PER_TOKEN = ("tokenizer.ggml.scores", "tokenizer.ggml.token_type")
# tokenizer.ggml.model values transformers' converter builds (byte-level BPE, SentencePiece, Unigram).
_TOKENIZER_MODELS = ("gemma4", "gpt2", "llama", "t5")
# Byte-level pre-tokenizers that llama.cpp splits exactly like GPT-2 (its PRE_TYPE_GPT2 group).
_GPT2_SPLIT = {
    "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
    "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo",
}
# ... and those that first split every digit apart, then split like GPT-2 (PRE_TYPE_STARCODER group).
_DIGIT_THEN_GPT2_SPLIT = {
    "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2",
}
# Pre-tokenizers for which llama.cpp merges whole pre-tokens found in the vocabulary first.
_IGNORE_MERGES = {
    "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
    "jina-v5-nano", "tekken",
}
# llama.cpp adds BOS by default for these byte-level pre-tokenizers (unless the file says otherwise).
_ADDS_BOS = _IGNORE_MERGES | {"chameleon"}


class _Malformed(Exception):
    """The header does not parse; becomes Reason.CORRUPT."""


class _TooLarge(_Malformed):
    """A value beyond what any tokenizer needs; becomes Reason.UNSUPPORTED."""


@dataclass(frozen=True)
class GgufHeader:
    version: int
    metadata: dict
    length: int  # bytes from the start of the file to the end of the key/value section
    sha256: str  # of those bytes, except the skipped spans
    skipped: tuple[tuple[int, int], ...] = ()  # (start, end) of large values passed over unread


class _HeaderStream:
    """Buffered forward-only reads of the header that hash every byte they consume; a large
    value nobody needs is passed over with a seek (and left out of the hash)."""

    def __init__(self, file, size: int):
        self._file = file
        self._size = size
        self._buf = b""
        self._pos = 0
        self._consumed_before_buf = 0
        self._digest = hashlib.sha256()
        self.skipped: list[tuple[int, int]] = []

    @property
    def offset(self) -> int:
        return self._consumed_before_buf + self._pos

    def remaining(self) -> int:
        return self._size - self.offset

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._buf):
            self._refill(n)
        start = self._pos
        self._pos += n
        return self._buf[start : self._pos]

    def _refill(self, n: int) -> None:
        if n > self.remaining():
            raise _Malformed(f"the file ends inside the header (at byte {self._size})")
        self._digest.update(self._buf[: self._pos])
        rest = self._buf[self._pos :]
        self._consumed_before_buf += self._pos
        need = n - len(rest)
        more = self._file.read(max(need, _CHUNK))
        while more and len(more) < need:  # a raw read may return less than asked
            more += self._file.read(need - len(more)) or b""
        if len(more) < need:
            raise _Malformed(f"the file ends inside the header (at byte {self._size})")
        self._buf = rest + more
        self._pos = 0

    def skip(self, n: int) -> None:
        if n > self.remaining():
            raise _Malformed(f"a value of {n:,} bytes at byte {self.offset:,} runs past the end of the file")
        if self._pos + n <= len(self._buf) or n < _CHUNK:
            self.take(n)
            return
        start = self.offset
        self._digest.update(self._buf[: self._pos])
        self._file.seek(start + n)
        self._buf, self._pos, self._consumed_before_buf = b"", 0, start + n
        self.skipped.append((start, start + n))

    def u32(self) -> int:
        return _U32.unpack(self.take(4))[0]

    def u64(self) -> int:
        return _U64.unpack(self.take(8))[0]

    def string(self, limit: int | None) -> str | None:
        """A string of at most ``limit`` bytes; with ``limit=None`` it is skipped, whatever its length."""
        n = self.u64()
        if n > self.remaining():
            raise _Malformed(f"a string of {n:,} bytes at byte {self.offset:,} runs past the end of the file")
        if limit is None:
            self.skip(n)
            return None
        if n > limit:
            raise _TooLarge(f"a string of {n:,} bytes is longer than any tokenizer needs (at most {limit:,})")
        return self.take(n).decode("utf-8", "replace")

    def strings(self, count: int, keep: bool) -> list[str] | None:
        """An array of ``count`` strings, walked with local variables: vocabularies and merge
        lists hold 100k+ entries, so this loop is most of the header's reading time."""
        if not keep:
            for _ in range(count):
                self.string(None)
            return None
        out: list[str] = []
        append = out.append
        unpack = _U64.unpack_from
        buf, pos = self._buf, self._pos
        first = self.offset
        for _ in range(count):
            if pos + 8 > len(buf):
                self._pos = pos
                self._refill(8)
                buf, pos = self._buf, self._pos
            n = unpack(buf, pos)[0]
            if n > MAX_STRING:
                raise _TooLarge(f"a string of {n:,} bytes, over {MAX_STRING:,}: no token is that long")
            end = pos + 8 + n
            if end > len(buf):  # runs past what is buffered: check the array's size so far, then read on
                self._pos = pos
                if self.offset - first > MAX_STRINGS_BYTES:
                    raise _TooLarge(f"its text is over {MAX_STRINGS_BYTES:,} bytes: no vocabulary is so big")
                self._refill(8 + n)
                buf, pos = self._buf, self._pos
                end = pos + 8 + n
            append(buf[pos + 8 : end].decode("utf-8", "replace"))
            pos = end
        self._pos = pos
        return out

    def digest(self) -> str:
        self._digest.update(self._buf[: self._pos])
        self._consumed_before_buf += self._pos
        self._buf, self._pos = self._buf[self._pos :], 0
        return self._digest.hexdigest()


def _read_value(stream: _HeaderStream, value_type: int, keep: bool, string_limit: int, depth: int = 0):
    if value_type == _TYPE_STRING:
        return stream.string(string_limit if keep else None)
    if value_type in _DTYPES:
        dtype = _DTYPES[value_type]
        return np.frombuffer(stream.take(dtype.itemsize), dtype)[0].item()
    if value_type != _TYPE_ARRAY:
        raise _Malformed(f"unknown value type {value_type} at byte {stream.offset:,}")
    element_type = stream.u32()
    count = stream.u64()
    if count > stream.remaining():  # every element takes at least one byte
        raise _Malformed(f"an array of {count:,} elements runs past the end of the file")
    dtype = _DTYPES.get(element_type)
    if dtype is not None and not keep:  # its size is known: passed over unread, however long
        stream.skip(count * dtype.itemsize)
        return None
    if count > MAX_ELEMENTS:
        raise _TooLarge(f"an array of {count:,} elements is more than a tokenizer needs ({MAX_ELEMENTS:,})")
    if element_type == _TYPE_STRING:
        return stream.strings(count, keep)
    if dtype is not None:
        if count * dtype.itemsize > stream.remaining():
            raise _Malformed(f"an array of {count:,} elements runs past the end of the file")
        return np.frombuffer(stream.take(count * dtype.itemsize), dtype).tolist()
    if depth >= _MAX_DEPTH:
        raise _Malformed(f"arrays nested more than {_MAX_DEPTH} deep")
    values = [_read_value(stream, element_type, keep, string_limit, depth + 1) for _ in range(count)]
    return values if keep else None


def _window(meta: dict) -> int | None:
    return sane_context_window(meta.get(f"{meta.get('general.architecture')}.context_length"))


def _wanted(key: str) -> bool:
    """The keys the conversion reads; every other value is passed over unread."""
    return key.startswith("tokenizer.ggml.") or key in _WANTED_KEYS or key.endswith(".context_length")


def _check_version(version: int, path: Path, spec: str) -> None:
    if version in _KNOWN_VERSIONS:
        return
    if version == 1:
        raise TokenizerLoadError(spec, Reason.UNSUPPORTED, f"{path}: GGUF version 1 is too old (need 2 or 3)")
    swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
    if swapped in _KNOWN_VERSIONS:
        raise TokenizerLoadError(spec, Reason.UNSUPPORTED, f"{path}: big-endian GGUF files are not supported")
    if 3 < version < 256:
        raise TokenizerLoadError(
            spec, Reason.UNSUPPORTED, f"{path}: GGUF version {version} is newer than this reader's 2 and 3"
        )
    raise _Malformed(f"not a GGUF header: the version field reads {version:#x} (a GGUF file has 2 or 3)")


def _check_per_token_arrays(metadata: dict) -> None:
    """Scores and token types are indexed by token id: a length that differs from the vocabulary's
    would shift or drop tokens silently."""
    tokens = metadata.get("tokenizer.ggml.tokens")
    if tokens is None:
        return
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens[:1]):
        raise _Malformed("tokenizer.ggml.tokens is not an array of strings")
    for key in _PER_TOKEN:
        values = metadata.get(key)
        if values is not None and (not isinstance(values, list) or len(values) != len(tokens)):
            size = len(values) if isinstance(values, list) else "no array"
            raise _Malformed(f"{key} has {size} entries but tokenizer.ggml.tokens has {len(tokens)}")


def read_header(path: Path, spec: str) -> GgufHeader:
    """The tokenizer-related metadata of a GGUF file; never reads the tensor section, nor any
    large value the tokenizer does not use, and refuses values beyond what a tokenizer needs."""
    try:
        with open_regular(path, buffering=0) as file:
            size = os.fstat(file.fileno()).st_size
            stream = _HeaderStream(file, size)
            if size < len(GGUF_MAGIC) or not has_gguf_magic(stream.take(len(GGUF_MAGIC))):
                raise _Malformed("not a GGUF file (no GGUF magic at the start)")
            version = stream.u32()
            _check_version(version, path, spec)
            tensor_count = stream.u64()
            kv_count = stream.u64()
            if kv_count > _MAX_KV or tensor_count > size:
                raise _Malformed(
                    f"not a GGUF header: implausible counts ({tensor_count:,} tensors, {kv_count:,} keys)"
                )
            metadata = {}
            for index in range(kv_count):
                try:
                    key = stream.string(MAX_STRING)
                except _Malformed as exc:  # a key longer than GGUF allows is no real file
                    raise _Malformed(f"metadata key #{index + 1}: {exc}") from exc
                try:
                    value_type = stream.u32()
                    keep = _wanted(key)
                    limit = MAX_TEMPLATE if key == "tokenizer.chat_template" else MAX_STRING
                    value = _read_value(stream, value_type, keep, limit)
                except _Malformed as exc:
                    raise type(exc)(f"{key}: {exc}") from exc
                if keep:
                    metadata[key] = value
            _check_per_token_arrays(metadata)
            sha256 = stream.digest()
            return GgufHeader(version=version, metadata=metadata, length=stream.offset, sha256=sha256,
                              skipped=tuple(stream.skipped))
    except OSError as exc:
        raise load_error(spec, path, exc) from exc
    except _TooLarge as exc:
        raise TokenizerLoadError(spec, Reason.UNSUPPORTED, f"{path}: {exc}") from exc
    except (_Malformed, struct.error, ValueError) as exc:
        raise TokenizerLoadError(spec, Reason.CORRUPT, f"{path}: {exc}") from exc


def _header_sha256(path: Path, length: int, skipped=()) -> str | None:
    """SHA-256 of the first ``length`` bytes but the skipped spans, or None when the file is shorter."""
    digest = hashlib.sha256()
    spans = [(start, end) for start, end in skipped] + [(length, length)]
    with open_regular(path, buffering=0) as file:
        position = 0
        for start, end in spans:
            left = start - position
            while left > 0:
                chunk = file.read(min(left, _CHUNK))
                if not chunk:
                    return None
                digest.update(chunk)
                left -= len(chunk)
            position = end
            file.seek(end)
    return digest.hexdigest()


# -- conversion ----------------------------------------------------------------------------------


def _special_token_flags(model: str | None, pre: str | None, meta: dict) -> tuple[bool, bool]:
    """Whether llama.cpp adds BOS / EOS around a text: its defaults per tokenizer, then the file's flags."""
    if model == "llama":
        add_bos, add_eos = True, False
    elif model == "t5":
        add_bos, add_eos = False, True
    elif model == "gpt2":
        add_bos, add_eos = pre in _ADDS_BOS, False
    else:
        add_bos, add_eos = False, False
    add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", add_bos))
    add_eos = bool(meta.get("tokenizer.ggml.add_eos_token", add_eos))
    return add_bos, add_eos


def _check_supported(model: str | None, pre: str | None, spec: str, path: Path) -> None:
    """Refuse what cannot be converted exactly: a wrong count is worse than a clear error."""
    if model not in _TOKENIZER_MODELS:
        raise TokenizerLoadError(
            spec, Reason.UNSUPPORTED,
            f"{path}: tokenizer model {model!r} is not supported (supported: {', '.join(_TOKENIZER_MODELS)});"
            " point the model setting at the model's tokenizer.json instead",
        )
    if model == "gpt2":
        from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS

        known = set(GGUF_PRE_TOKENIZER_SPLITS) | _GPT2_SPLIT | _DIGIT_THEN_GPT2_SPLIT
        if pre not in known:
            raise TokenizerLoadError(
                spec, Reason.UNSUPPORTED,
                f"{path}: pre-tokenizer {pre!r} cannot be reproduced exactly, so counts would be wrong;"
                " point the model setting at the model's tokenizer.json instead",
            )


def _convert(header: GgufHeader, path: Path, spec: str):
    """(Rust tokenizer, its tokenizer.json text, config dict) for the tokenizer the metadata describes."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from tokenizers import pre_tokenizers, processors
        from transformers.integrations.gguf.gguf_tokenizer_mapping import (
            GGUF_TOKENIZER_MAPPING,
            convert_gguf_tokenizer,
        )
    except ImportError as exc:
        raise TokenizerLoadError(
            spec, Reason.UNSUPPORTED, f"converting a GGUF tokenizer needs transformers >= 5 ({exc})"
        ) from exc

    meta = header.metadata
    architecture = meta.get("general.architecture")
    if "tokenizer.ggml.tokens" not in meta:
        raise TokenizerLoadError(spec, Reason.UNSUPPORTED,
                                 f"{path}: the file carries no tokenizer (no tokenizer.ggml.tokens)")
    fields = {
        name: meta[f"tokenizer.{key}"]
        for key, name in GGUF_TOKENIZER_MAPPING["tokenizer"].items()
        if f"tokenizer.{key}" in meta
    }
    model, pre = fields.get("tokenizer_type"), fields.get("pre_tokenizer_type")
    _check_supported(model, pre, spec, path)
    try:
        backend, _ = convert_gguf_tokenizer(architecture, fields)
    except ValueError as exc:
        raise TokenizerLoadError(spec, Reason.UNSUPPORTED, f"{path}: {exc}") from exc
    except Exception as exc:  # the Rust side: merges that name tokens the vocabulary lacks, and the like
        raise TokenizerLoadError(spec, Reason.CORRUPT,
                                 f"{path}: inconsistent tokenizer metadata: {exc}") from exc

    if pre in _IGNORE_MERGES:  # as llama.cpp and Llama 3's own tokenizer.json
        backend.model.ignore_merges = True
    # llama.cpp splits every digit apart first (StarCoder2's tokenizer.json too)
    if pre in _DIGIT_THEN_GPT2_SPLIT:
        backend.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True),
             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
        )

    tokens = fields["tokens"]

    def token(key: str) -> str | None:
        index = meta.get(f"tokenizer.ggml.{key}")
        return tokens[index] if isinstance(index, int) and 0 <= index < len(tokens) else None

    add_bos, add_eos = _special_token_flags(model, pre, meta)
    config = {
        "chat_template": meta.get("tokenizer.chat_template"),
        "bos_token": token("bos_token_id"),
        "eos_token": token("eos_token_id"),
        "unk_token": token("unknown_token_id"),
        "pad_token": token("padding_token_id"),
        "add_bos_token": add_bos,
        "add_eos_token": add_eos,
    }
    # The post-processor adds exactly what llama.cpp adds, so the tokenizer.json says it too.
    vocab = backend.get_vocab(with_added_tokens=True)
    prefix = [config["bos_token"]] if add_bos and config["bos_token"] in vocab else []
    suffix = [config["eos_token"]] if add_eos and config["eos_token"] in vocab else []
    specials = [(t, vocab[t]) for t in dict.fromkeys(prefix + suffix)]
    backend.post_processor = processors.TemplateProcessing(
        single=prefix + ["$A"] + suffix, pair=prefix + ["$A"] + suffix + ["$B"] + suffix,
        special_tokens=specials,
    )
    serialized = backend.to_str()
    if backend.get_vocab_size(with_added_tokens=True) > len(tokens):
        backend, serialized = _without_tokens_beyond(serialized, len(tokens))
    return backend, serialized, config


def _without_tokens_beyond(serialized: str, size: int):
    """Drop added tokens the file does not have (transformers' GPT-2 class adds its own
    ``<|endoftext|>`` to a Llama 3 vocabulary): the model has no such id."""
    from tokenizers import Tokenizer as RustTokenizer

    description = json.loads(serialized)
    description["added_tokens"] = [t for t in description.get("added_tokens") or () if t["id"] < size]
    serialized = json.dumps(description, ensure_ascii=False)
    return RustTokenizer.from_str(serialized), serialized


# -- cache ---------------------------------------------------------------------------------------


def _transformers_version() -> str:
    try:
        return package_metadata.version("transformers")
    except package_metadata.PackageNotFoundError:
        return "none"


def _cache_entry(path: Path, stat: os.stat_result) -> Path:
    """One directory per file identity: the path's hash, then the size and mtime's hash."""
    path_key = hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    ident = f"{stat.st_size}:{stat.st_mtime_ns}:{CONVERSION_VERSION}:{_transformers_version()}"
    return cache_dir("gguf") / f"{path_key}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"


def _read_cached(entry: Path, path: Path):
    """(tokenizer.json path, stored config) when the entry is complete and the header unchanged."""
    try:
        stored = json.loads((entry / "config.json").read_text(encoding="utf-8"))
        tokenizer_json = entry / "tokenizer.json"
        if not isinstance(stored, dict) or stored.get("conversion_version") != CONVERSION_VERSION:
            return None
        if not tokenizer_json.is_file() or not isinstance(stored.get("config"), dict):
            return None
        skipped = [(int(a), int(b)) for a, b in stored.get("header_skipped", ())]
        if _header_sha256(path, int(stored["header_length"]), skipped) != stored["header_sha256"]:
            return None
        return tokenizer_json, stored
    except (OSError, ValueError, KeyError, TypeError):  # NotRegularFile too: then read_header says why
        return None


def _write_cache(entry: Path, serialized: str, stored: dict) -> None:
    """Write atomically; config.json last, since it marks the entry complete. A failure only costs speed."""
    for stale in entry.parent.glob(entry.name.split("-")[0] + "-*"):  # older versions of this file
        if stale != entry:
            shutil.rmtree(stale, ignore_errors=True)
    try:
        entry.mkdir(parents=True, exist_ok=True)
        suffix = f".tmp{os.getpid()}"
        for name, text in (("tokenizer.json", serialized), ("config.json", json.dumps(stored, indent=1))):
            tmp = entry / (name + suffix)
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(entry / name)
    except OSError:
        pass


def load_gguf(path: Path, spec: str) -> HuggingFaceTokenizer:
    """The tokenizer stored in a GGUF file, converted once and cached on disk."""
    from tokenizers import Tokenizer as RustTokenizer

    path = Path(path).expanduser()
    try:
        resolved = path.resolve(strict=True)
        stat = resolved.stat()
    except FileNotFoundError as exc:
        raise TokenizerLoadError(spec, Reason.NOT_FOUND, f"no such file: {path}") from exc
    except OSError as exc:
        raise TokenizerLoadError(spec, Reason.NOT_FOUND, f"{path}: {exc.strerror or exc}") from exc
    entry = _cache_entry(resolved, stat)
    cached = _read_cached(entry, resolved)
    if cached is not None:
        tokenizer_json, stored = cached
        try:
            backend = RustTokenizer.from_file(str(tokenizer_json))
        except Exception:  # a damaged cache file: convert again
            cached = None
    if cached is None:
        header = read_header(resolved, spec)
        backend, serialized, config = _convert(header, resolved, spec)
        meta = header.metadata
        stored = {
            "conversion_version": CONVERSION_VERSION,
            "source": str(resolved),
            "header_length": header.length,
            "header_sha256": header.sha256,
            "header_skipped": [list(span) for span in header.skipped],
            "architecture": meta.get("general.architecture"),
            "model_name": meta.get("general.name"),
            "tokenizer_model": meta.get("tokenizer.ggml.model"),
            "pre_tokenizer": meta.get("tokenizer.ggml.pre"),
            "context_length": _window(meta),
            "config": config,
        }
        _write_cache(entry, serialized, stored)
    info = TokenizerInfo(
        spec=spec,
        name=path.stem,
        kind="gguf",
        source=str(path),
        vocab_size=backend.get_vocab_size(with_added_tokens=True),
        extra={
            key: stored.get(key)
            for key in ("architecture", "model_name", "tokenizer_model", "pre_tokenizer")
            if stored.get(key) is not None
        },
        context_window=stored.get("context_length"),
    )
    return HuggingFaceTokenizer(backend, info, stored["config"], owned=True)
