"""One open document and everything about it: its text, its token state, the edits the
state has not seen yet, the catch-up task and the idle check. No LSP types here.

``change`` applies edits to the text at once (on the event loop) and queues them.
``advance`` — once the messages already read are handled, so a burst is one advance —
brings the token state up to the newest text: typing-sized edits right there on the loop
(a fraction of a millisecond), anything bigger — a fresh encode, a new model, a wide window
— in the *catch-up task*, which works in a worker thread. Each advance publishes a
:class:`TokenView`, which requests read without locks however far behind the text the token
state is, and fires the session's tokenized event.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..tokenization import SpecialTokens, Tokenizer
from ..tokenization.errors import is_tokenizer_failure
from ..tokenization.incremental import TokenState
from .catch_up import INLINE_WINDOW_CHARS, MAX_EDITS_PER_ADVANCE, catch_up
from .document import Document, Snapshot
from .token_view import DocumentError, TokenView
from .verify import IdleCheck

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)


class OpenDocument:
    """The owner of one open document's text (``document``) and tokens (``state``, ``view``)."""

    def __init__(self, session: Session, uri: str, language_id: str, version: int, text: str):
        self.session = session
        self.document = Document(uri, language_id, version, text, session.encoding)
        self.state: TokenState | None = None  # the tokens, edited in place
        self.view: TokenView | None = None  # the newest published (text, tokens) pair
        self.pending: list[tuple] = []  # (start, end, text, rope after) per edit the state lacks
        self.needs_full = True  # the state must be encoded afresh (first open, whole-text change)
        self.skipped: str | None = None  # why this document is not tokenized (binary, too large)
        self.due = False  # an advance is scheduled for when the messages already read are handled
        self.task: asyncio.Task | None = None  # the catch-up task
        self.check = IdleCheck(self)
        self.stale_answers = False  # a request was answered from an older version
        self.closed = False
        self._published = asyncio.Event()

    @property
    def uri(self) -> str:
        return self.document.uri

    @property
    def up_to_date(self) -> bool:
        return self.view is not None and self.view.version == self.document.version

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def idle(self) -> bool:
        """Tokenized up to the newest text, with nothing scheduled or running."""
        return self.up_to_date and not self.pending and not self.due and not self.busy

    # -- edits ----------------------------------------------------------------------------------

    def change(self, version: int, changes: list[tuple]) -> None:
        """Apply content changes: each is ``(None, None, text)`` for the whole text or
        ``((line, col), (line, col), text)`` in the negotiated encoding."""
        document = self.document
        for start, end, text in changes:
            if start is None or end is None:
                document.replace_all(text, version)
                self.pending.clear()
                self.needs_full = True
            else:
                edit = document.apply_change(start, end, text, version)
                # with the new text's rope, which the token state takes over as its own
                self.pending.append((*edit, document.snapshot.content))
        # the version belongs to the text after all changes of this notification
        snapshot = document.snapshot
        if snapshot.version != version:
            document.snapshot = snapshot.with_version(version)

    def advance(self) -> None:
        """Bring the tokens up to the newest text: at once when the pending edits are small,
        else (and for a load, a fresh encode, a skipped text) in the catch-up task."""
        self.due = False
        if self.closed or self.busy:
            return  # a running catch-up task picks the edits up
        if not self._advance_inline():
            self.task = asyncio.ensure_future(catch_up(self))

    def _advance_inline(self) -> bool:
        """The common case, on the event loop: small edits to a state whose tokenizer and
        settings are current. False when anything else is needed: the catch-up task does
        that, from wherever this left the state."""
        state, edits, session = self.state, self.pending, self.session
        if state is None or self.needs_full or not edits or len(edits) > MAX_EDITS_PER_ADVANCE:
            return False
        tokenizer = session.tokenizers.get(session.spec_for(self))
        if tokenizer is not state.tokenizer or state.special != session.settings.special_tokens:
            return False
        target = self.document.snapshot
        if session.why_skip(target) is not None:
            return False
        try:
            applied = state.apply_edits(edits, max_window=INLINE_WINDOW_CHARS)
        except BaseException as exc:  # the task encodes afresh and reports what is wrong with the text
            if not is_tokenizer_failure(exc):
                raise
            log.debug("an inline advance of %s failed; encoding it afresh", self.uri, exc_info=True)
            self.pending, self.needs_full = [], True
            return False
        self.pending = edits[applied:]
        if self.pending:
            return False  # a big window: the rest goes to a worker
        tokens = state.snapshot()
        if tokens.text_length != target.length:
            log.error("token state of %s out of step with the text; encoding it afresh", self.uri)
            self.needs_full = True
            return False
        self.publish_tokens(state, target, tokens, tokenizer, state.special)
        target.settle_lines()  # answered: now the line index, which the next edit needs
        self.check.touch()
        return True

    # -- publishing -----------------------------------------------------------------------------

    def publish_tokens(
        self, state: TokenState, target: Snapshot, tokens, tokenizer: Tokenizer, special: SpecialTokens
    ) -> None:
        self.state = state
        spec = self.session.view_spec(self, tokenizer)
        self.publish(TokenView(self.uri, target, tokens, tokenizer, special, spec))

    def publish(self, view: TokenView) -> None:
        """Make ``view`` the document's answer and fire the tokenized event."""
        previous, self.view, self.skipped = self.view, view, None
        self._published.set()
        self.session.tell_tokenized(self, view, previous)

    def skip(self, reason: str) -> None:
        """Leave the document untokenized; say why once per reason."""
        if self.skipped != reason:
            self.skipped = reason
            self.session.on_skipped(self, reason)
        self.view, self.state, self.needs_full = None, None, True
        self._published.set()

    async def newest_view(self, wait: float) -> TokenView:
        """The newest view, waiting up to ``wait`` seconds for it to reach the text's version.
        Raises DocumentError if there is none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not self.up_to_date and self.skipped is None:
            remaining = deadline - loop.time()
            if remaining <= 0 or not (self.due or self.busy):
                break
            self._published.clear()
            try:
                await asyncio.wait_for(self._published.wait(), remaining)
            except asyncio.TimeoutError:
                break
        if self.view is None:
            raise DocumentError(self.skipped or f"{self.uri} is not tokenized yet")
        if not self.up_to_date:
            self.stale_answers = True
        return self.view

    def close(self) -> None:
        """Stop all background work (closed, reopened, shutting down)."""
        self.closed = True
        if self.task is not None:
            self.task.cancel()
        self.check.stop()
