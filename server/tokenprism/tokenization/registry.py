"""Load a tokenizer from a model spec, once per process, and keep the recently used ones.

Loaded tokenizers are kept in a least-recently-used cache bounded by their estimated memory
(``TOKENPRISM_TOKENIZER_CACHE_MB``, 256 MB by default): a user trying twenty models does not keep
twenty vocabularies. The built-in OpenAI encodings are cheap to keep and always kept. Eviction only
drops the cache's reference: a tokenizer still used somewhere (a document, a comparison) stays
alive, and asking for it again returns that same object instead of loading a second copy.
"""

from __future__ import annotations

import copy
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from .base import Tokenizer
from .errors import Reason, TokenizerLoadError
from .spec import LoadOptions, ResolvedSpec, resolve

# Memory a loaded Rust tokenizer with our per-id tables keeps per vocabulary entry: the RSS it adds
# once loaded and the allocator trimmed, 440-580 bytes for the test GGUFs (Llama 3, Phi-3, Qwen2,
# StarCoder2). So the default bound keeps about three large vocabularies besides the built-in ones.
BYTES_PER_ENTRY = 600
DEFAULT_CACHE_MB = 256
_KEPT_KINDS = ("tiktoken",)  # the built-in encodings: never evicted, not counted


def cache_budget() -> int:
    """The cache's bound in bytes of estimated footprint (the newest tokenizer is kept even beyond it)."""
    try:
        megabytes = float(os.environ.get("TOKENPRISM_TOKENIZER_CACHE_MB", DEFAULT_CACHE_MB))
    except ValueError:
        megabytes = DEFAULT_CACHE_MB
    return int(max(megabytes, 0) * (1 << 20))


def footprint(tokenizer: Tokenizer) -> int:
    """Estimated bytes a loaded tokenizer holds: its vocabulary, plus its chat template's text."""
    if tokenizer.info.kind in _KEPT_KINDS:
        return 0
    try:
        template = tokenizer.chat_template or ""
    except Exception:  # a tokenizer that cannot tell costs its vocabulary only
        template = ""
    return tokenizer.info.vocab_size * BYTES_PER_ENTRY + len(template)


class _LoadedTokenizers:
    """The LRU of loaded tokenizers (strong references, bounded), plus a weak map of every
    tokenizer handed out that is still alive. Callers hold ``_guard``."""

    def __init__(self):
        self._recent: OrderedDict[tuple, tuple[Tokenizer, int]] = OrderedDict()
        self._alive: weakref.WeakValueDictionary[tuple, Tokenizer] = weakref.WeakValueDictionary()
        self.total = 0

    def get(self, key: tuple) -> Tokenizer | None:
        entry = self._recent.get(key)
        if entry is not None:
            self._recent.move_to_end(key)
            return entry[0]
        tokenizer = self._alive.get(key)
        if tokenizer is not None:  # evicted but still in use: adopted again, not loaded again
            self.put(key, tokenizer)
        return tokenizer

    def put(self, key: tuple, tokenizer: Tokenizer) -> None:
        cost = footprint(tokenizer)
        self._recent[key] = (tokenizer, cost)
        self._alive[key] = tokenizer
        self.total += cost
        budget = cache_budget()
        for old in list(self._recent):
            if self.total <= budget:
                break
            if old != key and self._recent[old][1]:
                evicted, cost = self._recent.pop(old)
                self.total -= cost
                weakref.finalize(evicted, _release_freed_memory_soon)

    def __contains__(self, key: tuple) -> bool:
        return key in self._recent or key in self._alive


_trim_pending = threading.Event()


def _release_freed_memory_soon() -> None:
    """glibc keeps freed memory for reuse, so a vocabulary freed in small pieces would leave the
    process as large as before; ask it to return free pages shortly after (once the object is gone:
    this runs as its finalizer, before its attributes are freed)."""
    if _trim_pending.is_set():
        return
    _trim_pending.set()
    timer = threading.Timer(0.2, _malloc_trim)
    timer.daemon = True
    timer.start()


