"""Giving freed heap memory back to the system after large work.

Encoding a large text allocates and frees hundreds of megabytes in the tokenizer's threads;
glibc keeps freed memory in its per-thread arenas, so the process's RSS stays at its peak
until ``malloc_trim`` returns the free pages. A no-op where that call does not exist.

``map_large_blocks`` (the server calls it at start) stops glibc from moving its mmap
threshold up: by default, freeing one mmapped block (a 10 MB document's 36 MB text) raises the
threshold to that size (up to 32 MiB: a 10 MB document's token arrays), after which every
array up to it is carved out of the heap and, once freed, stays resident or leaves holes
that ``malloc_trim`` cannot return.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

# Work on a text shorter than this frees too little to be worth a trim, which takes the
# allocator's locks (an open running beside it waits) and walks every arena.
LARGE_TEXT = 2_000_000

# Blocks at least this large get their own mapping, returned to the system when freed. Smaller
# than a 10 MB document's whole-token arrays, larger than a 1 MB one's and than any block's.
MMAP_THRESHOLD = 4 << 20
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)

_lock = threading.Lock()
_trim = None


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def map_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes (unless the user tuned malloc through
    its environment variables); True if it was set."""
    if any(name.startswith("MALLOC_") or name == "GLIBC_TUNABLES" for name in os.environ):
        return False
    try:
        mallopt = _libc().mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, threshold) == 1


def trim_after(chars: int) -> bool:
    """Trim the heap after work on a text of ``chars`` characters, if it is a large one."""
    return chars >= LARGE_TEXT and trim_heap()


def trim_heap() -> bool:
    """Return free heap pages of every arena to the system; True if that was possible."""
    global _trim
    with _lock:
        if _trim is None:
            try:
                _trim = _libc().malloc_trim
                _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
            except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
                _trim = False
        if _trim is False:
            return False
    _trim(0)
    return True
