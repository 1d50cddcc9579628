"""Tokenizers for the session's documents, loaded in worker threads: once per (spec,
options), failures remembered until the settings change. No LSP types here."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..tokenization import LoadOptions, Reason, Tokenizer, TokenizerLoadError, load_tokenizer
from ..tokenization.errors import is_tokenizer_failure

log = logging.getLogger(__name__)


class Tokenizers:
    """Loads tokenizers off the event loop, once per (spec, options); remembers failures."""

    def __init__(self, executor: ThreadPoolExecutor):
        self._executor = executor
        self.options = LoadOptions()
        # weak: the tokenizer layer's cache decides how long an unused tokenizer stays loaded
        self._loaded: weakref.WeakValueDictionary[tuple, Tokenizer] = weakref.WeakValueDictionary()
        self._failed: dict[tuple, TokenizerLoadError] = {}
        self._loading: dict[tuple, asyncio.Future] = {}
        self.last_good: Tokenizer | None = None
        # hooks the server sets: a load begins (returns a callable to call when it ends), fails
        self.on_load_start: Callable[[str], Callable[[], None]] = lambda spec: (lambda: None)
        self.on_load_failed: Callable[[str, str], None] = lambda spec, reason: None
        self.on_loaded: Callable[[str], None] = lambda spec: None

    def set_options(self, options: LoadOptions) -> None:
        if options != self.options:
            self.options = options
        self._failed.clear()  # a settings change retries failed models

    def _key(self, spec: str) -> tuple:
        return (spec, self.options)

    def get(self, spec: str) -> Tokenizer | None:
        return self._loaded.get(self._key(spec))

    def failure(self, spec: str) -> TokenizerLoadError | None:
        return self._failed.get(self._key(spec))

    def is_loading(self, spec: str) -> bool:
        return self._key(spec) in self._loading

    def start(self, spec: str) -> asyncio.Future:
        """Begin loading ``spec`` (if not loaded, loading or failed) and return its future."""
        key = self._key(spec)
        if key in self._loading:
            return self._loading[key]
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loaded = self._loaded.get(key)
        if loaded is not None:
            future.set_result(loaded)
            return future
        if key in self._failed:
            future.set_exception(self._failed[key])
            future.exception()  # marked as retrieved: callers may ignore a known failure
            return future
        self._loading[key] = future
        done = self.on_load_start(spec)
        options = self.options

        async def run() -> None:
            try:
                tokenizer = await loop.run_in_executor(self._executor, load_tokenizer, spec, options)
            except BaseException as exc:  # every failure becomes one message (a Rust panic too)
                if not is_tokenizer_failure(exc):
                    raise
                if not isinstance(exc, TokenizerLoadError):
                    exc = TokenizerLoadError(spec, Reason.CORRUPT, f"{type(exc).__name__}: {exc}")
                self._failed[key] = exc
                future.set_exception(exc)
                future.exception()  # marked as retrieved: nobody has to await a failed load
                self.on_load_failed(spec, str(exc))
            else:
                try:  # the event loop encodes every keystroke's window: it uses it first
                    tokenizer.warm_up()
                except BaseException as exc:
                    if not is_tokenizer_failure(exc):
                        raise
                    log.debug("warming up %s failed", spec, exc_info=True)
                self._loaded[key] = tokenizer
                self.last_good = tokenizer
                future.set_result(tokenizer)
                self.on_loaded(spec)
            finally:
                self._loading.pop(key, None)
                done()

        asyncio.ensure_future(run())
        return future

    async def load(self, spec: str) -> Tokenizer:
        """The tokenizer for ``spec``; raises TokenizerLoadError."""
        return await asyncio.shield(self.start(spec))
