"""Load a tokenizer from a model spec, once per process."""

from __future__ import annotations

import copy
import threading
from dataclasses import replace
from pathlib import Path

from .base import Tokenizer
from .errors import Reason, TokenizerLoadError
from .spec import LoadOptions, ResolvedSpec, resolve

_loaded: dict[tuple, Tokenizer] = {}
_named: dict[tuple, Tokenizer] = {}  # the same tokenizer under an alias's name
_locks: dict[tuple, threading.Lock] = {}
_guard = threading.Lock()


def load_tokenizer(spec: str, options: LoadOptions = LoadOptions()) -> Tokenizer:
    """The tokenizer for ``spec``; raises :class:`TokenizerLoadError` with a one-line reason.

    Loads are cached per resolved target; concurrent loads of the same target wait for one.
    """
    resolved = resolve(spec, options)
    key = (resolved.kind, resolved.target, resolved.revision)
    with _guard:
        tokenizer = _loaded.get(key)
        lock = _locks.setdefault(key, threading.Lock())
    if tokenizer is None:
        with lock:
            tokenizer = _loaded.get(key)
            if tokenizer is None:
                tokenizer = _load(resolved)
                with _guard:
                    _loaded[key] = tokenizer
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
            _named[(key, alias)] = named
        return named


def is_loaded(spec: str, options: LoadOptions = LoadOptions()) -> bool:
    try:
        resolved = resolve(spec, options)
    except TokenizerLoadError:
        return False
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
