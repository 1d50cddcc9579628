"""Giving freed heap memory back to the system after large work.

Encoding a large text allocates and frees hundreds of megabytes in the tokenizer's threads;
glibc keeps freed memory in its per-thread arenas, so the process's RSS stays at its peak
until ``malloc_trim`` returns the free pages. A no-op where that call does not exist.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

# Work on a text shorter than this frees too little to be worth a trim, which takes the
# allocator's locks (an open running beside it waits) and walks every arena.
LARGE_TEXT = 2_000_000

_lock = threading.Lock()
_trim = None


def trim_after(chars: int) -> bool:
    """Trim the heap after work on a text of ``chars`` characters, if it is a large one."""
    return chars >= LARGE_TEXT and trim_heap()


def trim_heap() -> bool:
    """Return free heap pages of every arena to the system; True if that was possible."""
    global _trim
    with _lock:
        if _trim is None:
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _trim = libc.malloc_trim
                _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
            except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
                _trim = False
        if _trim is False:
            return False
    _trim(0)
    return True
