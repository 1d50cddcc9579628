"""Open documents, their token states, and the tokenizers they use. No LSP types here.

Text edits go into a :class:`~.document.Document` at once (on the event loop). Once the
messages already read are handled (so a burst is coalesced into one pass), a *pass* brings
that document's ``TokenState`` up to the newest version: typing-sized edits right there on
the event loop (a fraction of a millisecond), anything bigger — a fresh encode, a new
model, a wide window — in a per-document *catch-up task* that works in a worker thread.
Each pass publishes a :class:`TokenView`: an immutable (text, tokens) pair that requests
read without locks, however far behind the document the token state is.

Tokenizers load in a worker thread too. While a model loads, documents keep their
previous tokens; a load that fails is reported once and the previous model stays.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..tokenization import (
    DEFAULT_MODEL,
    Encoding,
    LoadOptions,
    Reason,
    SpecialTokens,
    Tokenizer,
    TokenizerLoadError,
    TokenQueries,
    load_tokenizer,
)
from ..tokenization.errors import is_rust_panic, is_tokenizer_failure, one_line
from ..tokenization.incremental import TokenState
from ..tokenization.memory import trim_after
from ..tokenization.textfile import BINARY_DETAIL
from .document import UTF16, Document, Snapshot
from .idle import IdleTimer
from .settings import Settings

log = logging.getLogger(__name__)

# More pending edits than this are cheaper as one fresh encode of the newest text
# (each edit re-encodes a window of lines around it).
MAX_EDITS_PER_PASS = 256
# Seconds a document must stay unedited before its state is checked against a full encode.
VERIFY_AFTER_IDLE = 5.0
# Edits whose re-encoded window stays within this many characters are applied on the event
# loop itself (well under a millisecond: less than handing them to a worker thread and
# back); a bigger window, a widening retry or a whole-document encode goes to a worker.
INLINE_WINDOW_CHARS = 4096


@dataclass(eq=False)
class TokenView:
    """A consistent pair: one version of a document's text and its tokens."""

    uri: str
    snapshot: Snapshot
    encoding: TokenQueries  # a fresh Encoding or the TokenState's frozen TokenSnapshot
    tokenizer: Tokenizer
    special: SpecialTokens
    spec: str = ""  # the model spec this view counts for ("claude-sonnet-4-5"); "": the tokenizer's name

    @property
    def version(self) -> int:
        return self.snapshot.version

    @property
    def text(self) -> str:
        return self.snapshot.text

    @property
    def model(self) -> str:
        return self.tokenizer.name

    @property
    def model_spec(self) -> str:
        """What the view counts for: the API model name or tokenizer spec the user chose."""
        return self.spec or self.tokenizer.name

    def __len__(self) -> int:
        return len(self.encoding)

    def count(self, start: int, end: int) -> int:
        """Tokens counted in ``[start, end)``; adjacent ranges add up to the document's count."""
        return self.encoding.count_in(start, end)

    def counts_between(self, bounds) -> np.ndarray:
        """``count(bounds[i], bounds[i+1])`` for consecutive bounds, vectorized."""
        return self.encoding.counts_between(bounds)


@dataclass(eq=False)
class OpenDocument:
    document: Document
    view: TokenView | None = None
    state: TokenState | None = None
    pending: list[tuple] = field(default_factory=list)  # (start, end, text, rope after) per edit
    needs_full: bool = True
    skipped: str | None = None  # why this document is not tokenized (binary, too large)
    task: asyncio.Task | None = None
    published: asyncio.Event = field(default_factory=asyncio.Event)
    stale_answers: bool = False  # a request was answered from an older version
    verify_timer: IdleTimer | None = None  # the idle check of the state, waiting for a pause
    verify: asyncio.Task | None = None  # that check, running
    cancel_verify: threading.Event | None = None
    pass_due: bool = False  # a pass is scheduled for when the messages already read are handled

    @property
    def uri(self) -> str:
        return self.document.uri

    @property
    def up_to_date(self) -> bool:
        return self.view is not None and self.view.version == self.document.version


class DocumentError(Exception):
    """A request named a document the server cannot answer for (closed, not tokenized)."""


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


