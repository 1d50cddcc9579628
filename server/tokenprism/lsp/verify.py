"""The idle check: the token state's safety net. Once a document has rested a while after
an incremental advance, its state is compared with a fresh encode in a worker (in pieces:
``TokenState.verify_and_repair``); a difference is repaired and the view published again.
No LSP types here."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from .idle import IdleTimer
from .token_view import TokenView

if TYPE_CHECKING:
    from .open_document import OpenDocument

log = logging.getLogger(__name__)

# Seconds a document must stay unedited before its state is checked against a full encode.
VERIFY_AFTER_IDLE = 5.0


class IdleCheck:
    """One document's idle check: a timer that typing only moves, then a task in a worker."""

    __slots__ = ("_doc", "_timer", "task", "_cancel")

    def __init__(self, doc: OpenDocument):
        self._doc: OpenDocument | None = doc
        self._timer: IdleTimer | None = None
        self.task: asyncio.Task | None = None  # the check, running
        self._cancel: threading.Event | None = None

    def touch(self) -> None:
        """An incremental advance happened: check once the document pauses."""
        doc = self._doc
        if doc is None or not hasattr(doc.state, "verify_and_repair"):
            return
        if self._timer is None:
            self._timer = IdleTimer(VERIFY_AFTER_IDLE, self._start)
        self._timer.touch()  # typing moves the deadline on every advance

    def interrupt(self) -> None:
        """Edits came: a running check gives way (the advance that follows touches again)."""
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None

    def stop(self) -> None:
        """The document closed: no more checks, and nothing here keeps it alive."""
        self.interrupt()
        for pending in (self._timer, self.task):
            if pending is not None:
                pending.cancel()
        self._timer = self._doc = None

    def _start(self) -> None:
        if self._doc is not None and (self.task is None or self.task.done()):
            self.task = asyncio.ensure_future(self._run(self._doc))

    async def _run(self, doc: OpenDocument) -> None:
        state, view = doc.state, doc.view
        if view is None or state is None or not doc.idle:
            return  # busy after all: the advance that follows arms the timer again
        loop = asyncio.get_running_loop()
        pool = doc.session.pool
        cancel = self._cancel = threading.Event()
        try:
            differing = await loop.run_in_executor(pool, state.verify_and_repair, cancel)
            if differing and not cancel.is_set() and doc.state is state and doc.view is view:
                log.warning("%s: the incremental state differed in %d tokens; repaired", doc.uri, differing)
                tokens = await loop.run_in_executor(pool, state.snapshot)
                if doc.view is view and tokens.text_length == view.snapshot.length:
                    doc.publish(TokenView(doc.uri, view.snapshot, tokens, view.tokenizer, view.special,
                                          view.spec))
        finally:
            if self._cancel is cancel:
                self._cancel = None