def _malloc_trim() -> None:
    _trim_pending.clear()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: its allocator decides
        pass


_loaded = _LoadedTokenizers()
_named: weakref.WeakValueDictionary[tuple, Tokenizer] = weakref.WeakValueDictionary()  # alias-named copies
_locks: weakref.WeakValueDictionary[tuple, threading.Lock] = weakref.WeakValueDictionary()
_guard = threading.Lock()


def load_tokenizer(spec: str, options: LoadOptions = LoadOptions()) -> Tokenizer:
    """The tokenizer for ``spec``; raises :class:`TokenizerLoadError` with a one-line reason.

    Loads are cached per resolved target; concurrent loads of the same target wait for one.
    """
    resolved = resolve(spec, options)
    key = (resolved.kind, resolved.target, resolved.revision)
    with _guard:
        tokenizer = _loaded.get(key)
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
    if tokenizer is None:
        with lock:
            with _guard:
                tokenizer = _loaded.get(key)
            if tokenizer is None:
                tokenizer = _load(resolved)
                with _guard:
                    _loaded.put(key, tokenizer)
    return _as_alias(tokenizer, key, resolved.alias)


def _as_alias(tokenizer: Tokenizer, key: tuple, alias: str | None) -> Tokenizer:
    """The tokenizer named after the alias it was asked by (``llama3``), without loading it twice
    and without renaming the one that a path spec to the same file returns."""
    if not alias or tokenizer.info.name == alias:
        return tokenizer
    with _guard:
        named = _named.get((key, alias))
        if named is None:
            named = copy.copy(tokenizer)  # shares the vocabulary and the Rust encoder
            named.info = replace(tokenizer.info, name=alias)
            named._registry_original = tokenizer  # keeps it findable while the copy is in use
            _named[(key, alias)] = named
        return named


def is_loaded(spec: str, options: LoadOptions = LoadOptions()) -> bool:
    try:
        resolved = resolve(spec, options)
    except TokenizerLoadError:
        return False
    with _guard:
        return (resolved.kind, resolved.target, resolved.revision) in _loaded


def _load(resolved: ResolvedSpec) -> Tokenizer:
    spec = resolved.spec
    try:
        if resolved.kind == "tiktoken":
            from .openai import TiktokenTokenizer

            tokenizer: Tokenizer = TiktokenTokenizer(resolved.target, spec)
        elif resolved.kind == "packaged":
            from .packaged import load_packaged

            tokenizer = load_packaged(resolved.target, spec)
        elif resolved.kind == "gguf":
            from .gguf import load_gguf

            tokenizer = load_gguf(Path(resolved.target), spec)
        elif resolved.kind == "tokenizer.json":
            from .huggingface import load_tokenizer_json

            path = Path(resolved.target)
            if not path.is_file():
                raise TokenizerLoadError(spec, Reason.NOT_FOUND, f"no such file: {path}")
            tokenizer = load_tokenizer_json(path, spec)
        elif resolved.kind == "directory":
            from .huggingface import load_directory

            tokenizer = load_directory(Path(resolved.target), spec)
        elif resolved.kind == "hub":
            from .huggingface import load_hub

            tokenizer = load_hub(resolved.target, resolved.revision, spec)
        else:  # pragma: no cover - resolve() only returns the kinds above
            raise TokenizerLoadError(spec, Reason.INVALID, f"unknown kind {resolved.kind}")
    except TokenizerLoadError:
        raise
    except MemoryError as exc:
        raise TokenizerLoadError(spec, Reason.CORRUPT, "out of memory while loading") from exc
    except Exception as exc:  # any backend failure becomes one clear line
        raise TokenizerLoadError(spec, Reason.CORRUPT, f"{type(exc).__name__}: {exc}") from exc
    return tokenizer
