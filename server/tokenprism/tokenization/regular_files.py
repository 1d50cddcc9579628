"""Opening a path as a regular file only: never blocking, never reading a device.

A path can name a FIFO or a device. Opening a FIFO for reading waits for a writer (a thread
stuck for good), and ``/dev/zero`` never ends. So a file is opened with ``O_NONBLOCK`` (a FIFO
then opens at once) and checked with ``fstat`` on the open descriptor — no race between a check
and the open — before a byte is read. Tokenizer files (``files.py``), text files
(``textfile.py``) and chat template files all open here; each caller keeps its own size cap
and its own words for a refusal.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # POSIX; Windows has no FIFOs to block on
_FLAGS = (os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_BINARY", 0))

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is, in a few words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


class NotRegularFile(OSError):
    """The path exists but is not a regular file (a FIFO, a device, a socket, a directory)."""

    def __init__(self, path: str | os.PathLike, mode: int):
        self.path = Path(path)
        self.mode = mode
        self.kind = file_kind(mode)
        super().__init__(f"{path} is {self.kind}, not a regular file")

    @property
    def is_directory(self) -> bool:
        return stat.S_ISDIR(self.mode)


def open_regular(path: str | os.PathLike, buffering: int = -1) -> BinaryIO:
    """``path`` opened for binary reading; raises :class:`NotRegularFile` for anything but a
    regular file (a socket, which cannot be opened at all, too), without ever blocking on it."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        try:
            mode = os.stat(path).st_mode
        except (OSError, ValueError):
            raise exc from None
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, mode) from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, mode)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise
