"""A debounce timer for work that waits until a document has been left alone a while."""

from __future__ import annotations

import asyncio
from typing import Callable


class IdleTimer:
    """Calls ``callback`` on the event loop once ``touch`` has not been called for ``delay``
    seconds.

    Typing touches it on every keystroke, so that must be cheap: one loop timer stays
    pending and a touch only moves the deadline; a timer that fires before the moved
    deadline waits again for the rest. (Cancelling and re-creating a loop timer per
    keystroke cost more than applying the keystroke.)"""

    __slots__ = ("_delay", "_callback", "_deadline", "_handle")

    def __init__(self, delay: float, callback: Callable[[], None]):
        self._delay = delay
        self._callback = callback
        self._deadline: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    def touch(self) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self._delay
        if self._handle is None:
            self._handle = loop.call_at(self._deadline, self._fire, loop)

    def cancel(self) -> None:
        self._deadline = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._handle = None
        deadline = self._deadline
        if deadline is None:
            return
        if loop.time() < deadline:  # touched since it was armed: wait for the rest
            self._handle = loop.call_at(deadline, self._fire, loop)
            return
        self._deadline = None
        self._callback()
