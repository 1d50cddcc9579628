"""The session: settings, the open documents (:mod:`.open_document`, one owner each), the
tokenizers they use (:mod:`.tokenizers`), the worker threads, and the tokenized event.
No LSP types here.

Edits and settings changes mark documents *due*; once the messages already read are handled
the server calls :meth:`Session.advance_due` (a ``call_soon`` callback stands by for other
callers), so a burst of edits is one advance per document. While a model loads, documents
keep their previous tokens; a load that fails is reported once and the previous model stays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..tokenization import DEFAULT_MODEL, Tokenizer, TokenizerLoadError
from ..tokenization.errors import is_tokenizer_failure
from ..tokenization.memory import trim_after
from ..tokenization.textfile import BINARY_DETAIL
from .document import UTF16, Snapshot
from .open_document import OpenDocument
from .settings import Settings
from .token_view import DocumentError, TokenView
from .tokenizers import Tokenizers

log = logging.getLogger(__name__)

# fn(document, new view, previous view) after each advance that published a view
TokenizedListener = Callable[[OpenDocument, TokenView, "TokenView | None"], None]


class Session:
    """Everything the server knows: settings, open documents, tokenizers."""

    def __init__(self, encoding: str = UTF16, workers: int = 2):
        self.settings = Settings()
        self.generation = 0  # bumped by every settings change that affects tokenizing
        self.encoding = encoding
        self.documents: dict[str, OpenDocument] = {}
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tokenprism-encode")
        self._load_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokenprism-load")
        self.tokenizers = Tokenizers(self._load_pool)
        self.tokenizers.on_loaded = self._retokenize_for
        self.tokenizers.set_options(self.settings.load_options())
        self.tokenized_listeners: list[TokenizedListener] = []  # the tokenized event
        self.on_skipped: Callable[[OpenDocument, str], None] = lambda doc, reason: None
        self._due: list[OpenDocument] = []  # documents to advance once the batch is handled
        self._advance_soon: asyncio.Handle | None = None
        self._other_models: dict[tuple, TokenView] = {}  # view_with_model's encodes

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
            self.generation += 1  # catch-up tasks running with the old settings go round once more
            # a failed model is tried again only when the model settings change
            self.tokenizers.set_options(settings.load_options())
            for doc in self.documents.values():
                self.schedule(doc)  # the advance sees the new tokenizer/special setting itself
        return changed

    def spec_for(self, doc: OpenDocument) -> str:
        return self.settings.model_for(doc.document.language_id)

    def why_skip(self, snapshot: Snapshot) -> str | None:
        """Why a text is not tokenized (too large, binary), or None."""
        limit = self.settings.max_document_characters
        if limit and snapshot.length > limit:
            return (
                f"not tokenized: {snapshot.length:,} characters is more than"
                f" tokenprism.maxDocumentCharacters ({limit:,})"
            )
        if snapshot.contains_nul():
            return f"not tokenized: the document looks binary ({BINARY_DETAIL})"
        return None

    async def tokenizer_for(self, doc: OpenDocument) -> Tokenizer | None:
        """The tokenizer to use now: the wanted one once loaded; while it loads the
        document's current one; if it fails, the last good one or the default."""
        spec = self.spec_for(doc)
        tokenizer = self.tokenizers.get(spec)
        if tokenizer is not None:
            return tokenizer
        future = self.tokenizers.start(spec)
        if doc.view is not None:
            return doc.view.tokenizer  # keep the previous model until the new one is ready
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

    def view_spec(self, doc: OpenDocument, tokenizer: Tokenizer) -> str:
        """The spec a view made with ``tokenizer`` counts for: the document's model when that is
        what loaded it (several API models share one tokenizer), else the previous view's."""
        wanted = self.spec_for(doc)
        if self.tokenizers.get(wanted) is tokenizer:
            return wanted
        if doc.view is not None and doc.view.tokenizer is tokenizer:
            return doc.view.spec
        return tokenizer.name

    # -- documents ------------------------------------------------------------------------------

    def open(self, uri: str, language_id: str, version: int, text: str) -> OpenDocument:
        doc = OpenDocument(self, uri, language_id, version, text)
        old = self.documents.get(uri)
        if old is not None:
            old.close()
        self.documents[uri] = doc
        self.schedule(doc)
        return doc

    def change(self, uri: str, version: int, changes: list[tuple]) -> OpenDocument:
        """Apply content changes (see :meth:`OpenDocument.change`); the advance follows."""
        doc = self.get(uri)
        doc.change(version, changes)
        self.schedule(doc)
        return doc

    def close(self, uri: str) -> None:
        doc = self.documents.pop(uri, None)
        self._other_models = {k: v for k, v in self._other_models.items() if k[0] != uri}
        if doc is not None:
            doc.close()
            # nothing may keep the closed document (its text and tokens) alive
            self._due = [d for d in self._due if d is not doc]
            self._release_memory(doc.document.snapshot.length)

    def _release_memory(self, chars: int) -> None:
        """Give a closed document's freed memory back to the system (glibc keeps it in its
        arenas otherwise), in a worker: with a large heap that takes a few milliseconds."""
        try:
            asyncio.get_running_loop().run_in_executor(self.pool, trim_after, chars)
        except RuntimeError:  # no loop (called outside the server)
            trim_after(chars)

    def get(self, uri: str) -> OpenDocument:
        doc = self.documents.get(uri)
        if doc is None:
            raise DocumentError(f"the document {uri} is not open")
        return doc

    # -- advancing ------------------------------------------------------------------------------

    def schedule(self, doc: OpenDocument) -> None:
        """Advance the document once the messages already read are handled."""
        doc.check.interrupt()  # a running idle check gives way to the new edits
        if doc.due or doc.busy:
            return  # already due, or its running catch-up task picks the edits up
        doc.due = True
        self._due.append(doc)
        if self._advance_soon is None:  # for callers other than the server's transport
            self._advance_soon = asyncio.get_running_loop().call_soon(self.advance_due)

    def advance_due(self) -> None:
        """Advance every document marked due. The server calls this after each batch of
        messages (which saves the loop a turn per keystroke); else the callback does."""
        if self._advance_soon is not None:
            self._advance_soon.cancel()
            self._advance_soon = None
        due, self._due = self._due, []
        for doc in due:
            if not doc.due:
                continue
            try:
                doc.advance()
            except BaseException as exc:  # as a failing loop callback would be: logged, not raised
                if not is_tokenizer_failure(exc):
                    raise
                log.exception("advancing %s failed", doc.uri)

    def _retokenize_for(self, spec: str) -> None:
        for doc in self.documents.values():
            if self.spec_for(doc) == spec:
                self.schedule(doc)

    def tell_tokenized(self, doc: OpenDocument, view: TokenView, previous: TokenView | None) -> None:
        """Fire the tokenized event; a failing listener is logged, the others still run."""
        for listener in self.tokenized_listeners:
            try:
                listener(doc, view, previous)
            except Exception:
                log.exception("a feature failed after tokenizing %s", doc.uri)

    # -- answering ------------------------------------------------------------------------------

    async def view(self, uri: str, wait: float = 1.0) -> TokenView:
        """The newest token view of a document, waiting up to ``wait`` seconds for it to
        reach the document's current version. Raises DocumentError if there is none."""
        return await self.get(uri).newest_view(wait)

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
        cached = self._other_models.get(key)
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        encoding = await loop.run_in_executor(self.pool, tokenizer.encode, view.text, view.special)
        other = TokenView(uri, view.snapshot, encoding, tokenizer, view.special, spec)
        if len(self._other_models) > 16:
            self._other_models.clear()
        self._other_models[key] = other
        return other

    def shutdown(self) -> None:
        for doc in self.documents.values():
            doc.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self._load_pool.shutdown(wait=False, cancel_futures=True)