class Session:
    """Everything the server knows: settings, open documents, tokenizers."""

    def __init__(self, encoding: str = UTF16, workers: int = 2):
        self.settings = Settings()
        self.generation = 0  # bumped by every settings change that affects tokenizing
        self.encoding = encoding
        self.documents: dict[str, OpenDocument] = {}
        self._due: list[OpenDocument] = []  # documents whose pass is scheduled (see schedule)
        self._encode_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tokenprism-encode")
        self._load_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokenprism-load")
        self.tokenizers = Tokenizers(self._load_pool)
        self.tokenizers.on_loaded = self._retokenize_for
        self.tokenizers.set_options(self.settings.load_options())
        # hooks the server sets
        # (document, new view, previous view) after each tokenizing pass
        self.on_tokenized: list[Callable[[OpenDocument, TokenView, TokenView | None], None]] = []
        self.on_skipped: Callable[[OpenDocument, str], None] = lambda doc, reason: None
        self._override_cache: dict[tuple, TokenView] = {}

    # -- settings -------------------------------------------------------------------------------

    def apply_settings(self, settings: Settings) -> bool:
        """Use new settings; returns True when documents have to be tokenized again."""
        old = self.settings
        self.settings = settings
        changed = (
            old.model != settings.model
            or old.model_by_language != settings.model_by_language
            or old.special_tokens != settings.special_tokens
            or old.search_paths() != settings.search_paths()
            or old.max_document_characters != settings.max_document_characters
            or old.load_options() != settings.load_options()
        )
        if changed:
            self.generation += 1  # passes running with the old settings go round once more
            # a failed model is tried again only when the model settings change
            self.tokenizers.set_options(settings.load_options())
            for doc in self.documents.values():
                self.schedule(doc)  # the pass sees the new tokenizer/special setting itself
        return changed

    def spec_for(self, doc: OpenDocument) -> str:
        return self.settings.model_for(doc.document.language_id)

    # -- documents ------------------------------------------------------------------------------

    def open(self, uri: str, language_id: str, version: int, text: str) -> OpenDocument:
        doc = OpenDocument(Document(uri, language_id, version, text, self.encoding))
        old = self.documents.get(uri)
        if old is not None:
            _stop(old)
        self.documents[uri] = doc
        self.schedule(doc)
        return doc

    def change(self, uri: str, version: int, changes: list[tuple]) -> OpenDocument:
        """Apply content changes: each is ``(None, None, text)`` for the whole text or
        ``((line, col), (line, col), text)`` in the negotiated encoding."""
        doc = self.get(uri)
        for start, end, text in changes:
            if start is None or end is None:
                doc.document.replace_all(text, version)
                doc.pending.clear()
                doc.needs_full = True
            else:
                edit = doc.document.apply_change(start, end, text, version)
                # with the new text's rope, which the token state takes over as its own
                doc.pending.append((*edit, doc.document.snapshot.content))
        # the version belongs to the state after all changes of this notification
        snap = doc.document.snapshot
        if snap.version != version:
            doc.document.snapshot = snap.with_version(version)
        self.schedule(doc)
        return doc

    def close(self, uri: str) -> None:
        doc = self.documents.pop(uri, None)
        if doc is not None:
            _stop(doc)
        self._override_cache = {k: v for k, v in self._override_cache.items() if k[0] != uri}
        if doc is not None:
            # nothing may keep the closed document (its text and tokens) alive: a pass still
            # listed as due, or its timers, whose callbacks refer back to it (a cycle that
            # only a full garbage collection would free)
            self._due = [d for d in self._due if d is not doc]
            doc.verify_timer = None
            self._release_memory(doc.document.snapshot.length)

    def _release_memory(self, chars: int) -> None:
        """Give a closed document's freed memory back to the system (glibc keeps it in its
        arenas otherwise), in a worker: with a large heap that takes a few milliseconds."""
        try:
            asyncio.get_running_loop().run_in_executor(self._encode_pool, trim_after, chars)
        except RuntimeError:  # no loop (called outside the server)
            trim_after(chars)

    def get(self, uri: str) -> OpenDocument:
        doc = self.documents.get(uri)
        if doc is None:
            raise DocumentError(f"the document {uri} is not open")
        return doc

    # -- tokenizing -----------------------------------------------------------------------------

    def schedule(self, doc: OpenDocument) -> None:
        """Make sure the document's tokens catch up: soon, once the messages already read
        are handled (so a burst of edits is one pass)."""
        if doc.cancel_verify is not None:
            doc.cancel_verify.set()  # a running check gives way to the new edits
            doc.cancel_verify = None
        if (doc.task is None or doc.task.done()) and not doc.pass_due:
            doc.pass_due = True
            self._due.append(doc)
            asyncio.get_running_loop().call_soon(self._pass_or_task, doc)

    def run_due_passes(self) -> None:
        """Run the passes scheduled so far, now. The transport calls this once the messages
        it has read are handled (what the scheduled callback waits for anyway), which saves
        the loop a turn per keystroke; the callbacks then find nothing left to do."""
        due, self._due = self._due, []
        for doc in due:
            if doc.pass_due:
                try:
                    self._pass_or_task(doc)
                except BaseException as exc:  # as a failing loop callback would be: logged, not raised
                    if not is_tokenizer_failure(exc):
                        raise
                    log.exception("a pass over %s failed", doc.uri)

    def _pass_or_task(self, doc: OpenDocument) -> None:
        if not doc.pass_due:
            return  # run already by run_due_passes
        doc.pass_due = False
        if self._due:  # run by its loop callback, not by run_due_passes: no longer due
            self._due = [d for d in self._due if d is not doc]
        if self.documents.get(doc.uri) is not doc or (doc.task is not None and not doc.task.done()):
            return  # closed meanwhile, or a running task picks the edits up
        if not self._inline_pass(doc):
            doc.task = asyncio.ensure_future(self._catch_up(doc))

    def _inline_pass(self, doc: OpenDocument) -> bool:
        """The common case, done at once on the event loop: small edits to a state whose
        tokenizer and settings are current. False when anything else is needed (a load,
        a fresh encode, a window too big for the loop, a skipped document): the catch-up
        task does that, from wherever this left the state."""
        state, edits = doc.state, doc.pending
        if state is None or doc.needs_full or not edits or len(edits) > MAX_EDITS_PER_PASS:
            return False
        tokenizer = self.tokenizers.get(self.spec_for(doc))
        if tokenizer is not state.tokenizer or state.special != self.settings.special_tokens:
            return False
        target = doc.document.snapshot
        if self._why_skip(target) is not None:
            return False
        try:
            applied = state.apply_edits(edits, max_window=INLINE_WINDOW_CHARS)
        except BaseException as exc:  # the task encodes afresh and reports what is wrong with the text
            if not is_tokenizer_failure(exc):
                raise
            log.debug("an inline pass over %s failed; encoding it afresh", doc.uri, exc_info=True)
            doc.pending, doc.needs_full = [], True
            return False
        doc.pending = edits[applied:]
        if doc.pending:
            return False  # a big window: the rest goes to a worker
        encoding = _frozen_copy(state)
        if encoding.text_length != target.length:
            log.error("token state of %s out of step with the text; encoding it afresh", doc.uri)
            doc.needs_full = True
            return False
        self._publish(doc, state, target, encoding, tokenizer, state.special)
        target.settle_lines()  # answered: now the line index, which the next edit needs
        self._verify_later(doc)
        return True

    def _retokenize_for(self, spec: str) -> None:
        for doc in self.documents.values():
            if self.spec_for(doc) == spec:
                self.schedule(doc)

    def _why_skip(self, snapshot: Snapshot) -> str | None:
        limit = self.settings.max_document_characters
        if limit and snapshot.length > limit:
            return (
                f"not tokenized: {snapshot.length:,} characters is more than"
                f" tokenprism.maxDocumentCharacters ({limit:,})"
            )
        if snapshot.contains_nul():
            return f"not tokenized: the document looks binary ({BINARY_DETAIL})"
        return None

    def _skip(self, doc: OpenDocument, reason: str) -> None:
        """Leave the document untokenized; say why once per reason."""
        if doc.skipped != reason:
            doc.skipped = reason
            self.on_skipped(doc, reason)
        doc.view, doc.state, doc.needs_full = None, None, True
        doc.published.set()

    async def _tokenizer_for(self, doc: OpenDocument) -> Tokenizer | None:
        spec = self.spec_for(doc)
        tokenizer = self.tokenizers.get(spec)
        if tokenizer is not None:
            return tokenizer
        future = self.tokenizers.start(spec)
        current = doc.view.tokenizer if doc.view is not None else None
        if current is not None:
            return current  # keep the previous model until the new one is ready
        try:
            return await asyncio.shield(future)
        except TokenizerLoadError:
            pass
        if self.tokenizers.last_good is not None:
            return self.tokenizers.last_good
        try:
            return await self.tokenizers.load(DEFAULT_MODEL)
        except TokenizerLoadError:
            return None

    async def _catch_up(self, doc: OpenDocument) -> None:
        loop = asyncio.get_running_loop()
        while True:
            generation = self.generation
            tokenizer = await self._tokenizer_for(doc)
            if tokenizer is None:
                return
            special = self.settings.special_tokens
            target = doc.document.snapshot
            edits, doc.pending = doc.pending, []
            reason = self._why_skip(target)
            if reason is not None:
                self._skip(doc, reason)
                return
            doc.skipped = None
            state = doc.state
            if (
                not edits
                and not doc.needs_full
                and state is not None
                and doc.up_to_date
                and state.tokenizer is tokenizer
                and state.special == special
            ):
                if doc.view.spec != self._view_spec(doc, tokenizer):  # another model, the same tokenizer
                    self._publish(doc, state, target, doc.view.encoding, tokenizer, special)
                return  # nothing changed (e.g. the wanted model is still loading)
            fresh = (
                doc.needs_full
                or state is None
                or state.tokenizer is not tokenizer
                or state.special != special
                or len(edits) > MAX_EDITS_PER_PASS
            )
            doc.needs_full = False
            started = loop.time()
            try:
                if fresh:
                    state = await loop.run_in_executor(  # the text is joined in the worker too
                        self._encode_pool, lambda: TokenState(tokenizer, target.content, special)
                    )
                else:
                    applied = state.apply_edits(edits, max_window=INLINE_WINDOW_CHARS)
                    if applied < len(edits):
                        await loop.run_in_executor(self._encode_pool, state.apply_edits, edits[applied:])
                encoding = _frozen_copy(state)  # O(blocks): fine on the event loop
                if encoding.text_length != target.length:
                    raise RuntimeError("token state out of step with the text")
            except asyncio.CancelledError:
                raise
            except ValueError as exc:  # text the tokenizer refuses (lone surrogates)
                self._skip(doc, f"not tokenized: {exc}")
                return
            except BaseException as exc:  # a Rust panic too: the document says so and stays usable
                if not is_tokenizer_failure(exc):
                    raise
                if fresh:
                    log.warning("tokenizing %s with %s failed: %s", doc.uri, tokenizer.name, one_line(exc))
                    cause = "the tokenizer panicked" if is_rust_panic(exc) else type(exc).__name__
                    why = f"{cause}: {one_line(exc)}"
                    self._skip(doc, f"not tokenized: {tokenizer.name} failed on this text ({why})")
                    return
                log.info("tokenizing %s failed (%s); encoding it afresh", doc.uri, one_line(exc))
                doc.needs_full = True
                continue
            log.debug(
                "%s v%d: %s in %.0f ms", doc.uri, target.version,
                "encoded" if fresh else f"{len(edits)} edits", (loop.time() - started) * 1000,
            )
            self._publish(doc, state, target, encoding, tokenizer, special)
            target.settle_lines()
            if target.line_index is None:
                # the first count did not need the line index; positions will: scan for it
                # now, not beside the encode, which has both cores busy
                loop.run_in_executor(self._encode_pool, lambda: target.lines)
            wanted = self.tokenizers.get(self.spec_for(doc))
            if (
                doc.document.snapshot is target
                and not doc.pending
                and not doc.needs_full
                and (wanted is None or wanted is tokenizer)
                and generation == self.generation
            ):
                if not fresh:
                    self._verify_later(doc)
                return

    def _publish(self, doc: OpenDocument, state, target: Snapshot, encoding, tokenizer, special) -> None:
        """Make (target, encoding) the document's view and tell the listeners."""
        previous = doc.view
        doc.state = state
        doc.skipped = None
        doc.view = TokenView(doc.uri, target, encoding, tokenizer, special, self._view_spec(doc, tokenizer))
        doc.published.set()
        for listener in self.on_tokenized:
            try:
                listener(doc, doc.view, previous)
            except Exception:
                log.exception("a tokenized-listener failed")

    def _view_spec(self, doc: OpenDocument, tokenizer: Tokenizer) -> str:
        """The spec a view made with ``tokenizer`` counts for: the document's model when that is
        what loaded it (several API models share one tokenizer), else the previous view's."""
        wanted = self.spec_for(doc)
        if self.tokenizers.get(wanted) is tokenizer:
            return wanted
        if doc.view is not None and doc.view.tokenizer is tokenizer:
            return doc.view.spec
        return tokenizer.name

    def _verify_later(self, doc: OpenDocument) -> None:
        """Once the document has been idle a while, check its incremental state against a
        full encode in a worker (the state's own safety net) and republish if it differed."""
        if doc.state is None or not hasattr(doc.state, "verify_and_repair"):
            return
        if doc.verify_timer is None:
            doc.verify_timer = IdleTimer(VERIFY_AFTER_IDLE, lambda: self._start_verify(doc))
        doc.verify_timer.touch()  # typing moves the deadline on every pass

    def _start_verify(self, doc: OpenDocument) -> None:
        if self.documents.get(doc.uri) is doc and (doc.verify is None or doc.verify.done()):
            doc.verify = asyncio.ensure_future(self._verify(doc))

    async def _verify(self, doc: OpenDocument) -> None:
        state, view = doc.state, doc.view
        if view is None or not doc.up_to_date or doc.pending or doc.pass_due or state is None:
            return  # busy after all: the pass that follows arms the timer again
        if doc.task is not None and not doc.task.done():
            return
        loop = asyncio.get_running_loop()
        cancel = doc.cancel_verify = threading.Event()
        try:
            differing = await loop.run_in_executor(self._encode_pool, state.verify_and_repair, cancel)
            if differing and not cancel.is_set() and doc.state is state and doc.view is view:
                log.warning("%s: the incremental state differed in %d tokens; repaired", doc.uri, differing)
                encoding = await loop.run_in_executor(self._encode_pool, _frozen_copy, state)
                if doc.view is view and encoding.text_length == view.snapshot.length:
                    doc.view = TokenView(
                        doc.uri, view.snapshot, encoding, view.tokenizer, view.special, view.spec
                    )
                    for listener in self.on_tokenized:
                        listener(doc, doc.view, view)
        finally:
            if doc.cancel_verify is cancel:
                doc.cancel_verify = None

    # -- answering ------------------------------------------------------------------------------

    async def view(self, uri: str, wait: float = 1.0) -> TokenView:
        """The newest token view of a document, waiting up to ``wait`` seconds for it to
        reach the document's current version. Raises DocumentError if there is none."""
        doc = self.get(uri)
        deadline = asyncio.get_running_loop().time() + wait
        while not doc.up_to_date and doc.skipped is None:
            remaining = deadline - asyncio.get_running_loop().time()
            idle = not doc.pass_due and (doc.task is None or doc.task.done())
            if remaining <= 0 or idle:
                break
            doc.published.clear()
            try:
                await asyncio.wait_for(doc.published.wait(), remaining)
            except asyncio.TimeoutError:
                break
        if doc.view is None:
            raise DocumentError(doc.skipped or f"{uri} is not tokenized yet")
        if not doc.up_to_date:
            doc.stale_answers = True
        return doc.view

    async def view_with_model(self, uri: str, spec: str | None, wait: float = 1.0) -> TokenView:
        """Like :meth:`view`, but tokenized with ``spec`` when given (loaded on demand)."""
        view = await self.view(uri, wait)
        if not spec:
            return view
        tokenizer = await self.tokenizers.load(spec)
        if tokenizer is view.tokenizer:
            if view.spec == spec:
                return view
            return TokenView(uri, view.snapshot, view.encoding, tokenizer, view.special, spec)
        key = (uri, view.version, id(tokenizer), view.special, spec)
        cached = self._override_cache.get(key)
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        encoding = await loop.run_in_executor(self._encode_pool, tokenizer.encode, view.text, view.special)
        other = TokenView(uri, view.snapshot, encoding, tokenizer, view.special, spec)
        if len(self._override_cache) > 16:
            self._override_cache.clear()
        self._override_cache[key] = other
        return other

    def shutdown(self) -> None:
        for doc in self.documents.values():
            _stop(doc)
        self._encode_pool.shutdown(wait=False, cancel_futures=True)
        self._load_pool.shutdown(wait=False, cancel_futures=True)


def _frozen_copy(state: TokenState):
    """Tokens that later edits of the state cannot change, with the query API of
    :class:`Encoding`: the state's immutable snapshot when it has one (O(blocks)); else a
    copy of ``encoding()``, which may share arrays with the state."""
    snapshot = getattr(state, "snapshot", None)
    if callable(snapshot):
        return snapshot()
    enc = state.encoding()
    return Encoding(enc.ids.copy(), enc.ends.copy(), enc.flags.copy(), enc.text_length)


def _stop(doc: OpenDocument) -> None:
    """Stop all background work for a document (closed, reopened, shutting down)."""
    for task in (doc.task, doc.verify, doc.verify_timer):
        if task is not None:
            task.cancel()
    if doc.cancel_verify is not None:
        doc.cancel_verify.set()
