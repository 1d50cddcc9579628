"""Load a tokenizer from a model spec, once per process."""

from __future__ import annotations

import threading
from pathlib import Path

from .base import Tokenizer
from .errors import Reason, TokenizerLoadError
from .spec import LoadOptions, ResolvedSpec, resolve

_loaded: dict[tuple, Tokenizer] = {}
_locks: dict[tuple, threading.Lock] = {}
_guard = threading.Lock()


def load_tokenizer(spec: str, options: LoadOptions = LoadOptions()) -> Tokenizer:
    """The tokenizer for ``spec``; raises :class:`TokenizerLoadError` with a one-line reason.

    Loads are cached per resolved target; concurrent loads of the same target wait for one.
    """
    resolved = resolve(spec, options)
    key = (resolved.kind, resolved.target, resolved.revision)
    with _guard:
        if key in _loaded:
            return _loaded[key]
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key in _loaded:
            return _loaded[key]
        tokenizer = _load(resolved)
        with _guard:
            _loaded[key] = tokenizer
        return tokenizer


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
    if resolved.alias and tokenizer.info.name != resolved.alias:
        from dataclasses import replace

        tokenizer.info = replace(tokenizer.info, name=resolved.alias)
    return tokenizer
