"""Opening tokenizer files: regular files only, never blocking, never unbounded.

A model spec, or a ``*.gguf`` name in a search folder, can name a FIFO or a device. Opening a
FIFO for reading waits for a writer (a thread stuck for good), and ``/dev/zero`` never ends.
So a tokenizer file is opened with ``O_NONBLOCK`` (a FIFO then opens at once) and checked with
``fstat`` on the open descriptor — no race between a check and the open — before a byte is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import Reason, TokenizerLoadError

GGUF_MAGIC = b"GGUF"
# Size caps for the files a tokenizer is read from (the largest real tokenizer.json files are ~35 MB,
# chat templates are under 100 KB).
MAX_TOKENIZER_JSON = 256 << 20
MAX_CONFIG_JSON = 16 << 20
MAX_TEMPLATE = 4 << 20

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class NotAFileError(OSError):
    """The path exists but is not a regular file (a FIFO, a device, a socket, a directory)."""

    def __init__(self, path: Path, mode: int):
        self.kind = kind_of(mode)
        super().__init__(f"{path} is {self.kind}, not a tokenizer file")


class FileTooLargeError(OSError):
    def __init__(self, path: Path, limit: int):
        super().__init__(f"{path} is larger than {limit >> 20} MiB, more than any tokenizer file needs")


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def special_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot hold a tokenizer when it exists but is neither a file nor a
    directory (``stat`` only: nothing is opened); None otherwise, or when it does not exist."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return str(NotAFileError(Path(path), mode))


def open_regular(path: Path, buffering: int = -1):
    """``path`` opened for binary reading; raises :class:`NotAFileError` for anything but a
    regular file, without ever blocking on it."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)  # POSIX; Windows has no FIFOs to block on
    flags = os.O_RDONLY | nonblocking | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFileError(Path(path), mode)
        if nonblocking:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole regular file at ``path``; :class:`FileTooLargeError` beyond ``limit`` bytes."""
    with open_regular(path) as file:
        data = file.read(limit + 1) if limit >= 0 else b""
    if len(data) > limit:
        raise FileTooLargeError(Path(path), limit)
    return data


def is_gguf(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts with the GGUF magic (the one place this is checked)."""
    try:
        with open_regular(path) as file:
            return file.read(len(GGUF_MAGIC)) == GGUF_MAGIC
    except (OSError, ValueError):
        return False


def load_error(spec: str, path: Path, exc: OSError) -> TokenizerLoadError:
    """The one-line load error for a file that could not be read."""
    if isinstance(exc, FileNotFoundError):
        return TokenizerLoadError(spec, Reason.NOT_FOUND, f"no such file: {path}")
    if isinstance(exc, NotAFileError):
        return TokenizerLoadError(spec, Reason.INVALID, str(exc))
    if isinstance(exc, IsADirectoryError):
        return TokenizerLoadError(spec, Reason.INVALID, f"{path} is a directory, not a tokenizer file")
    if isinstance(exc, FileTooLargeError):
        return TokenizerLoadError(spec, Reason.UNSUPPORTED, str(exc))
    return TokenizerLoadError(spec, Reason.NOT_FOUND, f"{path}: {exc.strerror or exc}")
